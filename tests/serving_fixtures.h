// Versions published straight into a store, without the trainer: tiny
// perceptrons whose weights come from a seed, so that serving tests can
// make many models and versions in milliseconds. Also policy.json writing
// and requests that fit these models.
#ifndef GRIDCAST_TESTS_SERVING_FIXTURES_H_
#define GRIDCAST_TESTS_SERVING_FIXTURES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/store/model_store.h"
#include "gridcast/v1/forecaster.pb.h"
#include "tests/tiny_model.h"  // kTinyWindow, kTinyHorizon

namespace gridcast::testing {

// Publishes the next version of `model`: window 24, horizon 6, one hidden
// layer of 8, weights drawn from `seed`. A non-empty `rejection_reason`
// publishes it as rejected by the quality gate.
absl::StatusOr<int64_t> PublishTinyVersion(
    ModelStore& store, const std::string& model, uint64_t seed,
    const std::string& rejection_reason = "");

// Replaces models/<model>/policy.json the way an operator should: write a
// temporary file, then rename it over the old one.
void WritePolicy(const std::string& store_root, const std::string& model,
                 const std::string& json);
void RemovePolicy(const std::string& store_root, const std::string& model);

// A request with 24 hourly points around `level`, for the tiny models.
v1::ForecastRequest TinyRequest(const std::string& model, double level = 100);

}  // namespace gridcast::testing

#endif  // GRIDCAST_TESTS_SERVING_FIXTURES_H_
