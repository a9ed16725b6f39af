#include "common/model/features.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace gridcast {
namespace {

constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kSecondsPerWeek = 7 * kSecondsPerDay;
// 1970-01-01 was a Thursday, three days after a Monday: shifting by three
// days makes the weekly phase zero at Monday 00:00 UTC.
constexpr int64_t kMondayShift = 3 * kSecondsPerDay;

// Position in [0, 1) of `time` within a cycle of `period` seconds.
double Phase(int64_t time, int64_t period) {
  int64_t offset = time % period;
  if (offset < 0) offset += period;
  return static_cast<double>(offset) / period;
}

}  // namespace

std::vector<std::string> FeatureNames(int input_window) {
  std::vector<std::string> names;
  names.reserve(FeatureCount(input_window));
  for (int lag = input_window; lag >= 1; --lag) {
    names.push_back(absl::StrCat("load[t-", lag, "]"));
  }
  names.insert(names.end(), {"hour_of_day_sin", "hour_of_day_cos",
                             "day_of_week_sin", "day_of_week_cos"});
  return names;
}

void BuildFeatures(const double* window, int input_window,
                   int64_t first_forecast_time,
                   const store::v1::Normalisation& normalisation, float* out) {
  const double scale = 1.0 / normalisation.stddev();
  for (int i = 0; i < input_window; ++i) {
    out[i] = static_cast<float>((window[i] - normalisation.mean()) * scale);
  }

  const double day = 2 * M_PI * Phase(first_forecast_time, kSecondsPerDay);
  const double week =
      2 * M_PI * Phase(first_forecast_time + kMondayShift, kSecondsPerWeek);
  float* calendar = out + input_window;
  calendar[0] = static_cast<float>(std::sin(day));
  calendar[1] = static_cast<float>(std::cos(day));
  calendar[2] = static_cast<float>(std::sin(week));
  calendar[3] = static_cast<float>(std::cos(week));
}

}  // namespace gridcast
