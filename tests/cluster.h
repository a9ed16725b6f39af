// A trainer and an inference server running in this process on loopback
// ports over one scratch store, with generated stubs to talk to them: the
// fixture of the end-to-end tests.
#ifndef GRIDCAST_TESTS_CLUSTER_H_
#define GRIDCAST_TESTS_CLUSTER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "gridcast/v1/forecaster.grpc.pb.h"
#include "gridcast/v1/trainer.grpc.pb.h"
#include "inference/inference_server.h"
#include "tests/test_support.h"
#include "trainer/trainer_server.h"

namespace gridcast::testing {

struct ClusterOptions {
  // When false the inference watcher only polls when a test says so.
  bool inference_polls = true;
  // Serve gridcast.bench.v1.EchoService on the inference server too.
  bool bench_echo = false;
  // Called on each server's options just before it starts, to set limits,
  // security or hooks.
  std::function<void(TrainerServerOptions*)> configure_trainer = nullptr;
  std::function<void(InferenceServerOptions*)> configure_inference = nullptr;
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions options = ClusterOptions());

  TrainerServer& trainer() { return *trainer_; }
  InferenceServer& inference() { return *inference_; }
  const std::string& store_root() const { return store_.path(); }
  v1::TrainerService::Stub& trainer_stub() { return *trainer_stub_; }
  v1::ForecasterService::Stub& forecaster_stub() { return *forecaster_stub_; }
  std::shared_ptr<grpc::Channel> trainer_channel() { return trainer_channel_; }
  std::shared_ptr<grpc::Channel> inference_channel() {
    return inference_channel_;
  }

  // Streams hourly `values` from `start_time` in chunks of `chunk_points`.
  grpc::Status Upload(const std::string& series_id, int64_t start_time,
                      const std::vector<double>& values,
                      v1::UploadHistoryResponse* response,
                      int chunk_points = 500);
  // Sends exactly these chunks (the first should carry the header).
  grpc::Status UploadChunks(const std::vector<v1::UploadHistoryRequest>& chunks,
                            v1::UploadHistoryResponse* response);

  // Creates the job and follows WatchTrainingJob to its end; returns the
  // final job and appends every epoch seen to `epochs` when given.
  v1::TrainingJob TrainAndWait(
      const v1::CreateTrainingJobRequest& request,
      std::vector<v1::EpochProgress>* epochs = nullptr);

  // Waits until inference serves at least `version` of `model`.
  bool WaitForServedVersion(const std::string& model, int64_t version);

  // A forecast request over the last `window` hours of `values`, which
  // started at `start_time`.
  static v1::ForecastRequest MakeForecastRequest(
      const std::string& model, int64_t start_time,
      const std::vector<double>& values, int window);

 private:
  TempDir store_;
  std::unique_ptr<TrainerServer> trainer_;
  std::unique_ptr<InferenceServer> inference_;
  std::shared_ptr<grpc::Channel> trainer_channel_;
  std::shared_ptr<grpc::Channel> inference_channel_;
  std::unique_ptr<v1::TrainerService::Stub> trainer_stub_;
  std::unique_ptr<v1::ForecasterService::Stub> forecaster_stub_;
};

// A small, quick network for tests: window 168, horizon 24, one hidden
// layer of 64; published even if it loses to seasonal naive.
v1::CreateTrainingJobRequest QuickJob(const std::string& model,
                                      const std::string& dataset_id);

}  // namespace gridcast::testing

#endif  // GRIDCAST_TESTS_CLUSTER_H_
