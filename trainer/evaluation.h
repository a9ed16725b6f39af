// Error metrics of point forecasts and the seasonal-naive baseline that a
// model must beat: the forecast a control room would make by hand by
// repeating the load of one season (a day, a week) earlier.
#ifndef GRIDCAST_TRAINER_EVALUATION_H_
#define GRIDCAST_TRAINER_EVALUATION_H_

#include <cstdint>
#include <vector>

#include "gridcast/v1/types.pb.h"

namespace gridcast {

// Accumulates errors point by point; MAPE skips actual values near zero,
// where a percentage means nothing.
class ErrorAccumulator {
 public:
  void Add(double actual, double predicted);
  void EndWindow() { ++windows_; }
  v1::ErrorMetrics Finish() const;

 private:
  int64_t points_ = 0;
  int64_t windows_ = 0;
  int64_t percentage_points_ = 0;
  double absolute_sum_ = 0;
  double squared_sum_ = 0;
  double percentage_sum_ = 0;
};

// The seasonal-naive forecast of `values[origin + h]` for h in
// [0, horizon): the value a whole number of seasons earlier, before
// `origin`. Requires origin >= season_points.
std::vector<double> SeasonalNaiveForecast(const std::vector<double>& values,
                                          int64_t origin, int horizon,
                                          int season_points);

}  // namespace gridcast

#endif  // GRIDCAST_TRAINER_EVALUATION_H_
