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
#include "common/model/features.h"
#include "gridcast/store/v1/store.pb.h"

namespace gridcast {

// Intra-op threads of LibTorch for this process. Inference wants 1 (many
// small concurrent calls); training may use every core. 0 leaves
// LibTorch's default.
void ConfigureTorchThreads(int intra_op_threads);

// Makes LibTorch's idle OpenMP threads sleep rather than spin, by running
// the program again with OMP_WAIT_POLICY=PASSIVE unless the environment
// already sets a policy. OpenMP reads the policy once, as it loads, so
// this must be the first thing main() does. Spinning threads cost up to
// 10x of training speed on cores shared with other work (a busy node, or
// the inference server beside the trainer; docs/accuracy.md). Returns
// only when nothing was to be done or the exec failed.
void UsePassiveOpenMpWaits(char** argv);

// "1.13.1": the LibTorch this binary runs on.
std::string TorchVersion();

// The raw inputs of one forecast.
struct ForecastWindow {
  // input_window() loads, oldest first.
  const double* load = nullptr;
  // One pointer per covariate of the spec, in order: input_window() values,
  // then horizon() more for a known-future covariate.
  std::vector<const double*> covariates;
  // Unix time of the first point to forecast.
  int64_t first_forecast_time = 0;
};

// What Predict returns for `count` windows, in load units.
struct ForecastValues {
  int count = 0;
  int horizon = 0;
  // The spec's quantile levels, increasing.
  std::vector<double> levels;
  // point[w * horizon + h].
  std::vector<double> point;
  // quantiles[(w * levels.size() + q) * horizon + h]; never crossing.
  std::vector<double> quantiles;

  double Point(int w, int h) const { return point[w * horizon + h]; }
  double Quantile(int w, int q, int h) const {
    return quantiles[(static_cast<size_t>(w) * levels.size() + q) * horizon +
                     h];
  }
};

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
  // Bytes of the network's parameters, for the registry's memory budget.
  int64_t parameter_bytes() const { return parameter_bytes_; }

  // Forecasts horizon() points, and the spec's quantiles, for every
  // window at once. `extra_holidays` adds holidays (Unix seconds of their
  // midnight) to those of the manifest. Safe to call from many threads at
  // once. INTERNAL if the network yields a non-finite value, so that no
  // NaN ever reaches a control room.
  absl::StatusOr<ForecastValues> Predict(
      const std::vector<ForecastWindow>& windows,
      const std::vector<int64_t>& extra_holidays = {}) const;

  // Point forecasts from loads alone: `windows` holds count *
  // input_window() loads, window by window. FAILED_PRECONDITION for a
  // model that reads covariates.
  absl::StatusOr<std::vector<double>> Predict(
      const double* windows, const int64_t* first_forecast_times,
      int count) const;

  // One forecast from a flat window at the training mean (covariates at
  // theirs): what a replica checks before serving a version.
  absl::Status SmokeTest() const;

  // Index of a covariate in the spec, or -1.
  int CovariateIndex(const std::string& name) const;
  bool KnownFuture(int covariate) const;

 private:
  struct Network;
  ForecastModel(store::v1::Manifest manifest, int64_t version,
                std::unique_ptr<Network> network);
  // Turns the network's [count][1 + levels][horizon] output into load
  // units, refusing non-finite values.
  absl::StatusOr<ForecastValues> Unpack(const float* raw, int count) const;
  // Rescales the quantiles by the manifest's quantile_scales, as the
  // trainer evaluated them (see interval_calibration.h).
  void CalibrateQuantiles(ForecastValues* values) const;

  store::v1::Manifest manifest_;
  int64_t version_;
  std::unique_ptr<Network> network_;
  FeatureShape shape_;
  std::vector<bool> known_future_;
  FeatureScaling scaling_;
  HolidayCalendar holidays_;
  std::vector<double> quantile_scales_;
  int64_t parameter_bytes_ = 0;
};

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_MODEL_FORECAST_MODEL_H_
