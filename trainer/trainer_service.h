// The gRPC face of the trainer: thin handlers that validate, call the
// store or the job manager, and convert the status once at the edge.
#ifndef GRIDCAST_TRAINER_TRAINER_SERVICE_H_
#define GRIDCAST_TRAINER_TRAINER_SERVICE_H_

#include <atomic>

#include "common/limits.h"
#include "common/store/model_store.h"
#include "common/timeseries/upload_assembler.h"
#include "gridcast/v1/trainer.grpc.pb.h"
#include "trainer/job_manager.h"

namespace gridcast {

class TrainerServiceImpl final : public v1::TrainerService::Service {
 public:
  TrainerServiceImpl(ModelStore* store, JobManager* jobs,
                     UploadLimits upload_limits,
                     ServiceLimits limits = ServiceLimits());

  // The trainer is draining: streams that follow a job end with
  // UNAVAILABLE (the client watches again on the restarted trainer)
  // instead of holding the shutdown for the whole grace period.
  void BeginDrain() { draining_ = true; }

  grpc::Status UploadHistory(
      grpc::ServerContext* context,
      grpc::ServerReader<v1::UploadHistoryRequest>* reader,
      v1::UploadHistoryResponse* response) override;
  grpc::Status GetDataset(grpc::ServerContext* context,
                          const v1::GetDatasetRequest* request,
                          v1::GetDatasetResponse* response) override;
  grpc::Status ListDatasets(grpc::ServerContext* context,
                            const v1::ListDatasetsRequest* request,
                            v1::ListDatasetsResponse* response) override;
  grpc::Status DeleteDataset(grpc::ServerContext* context,
                             const v1::DeleteDatasetRequest* request,
                             v1::DeleteDatasetResponse* response) override;
  grpc::Status CreateTrainingJob(
      grpc::ServerContext* context, const v1::CreateTrainingJobRequest* request,
      v1::CreateTrainingJobResponse* response) override;
  grpc::Status GetTrainingJob(grpc::ServerContext* context,
                              const v1::GetTrainingJobRequest* request,
                              v1::GetTrainingJobResponse* response) override;
  grpc::Status ListTrainingJobs(
      grpc::ServerContext* context, const v1::ListTrainingJobsRequest* request,
      v1::ListTrainingJobsResponse* response) override;
  grpc::Status CancelTrainingJob(
      grpc::ServerContext* context, const v1::CancelTrainingJobRequest* request,
      v1::CancelTrainingJobResponse* response) override;
  grpc::Status WatchTrainingJob(
      grpc::ServerContext* context, const v1::WatchTrainingJobRequest* request,
      grpc::ServerWriter<v1::WatchTrainingJobResponse>* writer) override;

 private:
  absl::StatusOr<v1::Dataset> ReceiveUpload(
      grpc::ServerContext* context,
      grpc::ServerReader<v1::UploadHistoryRequest>* reader);

  ModelStore* const store_;
  JobManager* const jobs_;
  const UploadLimits upload_limits_;
  const ServiceLimits limits_;
  std::atomic<bool> draining_{false};
};

}  // namespace gridcast

#endif  // GRIDCAST_TRAINER_TRAINER_SERVICE_H_
