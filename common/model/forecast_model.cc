#include "common/model/forecast_model.h"

#include <cmath>

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "common/model/architecture.h"
#include "common/model/features.h"
#include "common/model/networks.h"
#include "common/status_macros.h"

namespace gridcast {

struct ForecastModel::Network {
  std::shared_ptr<ForecastNetworkImpl> module;
};

void ConfigureTorchThreads(int intra_op_threads) {
  if (intra_op_threads > 0) torch::set_num_threads(intra_op_threads);
}

std::string TorchVersion() { return TORCH_VERSION; }

absl::StatusOr<std::unique_ptr<ForecastModel>> ForecastModel::Load(
    store::v1::Manifest manifest, const std::string& weights, int64_t version) {
  GC_RETURN_IF_ERROR(ResolveArchitecture(manifest.mutable_spec()));
  if (!(manifest.normalisation().stddev() > 0) ||
      !std::isfinite(manifest.normalisation().mean())) {
    return absl::DataLossError(
        absl::StrCat("manifest normalisation is unusable: mean=",
                     manifest.normalisation().mean(),
                     " stddev=", manifest.normalisation().stddev()));
  }

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
      network_(std::move(network)) {}

ForecastModel::~ForecastModel() = default;

const store::v1::Manifest& ForecastModel::manifest() const { return manifest_; }

int ForecastModel::input_window() const {
  return manifest_.spec().input_window();
}

int ForecastModel::horizon() const { return manifest_.spec().horizon(); }

int64_t ForecastModel::resolution_seconds() const {
  return manifest_.resolution_seconds();
}

absl::StatusOr<std::vector<double>> ForecastModel::Predict(
    const double* windows, const int64_t* first_forecast_times,
    int count) const {
  const int window = input_window();
  const int features = FeatureCount(window);

  std::vector<float> inputs(static_cast<size_t>(count) * features);
  for (int i = 0; i < count; ++i) {
    BuildFeatures(windows + static_cast<size_t>(i) * window, window,
                  first_forecast_times[i], manifest_.normalisation(),
                  inputs.data() + static_cast<size_t>(i) * features);
  }

  torch::Tensor output;
  try {
    c10::InferenceMode inference_mode;
    const torch::Tensor batch =
        torch::from_blob(inputs.data(), {count, features}, torch::kFloat32);
    output = network_->module->forward(batch).contiguous();
  } catch (const c10::Error& error) {
    return absl::InternalError(
        absl::StrCat("forward pass failed: ", error.what_without_backtrace()));
  }

  const float* raw = output.data_ptr<float>();
  std::vector<double> forecast(static_cast<size_t>(count) * horizon());
  for (size_t i = 0; i < forecast.size(); ++i) {
    forecast[i] = Denormalise(raw[i], manifest_.normalisation());
    if (!std::isfinite(forecast[i])) {
      return absl::InternalError(absl::StrCat("model ", manifest_.model(),
                                              " produced a non-finite value at "
                                              "output ",
                                              i));
    }
  }
  return forecast;
}

}  // namespace gridcast
