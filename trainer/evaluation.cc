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
  const double magnitude = std::abs(actual) + std::abs(predicted);
  if (magnitude > kPercentageFloor) {
    ++symmetric_points_;
    symmetric_sum_ += 2 * std::abs(error) / magnitude;
  }
}

v1::ErrorMetrics ErrorAccumulator::Finish(double mase_scale,
                                          double weekly_mase_scale) const {
  v1::ErrorMetrics metrics;
  metrics.set_points(points_);
  metrics.set_windows(windows_);
  if (points_ == 0) return metrics;
  metrics.set_mae(absolute_sum_ / points_);
  metrics.set_rmse(std::sqrt(squared_sum_ / points_));
  if (percentage_points_ > 0) {
    metrics.set_mape(100.0 * percentage_sum_ / percentage_points_);
  }
  if (symmetric_points_ > 0) {
    metrics.set_smape(100.0 * symmetric_sum_ / symmetric_points_);
  }
  if (mase_scale > 0) metrics.set_mase(metrics.mae() / mase_scale);
  if (weekly_mase_scale > 0) {
    metrics.set_weekly_mase(metrics.mae() / weekly_mase_scale);
  }
  return metrics;
}

double PinballLoss(double level, double actual, double predicted) {
  const double error = actual - predicted;
  return error >= 0 ? level * error : (level - 1) * error;
}

QuantileAccumulator::QuantileAccumulator(std::vector<double> levels)
    : levels_(std::move(levels)),
      pinball_sums_(levels_.size(), 0.0),
      below_counts_(levels_.size(), 0),
      inside_counts_(levels_.size() / 2, 0),
      width_sums_(levels_.size() / 2, 0.0) {}

void QuantileAccumulator::Add(double actual, const double* predicted) {
  ++points_;
  const size_t count = levels_.size();
  for (size_t q = 0; q < count; ++q) {
    pinball_sums_[q] += PinballLoss(levels_[q], actual, predicted[q]);
    if (actual <= predicted[q]) ++below_counts_[q];
  }
  for (size_t band = 0; band < count / 2; ++band) {
    const double lower = predicted[band];
    const double upper = predicted[count - 1 - band];
    if (actual >= lower && actual <= upper) ++inside_counts_[band];
    width_sums_[band] += upper - lower;
  }
}

void QuantileAccumulator::Finish(v1::Evaluation* evaluation) const {
  if (points_ == 0) return;
  const size_t count = levels_.size();
  for (size_t q = 0; q < count; ++q) {
    v1::QuantileMetrics* metrics = evaluation->add_quantiles();
    metrics->set_quantile(levels_[q]);
    metrics->set_pinball_loss(pinball_sums_[q] / points_);
    metrics->set_observed_share_below(static_cast<double>(below_counts_[q]) /
                                      points_);
  }
  for (size_t band = 0; band < count / 2; ++band) {
    v1::IntervalMetrics* interval = evaluation->add_intervals();
    interval->set_lower_quantile(levels_[band]);
    interval->set_upper_quantile(levels_[count - 1 - band]);
    interval->set_nominal_coverage(levels_[count - 1 - band] - levels_[band]);
    interval->set_observed_coverage(static_cast<double>(inside_counts_[band]) /
                                    points_);
    interval->set_mean_width(width_sums_[band] / points_);
  }
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

void SeasonalScale::Add(const double* values, int64_t end, int season_points) {
  for (int64_t t = season_points; t < end; ++t) {
    absolute_sum += std::abs(values[t] - values[t - season_points]);
    ++points;
  }
}

}  // namespace gridcast
