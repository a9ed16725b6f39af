#include "trainer/trainer_service.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/names.h"
#include "common/server/grpc_status.h"
#include "common/status_macros.h"

namespace gridcast {
namespace {

store::v1::StoredSeries ToStoredSeries(RegularSeries series) {
  store::v1::StoredSeries stored;
  v1::Dataset* dataset = stored.mutable_dataset();
  dataset->set_series_id(series.series_id);
  dataset->set_resolution_seconds(series.resolution_seconds);
  dataset->set_start_time(series.start_time);
  dataset->set_end_time(series.end_time());
  dataset->set_points(static_cast<int64_t>(series.values.size()));
  for (const std::string& name : series.covariate_names) {
    dataset->add_covariate_names(name);
  }
  for (v1::Repair& repair : series.repairs) {
    *dataset->add_repairs() = std::move(repair);
  }
  dataset->mutable_holidays()->Add(series.holidays.begin(),
                                   series.holidays.end());

  stored.mutable_values()->Add(series.values.begin(), series.values.end());
  for (size_t c = 0; c < series.covariates.size(); ++c) {
    v1::Covariate* covariate = stored.add_covariates();
    covariate->set_name(series.covariate_names[c]);
    covariate->mutable_values()->Add(series.covariates[c].begin(),
                                     series.covariates[c].end());
  }
  return stored;
}

}  // namespace

TrainerServiceImpl::TrainerServiceImpl(ModelStore* store, JobManager* jobs,
                                       UploadLimits upload_limits,
                                       ServiceLimits limits)
    : store_(store),
      jobs_(jobs),
      upload_limits_(upload_limits),
      limits_(limits) {}

absl::StatusOr<v1::Dataset> TrainerServiceImpl::ReceiveUpload(
    grpc::ServerContext* context,
    grpc::ServerReader<v1::UploadHistoryRequest>* reader) {
  UploadAssembler assembler(upload_limits_);
  v1::UploadHistoryRequest chunk;
  int64_t received_bytes = 0;
  while (reader->Read(&chunk)) {
    received_bytes += static_cast<int64_t>(chunk.ByteSizeLong());
    GC_RETURN_IF_ERROR(CheckLimit(
        absl::StatusCode::kResourceExhausted,
        absl::StrCat("upload has ", received_bytes, " bytes so far"),
        received_bytes, "max_dataset_bytes", limits_.max_dataset_bytes));
    GC_RETURN_IF_ERROR(assembler.AddChunk(chunk));
  }
  // A client that dies or cancels mid-stream also ends the loop above;
  // only a stream closed on purpose may be committed.
  if (context->IsCancelled()) {
    return absl::CancelledError("the upload was cancelled by the client");
  }
  GC_ASSIGN_OR_RETURN(RegularSeries series, assembler.Finish());
  return store_->PutDataset(ToStoredSeries(std::move(series)));
}

grpc::Status TrainerServiceImpl::UploadHistory(
    grpc::ServerContext* context,
    grpc::ServerReader<v1::UploadHistoryRequest>* reader,
    v1::UploadHistoryResponse* response) {
  LogDebug("upload_started").Field("peer", context->peer());
  absl::StatusOr<v1::Dataset> dataset = ReceiveUpload(context, reader);
  if (!dataset.ok()) {
    LogWarning("upload_refused").Field("reason", dataset.status());
    return ToGrpcStatus(dataset.status());
  }
  LogInfo("dataset_stored")
      .Field("dataset", dataset->id())
      .Field("series", dataset->series_id())
      .Field("points", dataset->points())
      .Field("repairs", static_cast<int64_t>(dataset->repairs_size()));
  *response->mutable_dataset() = *std::move(dataset);
  return grpc::Status::OK;
}

grpc::Status TrainerServiceImpl::GetDataset(
    grpc::ServerContext* context, const v1::GetDatasetRequest* request,
    v1::GetDatasetResponse* response) {
  absl::Status valid = ValidateName("dataset_id", request->dataset_id());
  if (!valid.ok()) return ToGrpcStatus(valid);
  absl::StatusOr<v1::Dataset> dataset =
      store_->GetDataset(request->dataset_id());
  if (!dataset.ok()) return ToGrpcStatus(dataset.status());
  *response->mutable_dataset() = *std::move(dataset);
  return grpc::Status::OK;
}

grpc::Status TrainerServiceImpl::ListDatasets(
    grpc::ServerContext* context, const v1::ListDatasetsRequest* request,
    v1::ListDatasetsResponse* response) {
  absl::StatusOr<std::vector<v1::Dataset>> datasets = store_->ListDatasets();
  if (!datasets.ok()) return ToGrpcStatus(datasets.status());
  for (v1::Dataset& dataset : *datasets) {
    if (request->series_id().empty() ||
        dataset.series_id() == request->series_id()) {
      *response->add_datasets() = std::move(dataset);
    }
  }
  return grpc::Status::OK;
}

grpc::Status TrainerServiceImpl::DeleteDataset(
    grpc::ServerContext* context, const v1::DeleteDatasetRequest* request,
    v1::DeleteDatasetResponse* response) {
  absl::Status status = ValidateName("dataset_id", request->dataset_id());
  if (status.ok()) status = store_->DeleteDataset(request->dataset_id());
  return ToGrpcStatus(status);
}

grpc::Status TrainerServiceImpl::CreateTrainingJob(
    grpc::ServerContext* context, const v1::CreateTrainingJobRequest* request,
    v1::CreateTrainingJobResponse* response) {
  const absl::Status horizon =
      CheckHorizon("spec.horizon", request->spec().horizon(), limits_);
  absl::StatusOr<v1::TrainingJob> job =
      horizon.ok() ? jobs_->Create(*request)
                   : absl::StatusOr<v1::TrainingJob>(horizon);
  if (!job.ok()) {
    LogWarning("job_refused")
        .Field("model", request->model())
        .Field("reason", job.status());
    return ToGrpcStatus(job.status());
  }
  *response->mutable_job() = *std::move(job);
  return grpc::Status::OK;
}

grpc::Status TrainerServiceImpl::GetTrainingJob(
    grpc::ServerContext* context, const v1::GetTrainingJobRequest* request,
    v1::GetTrainingJobResponse* response) {
  absl::StatusOr<v1::TrainingJob> job = jobs_->Get(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response->mutable_job() = *std::move(job);
  return grpc::Status::OK;
}

grpc::Status TrainerServiceImpl::ListTrainingJobs(
    grpc::ServerContext* context, const v1::ListTrainingJobsRequest* request,
    v1::ListTrainingJobsResponse* response) {
  for (v1::TrainingJob& job : jobs_->List(request->model())) {
    *response->add_jobs() = std::move(job);
  }
  return grpc::Status::OK;
}

grpc::Status TrainerServiceImpl::CancelTrainingJob(
    grpc::ServerContext* context, const v1::CancelTrainingJobRequest* request,
    v1::CancelTrainingJobResponse* response) {
  absl::StatusOr<v1::TrainingJob> job = jobs_->Cancel(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response->mutable_job() = *std::move(job);
  return grpc::Status::OK;
}

grpc::Status TrainerServiceImpl::WatchTrainingJob(
    grpc::ServerContext* context, const v1::WatchTrainingJobRequest* request,
    grpc::ServerWriter<v1::WatchTrainingJobResponse>* writer) {
  const absl::Status status = jobs_->Watch(
      request->job_id(),
      [writer](const v1::WatchTrainingJobResponse& update) {
        return writer->Write(update);
      },
      [this, context] { return context->IsCancelled() || draining_; });
  if (draining_ && status.code() == absl::StatusCode::kCancelled) {
    // Worded as JobManager's own end of a watch at shutdown: which of the
    // two ends it first is a race.
    return ToGrpcStatus(absl::UnavailableError(
        absl::StrCat("the trainer is stopping; job ", request->job_id(),
                     " goes on when it starts again, watch it then")));
  }
  return ToGrpcStatus(status);
}

}  // namespace gridcast
