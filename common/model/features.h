// The input vector of every network, built by one function so that what
// the trainer fits is exactly what inference feeds: the last input-window
// loads on the normalised scale, then calendar encodings of the first
// forecast point.
#ifndef GRIDCAST_COMMON_MODEL_FEATURES_H_
#define GRIDCAST_COMMON_MODEL_FEATURES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gridcast/store/v1/store.pb.h"

namespace gridcast {

// sin/cos of the hour of day and of the day of week.
inline constexpr int kCalendarFeatureCount = 4;

inline int FeatureCount(int input_window) {
  return input_window + kCalendarFeatureCount;
}

// Names of the features in order, recorded in manifests.
std::vector<std::string> FeatureNames(int input_window);

// Writes FeatureCount(input_window) floats to `out`: `window` holds the
// raw loads of the input window (oldest first) and `first_forecast_time`
// is the Unix time of the first point to forecast.
//
// TODO: the calendar is in UTC; a feeder's local time (and its DST shifts)
// needs a time zone with the dataset, which the upload does not carry yet.
void BuildFeatures(const double* window, int input_window,
                   int64_t first_forecast_time,
                   const store::v1::Normalisation& normalisation, float* out);

// Maps a network output on the normalised scale back to load units.
inline double Denormalise(float value,
                          const store::v1::Normalisation& normalisation) {
  return value * normalisation.stddev() + normalisation.mean();
}

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_MODEL_FEATURES_H_
