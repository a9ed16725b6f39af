#include "inference/forecaster_service.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/names.h"
#include "common/server/grpc_status.h"
#include "common/status_macros.h"
#include "inference/anomaly_detection.h"
#include "inference/forecast_inputs.h"
#include "inference/inference_metrics.h"

namespace gridcast {
namespace {

grpc::ServerUnaryReactor* FinishWith(grpc::CallbackServerContext* context,
                                     const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

absl::Status CheckModelRef(const std::string& model, int64_t version) {
  GC_RETURN_IF_ERROR(ValidateName("model", model));
  if (version < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("version=", version, " must be 0 or positive"));
  }
  return absl::OkStatus();
}

absl::Status CheckRequestShape(const v1::ForecastRequest& request) {
  GC_RETURN_IF_ERROR(CheckModelRef(request.model(), request.version()));
  if (request.horizon() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("horizon=", request.horizon(), " must be 0 or positive"));
  }
  return absl::OkStatus();
}

}  // namespace

ForecasterServiceImpl::ForecasterServiceImpl(const ModelStore* store,
                                             const ModelRegistry* registry)
    : store_(store), registry_(registry) {}

absl::StatusOr<std::shared_ptr<const ForecastModel>>
ForecasterServiceImpl::AcquireModel(const std::string& name,
                                    int64_t version) const {
  absl::StatusOr<std::shared_ptr<const ForecastModel>> model =
      registry_->Acquire(name, version);
  // A model published since the last poll is in the store but not yet in
  // the registry: that is "not loaded yet", not "does not exist".
  if (model.status().code() == absl::StatusCode::kNotFound && version == 0 &&
      store_->ModelExists(name)) {
    return absl::UnavailableError(
        absl::StrCat("model ", name, " is not loaded yet; retry shortly"));
  }
  return model;
}

absl::Status ForecasterServiceImpl::RunForecast(
    const v1::ForecastRequest& request, v1::ForecastResponse* response) const {
  GC_RETURN_IF_ERROR(CheckRequestShape(request));
  GC_ASSIGN_OR_RETURN(const std::shared_ptr<const ForecastModel> model,
                      AcquireModel(request.model(), request.version()));
  GC_RETURN_IF_ERROR(ComputeForecast(*model, request, response));
  // TODO(issue 4): dynamic batching will record its real batch sizes here.
  RecordForwardBatch(1);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* ForecasterServiceImpl::Forecast(
    grpc::CallbackServerContext* context, const v1::ForecastRequest* request,
    v1::ForecastResponse* response) {
  const absl::Status status = RunForecast(*request, response);
  if (!status.ok()) {
    LogDebug("forecast_refused")
        .Field("model", request->model())
        .Field("series", request->series_id())
        .Field("reason", status);
  }
  return FinishWith(context, status);
}

grpc::ServerUnaryReactor* ForecasterServiceImpl::DetectAnomalies(
    grpc::CallbackServerContext* context,
    const v1::DetectAnomaliesRequest* request,
    v1::DetectAnomaliesResponse* response) {
  absl::Status status = CheckModelRef(request->model(), request->version());
  if (status.ok()) {
    absl::StatusOr<std::shared_ptr<const ForecastModel>> model =
        AcquireModel(request->model(), request->version());
    status = model.ok() ? gridcast::DetectAnomalies(**model, *request, response)
                        : model.status();
  }
  if (!status.ok()) {
    LogDebug("anomalies_refused")
        .Field("model", request->model())
        .Field("series", request->series_id())
        .Field("reason", status);
  } else if (response->events_size() > 0) {
    LogInfo("anomalies_found")
        .Field("model", request->model())
        .Field("version", response->version())
        .Field("series", request->series_id())
        .Field("events", response->events_size());
  }
  return FinishWith(context, status);
}

grpc::ServerUnaryReactor* ForecasterServiceImpl::ListModels(
    grpc::CallbackServerContext* context, const v1::ListModelsRequest* request,
    v1::ListModelsResponse* response) {
  for (v1::Model& model : registry_->DescribeAll()) {
    *response->add_models() = std::move(model);
  }
  return FinishWith(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* ForecasterServiceImpl::GetModel(
    grpc::CallbackServerContext* context, const v1::GetModelRequest* request,
    v1::GetModelResponse* response) {
  absl::Status status = ValidateName("model", request->model());
  if (status.ok()) {
    absl::StatusOr<v1::Model> model = registry_->Describe(request->model());
    if (model.ok()) {
      *response->mutable_model() = *std::move(model);
    } else {
      status = model.status();
    }
  }
  return FinishWith(context, status);
}

}  // namespace gridcast
