#include "common/model/architecture.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace gridcast {
namespace {

constexpr int kDefaultMovingAverage = 25;

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

absl::Status ResolveLinear(int input_window, v1::LinearSpec* linear) {
  if (linear->variant() == v1::LinearSpec::VARIANT_UNSPECIFIED) {
    linear->set_variant(v1::LinearSpec::VARIANT_LAST_VALUE);
  }
  if (linear->moving_average_points() == 0) {
    linear->set_moving_average_points(
        std::min(kDefaultMovingAverage,
                 input_window % 2 == 1 ? input_window : input_window - 1));
  }
  const int points = linear->moving_average_points();
  if (points < 1 || points % 2 == 0 || points > input_window) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "spec.linear.moving_average_points=%d must be odd and between 1 "
        "and the input window (%d)",
        points, input_window));
  }

  if (linear->lookback_members() == 0) linear->set_lookback_members(1);
  const int members = linear->lookback_members();
  if (members < 1 || members > kMaxLookbackMembers ||
      input_window / members < 2) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "spec.linear.lookback_members=%d must be between 1 and %d, and at "
        "most half the input window (%d)",
        members, kMaxLookbackMembers, input_window));
  }
  return absl::OkStatus();
}

absl::Status ResolveResidualStack(v1::ResidualStackSpec* stack) {
  if (stack->blocks() == 0) stack->set_blocks(4);
  if (stack->layers_per_block() == 0) stack->set_layers_per_block(2);
  if (stack->hidden_size() == 0) stack->set_hidden_size(256);
  GC_RETURN_IF_ERROR(
      CheckRange("spec.residual_stack.blocks", stack->blocks(), 1, kMaxBlocks));
  GC_RETURN_IF_ERROR(CheckRange("spec.residual_stack.layers_per_block",
                                stack->layers_per_block(), 1,
                                kMaxHiddenLayers));
  GC_RETURN_IF_ERROR(CheckRange("spec.residual_stack.hidden_size",
                                stack->hidden_size(), 1, kMaxHiddenSize));
  if (!(stack->dropout() >= 0.0 && stack->dropout() < 1.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "spec.residual_stack.dropout=%g must be in [0, 1)", stack->dropout()));
  }
  return absl::OkStatus();
}

absl::Status ResolveRecurrent(v1::RecurrentSpec* recurrent) {
  if (recurrent->cell() == v1::RecurrentSpec::CELL_UNSPECIFIED) {
    recurrent->set_cell(v1::RecurrentSpec::CELL_GRU);
  }
  if (recurrent->hidden_size() == 0) recurrent->set_hidden_size(64);
  if (recurrent->layers() == 0) recurrent->set_layers(1);
  GC_RETURN_IF_ERROR(CheckRange("spec.recurrent.hidden_size",
                                recurrent->hidden_size(), 1,
                                kMaxRecurrentSize));
  return CheckRange("spec.recurrent.layers", recurrent->layers(), 1,
                    kMaxRecurrentLayers);
}

// Levels strictly inside (0, 1) and strictly increasing, so that every
// level has one column and the non-crossing construction is well defined.
absl::Status CheckQuantiles(const v1::ArchitectureSpec& spec) {
  if (spec.quantiles_size() > kMaxQuantiles) {
    return absl::InvalidArgumentError(
        absl::StrFormat("spec.quantiles has %d levels, at most %d",
                        spec.quantiles_size(), kMaxQuantiles));
  }
  for (int i = 0; i < spec.quantiles_size(); ++i) {
    const double level = spec.quantiles(i);
    if (!(level > 0.0 && level < 1.0)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "spec.quantiles[%d]=%g must be strictly between 0 and 1", i, level));
    }
    if (i > 0 && !(level > spec.quantiles(i - 1))) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "spec.quantiles[%d]=%g must be greater than spec.quantiles[%d]=%g", i,
          level, i - 1, spec.quantiles(i - 1)));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckCovariates(const v1::ArchitectureSpec& spec) {
  if (spec.covariates_size() > kMaxCovariates) {
    return absl::InvalidArgumentError(
        absl::StrFormat("spec.covariates has %d entries, at most %d",
                        spec.covariates_size(), kMaxCovariates));
  }
  for (int i = 0; i < spec.covariates_size(); ++i) {
    const std::string& name = spec.covariates(i).name();
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("spec.covariates[%d].name is empty", i));
    }
    for (int j = 0; j < i; ++j) {
      if (spec.covariates(j).name() == name) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "spec.covariates[%d].name=\"%s\" repeats spec.covariates[%d]", i,
            name, j));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ResolveArchitecture(v1::ArchitectureSpec* spec) {
  if (spec->input_window() == 0) spec->set_input_window(kDefaultInputWindow);
  if (spec->horizon() == 0) spec->set_horizon(kDefaultHorizon);
  if (spec->window_scaling() == v1::WINDOW_SCALING_UNSPECIFIED) {
    spec->set_window_scaling(v1::WINDOW_SCALING_INSTANCE);
  }
  GC_RETURN_IF_ERROR(CheckRange("spec.input_window", spec->input_window(), 1,
                                kMaxInputWindow));
  GC_RETURN_IF_ERROR(
      CheckRange("spec.horizon", spec->horizon(), 1, kMaxHorizon));
  GC_RETURN_IF_ERROR(CheckQuantiles(*spec));
  GC_RETURN_IF_ERROR(CheckCovariates(*spec));

  switch (spec->network_case()) {
    // No network chosen means the perceptron.
    case v1::ArchitectureSpec::NETWORK_NOT_SET:
    case v1::ArchitectureSpec::kMlp:
      return ResolveMlp(spec->mutable_mlp());
    case v1::ArchitectureSpec::kLinear:
      return ResolveLinear(spec->input_window(), spec->mutable_linear());
    case v1::ArchitectureSpec::kResidualStack:
      return ResolveResidualStack(spec->mutable_residual_stack());
    case v1::ArchitectureSpec::kRecurrent:
      return ResolveRecurrent(spec->mutable_recurrent());
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("spec.network case %d is not known to this server",
                      static_cast<int>(spec->network_case())));
}

}  // namespace gridcast
