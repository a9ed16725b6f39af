// Defaults and limits of the network specs a job may ask for. Free of
// LibTorch, so that the servers can validate a spec without building it.
#ifndef GRIDCAST_COMMON_MODEL_ARCHITECTURE_H_
#define GRIDCAST_COMMON_MODEL_ARCHITECTURE_H_

#include <string>

#include "absl/status/status.h"
#include "gridcast/v1/types.pb.h"

namespace gridcast {

inline constexpr int kDefaultInputWindow = 168;
inline constexpr int kDefaultHorizon = 24;
inline constexpr int kMaxInputWindow = 4096;
inline constexpr int kMaxHorizon = 2048;
inline constexpr int kMaxHiddenSize = 8192;
inline constexpr int kMaxHiddenLayers = 16;
inline constexpr int kMaxBlocks = 32;
inline constexpr int kMaxRecurrentSize = 1024;
inline constexpr int kMaxRecurrentLayers = 4;
inline constexpr int kMaxQuantiles = 16;
inline constexpr int kMaxCovariates = 32;
inline constexpr int kMaxLookbackMembers = 16;

// Fills the defaults of an incomplete spec (zero window and horizon, no
// network chosen, zero sizes; the defaults are documented in types.proto)
// and checks every field is in range.
// INVALID_ARGUMENT names the field: "spec.input_window=0 ...".
absl::Status ResolveArchitecture(v1::ArchitectureSpec* spec);

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_MODEL_ARCHITECTURE_H_
