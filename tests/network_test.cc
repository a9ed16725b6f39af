// The network definitions both servers use: every family's shapes, the
// quantile construction, the window scaling, the weights' round trip
// through LibTorch's archive, and the features they read.
#include <cmath>

#include "common/model/architecture.h"
#include "common/model/features.h"
#include "common/model/forecast_model.h"
#include "common/model/networks.h"
#include "tests/tiny_manifest.h"

// LibTorch brings glog's CHECK macros; Catch2's must win in this file.
#undef CHECK
#undef CHECK_THAT
#include <catch2/catch.hpp>

namespace gridcast {
namespace {

constexpr int64_t kMonday = 1704067200;  // 2024-01-01 00:00 UTC

v1::ArchitectureSpec Spec(int window, int horizon, std::vector<int> hidden) {
  v1::ArchitectureSpec spec;
  spec.set_input_window(window);
  spec.set_horizon(horizon);
  for (int size : hidden) spec.mutable_mlp()->add_hidden_sizes(size);
  REQUIRE(ResolveArchitecture(&spec).ok());
  return spec;
}

// One spec per family, small enough to build quickly.
std::vector<v1::ArchitectureSpec> EveryFamily(int window, int horizon) {
  std::vector<v1::ArchitectureSpec> specs(8);
  specs[0].mutable_mlp()->add_hidden_sizes(16);
  specs[1].mutable_linear()->set_variant(v1::LinearSpec::VARIANT_LAST_VALUE);
  specs[2].mutable_linear()->set_variant(v1::LinearSpec::VARIANT_DECOMPOSITION);
  specs[2].mutable_linear()->set_moving_average_points(5);
  specs[3].mutable_residual_stack()->set_blocks(2);
  specs[3].mutable_residual_stack()->set_hidden_size(16);
  specs[4].mutable_recurrent()->set_hidden_size(8);
  specs[5].mutable_recurrent()->set_cell(v1::RecurrentSpec::CELL_LSTM);
  specs[5].mutable_recurrent()->set_hidden_size(8);
  specs[6].mutable_linear()->set_lookback_members(3);
  specs[7].mutable_linear()->set_variant(v1::LinearSpec::VARIANT_DECOMPOSITION);
  specs[7].mutable_linear()->set_moving_average_points(5);
  specs[7].mutable_linear()->set_lookback_members(2);
  for (auto& spec : specs) {
    spec.set_input_window(window);
    spec.set_horizon(horizon);
    REQUIRE(ResolveArchitecture(&spec).ok());
  }
  return specs;
}

// Random inputs shaped for `shape`.
std::pair<torch::Tensor, torch::Tensor> Inputs(const FeatureShape& shape,
                                               int batch) {
  return {torch::randn({batch, shape.input_window, shape.past_channels()}),
          torch::randn({batch, shape.horizon, shape.future_channels()})};
}

TEST_CASE("every family maps a batch of windows to the whole horizon",
          "[network]") {
  for (v1::ArchitectureSpec spec : EveryFamily(24, 6)) {
    spec.add_quantiles(0.1);
    spec.add_quantiles(0.9);
    spec.add_covariates()->set_name("temperature");
    spec.mutable_covariates(0)->set_known_future(true);
    spec.add_covariates()->set_name("wind");
    INFO(spec.ShortDebugString());
    auto network = BuildNetwork(spec);
    REQUIRE(network.ok());
    const auto [past, future] = Inputs((*network)->shape(), 5);
    CHECK(past.size(2) == 1 + 2 + kCalendarChannels);
    CHECK(future.size(2) == 1 + kCalendarChannels);
    const torch::Tensor output = (*network)->forward(past, future);
    CHECK(output.sizes().vec() == std::vector<int64_t>{5, 6, 3});
  }
}

TEST_CASE("quantile levels never cross, whatever the weights", "[network]") {
  for (v1::ArchitectureSpec spec : EveryFamily(24, 6)) {
    for (double level : {0.05, 0.25, 0.5, 0.75, 0.95}) {
      spec.add_quantiles(level);
    }
    auto network = BuildNetwork(spec);
    REQUIRE(network.ok());
    // Large random weights make raw outputs of every sign.
    {
      torch::NoGradGuard no_grad;
      for (auto& parameter : (*network)->parameters()) {
        parameter.normal_(0, 3);
      }
    }
    const auto [past, future] = Inputs((*network)->shape(), 64);
    const torch::Tensor output = (*network)->forward(past, future);
    const torch::Tensor levels = output.slice(2, 1);
    const torch::Tensor steps = levels.slice(2, 1) - levels.slice(2, 0, -1);
    CHECK(steps.min().item<float>() >= 0);
    // The 0.25 level is at or below the point forecast, 0.5 at or above.
    CHECK((output.select(2, 0) - output.select(2, 2)).min().item<float>() >= 0);
    CHECK((output.select(2, 3) - output.select(2, 0)).min().item<float>() >= 0);
  }
}

TEST_CASE(
    "instance scaling makes the forecast follow the window's level "
    "and size",
    "[network]") {
  for (const v1::ArchitectureSpec& spec : EveryFamily(24, 6)) {
    INFO(spec.ShortDebugString());
    auto network = BuildNetwork(spec);
    REQUIRE(network.ok());
    (*network)->eval();
    auto [past, future] = Inputs((*network)->shape(), 4);
    torch::NoGradGuard no_grad;
    const torch::Tensor base = (*network)->forward(past, future);

    // Load x -> 7x + 3 (on the dataset scale) must give forecast
    // f -> 7f + 3: one model serves feeders of any size.
    torch::Tensor scaled = past.clone();
    scaled.select(2, 0).mul_(7).add_(3);
    const torch::Tensor moved = (*network)->forward(scaled, future);
    CHECK(torch::allclose(moved, base * 7 + 3, 1e-3, 1e-3));
  }
}

TEST_CASE("an empty spec resolves to the documented defaults", "[network]") {
  v1::ArchitectureSpec spec;
  REQUIRE(ResolveArchitecture(&spec).ok());
  CHECK(spec.input_window() == 168);
  CHECK(spec.horizon() == 24);
  CHECK(spec.mlp().hidden_sizes_size() == 2);
  CHECK(spec.window_scaling() == v1::WINDOW_SCALING_INSTANCE);

  v1::ArchitectureSpec linear;
  linear.mutable_linear();
  REQUIRE(ResolveArchitecture(&linear).ok());
  CHECK(linear.linear().variant() == v1::LinearSpec::VARIANT_LAST_VALUE);
  CHECK(linear.linear().moving_average_points() == 25);

  v1::ArchitectureSpec stack;
  stack.mutable_residual_stack();
  REQUIRE(ResolveArchitecture(&stack).ok());
  CHECK(stack.residual_stack().blocks() == 4);
  CHECK(stack.residual_stack().hidden_size() == 256);

  v1::ArchitectureSpec recurrent;
  recurrent.mutable_recurrent();
  REQUIRE(ResolveArchitecture(&recurrent).ok());
  CHECK(recurrent.recurrent().cell() == v1::RecurrentSpec::CELL_GRU);
  CHECK(recurrent.recurrent().hidden_size() == 64);
}

absl::Status ResolveError(v1::ArchitectureSpec spec) {
  return ResolveArchitecture(&spec);
}

TEST_CASE("out-of-range specs are refused naming the field", "[network]") {
  v1::ArchitectureSpec spec;
  spec.set_horizon(100000);
  absl::Status status = ResolveError(spec);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(status.message()),
             Catch::Matchers::Contains("spec.horizon=100000"));

  v1::ArchitectureSpec quantiles;
  quantiles.add_quantiles(0.9);
  quantiles.add_quantiles(0.1);
  status = ResolveError(quantiles);
  CHECK_THAT(std::string(status.message()),
             Catch::Matchers::Contains("spec.quantiles[1]=0.1"));
  quantiles.set_quantiles(1, 1.0);
  CHECK_THAT(std::string(ResolveError(quantiles).message()),
             Catch::Matchers::Contains("spec.quantiles[1]=1"));

  v1::ArchitectureSpec twice;
  twice.add_covariates()->set_name("temperature");
  twice.add_covariates()->set_name("temperature");
  CHECK_THAT(std::string(ResolveError(twice).message()),
             Catch::Matchers::Contains("spec.covariates[1].name"));

  v1::ArchitectureSpec members;
  members.set_input_window(24);
  members.mutable_linear()->set_lookback_members(13);
  CHECK_THAT(std::string(ResolveError(members).message()),
             Catch::Matchers::Contains("spec.linear.lookback_members=13"));
  members.mutable_linear()->set_lookback_members(17);
  members.set_input_window(336);
  CHECK_THAT(std::string(ResolveError(members).message()),
             Catch::Matchers::Contains("spec.linear.lookback_members=17"));

  v1::ArchitectureSpec even;
  even.mutable_linear()->set_variant(v1::LinearSpec::VARIANT_DECOMPOSITION);
  even.mutable_linear()->set_moving_average_points(4);
  CHECK_THAT(std::string(ResolveError(even).message()),
             Catch::Matchers::Contains("spec.linear.moving_average_points=4"));
}

TEST_CASE("weights round-trip through the archive and forecast the same",
          "[network]") {
  for (v1::ArchitectureSpec spec : EveryFamily(24, 6)) {
    spec.add_quantiles(0.2);
    spec.add_quantiles(0.8);
    spec.add_covariates()->set_name("temperature");
    spec.mutable_covariates(0)->set_known_future(true);
    INFO(spec.ShortDebugString());
    const store::v1::Manifest manifest = testing::TinyManifest(spec, 3600);
    auto network = BuildNetwork(spec);
    REQUIRE(network.ok());
    at::Generator generator = MakeGenerator(5);
    (*network)->ResetParameters(generator);
    auto weights = SerializeWeights(**network);
    REQUIRE(weights.ok());

    auto model = ForecastModel::Load(manifest, *weights, /*version=*/4);
    REQUIRE(model.ok());
    CHECK((*model)->version() == 4);
    CHECK((*model)->SmokeTest().ok());

    std::vector<double> load(24), temperature(30);
    for (int i = 0; i < 24; ++i) load[i] = 100 + 10 * std::sin(i);
    for (int i = 0; i < 30; ++i) temperature[i] = 15 + std::cos(i);
    ForecastWindow window{load.data(), {temperature.data()}, kMonday};
    auto forecast = (*model)->Predict({window});
    REQUIRE(forecast.ok());
    REQUIRE(forecast->point.size() == 6);
    REQUIRE(forecast->quantiles.size() == 12);

    // The same inputs through the network directly.
    std::vector<float> past(ShapeOf(spec).past_size());
    std::vector<float> future(ShapeOf(spec).future_size());
    WindowSource source{load.data(), {temperature.data()}, kMonday, 3600};
    BuildWindowFeatures(ShapeOf(spec), {true}, source, ScalingOf(manifest),
                        HolidayCalendar(), past.data(), future.data());
    torch::NoGradGuard no_grad;
    (*network)->eval();
    const torch::Tensor direct = (*network)->forward(
        torch::from_blob(past.data(), {1, 24, ShapeOf(spec).past_channels()}),
        torch::from_blob(future.data(),
                         {1, 6, ShapeOf(spec).future_channels()}));
    for (int h = 0; h < 6; ++h) {
      CHECK(forecast->Point(0, h) ==
            Approx(direct[0][h][0].item<float>() * 10 + 100).epsilon(1e-5));
      CHECK(forecast->Quantile(0, 1, h) ==
            Approx(direct[0][h][2].item<float>() * 10 + 100).epsilon(1e-5));
    }
    CHECK_FALSE(
        (*model)->Predict(load.data(), &window.first_forecast_time, 1).ok());
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

  // A manifest without the covariates' scales cannot be served.
  v1::ArchitectureSpec with_covariate = Spec(24, 6, {8});
  with_covariate.add_covariates()->set_name("temperature");
  auto network = BuildNetwork(with_covariate);
  store::v1::Manifest missing_scale =
      testing::TinyManifest(with_covariate, 3600);
  missing_scale.clear_covariate_normalisation();
  const auto unscaled =
      ForecastModel::Load(missing_scale, *SerializeWeights(**network), 1);
  CHECK_THAT(std::string(unscaled.status().message()),
             Catch::Matchers::Contains("covariate_normalisation"));
}

TEST_CASE("a spec without calendar forecasts the same at any time of week",
          "[network]") {
  v1::ArchitectureSpec spec = Spec(24, 6, {16});
  auto network = BuildNetwork(spec);
  REQUIRE(network.ok());
  at::Generator generator = MakeGenerator(3);
  (*network)->ResetParameters(generator);
  const std::string weights = *SerializeWeights(**network);

  store::v1::Manifest with_calendar = testing::TinyManifest(spec, 3600);
  store::v1::Manifest without = with_calendar;
  without.mutable_spec()->set_skip_calendar(true);
  std::vector<double> load(24);
  for (int i = 0; i < 24; ++i) load[i] = 100 + 10 * std::sin(i);
  const auto forecast = [&](const store::v1::Manifest& manifest,
                            int64_t first_forecast_time) {
    auto model = ForecastModel::Load(manifest, weights, 1);
    REQUIRE(model.ok());
    const ForecastWindow window{load.data(), {}, first_forecast_time};
    auto values = (*model)->Predict({window});
    REQUIRE(values.ok());
    return values->point;
  };
  // Monday midnight against Thursday 15:00.
  const int64_t later = kMonday + 3 * 86400 + 15 * 3600;
  CHECK(forecast(without, kMonday) == forecast(without, later));
  CHECK(forecast(with_calendar, kMonday) != forecast(with_calendar, later));

  // The calendar channels are there, held at zero.
  const FeatureShape shape = ShapeOf(without.spec());
  CHECK_FALSE(shape.calendar);
  std::vector<float> past(shape.past_size()), future(shape.future_size());
  WindowSource source{load.data(), {}, later, 3600};
  BuildWindowFeatures(shape, {}, source, ScalingOf(without), HolidayCalendar(),
                      past.data(), future.data());
  for (int t = 0; t < 24; ++t) {
    for (int c = 1; c < shape.past_channels(); ++c) {
      CHECK(past[t * shape.past_channels() + c] == 0.0f);
    }
  }
  for (float value : future) CHECK(value == 0.0f);
}

TEST_CASE("a manifest's quantile scales rescale the served bands",
          "[network][calibration]") {
  v1::ArchitectureSpec spec = Spec(24, 6, {8});
  for (double level : {0.1, 0.5, 0.9}) spec.add_quantiles(level);
  auto network = BuildNetwork(spec);
  REQUIRE(network.ok());
  at::Generator generator = MakeGenerator(11);
  (*network)->ResetParameters(generator);
  const std::string weights = *SerializeWeights(**network);

  const store::v1::Manifest plain = testing::TinyManifest(spec, 3600);
  store::v1::Manifest scaled = plain;
  for (double scale : {2.0, 1.0, 0.5}) scaled.add_quantile_scales(scale);
  auto as_trained = ForecastModel::Load(plain, weights, 1);
  auto calibrated = ForecastModel::Load(scaled, weights, 2);
  REQUIRE(as_trained.ok());
  REQUIRE(calibrated.ok());

  std::vector<double> load(24);
  for (int i = 0; i < 24; ++i) load[i] = 100 + 10 * std::sin(i);
  const ForecastWindow window{load.data(), {}, kMonday};
  const auto before = (*as_trained)->Predict({window});
  const auto after = (*calibrated)->Predict({window});
  REQUIRE(before.ok());
  REQUIRE(after.ok());
  for (int h = 0; h < 6; ++h) {
    const double point = before->Point(0, h);
    CHECK(after->Point(0, h) == point);
    double expected = -INFINITY;
    for (int q = 0; q < 3; ++q) {
      const double scale = scaled.quantile_scales(q);
      expected = std::max(expected,
                          point + scale * (before->Quantile(0, q, h) - point));
      CHECK(after->Quantile(0, q, h) == Approx(expected));
    }
  }

  // Factors that do not match the levels, or that no trainer fits, are
  // refused rather than served.
  store::v1::Manifest short_list = plain;
  short_list.add_quantile_scales(1.5);
  const auto mismatched = ForecastModel::Load(short_list, weights, 3);
  CHECK(mismatched.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(mismatched.status().message()),
             Catch::Matchers::Contains("1 quantile_scales for 3 quantiles"));
  for (double wrong : {0.0, -1.0, 5.0, static_cast<double>(NAN)}) {
    store::v1::Manifest bad = scaled;
    bad.set_quantile_scales(1, wrong);
    const auto refused = ForecastModel::Load(bad, weights, 4);
    CHECK(refused.status().code() == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(refused.status().message()),
               Catch::Matchers::Contains("quantile_scales[1]="));
  }
}

TEST_CASE(
    "lookback members each read the end of the window; the forecast is "
    "their mean",
    "[network]") {
  v1::ArchitectureSpec spec;
  spec.set_input_window(12);
  spec.set_horizon(4);
  spec.set_skip_calendar(true);
  spec.mutable_linear()->set_lookback_members(3);
  REQUIRE(ResolveArchitecture(&spec).ok());
  auto built = BuildNetwork(spec);
  REQUIRE(built.ok());
  ForecastNetworkImpl& network = **built;
  network.eval();
  torch::NoGradGuard no_grad;

  // Lookbacks 4, 8 and 12, named by the points they read.
  const auto parameters = network.named_parameters();
  for (const char* name :
       {"load_map_w4.weight", "load_map_w8.weight", "load_map_w12.weight"}) {
    INFO(name);
    CHECK(parameters.find(name) != nullptr);
  }
  CHECK(parameters["load_map_w4.weight"].size(1) == 4);
  CHECK(parameters.find("load_map.weight") == nullptr);

  auto [past, future] = Inputs(network.shape(), 3);
  const std::vector<torch::Tensor> members =
      network.MemberOutputs(past, future);
  REQUIRE(members.size() == 3);
  CHECK(torch::allclose(network.forward(past, future),
                        torch::stack(members).mean(0), 1e-5, 1e-6));

  // Moving the oldest eight points moves the two longer members only (the
  // window is scaled as a whole, so scaling is off to isolate them).
  v1::ArchitectureSpec unscaled = spec;
  unscaled.set_window_scaling(v1::WINDOW_SCALING_NONE);
  auto plain = BuildNetwork(unscaled);
  REQUIRE(plain.ok());
  const std::vector<torch::Tensor> before =
      (*plain)->MemberOutputs(past, future);
  torch::Tensor moved = past.clone();
  moved.slice(1, 0, 8).add_(5.0);
  const std::vector<torch::Tensor> after =
      (*plain)->MemberOutputs(moved, future);
  CHECK(torch::equal(before[0], after[0]));
  CHECK_FALSE(torch::allclose(before[1], after[1]));
  CHECK_FALSE(torch::allclose(before[2], after[2]));
}

TEST_CASE("frozen parameters are named by prefix and checked", "[network]") {
  v1::ArchitectureSpec spec;
  spec.mutable_residual_stack()->set_blocks(3);
  spec.mutable_residual_stack()->set_hidden_size(8);
  spec.set_input_window(12);
  spec.set_horizon(4);
  REQUIRE(ResolveArchitecture(&spec).ok());
  auto network = BuildNetwork(spec);
  REQUIRE(network.ok());

  auto groups = SplitFrozen(**network, {"blocks.0", "blocks.1"});
  REQUIRE(groups.ok());
  CHECK(groups->frozen.size() == 2 * (2 * 2 + 4));  // 2 layers, 2 heads
  CHECK(groups->trainable.size() == 2 * 2 + 4);

  const auto unknown = SplitFrozen(**network, {"encoder"});
  CHECK(unknown.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(unknown.status().message()),
             Catch::Matchers::Contains("frozen_parameters[0]=\"encoder\"") &&
                 Catch::Matchers::Contains("blocks.2.forecast.bias"));
  CHECK_FALSE(SplitFrozen(**network, {"blocks"}).ok());
}

TEST_CASE(
    "calendar features put Monday midnight at phase zero and mark "
    "holidays",
    "[network]") {
  v1::ArchitectureSpec spec = Spec(1, 2, {4});
  const FeatureShape shape = ShapeOf(spec);
  FeatureScaling scaling;
  scaling.load.set_stddev(1);
  const double value = 0;
  std::vector<float> past(shape.past_size()), future(shape.future_size());
  // Thursday 2024-01-04 is a holiday.
  const HolidayCalendar holidays({kMonday + 3 * 86400});

  // The past point is Sunday 23:00; the first future one Monday 00:00.
  BuildWindowFeatures(shape, {}, {&value, {}, kMonday, 3600}, scaling, holidays,
                      past.data(), future.data());
  CHECK(future[0] == Approx(0).margin(1e-6));  // sin(hour of day)
  CHECK(future[1] == Approx(1));               // cos(hour of day)
  CHECK(future[2] == Approx(0).margin(1e-6));  // sin(day of week)
  CHECK(future[3] == Approx(1));               // cos(day of week)
  CHECK(future[4] == 0);                       // not a holiday
  CHECK(past[1 + 1] == Approx(std::cos(2 * M_PI * 23 / 24)));

  // Six in the morning on the Thursday.
  const int64_t thursday_six = kMonday + 3 * 86400 + 6 * 3600;
  BuildWindowFeatures(shape, {}, {&value, {}, thursday_six, 3600}, scaling,
                      holidays, past.data(), future.data());
  CHECK(future[0] == Approx(1));
  CHECK(future[2] == Approx(std::sin(2 * M_PI * (3 + 0.25) / 7)));
  CHECK(future[4] == 1);
  CHECK(past[1 + 4] == 1);  // five in the morning is the holiday too
}

}  // namespace
}  // namespace gridcast
