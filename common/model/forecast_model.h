// A published model version ready to forecast: its manifest and its
// network with the weights loaded. Free of LibTorch in its interface, so
// that the servers' gRPC code compiles without it.
#ifndef GRIDCAST_COMMON_MODEL_FORECAST_MODEL_H_
#define GRIDCAST_COMMON_MODEL_FORECAST_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gridcast/store/v1/store.pb.h"

namespace gridcast {

// Intra-op threads of LibTorch for this process. Inference wants 1 (many
// small concurrent calls); training may use every core. 0 leaves
// LibTorch's default.
void ConfigureTorchThreads(int intra_op_threads);

// "1.13.1": the LibTorch this binary runs on.
std::string TorchVersion();

class ForecastModel {
 public:
  // Builds the network of manifest.spec() and loads `weights` into it;
  // `version` is the store version they came from. INVALID_ARGUMENT for a
  // spec this build cannot make, DATA_LOSS for weights that do not fit it.
  static absl::StatusOr<std::unique_ptr<ForecastModel>> Load(
      store::v1::Manifest manifest, const std::string& weights,
      int64_t version);

  ~ForecastModel();
  ForecastModel(const ForecastModel&) = delete;
  ForecastModel& operator=(const ForecastModel&) = delete;

  const store::v1::Manifest& manifest() const;
  int64_t version() const { return version_; }
  int input_window() const;
  int horizon() const;
  int64_t resolution_seconds() const;

  // Forecasts horizon() points in load units for `count` windows at once.
  // `windows` holds count * input_window() raw loads, window by window,
  // oldest first; `first_forecast_times` the time of each window's first
  // forecast point. Returns count * horizon() values. Safe to call from
  // many threads at once. INTERNAL if the network yields a non-finite
  // value, so that no NaN ever reaches a control room.
  absl::StatusOr<std::vector<double>> Predict(
      const double* windows, const int64_t* first_forecast_times,
      int count) const;

 private:
  struct Network;
  ForecastModel(store::v1::Manifest manifest, int64_t version,
                std::unique_ptr<Network> network);

  store::v1::Manifest manifest_;
  int64_t version_;
  std::unique_ptr<Network> network_;
};

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_MODEL_FORECAST_MODEL_H_
