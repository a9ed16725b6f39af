// The gRPC face of inference. Forecast runs inline on gRPC's callback
// threads: the forward pass of one window takes microseconds, less than a
// hand-off to another pool would cost.
#ifndef GRIDCAST_INFERENCE_FORECASTER_SERVICE_H_
#define GRIDCAST_INFERENCE_FORECASTER_SERVICE_H_

#include "absl/status/status.h"
#include "common/limits.h"
#include "common/store/model_store.h"
#include "gridcast/v1/forecaster.grpc.pb.h"
#include "inference/model_registry.h"

namespace gridcast {

class ForecasterServiceImpl final
    : public v1::ForecasterService::CallbackService {
 public:
  ForecasterServiceImpl(const ModelStore* store, const ModelRegistry* registry,
                        ServiceLimits limits = ServiceLimits());

  grpc::ServerUnaryReactor* Forecast(grpc::CallbackServerContext* context,
                                     const v1::ForecastRequest* request,
                                     v1::ForecastResponse* response) override;
  grpc::ServerUnaryReactor* ListModels(
      grpc::CallbackServerContext* context,
      const v1::ListModelsRequest* request,
      v1::ListModelsResponse* response) override;
  grpc::ServerUnaryReactor* GetModel(grpc::CallbackServerContext* context,
                                     const v1::GetModelRequest* request,
                                     v1::GetModelResponse* response) override;

  // The work of Forecast without gRPC around it.
  absl::Status RunForecast(const v1::ForecastRequest& request,
                           v1::ForecastResponse* response) const;

 private:
  absl::StatusOr<std::shared_ptr<const ForecastModel>> AcquireModel(
      const v1::ForecastRequest& request) const;

  const ModelStore* const store_;
  const ModelRegistry* const registry_;
  const ServiceLimits limits_;
};

}  // namespace gridcast

#endif  // GRIDCAST_INFERENCE_FORECASTER_SERVICE_H_
