// Split-conformal rescaling of quantile bands: the fit on a held-out
// sample, and its application that keeps levels from crossing.
#include "common/model/interval_calibration.h"

#include <catch2/catch.hpp>
#include <random>

namespace gridcast {
namespace {

// Actuals drawn around the point forecast with standard deviation 1, and
// quantiles placed as if it were `believed_stddev` instead.
CalibrationSample GaussianSample(double believed_stddev, int points,
                                 std::vector<double> levels = {0.1, 0.9}) {
  // The 10 % and 90 % quantiles of a standard normal.
  constexpr double kZ90 = 1.2815515655446004;
  CalibrationSample sample(levels);
  std::mt19937 random(7);
  std::normal_distribution<double> noise(0.0, 1.0);
  for (int i = 0; i < points; ++i) {
    const double point = 50.0 + 10.0 * (i % 13);
    const double quantiles[] = {point - kZ90 * believed_stddev,
                                point + kZ90 * believed_stddev};
    sample.Add(point + noise(random), point, quantiles);
  }
  return sample;
}

TEST_CASE("a band that is too narrow is widened by the missing factor",
          "[calibration]") {
  const std::vector<double> scales = GaussianSample(0.5, 20000).FitScales();
  REQUIRE(scales.size() == 2);
  CHECK(scales[0] == Approx(2.0).epsilon(0.05));
  CHECK(scales[1] == Approx(2.0).epsilon(0.05));
}

TEST_CASE("a band that is too wide is narrowed", "[calibration]") {
  const std::vector<double> scales = GaussianSample(1.6, 20000).FitScales();
  REQUIRE(scales.size() == 2);
  CHECK(scales[0] == Approx(1 / 1.6).epsilon(0.05));
  CHECK(scales[1] == Approx(1 / 1.6).epsilon(0.05));
}

TEST_CASE("a calibrated band keeps a factor near one", "[calibration]") {
  const std::vector<double> scales = GaussianSample(1.0, 20000).FitScales();
  REQUIRE(scales.size() == 2);
  CHECK(scales[0] == Approx(1.0).epsilon(0.05));
  CHECK(scales[1] == Approx(1.0).epsilon(0.05));
}

TEST_CASE("rescaled quantiles hold their level's share of a new sample",
          "[calibration]") {
  const std::vector<double> scales = GaussianSample(0.7, 20000).FitScales();
  REQUIRE(scales.size() == 2);

  std::mt19937 random(99);
  std::normal_distribution<double> noise(0.0, 1.0);
  int inside = 0;
  constexpr int kPoints = 20000;
  for (int i = 0; i < kPoints; ++i) {
    const double point = 100.0;
    double quantiles[] = {point - 1.2816 * 0.7, point + 1.2816 * 0.7};
    ApplyQuantileScales(scales, point, quantiles);
    const double actual = point + noise(random);
    if (actual >= quantiles[0] && actual <= quantiles[1]) ++inside;
  }
  CHECK(inside / static_cast<double>(kPoints) == Approx(0.8).margin(0.015));
}

TEST_CASE("factors stay within the documented range", "[calibration]") {
  const std::vector<double> wide = GaussianSample(10.0, 5000).FitScales();
  const std::vector<double> narrow = GaussianSample(0.1, 5000).FitScales();
  REQUIRE(wide.size() == 2);
  REQUIRE(narrow.size() == 2);
  // Ten times too wide or too narrow: the factor ends at the range's edge.
  CHECK(wide[0] >= kMinQuantileScale);
  CHECK(wide[0] < 0.3);
  CHECK(narrow[1] <= kMaxQuantileScale);
  CHECK(narrow[1] > 3.6);
}

TEST_CASE("too small a sample fits no factors", "[calibration]") {
  CHECK(GaussianSample(0.5, kMinCalibrationPoints - 1).FitScales().empty());
  CHECK(GaussianSample(0.5, kMinCalibrationPoints).FitScales().size() == 2);
}

TEST_CASE("a quantile on the point forecast keeps factor one",
          "[calibration]") {
  CalibrationSample sample({0.5});
  std::mt19937 random(3);
  std::normal_distribution<double> noise(0.0, 1.0);
  for (int i = 0; i < 1000; ++i) {
    const double median = 10.0;
    sample.Add(10.0 + noise(random), 10.0, &median);
  }
  const std::vector<double> scales = sample.FitScales();
  REQUIRE(scales.size() == 1);
  CHECK(scales[0] == 1.0);
}

TEST_CASE("rescaling never lets a level fall below the one under it",
          "[calibration]") {
  // The 0.2 level is narrowed towards the point, the 0.3 level widened
  // away from it: 0.3 would land under 0.2 and is raised to it.
  double crossing[] = {9.0, 9.8, 12.0};
  ApplyQuantileScales({0.25, 4.0, 0.5}, 10.0, crossing);
  CHECK(crossing[0] == Approx(9.75));
  CHECK(crossing[1] == Approx(9.75));
  CHECK(crossing[2] == Approx(11.0));

  double apart[] = {9.0, 11.0};
  ApplyQuantileScales({2.0, 1.5}, 10.0, apart);
  CHECK(apart[0] == Approx(8.0));
  CHECK(apart[1] == Approx(11.5));

  double kept[] = {1.0, 2.0};
  ApplyQuantileScales({}, 10.0, kept);
  CHECK(kept[0] == 1.0);
  CHECK(kept[1] == 2.0);
}

}  // namespace
}  // namespace gridcast
