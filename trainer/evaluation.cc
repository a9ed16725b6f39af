#include "trainer/evaluation.h"

#include <cmath>

namespace gridcast {
namespace {

// Below this magnitude an actual value makes a percentage error explode.
constexpr double kPercentageFloor = 1e-9;

}  // namespace

void ErrorAccumulator::Add(double actual, double predicted) {
  const double error = predicted - actual;
  ++points_;
  absolute_sum_ += std::abs(error);
  squared_sum_ += error * error;
  if (std::abs(actual) > kPercentageFloor) {
    ++percentage_points_;
    percentage_sum_ += std::abs(error / actual);
  }
}

v1::ErrorMetrics ErrorAccumulator::Finish() const {
  v1::ErrorMetrics metrics;
  metrics.set_points(points_);
  metrics.set_windows(windows_);
  if (points_ == 0) return metrics;
  metrics.set_mae(absolute_sum_ / points_);
  metrics.set_rmse(std::sqrt(squared_sum_ / points_));
  if (percentage_points_ > 0) {
    metrics.set_mape(100.0 * percentage_sum_ / percentage_points_);
  }
  return metrics;
}

std::vector<double> SeasonalNaiveForecast(const std::vector<double>& values,
                                          int64_t origin, int horizon,
                                          int season_points) {
  std::vector<double> forecast(horizon);
  for (int h = 0; h < horizon; ++h) {
    // The smallest whole number of seasons that lands before the origin.
    const int64_t seasons_back = h / season_points + 1;
    forecast[h] = values[origin + h - seasons_back * season_points];
  }
  return forecast;
}

}  // namespace gridcast
