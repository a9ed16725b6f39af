#include "inference/forecaster_service.h"

#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
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

absl::Status CheckRequestShape(const v1::ForecastRequest& request) {
  GC_RETURN_IF_ERROR(ValidateName("model", request.model()));
  if (request.version() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("version=", request.version(), " must be 0 or positive"));
  }
  if (!request.alias().empty()) {
    GC_RETURN_IF_ERROR(ValidateName("alias", request.alias()));
    if (request.version() != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "version=", request.version(), " and alias=\"", request.alias(),
          "\" are both set; name the version one way only"));
    }
  }
  if (request.horizon() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("horizon=", request.horizon(), " must be 0 or positive"));
  }
  return absl::OkStatus();
}

void LogRefused(const v1::ForecastRequest& request,
                const absl::Status& status) {
  LogDebug("forecast_refused")
      .Field("model", request.model())
      .Field("series", request.series_id())
      .Field("reason", status);
}

absl::Status CheckHistoryLimit(const v1::TimeSeries& history,
                               const ServiceLimits& limits) {
  const int64_t points = history.values_size();
  return CheckLimit(absl::StatusCode::kResourceExhausted,
                    absl::StrCat("history has ", points, " points"), points,
                    "max_history_points", limits.max_history_points);
}

// Before the model is looked up: an oversized request costs no more.
absl::Status CheckForecastLimits(const v1::ForecastRequest& request,
                                 const ServiceLimits& limits) {
  GC_RETURN_IF_ERROR(CheckHistoryLimit(request.history(), limits));
  return CheckHorizon("horizon", request.horizon(), limits);
}

}  // namespace

ForecasterServiceImpl::ForecasterServiceImpl(const ModelStore* store,
                                             ModelRegistry* registry,
                                             DynamicBatcher* batcher,
                                             ForecasterServiceOptions options)
    : store_(store),
      registry_(registry),
      batcher_(batcher),
      options_(options) {}

absl::Status ForecasterServiceImpl::ExplainAcquireError(
    const v1::ForecastRequest& request, const absl::Status& status) const {
  if (status.code() == absl::StatusCode::kNotFound && request.version() == 0 &&
      request.alias().empty() && store_->ModelExists(request.model())) {
    return absl::UnavailableError(absl::StrCat(
        "model ", request.model(), " is not loaded yet; retry shortly"));
  }
  return status;
}

void ForecasterServiceImpl::ForecastAsync(const v1::ForecastRequest& request,
                                          v1::ForecastResponse* response,
                                          ForecastDone done) {
  if (absl::Status shape = CheckRequestShape(request); !shape.ok()) {
    return done(shape);
  }
  if (absl::Status limits = CheckForecastLimits(request, options_.limits);
      !limits.ok()) {
    return done(limits);
  }
  VersionSelector selector;
  selector.version = request.version();
  selector.alias = request.alias();
  registry_->AcquireAsync(
      request.model(), selector,
      [this, &request, response,
       done = std::move(done)](absl::StatusOr<ModelHandle> model) mutable {
        if (!model.ok())
          return done(ExplainAcquireError(request, model.status()));
        ForecastWith(*model, request, response, std::move(done));
      });
}

void ForecasterServiceImpl::ForecastWith(const ModelHandle& model,
                                         const v1::ForecastRequest& request,
                                         v1::ForecastResponse* response,
                                         ForecastDone done) {
  // Dynamic batching covers plain point forecasts from load alone; a
  // model with covariates or bands, or a request with holidays, runs alone.
  const auto& spec = model->manifest().spec();
  const bool batchable = batcher_ != nullptr && batcher_->enabled() &&
                         spec.covariates().empty() &&
                         spec.quantiles().empty() && request.holidays().empty();
  if (!batchable) {
    const absl::Status status = ComputeForecast(*model, request, response);
    if (status.ok()) RecordForwardBatch(1);
    return done(status);
  }

  // The same checks as unbatched; the window is read in place from the
  // request, with no copy to a tensor until the features are built.
  absl::StatusOr<PreparedForecast> prepared = PrepareForecast(*model, request);
  if (!prepared.ok()) return done(prepared.status());
  const int horizon = prepared->horizon;
  const int64_t first_forecast_time = prepared->input.first_forecast_time;

  const auto answer =
      [model, horizon, first_forecast_time, response,
       done = std::move(done)](absl::StatusOr<std::vector<double>> forecast) {
        if (!forecast.ok()) return done(forecast.status());
        response->set_model(model->manifest().model());
        response->set_version(model->version());
        response->mutable_values()->Reserve(horizon);
        response->mutable_timestamps()->Reserve(horizon);
        for (int h = 0; h < horizon; ++h) {
          response->add_timestamps(first_forecast_time +
                                   h * model->resolution_seconds());
          response->add_values((*forecast)[h]);
        }
        done(absl::OkStatus());
      };
  batcher_->Submit(model, prepared->input.load, first_forecast_time, answer);
}

absl::Status ForecasterServiceImpl::RunForecast(
    const v1::ForecastRequest& request, v1::ForecastResponse* response) {
  absl::Status result;
  absl::Notification finished;
  ForecastAsync(request, response, [&](const absl::Status& status) {
    result = status;
    finished.Notify();
  });
  finished.WaitForNotification();
  return result;
}

grpc::ServerUnaryReactor* ForecasterServiceImpl::Forecast(
    grpc::CallbackServerContext* context, const v1::ForecastRequest* request,
    v1::ForecastResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  ForecastAsync(*request, response,
                [reactor, request](const absl::Status& status) {
                  if (!status.ok()) LogRefused(*request, status);
                  reactor->Finish(ToGrpcStatus(status));
                });
  return reactor;
}

grpc::ServerUnaryReactor* ForecasterServiceImpl::DetectAnomalies(
    grpc::CallbackServerContext* context,
    const v1::DetectAnomaliesRequest* request,
    v1::DetectAnomaliesResponse* response) {
  absl::Status shape = ValidateName("model", request->model());
  if (shape.ok() && request->version() < 0) {
    shape = absl::InvalidArgumentError(
        absl::StrCat("version=", request->version(), " must be 0 or positive"));
  }
  if (shape.ok()) {
    shape = CheckHistoryLimit(request->history(), options_.limits);
  }
  if (!shape.ok()) return FinishWith(context, shape);

  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  VersionSelector selector;
  selector.version = request->version();
  registry_->AcquireAsync(
      request->model(), selector,
      [this, reactor, request, response](absl::StatusOr<ModelHandle> model) {
        v1::ForecastRequest as_forecast;
        as_forecast.set_model(request->model());
        as_forecast.set_version(request->version());
        const absl::Status status =
            model.ok() ? gridcast::DetectAnomalies(**model, *request, response)
                       : ExplainAcquireError(as_forecast, model.status());
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
        reactor->Finish(ToGrpcStatus(status));
      });
  return reactor;
}

grpc::ServerUnaryReactor* ForecasterServiceImpl::ForecastBatch(
    grpc::CallbackServerContext* context,
    const v1::ForecastBatchRequest* request,
    v1::ForecastBatchResponse* response) {
  const int items = request->items_size();
  if (items > options_.max_batch_items) {
    return FinishWith(
        context,
        absl::ResourceExhaustedError(absl::StrCat(
            "items has ", items, " forecasts; this server takes at most ",
            options_.max_batch_items,
            " per call (--max_batch_items): split the batch")));
  }
  if (items == 0) return FinishWith(context, absl::OkStatus());

  // Every result exists before the first item runs: items may finish on
  // other threads, each writing only its own result.
  for (int i = 0; i < items; ++i) response->add_results();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto remaining = std::make_shared<std::atomic<int>>(items);
  for (int i = 0; i < items; ++i) {
    const v1::ForecastRequest& item = request->items(i);
    v1::ForecastBatchResult* result = response->mutable_results(i);
    ForecastAsync(
        item, result->mutable_response(),
        [reactor, remaining, result, &item](const absl::Status& status) {
          if (!status.ok()) {
            LogRefused(item, status);
            result->set_code(static_cast<int>(status.code()));
            result->set_message(std::string(status.message()));
            result->clear_response();
          }
          if (remaining->fetch_sub(1) == 1) {
            reactor->Finish(grpc::Status::OK);
          }
        });
  }
  return reactor;
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
