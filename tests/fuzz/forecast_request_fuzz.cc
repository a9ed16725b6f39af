// Fuzzes a Forecast call's request, as the bytes a client sends, through
// the validation that turns it into model inputs and on through the tiny
// model of tiny_fuzz_model.h (no store, no server).
// Input: a serialised ForecastRequest.
//
// Properties: no crash or undefined behaviour; errors are valid UTF-8 and
// never INTERNAL; an answer has the requested horizon, finite values on the
// model's grid, and a band per requested quantile.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/model/forecast_model.h"
#include "gridcast/v1/forecaster.pb.h"
#include "inference/forecast_inputs.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/tiny_model.h"

namespace gridcast::fuzz {
namespace {

void CheckResponse(const v1::ForecastRequest& request,
                   const v1::ForecastResponse& response) {
  const int horizon =
      request.horizon() == 0 ? testing::kTinyHorizon : request.horizon();
  Require(response.timestamps_size() == horizon, "a timestamp per point");
  Require(response.values_size() == horizon, "a value per point");
  const int64_t last =
      request.history().timestamps(request.history().timestamps_size() - 1);
  for (int h = 0; h < horizon; ++h) {
    Require(response.timestamps(h) == last + (h + 1) * testing::kTinyResolution,
            "forecast times continue the history's grid");
    Require(std::isfinite(response.values(h)), "finite forecasts");
  }
  const int bands =
      request.quantiles_size() == 0 ? 2 : request.quantiles_size();
  Require(response.quantiles_size() == bands, "a band per quantile");
  for (const auto& band : response.quantiles()) {
    Require(band.values_size() == horizon, "a band value per point");
    for (double value : band.values()) {
      Require(std::isfinite(value), "finite bands");
    }
  }
}

}  // namespace
}  // namespace gridcast::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gridcast;
  // value() aborts with the reason should the model not build.
  static const std::unique_ptr<ForecastModel> model =
      testing::BuildTinyModel().value();

  fuzz::FuzzRequest<v1::ForecastRequest, v1::ForecastResponse>(
      data, size,
      [](const auto& request, auto* response) {
        return ComputeForecast(*model, request, response);
      },
      fuzz::CheckResponse);
  return 0;
}
