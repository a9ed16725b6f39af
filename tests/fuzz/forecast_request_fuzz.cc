// Fuzzes a Forecast call's request, as the bytes a client sends, through
// the validation that turns it into model inputs and on through a tiny
// model built here (no store, no server).
// Input: a serialised ForecastRequest.
//
// Properties: no crash or undefined behaviour; errors are valid UTF-8 and
// never INTERNAL; an
// answer has the requested horizon, finite values on the model's grid, and
// a band per requested quantile.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/model/architecture.h"
#include "common/model/forecast_model.h"
#include "common/model/networks.h"
#include "gridcast/v1/forecaster.pb.h"
#include "inference/forecast_inputs.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/tiny_manifest.h"

namespace gridcast::fuzz {
namespace {

// The seed corpus (tests/fuzz/make_seeds.py) writes requests for this
// model: 24 hourly points in, 6 out, quantiles 0.1 and 0.9, a known-future
// temperature and a past-only wind speed.
constexpr int kWindow = 24;
constexpr int kHorizon = 6;
constexpr int64_t kResolution = 3600;

std::unique_ptr<ForecastModel> BuildTinyModel() {
  v1::ArchitectureSpec spec;
  spec.mutable_mlp()->add_hidden_sizes(8);
  spec.set_input_window(kWindow);
  spec.set_horizon(kHorizon);
  spec.add_quantiles(0.1);
  spec.add_quantiles(0.9);
  spec.add_covariates()->set_name("temperature");
  spec.mutable_covariates(0)->set_known_future(true);
  spec.add_covariates()->set_name("wind");
  Require(ResolveArchitecture(&spec).ok(), "the tiny spec resolves");

  auto network = BuildNetwork(spec);
  Require(network.ok(), "the tiny network builds");
  at::Generator generator = MakeGenerator(/*seed=*/7);
  (*network)->ResetParameters(generator);
  auto weights = SerializeWeights(**network);
  Require(weights.ok(), "the tiny network serialises");

  const store::v1::Manifest manifest = testing::TinyManifest(spec, kResolution);
  auto model = ForecastModel::Load(manifest, *weights, /*version=*/3);
  Require(model.ok(), "the tiny model loads", model.status().ToString());
  return *std::move(model);
}

void CheckResponse(const v1::ForecastRequest& request,
                   const v1::ForecastResponse& response) {
  const int horizon = request.horizon() == 0 ? kHorizon : request.horizon();
  Require(response.timestamps_size() == horizon, "a timestamp per point");
  Require(response.values_size() == horizon, "a value per point");
  const int64_t last =
      request.history().timestamps(request.history().timestamps_size() - 1);
  for (int h = 0; h < horizon; ++h) {
    Require(response.timestamps(h) == last + (h + 1) * kResolution,
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
  static const std::unique_ptr<ForecastModel> model = fuzz::BuildTinyModel();

  v1::ForecastRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  v1::ForecastResponse response;
  const absl::Status status = ComputeForecast(*model, request, &response);
  if (!status.ok()) {
    // Whatever a client sends is its fault or a refusal, never the
    // server's: INTERNAL would page the on-call engineer.
    fuzz::Require(status.code() != absl::StatusCode::kInternal,
                  "a request is never an INTERNAL error", status.ToString());
    fuzz::RequireUtf8Message(status);
    return 0;
  }
  fuzz::CheckResponse(request, response);
  return 0;
}
