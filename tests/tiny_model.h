// A small model built in memory instead of trained (no store, no server),
// for the tests and fuzz targets of request validation: 24 hourly points
// in, 6 out, quantiles 0.1 and 0.9, a known-future "temperature" and a
// past-only "wind", scaled as TinyManifest says. The fuzz seed corpora
// (tests/fuzz/make_seeds.py) write requests for it.
#ifndef GRIDCAST_TESTS_TINY_MODEL_H_
#define GRIDCAST_TESTS_TINY_MODEL_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "common/model/forecast_model.h"

namespace gridcast::testing {

inline constexpr int kTinyWindow = 24;
inline constexpr int kTinyHorizon = 6;
inline constexpr int64_t kTinyResolution = 3600;

// Weights from a fixed seed, so every build of it forecasts the same.
absl::StatusOr<std::unique_ptr<ForecastModel>> BuildTinyModel();

}  // namespace gridcast::testing

#endif  // GRIDCAST_TESTS_TINY_MODEL_H_
