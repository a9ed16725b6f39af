// Error metrics of point and quantile forecasts, and the seasonal-naive
// baselines that a model must beat: the forecast a control room would make
// by hand by repeating the load of one season (a day, a week) earlier.
#ifndef GRIDCAST_TRAINER_EVALUATION_H_
#define GRIDCAST_TRAINER_EVALUATION_H_

#include <cstdint>
#include <vector>

#include "gridcast/v1/types.pb.h"

namespace gridcast {

// Accumulates point errors; MAPE skips actual values near zero, where a
// percentage means nothing, and sMAPE skips points where both the actual
// and the forecast are zero.
class ErrorAccumulator {
 public:
  void Add(double actual, double predicted);
  void EndWindow() { ++windows_; }
  // `mase_scale` and `weekly_mase_scale` are the in-sample MAEs of the
  // daily and the weekly naive forecast; 0 leaves that MASE unset.
  v1::ErrorMetrics Finish(double mase_scale = 0,
                          double weekly_mase_scale = 0) const;

 private:
  int64_t points_ = 0;
  int64_t windows_ = 0;
  int64_t percentage_points_ = 0;
  int64_t symmetric_points_ = 0;
  double absolute_sum_ = 0;
  double squared_sum_ = 0;
  double percentage_sum_ = 0;
  double symmetric_sum_ = 0;
};

// Pinball loss and calibration of quantile forecasts at fixed levels.
class QuantileAccumulator {
 public:
  explicit QuantileAccumulator(std::vector<double> levels);
  // `predicted` holds one value per level, in the levels' order.
  void Add(double actual, const double* predicted);
  // Per level, and per symmetric band: the lowest level with the highest,
  // the second lowest with the second highest, and so on.
  void Finish(v1::Evaluation* evaluation) const;

 private:
  std::vector<double> levels_;
  int64_t points_ = 0;
  std::vector<double> pinball_sums_;
  std::vector<int64_t> below_counts_;
  std::vector<int64_t> inside_counts_;
  std::vector<double> width_sums_;
};

// The pinball loss of `predicted` as the `level` quantile of `actual`.
double PinballLoss(double level, double actual, double predicted);

// The seasonal-naive forecast of `values[origin + h]` for h in
// [0, horizon): the value a whole number of seasons earlier, before
// `origin`. Requires origin >= season_points.
std::vector<double> SeasonalNaiveForecast(const std::vector<double>& values,
                                          int64_t origin, int horizon,
                                          int season_points);

// Sum and count of |values[t] - values[t - season]| for t in
// [season, end): MASE's scale, pooled over series by the caller.
struct SeasonalScale {
  double absolute_sum = 0;
  int64_t points = 0;
  void Add(const double* values, int64_t end, int season_points);
  double Mean() const { return points > 0 ? absolute_sum / points : 0; }
};

}  // namespace gridcast

#endif  // GRIDCAST_TRAINER_EVALUATION_H_
