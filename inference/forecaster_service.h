// The gRPC face of inference. A forecast runs on the gRPC callback thread
// that received it: the forward pass of one window takes microseconds,
// less than a hand-off to another pool would cost. It finishes elsewhere
// only when it must wait: for its model version to load (on the load
// pool) or for a dynamic batch to fill (on the batcher's thread).
#ifndef GRIDCAST_INFERENCE_FORECASTER_SERVICE_H_
#define GRIDCAST_INFERENCE_FORECASTER_SERVICE_H_

#include <functional>

#include "absl/status/status.h"
#include "common/limits.h"
#include "common/store/model_store.h"
#include "gridcast/v1/forecaster.grpc.pb.h"
#include "inference/dynamic_batcher.h"
#include "inference/model_registry.h"

namespace gridcast {

struct ForecasterServiceOptions {
  // Items one ForecastBatch call may carry; more is RESOURCE_EXHAUSTED.
  int max_batch_items = 5000;
  // --max_history_points and --max_horizon, checked before the model is
  // looked up.
  ServiceLimits limits;
};

class ForecasterServiceImpl final
    : public v1::ForecasterService::CallbackService {
 public:
  // `batcher` may be null (no dynamic batching). All must outlive this.
  ForecasterServiceImpl(const ModelStore* store, ModelRegistry* registry,
                        DynamicBatcher* batcher,
                        ForecasterServiceOptions options = {});

  grpc::ServerUnaryReactor* Forecast(grpc::CallbackServerContext* context,
                                     const v1::ForecastRequest* request,
                                     v1::ForecastResponse* response) override;
  grpc::ServerUnaryReactor* DetectAnomalies(
      grpc::CallbackServerContext* context,
      const v1::DetectAnomaliesRequest* request,
      v1::DetectAnomaliesResponse* response) override;
  grpc::ServerUnaryReactor* ForecastBatch(
      grpc::CallbackServerContext* context,
      const v1::ForecastBatchRequest* request,
      v1::ForecastBatchResponse* response) override;
  grpc::ServerUnaryReactor* ListModels(
      grpc::CallbackServerContext* context,
      const v1::ListModelsRequest* request,
      v1::ListModelsResponse* response) override;
  grpc::ServerUnaryReactor* GetModel(grpc::CallbackServerContext* context,
                                     const v1::GetModelRequest* request,
                                     v1::GetModelResponse* response) override;

  using ForecastDone = std::function<void(const absl::Status&)>;
  // The work of Forecast without gRPC around it: fills `response` and then
  // calls `done` once, on this thread or another. `request` and `response`
  // must stay valid until then.
  void ForecastAsync(const v1::ForecastRequest& request,
                     v1::ForecastResponse* response, ForecastDone done);
  // The same, waiting for the answer.
  absl::Status RunForecast(const v1::ForecastRequest& request,
                           v1::ForecastResponse* response);

 private:
  void ForecastWith(const ModelHandle& model,
                    const v1::ForecastRequest& request,
                    v1::ForecastResponse* response, ForecastDone done);
  // NOT_FOUND becomes UNAVAILABLE for a model that is in the store but
  // not yet in the registry (published since the last poll).
  absl::Status ExplainAcquireError(const v1::ForecastRequest& request,
                                   const absl::Status& status) const;

  const ModelStore* const store_;
  ModelRegistry* const registry_;
  DynamicBatcher* const batcher_;
  const ForecasterServiceOptions options_;
};

}  // namespace gridcast

#endif  // GRIDCAST_INFERENCE_FORECASTER_SERVICE_H_
