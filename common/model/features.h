// The inputs of every network, built by one function so that what the
// trainer fits is exactly what inference feeds.
//
// A window becomes two blocks of floats:
//   past   [input_window][PastChannels]:  load, every covariate, calendar
//   future [horizon][FutureChannels]:     known-future covariates, calendar
// Load and covariates are on the dataset-wide scale fitted on the training
// data; the calendar is the sine and cosine of the hour of day and of the
// day of week, and a holiday flag.
#ifndef GRIDCAST_COMMON_MODEL_FEATURES_H_
#define GRIDCAST_COMMON_MODEL_FEATURES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gridcast/store/v1/store.pb.h"
#include "gridcast/v1/types.pb.h"

namespace gridcast {

// hour of day (sin, cos), day of week (sin, cos), holiday (0 or 1).
inline constexpr int kCalendarChannels = 5;

// The sizes of a spec's input blocks.
struct FeatureShape {
  int input_window = 0;
  int horizon = 0;
  // All covariates of the spec, and those of them with known futures.
  int covariates = 0;
  int future_covariates = 0;
  // False for a spec with skip_calendar: the calendar channels are zero.
  bool calendar = true;

  int past_channels() const { return 1 + covariates + kCalendarChannels; }
  int future_channels() const { return future_covariates + kCalendarChannels; }
  int past_size() const { return input_window * past_channels(); }
  int future_size() const { return horizon * future_channels(); }
};

FeatureShape ShapeOf(const v1::ArchitectureSpec& spec);

// Names of the channels in order (past then future), for manifests.
std::vector<std::string> FeatureNames(const v1::ArchitectureSpec& spec);

// Days marked as holidays. A holiday is given as the Unix time of its
// midnight; every point of that day (86,400 s) carries the flag.
//
// Known gap: days are UTC days and the hour/day encodings are UTC too;
// a feeder's local time (and its DST shifts) needs a time zone with the
// dataset, which uploads do not carry yet.
class HolidayCalendar {
 public:
  HolidayCalendar() = default;
  explicit HolidayCalendar(std::vector<int64_t> day_starts);
  void Add(int64_t day_start);
  bool IsHoliday(int64_t time) const;
  const std::vector<int64_t>& days() const { return days_; }

 private:
  std::vector<int64_t> days_;  // sorted, unique
};

// The dataset-wide scales: load, then each covariate of the spec in order.
struct FeatureScaling {
  store::v1::Normalisation load;
  std::vector<store::v1::Normalisation> covariates;
};

FeatureScaling ScalingOf(const store::v1::Manifest& manifest);

// The raw values of one window.
struct WindowSource {
  // input_window loads, oldest first.
  const double* load = nullptr;
  // Per spec covariate: input_window values, then horizon more for a
  // known-future one.
  std::vector<const double*> covariates;
  // Unix time of the first point to forecast, and the spacing of points.
  int64_t first_forecast_time = 0;
  int64_t resolution_seconds = 0;
};

// Writes shape.past_size() floats to `past` and shape.future_size() to
// `future`. `known_future[c]` tells whether covariate c has future values.
void BuildWindowFeatures(const FeatureShape& shape,
                         const std::vector<bool>& known_future,
                         const WindowSource& source,
                         const FeatureScaling& scaling,
                         const HolidayCalendar& holidays, float* past,
                         float* future);

// Maps a network output on the normalised scale back to load units.
inline double Denormalise(float value,
                          const store::v1::Normalisation& normalisation) {
  return value * normalisation.stddev() + normalisation.mean();
}

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_MODEL_FEATURES_H_
