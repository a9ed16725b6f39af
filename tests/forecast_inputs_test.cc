// Tests of the validation that turns a Forecast request into model inputs
// (inference/forecast_inputs.h), on a tiny model built in the test.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/model/architecture.h"
#include "common/model/forecast_model.h"
#include "common/model/networks.h"
#include "gridcast/v1/forecaster.pb.h"
#include "inference/forecast_inputs.h"
#include "tests/tiny_manifest.h"

namespace gridcast {
namespace {

using Catch::Matchers::Contains;

constexpr int kWindow = 24;
constexpr int kHorizon = 6;
constexpr int64_t kHour = 3600;
constexpr int64_t kMonday = 1704067200;

// 24 hourly loads in, 6 out; a known-future temperature and a past-only
// wind speed, both around 15 +- 5; loads around 100 +- 10.
std::unique_ptr<ForecastModel> TinyModel() {
  v1::ArchitectureSpec spec;
  spec.mutable_mlp()->add_hidden_sizes(8);
  spec.set_input_window(kWindow);
  spec.set_horizon(kHorizon);
  spec.add_covariates()->set_name("temperature");
  spec.mutable_covariates(0)->set_known_future(true);
  spec.add_covariates()->set_name("wind");
  REQUIRE(ResolveArchitecture(&spec).ok());
  auto network = BuildNetwork(spec);
  REQUIRE(network.ok());
  at::Generator generator = MakeGenerator(/*seed=*/7);
  (*network)->ResetParameters(generator);
  auto weights = SerializeWeights(**network);
  REQUIRE(weights.ok());

  const store::v1::Manifest manifest = testing::TinyManifest(spec, kHour);
  auto model = ForecastModel::Load(manifest, *weights, /*version=*/3);
  REQUIRE(model.ok());
  return *std::move(model);
}

v1::ForecastRequest Request() {
  v1::ForecastRequest request;
  request.set_model("feeder-1");
  for (int i = 0; i < kWindow; ++i) {
    request.mutable_history()->add_timestamps(kMonday + i * kHour);
    request.mutable_history()->add_values(100 + 10 * std::sin(i));
  }
  v1::Covariate* temperature = request.add_covariates();
  temperature->set_name("temperature");
  for (int i = 0; i < kWindow + kHorizon; ++i) temperature->add_values(15);
  v1::Covariate* wind = request.add_covariates();
  wind->set_name("wind");
  for (int i = 0; i < kWindow; ++i) wind->add_values(4);
  return request;
}

std::string MessageOf(const absl::Status& status) {
  return std::string(status.message());
}

TEST_CASE("a request within the model's range is forecast", "[forecast]") {
  const auto model = TinyModel();
  v1::ForecastResponse response;
  v1::ForecastRequest request = Request();
  // Far out, but within a million standard deviations.
  request.mutable_history()->set_values(3, 100 + 9e5 * 10);
  REQUIRE(ComputeForecast(*model, request, &response).ok());
  CHECK(response.values_size() == kHorizon);
}

// Found by tests/fuzz/forecast_request_fuzz.cc: a wind speed of 3e57 is a
// finite double, passed every check, overflowed the network's float32
// arithmetic and came back as INTERNAL "produced a non-finite value".
TEST_CASE(
    "a covariate far beyond the model's training range is the "
    "request's fault",
    "[forecast]") {
  const auto model = TinyModel();
  v1::ForecastRequest request = Request();
  request.mutable_covariates(1)->set_values(3, 3.095651012604321e+57);

  v1::ForecastResponse response;
  const absl::Status status = ComputeForecast(*model, request, &response);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status),
             Contains("covariates[1].values[3] (\"wind\")=3.09565e+57 is too "
                      "far from what model feeder-1 was trained on"));
}

TEST_CASE(
    "a load far beyond the model's training range is the request's "
    "fault",
    "[forecast]") {
  const auto model = TinyModel();
  v1::ForecastRequest request = Request();
  request.mutable_history()->set_values(20, -1e300);

  v1::ForecastResponse response;
  const absl::Status status = ComputeForecast(*model, request, &response);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status),
             Contains("history.values[20]=-1e+300 is too far from what model "
                      "feeder-1 was trained on (mean 100, stddev 10)"));
}

}  // namespace
}  // namespace gridcast
