// Calibrating quantile forecasts after training (split conformal).
//
// Pinball loss fits the quantiles to the training rows; on later data the
// bands are often a little too narrow (or too wide). After training, the
// trainer scores the validation split and, for every quantile level,
// finds the factor by which the spread from the point forecast to that
// quantile must be stretched so that the share of validation actuals
// below it equals the level. Inference applies the same factors.
//
// The factor multiplies the distance from the point forecast, so it does
// not depend on the size of the feeder: the network's spread already
// scales with each window (instance normalisation).
#ifndef GRIDCAST_COMMON_MODEL_INTERVAL_CALIBRATION_H_
#define GRIDCAST_COMMON_MODEL_INTERVAL_CALIBRATION_H_

#include <cstdint>
#include <vector>

namespace gridcast {

// The factors searched, and the smallest sample trusted to fit them.
inline constexpr double kMinQuantileScale = 0.25;
inline constexpr double kMaxQuantileScale = 4.0;
inline constexpr int64_t kMinCalibrationPoints = 200;

// Forecasts on held-out points with the actuals they were made for.
class CalibrationSample {
 public:
  explicit CalibrationSample(std::vector<double> levels);

  // `quantiles` holds one value per level, in the levels' order.
  void Add(double actual, double point, const double* quantiles);
  int64_t points() const { return static_cast<int64_t>(actuals_.size()); }

  // One factor per level, each in [kMinQuantileScale, kMaxQuantileScale],
  // making the share of actuals below point + factor * (quantile - point)
  // as close to the level as the factors allow. Empty (no calibration)
  // with fewer than kMinCalibrationPoints points.
  std::vector<double> FitScales() const;

 private:
  double FitScale(int level) const;

  std::vector<double> levels_;
  std::vector<double> actuals_;
  std::vector<double> points_;
  std::vector<double> quantiles_;  // [point][level]
};

// Moves `quantiles` (one per level, increasing levels) to
// point + scales[q] * (quantiles[q] - point), then raises any that would
// fall below the level under them, so that the levels still never cross.
// Empty `scales` leaves them as they are.
void ApplyQuantileScales(const std::vector<double>& scales, double point,
                         double* quantiles);

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_MODEL_INTERVAL_CALIBRATION_H_
