// Fuzzes a DetectAnomalies call's request, as the bytes a client sends,
// through the validation, the block planning and the scoring, on the tiny
// model of tiny_fuzz_model.h (no store, no server).
// Input: a serialised DetectAnomaliesRequest.
//
// Properties: no crash or undefined behaviour; errors are valid UTF-8 and
// never INTERNAL; an answer scores the requested points of the history, in
// order, with aligned per-point fields, a band that does not cross, a
// verdict that agrees with its severity (missing data exactly where the
// actual is NaN), and events that add up to the flagged points.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/model/forecast_model.h"
#include "gridcast/v1/forecaster.pb.h"
#include "inference/anomaly_detection.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/tiny_model.h"

namespace gridcast::fuzz {
namespace {

void CheckAligned(const v1::DetectAnomaliesResponse& response, int points) {
  Require(response.timestamps_size() == points, "a timestamp per point");
  Require(response.actual_size() == points, "an actual per point");
  Require(response.expected_size() == points, "an expectation per point");
  Require(response.lower_size() == points, "a lower bound per point");
  Require(response.upper_size() == points, "an upper bound per point");
  Require(response.score_size() == points, "a score per point");
  Require(response.kinds_size() == points, "a kind per point");
  Require(response.severities_size() == points, "a severity per point");
}

void CheckPoint(const v1::DetectAnomaliesResponse& response, int i) {
  Require(response.lower(i) <= response.upper(i), "the band does not cross");
  Require(response.score(i) >= 0, "a score is never negative or NaN");

  const auto kind = response.kinds(i);
  Require(
      kind >= v1::ANOMALY_KIND_NONE && kind <= v1::ANOMALY_KIND_MISSING_DATA,
      "every point has a verdict");
  Require(
      (kind == v1::ANOMALY_KIND_MISSING_DATA) == std::isnan(response.actual(i)),
      "missing data is exactly the NaN actuals");
  Require((kind == v1::ANOMALY_KIND_NONE) ==
              (response.severities(i) == v1::ANOMALY_SEVERITY_NONE),
          "only a normal point has no severity");
}

void CheckResponse(const v1::DetectAnomaliesRequest& request,
                   const v1::DetectAnomaliesResponse& response) {
  const v1::TimeSeries& history = request.history();
  const int points = request.score_points() == 0
                         ? history.values_size() - testing::kTinyWindow
                         : request.score_points();
  CheckAligned(response, points);

  const int first = history.values_size() - points;
  int flagged = 0;
  for (int i = 0; i < points; ++i) {
    Require(response.timestamps(i) == history.timestamps(first + i),
            "the scored points are the history's last, in order");
    CheckPoint(response, i);
    flagged += response.kinds(i) != v1::ANOMALY_KIND_NONE;
  }

  int in_events = 0;
  for (const v1::AnomalyEvent& event : response.events()) {
    Require(event.points() > 0 && event.start_time() <= event.end_time(),
            "an event spans its points");
    in_events += event.points();
  }
  Require(in_events == flagged, "events add up to the flagged points");
}

}  // namespace
}  // namespace gridcast::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gridcast;
  // value() aborts with the reason should the model not build.
  static const std::unique_ptr<ForecastModel> model =
      testing::BuildTinyModel().value();

  fuzz::FuzzRequest<v1::DetectAnomaliesRequest, v1::DetectAnomaliesResponse>(
      data, size,
      [](const auto& request, auto* response) {
        return DetectAnomalies(*model, request, response);
      },
      fuzz::CheckResponse);
  return 0;
}
