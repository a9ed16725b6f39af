#include "common/model/architecture.h"

#include "absl/strings/str_format.h"

namespace gridcast {
namespace {

absl::Status CheckRange(const char* field, int value, int low, int high) {
  if (value >= low && value <= high) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s=%d must be between %d and %d", field, value, low, high));
}

absl::Status ResolveMlp(v1::MlpSpec* mlp) {
  if (mlp->hidden_sizes().empty()) {
    mlp->add_hidden_sizes(256);
    mlp->add_hidden_sizes(256);
  }
  if (mlp->hidden_sizes_size() > kMaxHiddenLayers) {
    return absl::InvalidArgumentError(
        absl::StrFormat("spec.mlp.hidden_sizes has %d layers, at most %d",
                        mlp->hidden_sizes_size(), kMaxHiddenLayers));
  }
  for (int i = 0; i < mlp->hidden_sizes_size(); ++i) {
    const int size = mlp->hidden_sizes(i);
    if (size < 1 || size > kMaxHiddenSize) {
      return absl::InvalidArgumentError(
          absl::StrFormat("spec.mlp.hidden_sizes[%d]=%d must be between 1 "
                          "and %d",
                          i, size, kMaxHiddenSize));
    }
  }
  if (!(mlp->dropout() >= 0.0 && mlp->dropout() < 1.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "spec.mlp.dropout=%g must be in [0, 1)", mlp->dropout()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ResolveArchitecture(v1::ArchitectureSpec* spec) {
  if (spec->input_window() == 0) spec->set_input_window(kDefaultInputWindow);
  if (spec->horizon() == 0) spec->set_horizon(kDefaultHorizon);
  absl::Status status =
      CheckRange("spec.input_window", spec->input_window(), 1, kMaxInputWindow);
  if (!status.ok()) return status;
  status = CheckRange("spec.horizon", spec->horizon(), 1, kMaxHorizon);
  if (!status.ok()) return status;

  // Quantile heads arrive with the pinball-loss training; until then a
  // requested band would silently be missing, so it is refused.
  if (!spec->quantiles().empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "spec.quantiles has %d levels; quantile forecasts are not trained "
        "yet, leave it empty",
        spec->quantiles_size()));
  }

  switch (spec->network_case()) {
    // No network chosen means the perceptron.
    case v1::ArchitectureSpec::NETWORK_NOT_SET:
    case v1::ArchitectureSpec::kMlp:
      return ResolveMlp(spec->mutable_mlp());
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("spec.network case %d is not known to this server",
                      static_cast<int>(spec->network_case())));
}

}  // namespace gridcast
