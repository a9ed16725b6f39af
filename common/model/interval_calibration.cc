#include "common/model/interval_calibration.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace gridcast {
namespace {

// Log-spaced candidate factors, 1 among them: about 0.5 % apart.
std::vector<double> CandidateScales() {
  constexpr int kSteps = 277;  // ln(16) / 0.01
  std::vector<double> scales;
  const double low = std::log(kMinQuantileScale);
  const double high = std::log(kMaxQuantileScale);
  for (int i = 0; i <= kSteps; ++i) {
    scales.push_back(std::exp(low + (high - low) * i / kSteps));
  }
  scales.push_back(1.0);
  std::sort(scales.begin(), scales.end());
  return scales;
}

// How many of `sorted` are below `value`.
int64_t CountBelow(const std::vector<double>& sorted, double value) {
  return std::lower_bound(sorted.begin(), sorted.end(), value) - sorted.begin();
}

}  // namespace

CalibrationSample::CalibrationSample(std::vector<double> levels)
    : levels_(std::move(levels)) {}

void CalibrationSample::Add(double actual, double point,
                            const double* quantiles) {
  actuals_.push_back(actual);
  points_.push_back(point);
  quantiles_.insert(quantiles_.end(), quantiles, quantiles + levels_.size());
}

std::vector<double> CalibrationSample::FitScales() const {
  if (points() < kMinCalibrationPoints) return {};
  std::vector<double> scales;
  for (size_t q = 0; q < levels_.size(); ++q) {
    scales.push_back(FitScale(static_cast<int>(q)));
  }
  return scales;
}

// With d = quantile - point and r = (actual - point) / d, the actual lies
// below point + s * d exactly when r < s (d > 0) or r > s (d < 0); where
// d = 0 it does not depend on s. Sorting r once answers every candidate s.
double CalibrationSample::FitScale(int level) const {
  std::vector<double> above_point, below_point;
  int64_t fixed_below = 0;
  for (size_t i = 0; i < actuals_.size(); ++i) {
    const double spread = quantiles_[i * levels_.size() + level] - points_[i];
    const double residual = actuals_[i] - points_[i];
    if (spread > 0) {
      above_point.push_back(residual / spread);
    } else if (spread < 0) {
      below_point.push_back(residual / spread);
    } else if (residual < 0) {
      ++fixed_below;
    }
  }
  std::sort(above_point.begin(), above_point.end());
  std::sort(below_point.begin(), below_point.end());

  const double total = static_cast<double>(actuals_.size());
  double best_scale = 1.0;
  double best_gap = 2.0;
  for (const double scale : CandidateScales()) {
    const int64_t below =
        CountBelow(above_point, scale) + fixed_below +
        static_cast<int64_t>(below_point.size()) -
        static_cast<int64_t>(
            std::upper_bound(below_point.begin(), below_point.end(), scale) -
            below_point.begin());
    const double gap = std::abs(below / total - levels_[level]);
    // Among equally good factors, the one nearest 1 changes the least.
    const bool nearer_one =
        std::abs(std::log(scale)) < std::abs(std::log(best_scale));
    if (gap < best_gap - 1e-12 || (gap <= best_gap + 1e-12 && nearer_one)) {
      best_gap = gap;
      best_scale = scale;
    }
  }
  return best_scale;
}

void ApplyQuantileScales(const std::vector<double>& scales, double point,
                         double* quantiles) {
  for (size_t q = 0; q < scales.size(); ++q) {
    quantiles[q] = point + scales[q] * (quantiles[q] - point);
    if (q > 0) quantiles[q] = std::max(quantiles[q], quantiles[q - 1]);
  }
}

}  // namespace gridcast
