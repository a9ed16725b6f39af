#include "inference/forecaster_service.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/names.h"
#include "common/server/grpc_status.h"
#include "common/status_macros.h"
#include "common/timeseries/regular_series.h"

namespace gridcast {
namespace {

grpc::ServerUnaryReactor* FinishWith(grpc::CallbackServerContext* context,
                                     const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

absl::Status CheckRequestShape(const v1::ForecastRequest& request) {
  GC_RETURN_IF_ERROR(ValidateName("model", request.model()));
  if (request.version() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("version=", request.version(), " must be 0 or positive"));
  }
  if (request.horizon() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("horizon=", request.horizon(), " must be 0 or positive"));
  }
  if (!request.quantiles().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "quantiles has ", request.quantiles_size(),
        " levels; quantile forecasts are not served yet, leave it empty"));
  }
  return absl::OkStatus();
}

// Before the model is looked up: an oversized request costs no more.
absl::Status CheckForecastLimits(const v1::ForecastRequest& request,
                                 const ServiceLimits& limits) {
  const int64_t points = request.history().values_size();
  GC_RETURN_IF_ERROR(CheckLimit(absl::StatusCode::kResourceExhausted,
                                absl::StrCat("history has ", points, " points"),
                                points, "max_history_points",
                                limits.max_history_points));
  return CheckHorizon("horizon", request.horizon(), limits);
}

}  // namespace

ForecasterServiceImpl::ForecasterServiceImpl(const ModelStore* store,
                                             const ModelRegistry* registry,
                                             ServiceLimits limits)
    : store_(store), registry_(registry), limits_(limits) {}

absl::StatusOr<std::shared_ptr<const ForecastModel>>
ForecasterServiceImpl::AcquireModel(const v1::ForecastRequest& request) const {
  absl::StatusOr<std::shared_ptr<const ForecastModel>> model =
      registry_->Acquire(request.model(), request.version());
  // A model published since the last poll is in the store but not yet in
  // the registry: that is "not loaded yet", not "does not exist".
  if (model.status().code() == absl::StatusCode::kNotFound &&
      request.version() == 0 && store_->ModelExists(request.model())) {
    return absl::UnavailableError(absl::StrCat(
        "model ", request.model(), " is not loaded yet; retry shortly"));
  }
  return model;
}

absl::Status ForecasterServiceImpl::RunForecast(
    const v1::ForecastRequest& request, v1::ForecastResponse* response) const {
  GC_RETURN_IF_ERROR(CheckRequestShape(request));
  GC_RETURN_IF_ERROR(CheckForecastLimits(request, limits_));
  GC_ASSIGN_OR_RETURN(const std::shared_ptr<const ForecastModel> model,
                      AcquireModel(request));

  const int horizon =
      request.horizon() == 0 ? model->horizon() : request.horizon();
  if (horizon > model->horizon()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("horizon=%d exceeds the %d points model %s forecasts",
                        horizon, model->horizon(), request.model()));
  }

  const v1::TimeSeries& history = request.history();
  GC_RETURN_IF_ERROR(
      ValidateRegularHistory(history, model->resolution_seconds(), "history"));
  const int window = model->input_window();
  if (history.values_size() < window) {
    return absl::FailedPreconditionError(
        absl::StrFormat("history has %d points but model %s reads the last %d",
                        history.values_size(), request.model(), window));
  }

  const int64_t last_time = history.timestamps(history.timestamps_size() - 1);
  const int64_t first_forecast_time = last_time + model->resolution_seconds();
  const double* window_values =
      history.values().data() + history.values_size() - window;
  GC_ASSIGN_OR_RETURN(
      const std::vector<double> forecast,
      model->Predict(window_values, &first_forecast_time, /*count=*/1));

  response->set_model(request.model());
  response->set_version(model->version());
  response->mutable_values()->Reserve(horizon);
  response->mutable_timestamps()->Reserve(horizon);
  for (int h = 0; h < horizon; ++h) {
    response->add_timestamps(first_forecast_time +
                             h * model->resolution_seconds());
    response->add_values(forecast[h]);
  }
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
