// The one network definition both servers use: its shapes, its weights'
// round trip through LibTorch's archive, and the features it reads.
#include <cmath>

#include "common/model/architecture.h"
#include "common/model/features.h"
#include "common/model/forecast_model.h"
#include "common/model/networks.h"

// LibTorch brings glog's CHECK macros; Catch2's must win in this file.
#undef CHECK
#undef CHECK_THAT
#include <catch2/catch.hpp>

namespace gridcast {
namespace {

v1::ArchitectureSpec Spec(int window, int horizon, std::vector<int> hidden) {
  v1::ArchitectureSpec spec;
  spec.set_input_window(window);
  spec.set_horizon(horizon);
  for (int size : hidden) spec.mutable_mlp()->add_hidden_sizes(size);
  REQUIRE(ResolveArchitecture(&spec).ok());
  return spec;
}

TEST_CASE("the perceptron maps a batch of windows to the whole horizon",
          "[network]") {
  const v1::ArchitectureSpec spec = Spec(48, 12, {32, 16});
  auto network = BuildNetwork(spec);
  REQUIRE(network.ok());
  const torch::Tensor output =
      (*network)->forward(torch::zeros({5, FeatureCount(48)}));
  CHECK(output.sizes().vec() == std::vector<int64_t>{5, 12});
}

TEST_CASE("an empty spec resolves to the documented defaults", "[network]") {
  v1::ArchitectureSpec spec;
  REQUIRE(ResolveArchitecture(&spec).ok());
  CHECK(spec.input_window() == 168);
  CHECK(spec.horizon() == 24);
  CHECK(spec.mlp().hidden_sizes_size() == 2);
}

TEST_CASE("out-of-range specs are refused naming the field", "[network]") {
  v1::ArchitectureSpec spec;
  spec.set_horizon(100000);
  const absl::Status status = ResolveArchitecture(&spec);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(status.message()),
             Catch::Matchers::Contains("spec.horizon=100000"));

  v1::ArchitectureSpec quantiles;
  quantiles.add_quantiles(0.9);
  CHECK(ResolveArchitecture(&quantiles).code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("weights round-trip through the archive and forecast the same",
          "[network]") {
  torch::manual_seed(3);
  store::v1::Manifest manifest;
  manifest.set_model("feeder-1");
  *manifest.mutable_spec() = Spec(24, 6, {8});
  manifest.mutable_normalisation()->set_mean(100);
  manifest.mutable_normalisation()->set_stddev(10);
  manifest.set_resolution_seconds(3600);

  auto network = BuildNetwork(manifest.spec());
  REQUIRE(network.ok());
  auto weights = SerializeWeights(**network);
  REQUIRE(weights.ok());

  auto model = ForecastModel::Load(manifest, *weights, /*version=*/4);
  REQUIRE(model.ok());
  CHECK((*model)->version() == 4);

  std::vector<double> window(24);
  for (int i = 0; i < 24; ++i) window[i] = 100 + std::sin(i);
  const int64_t time = 1704067200;
  auto forecast = (*model)->Predict(window.data(), &time, 1);
  REQUIRE(forecast.ok());
  REQUIRE(forecast->size() == 6);

  std::vector<float> features(FeatureCount(24));
  BuildFeatures(window.data(), 24, time, manifest.normalisation(),
                features.data());
  torch::NoGradGuard no_grad;
  (*network)->eval();
  const torch::Tensor direct = (*network)->forward(
      torch::from_blob(features.data(), {1, FeatureCount(24)}));
  for (int h = 0; h < 6; ++h) {
    CHECK((*forecast)[h] ==
          Approx(direct[0][h].item<float>() * 10 + 100).epsilon(1e-6));
  }
}

TEST_CASE("weights whose shapes differ from the manifest's spec are refused",
          "[network]") {
  auto small = BuildNetwork(Spec(24, 6, {8}));
  REQUIRE(small.ok());
  auto weights = SerializeWeights(**small);
  REQUIRE(weights.ok());

  store::v1::Manifest manifest;
  *manifest.mutable_spec() = Spec(24, 6, {16});
  manifest.mutable_normalisation()->set_stddev(1);
  const auto model = ForecastModel::Load(manifest, *weights, 1);
  CHECK(model.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(model.status().message()),
             Catch::Matchers::Contains("shape"));

  const auto truncated =
      ForecastModel::Load(manifest, weights->substr(0, weights->size() / 2), 1);
  CHECK(truncated.status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("calendar features put Monday midnight at phase zero", "[network]") {
  store::v1::Normalisation unit;
  unit.set_stddev(1);
  std::vector<float> features(FeatureCount(1));
  const double value = 0;
  // 2024-01-01 00:00 UTC was a Monday.
  BuildFeatures(&value, 1, 1704067200, unit, features.data());
  CHECK(features[1] == Approx(0));               // sin(hour of day)
  CHECK(features[2] == Approx(1));               // cos(hour of day)
  CHECK(features[3] == Approx(0).margin(1e-6));  // sin(day of week)
  CHECK(features[4] == Approx(1));               // cos(day of week)

  // Six in the morning on a Thursday.
  BuildFeatures(&value, 1, 1704067200 + 3 * 86400 + 6 * 3600, unit,
                features.data());
  CHECK(features[1] == Approx(1));
  CHECK(features[3] == Approx(std::sin(2 * M_PI * (3 + 0.25) / 7)));
}

}  // namespace
}  // namespace gridcast
