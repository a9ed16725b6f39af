// Tests of the validation that turns a Forecast or DetectAnomalies request
// into model inputs (inference/forecast_inputs.h), on the tiny model of
// tests/tiny_model.h.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/model/forecast_model.h"
#include "gridcast/v1/forecaster.pb.h"
#include "inference/anomaly_detection.h"
#include "inference/forecast_inputs.h"
#include "tests/tiny_model.h"

namespace gridcast {
namespace {

using Catch::Matchers::Contains;

using testing::kTinyHorizon;
using testing::kTinyWindow;

constexpr int64_t kHour = 3600;
constexpr int64_t kMonday = 1704067200;

std::unique_ptr<ForecastModel> TinyModel() {
  auto model = testing::BuildTinyModel();
  REQUIRE(model.ok());
  return *std::move(model);
}

v1::ForecastRequest Request() {
  v1::ForecastRequest request;
  request.set_model("feeder-1");
  for (int i = 0; i < kTinyWindow; ++i) {
    request.mutable_history()->add_timestamps(kMonday + i * kHour);
    request.mutable_history()->add_values(100 + 10 * std::sin(i));
  }
  v1::Covariate* temperature = request.add_covariates();
  temperature->set_name("temperature");
  for (int i = 0; i < kTinyWindow + kTinyHorizon; ++i)
    temperature->add_values(15);
  v1::Covariate* wind = request.add_covariates();
  wind->set_name("wind");
  for (int i = 0; i < kTinyWindow; ++i) wind->add_values(4);
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
  CHECK(response.values_size() == kTinyHorizon);
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

// A DetectAnomalies request: the Forecast request's window of context,
// then 12 more points to score, with covariates over all 36.
v1::DetectAnomaliesRequest AnomalyRequest() {
  const v1::ForecastRequest forecast = Request();
  v1::DetectAnomaliesRequest request;
  request.set_model(forecast.model());
  *request.mutable_history() = forecast.history();
  for (int i = kTinyWindow; i < kTinyWindow + 12; ++i) {
    request.mutable_history()->add_timestamps(kMonday + i * kHour);
    request.mutable_history()->add_values(100 + 10 * std::sin(i));
  }
  const int points = request.history().values_size();
  for (const char* name : {"temperature", "wind"}) {
    v1::Covariate* covariate = request.add_covariates();
    covariate->set_name(name);
    for (int i = 0; i < points; ++i) covariate->add_values(15);
  }
  return request;
}

TEST_CASE("anomaly detection scores a history within the model's range",
          "[forecast][anomalies]") {
  const auto model = TinyModel();
  v1::DetectAnomaliesRequest request = AnomalyRequest();
  request.mutable_history()->set_values(30, std::nan(""));

  v1::DetectAnomaliesResponse response;
  REQUIRE(DetectAnomalies(*model, request, &response).ok());
  REQUIRE(response.kinds_size() == 12);
  CHECK(response.kinds(30 - kTinyWindow) == v1::ANOMALY_KIND_MISSING_DATA);
}

// Found by tests/fuzz/anomaly_request_fuzz.cc: Forecast refused such a
// load, DetectAnomalies passed it to the network and answered INTERNAL
// "produced a non-finite value".
TEST_CASE(
    "a load far beyond the model's training range is refused by anomaly "
    "detection too",
    "[forecast][anomalies]") {
  const auto model = TinyModel();
  v1::DetectAnomaliesRequest request = AnomalyRequest();
  request.mutable_history()->set_values(22, -2.5673964784484387e+256);

  v1::DetectAnomaliesResponse response;
  const absl::Status status = DetectAnomalies(*model, request, &response);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(status),
             Contains("history.values[22]=-2.5674e+256 is too far from what "
                      "model feeder-1 was trained on (mean 100, stddev 10)"));
  CHECK(response.timestamps_size() == 0);
}

}  // namespace
}  // namespace gridcast
