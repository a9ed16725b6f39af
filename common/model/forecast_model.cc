#include "common/model/forecast_model.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "common/model/architecture.h"
#include "common/model/features.h"
#include "common/model/interval_calibration.h"
#include "common/model/networks.h"
#include "common/status_macros.h"

namespace gridcast {

struct ForecastModel::Network {
  std::shared_ptr<ForecastNetworkImpl> module;
};

namespace {

absl::Status CheckNormalisation(const store::v1::Normalisation& normalisation,
                                const std::string& what) {
  if (normalisation.stddev() > 0 && std::isfinite(normalisation.stddev()) &&
      std::isfinite(normalisation.mean())) {
    return absl::OkStatus();
  }
  return absl::DataLossError(absl::StrCat(
      "manifest ", what, " is unusable: mean=", normalisation.mean(),
      " stddev=", normalisation.stddev()));
}

absl::Status CheckScaling(const store::v1::Manifest& manifest) {
  GC_RETURN_IF_ERROR(
      CheckNormalisation(manifest.normalisation(), "normalisation"));
  if (manifest.covariate_normalisation_size() !=
      manifest.spec().covariates_size()) {
    return absl::DataLossError(absl::StrCat(
        "manifest has ", manifest.covariate_normalisation_size(),
        " covariate_normalisation entries for ",
        manifest.spec().covariates_size(), " covariates in its spec"));
  }
  for (int c = 0; c < manifest.covariate_normalisation_size(); ++c) {
    GC_RETURN_IF_ERROR(
        CheckNormalisation(manifest.covariate_normalisation(c),
                           absl::StrCat("covariate_normalisation[", c, "]")));
  }
  return absl::OkStatus();
}

// A factor per quantile level, each finite and in the range the trainer
// fits from; anything else would serve bands nobody calibrated.
absl::Status CheckQuantileScales(const store::v1::Manifest& manifest) {
  const int scales = manifest.quantile_scales_size();
  if (scales == 0) return absl::OkStatus();
  if (scales != manifest.spec().quantiles_size()) {
    return absl::DataLossError(
        absl::StrCat("manifest has ", scales, " quantile_scales for ",
                     manifest.spec().quantiles_size(), " quantiles"));
  }
  for (int q = 0; q < scales; ++q) {
    const double scale = manifest.quantile_scales(q);
    if (!(scale >= kMinQuantileScale && scale <= kMaxQuantileScale)) {
      return absl::DataLossError(absl::StrCat(
          "manifest quantile_scales[", q, "]=", scale, " is outside [",
          kMinQuantileScale, ", ", kMaxQuantileScale, "]"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

void ConfigureTorchThreads(int intra_op_threads) {
  if (intra_op_threads > 0) torch::set_num_threads(intra_op_threads);
}

void UsePassiveOpenMpWaits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/1);
  execv("/proc/self/exe", argv);
  // The exec failed (no /proc, say): carry on with the policy OpenMP
  // already read; the process's children at least get the passive one.
}

std::string TorchVersion() { return TORCH_VERSION; }

absl::StatusOr<std::unique_ptr<ForecastModel>> ForecastModel::Load(
    store::v1::Manifest manifest, const std::string& weights, int64_t version) {
  GC_RETURN_IF_ERROR(ResolveArchitecture(manifest.mutable_spec()));
  GC_RETURN_IF_ERROR(CheckScaling(manifest));
  GC_RETURN_IF_ERROR(CheckQuantileScales(manifest));

  auto network = std::make_unique<Network>();
  try {
    GC_ASSIGN_OR_RETURN(network->module, BuildNetwork(manifest.spec()));
  } catch (const c10::Error& error) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot build the network: ", error.what_without_backtrace()));
  }
  GC_RETURN_IF_ERROR(LoadWeights(weights, network->module.get()));
  network->module->eval();

  return std::unique_ptr<ForecastModel>(
      new ForecastModel(std::move(manifest), version, std::move(network)));
}

ForecastModel::ForecastModel(store::v1::Manifest manifest, int64_t version,
                             std::unique_ptr<Network> network)
    : manifest_(std::move(manifest)),
      version_(version),
      network_(std::move(network)),
      shape_(ShapeOf(manifest_.spec())),
      scaling_(ScalingOf(manifest_)),
      holidays_(std::vector<int64_t>(manifest_.holidays().begin(),
                                     manifest_.holidays().end())),
      quantile_scales_(manifest_.quantile_scales().begin(),
                       manifest_.quantile_scales().end()) {
  for (const auto& covariate : manifest_.spec().covariates()) {
    known_future_.push_back(covariate.known_future());
  }
  for (const auto& parameter : network_->module->parameters()) {
    parameter_bytes_ += parameter.numel() * parameter.element_size();
  }
}

ForecastModel::~ForecastModel() = default;

const store::v1::Manifest& ForecastModel::manifest() const { return manifest_; }

int ForecastModel::input_window() const {
  return manifest_.spec().input_window();
}

int ForecastModel::horizon() const { return manifest_.spec().horizon(); }

int64_t ForecastModel::resolution_seconds() const {
  return manifest_.resolution_seconds();
}

int ForecastModel::CovariateIndex(const std::string& name) const {
  const auto& covariates = manifest_.spec().covariates();
  for (int i = 0; i < covariates.size(); ++i) {
    if (covariates[i].name() == name) return i;
  }
  return -1;
}

bool ForecastModel::KnownFuture(int covariate) const {
  return known_future_[covariate];
}

absl::StatusOr<ForecastValues> ForecastModel::Predict(
    const std::vector<ForecastWindow>& windows,
    const std::vector<int64_t>& extra_holidays) const {
  const int count = static_cast<int>(windows.size());
  HolidayCalendar extended;
  const HolidayCalendar* holidays = &holidays_;
  if (!extra_holidays.empty()) {
    extended = holidays_;
    for (int64_t day : extra_holidays) extended.Add(day);
    holidays = &extended;
  }

  std::vector<float> past(static_cast<size_t>(count) * shape_.past_size());
  std::vector<float> future(static_cast<size_t>(count) * shape_.future_size());
  for (int i = 0; i < count; ++i) {
    WindowSource source;
    source.load = windows[i].load;
    source.covariates = windows[i].covariates;
    source.first_forecast_time = windows[i].first_forecast_time;
    source.resolution_seconds = resolution_seconds();
    BuildWindowFeatures(
        shape_, known_future_, source, scaling_, *holidays,
        past.data() + static_cast<size_t>(i) * shape_.past_size(),
        future.data() + static_cast<size_t>(i) * shape_.future_size());
  }

  torch::Tensor output;
  try {
    c10::InferenceMode inference_mode;
    const torch::Tensor past_tensor = torch::from_blob(
        past.data(), {count, shape_.input_window, shape_.past_channels()},
        torch::kFloat32);
    const torch::Tensor future_tensor = torch::from_blob(
        future.data(), {count, shape_.horizon, shape_.future_channels()},
        torch::kFloat32);
    // [count, horizon, 1 + levels] -> [count, 1 + levels, horizon]
    output = network_->module->forward(past_tensor, future_tensor)
                 .transpose(1, 2)
                 .contiguous();
  } catch (const c10::Error& error) {
    return absl::InternalError(
        absl::StrCat("forward pass failed: ", error.what_without_backtrace()));
  }
  return Unpack(output.data_ptr<float>(), count);
}

absl::StatusOr<ForecastValues> ForecastModel::Unpack(const float* raw,
                                                     int count) const {
  ForecastValues values;
  values.count = count;
  values.horizon = horizon();
  values.levels.assign(manifest_.spec().quantiles().begin(),
                       manifest_.spec().quantiles().end());
  const int levels = static_cast<int>(values.levels.size());
  values.point.reserve(static_cast<size_t>(count) * horizon());
  values.quantiles.reserve(static_cast<size_t>(count) * levels * horizon());

  for (int w = 0; w < count; ++w) {
    for (int column = 0; column <= levels; ++column) {
      std::vector<double>& target =
          column == 0 ? values.point : values.quantiles;
      const float* row =
          raw + (static_cast<size_t>(w) * (levels + 1) + column) * horizon();
      for (int h = 0; h < horizon(); ++h) {
        const double value = Denormalise(row[h], scaling_.load);
        if (!std::isfinite(value)) {
          return absl::InternalError(absl::StrCat(
              "model ", manifest_.model(), " version ", version_,
              " produced a non-finite value for window ", w, " point ", h));
        }
        target.push_back(value);
      }
    }
  }
  CalibrateQuantiles(&values);
  return values;
}

void ForecastModel::CalibrateQuantiles(ForecastValues* values) const {
  if (quantile_scales_.empty()) return;
  const size_t levels = values->levels.size();
  const int horizon = values->horizon;
  std::vector<double> point_quantiles(levels);
  for (int w = 0; w < values->count; ++w) {
    double* window = values->quantiles.data() + w * levels * horizon;
    for (int h = 0; h < horizon; ++h) {
      for (size_t q = 0; q < levels; ++q) {
        point_quantiles[q] = window[q * horizon + h];
      }
      ApplyQuantileScales(quantile_scales_, values->Point(w, h),
                          point_quantiles.data());
      for (size_t q = 0; q < levels; ++q) {
        window[q * horizon + h] = point_quantiles[q];
      }
    }
  }
}

absl::StatusOr<std::vector<double>> ForecastModel::Predict(
    const double* windows, const int64_t* first_forecast_times,
    int count) const {
  if (shape_.covariates > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model ", manifest_.model(), " reads ", shape_.covariates,
        " covariates; a forecast from load alone is not possible"));
  }
  std::vector<ForecastWindow> inputs(count);
  for (int i = 0; i < count; ++i) {
    inputs[i].load = windows + static_cast<size_t>(i) * input_window();
    inputs[i].first_forecast_time = first_forecast_times[i];
  }
  GC_ASSIGN_OR_RETURN(ForecastValues values, Predict(inputs));
  return std::move(values.point);
}

absl::Status ForecastModel::SmokeTest() const {
  const std::vector<double> load(input_window(), scaling_.load.mean());
  std::vector<std::vector<double>> covariates;
  ForecastWindow window;
  window.load = load.data();
  window.first_forecast_time = manifest_.create_time();
  for (int c = 0; c < shape_.covariates; ++c) {
    covariates.emplace_back(input_window() + horizon(),
                            scaling_.covariates[c].mean());
  }
  for (const auto& values : covariates) {
    window.covariates.push_back(values.data());
  }
  return Predict({window}).status();
}

}  // namespace gridcast
