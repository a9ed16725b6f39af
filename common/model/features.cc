#include "common/model/features.h"

#include <algorithm>
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

int64_t DayStart(int64_t time) {
  int64_t offset = time % kSecondsPerDay;
  if (offset < 0) offset += kSecondsPerDay;
  return time - offset;
}

void WriteCalendar(int64_t time, const HolidayCalendar& holidays, float* out) {
  const double day = 2 * M_PI * Phase(time, kSecondsPerDay);
  const double week = 2 * M_PI * Phase(time + kMondayShift, kSecondsPerWeek);
  out[0] = static_cast<float>(std::sin(day));
  out[1] = static_cast<float>(std::cos(day));
  out[2] = static_cast<float>(std::sin(week));
  out[3] = static_cast<float>(std::cos(week));
  out[4] = holidays.IsHoliday(time) ? 1.0f : 0.0f;
}

// A channel held at zero gives its weights no gradient: they keep their
// initial values and add nothing, as if the input were not there.
void WriteCalendarOrZeros(const FeatureShape& shape, int64_t time,
                          const HolidayCalendar& holidays, float* out) {
  if (shape.calendar) {
    WriteCalendar(time, holidays, out);
  } else {
    std::fill(out, out + kCalendarChannels, 0.0f);
  }
}

float Scale(double value, const store::v1::Normalisation& normalisation) {
  return static_cast<float>((value - normalisation.mean()) /
                            normalisation.stddev());
}

const char* const kCalendarNames[kCalendarChannels] = {
    "hour_of_day_sin", "hour_of_day_cos", "day_of_week_sin", "day_of_week_cos",
    "holiday"};

}  // namespace

FeatureShape ShapeOf(const v1::ArchitectureSpec& spec) {
  FeatureShape shape;
  shape.input_window = spec.input_window();
  shape.horizon = spec.horizon();
  shape.covariates = spec.covariates_size();
  for (const auto& covariate : spec.covariates()) {
    if (covariate.known_future()) ++shape.future_covariates;
  }
  shape.calendar = !spec.skip_calendar();
  return shape;
}

std::vector<std::string> FeatureNames(const v1::ArchitectureSpec& spec) {
  std::vector<std::string> names = {"past:load"};
  for (const auto& covariate : spec.covariates()) {
    names.push_back(absl::StrCat("past:", covariate.name()));
  }
  for (const char* name : kCalendarNames) {
    names.push_back(absl::StrCat("past:", name));
  }
  for (const auto& covariate : spec.covariates()) {
    if (covariate.known_future()) {
      names.push_back(absl::StrCat("future:", covariate.name()));
    }
  }
  for (const char* name : kCalendarNames) {
    names.push_back(absl::StrCat("future:", name));
  }
  return names;
}

HolidayCalendar::HolidayCalendar(std::vector<int64_t> day_starts) {
  for (int64_t day : day_starts) Add(day);
}

void HolidayCalendar::Add(int64_t day_start) {
  const int64_t day = DayStart(day_start);
  const auto it = std::lower_bound(days_.begin(), days_.end(), day);
  if (it == days_.end() || *it != day) days_.insert(it, day);
}

bool HolidayCalendar::IsHoliday(int64_t time) const {
  return std::binary_search(days_.begin(), days_.end(), DayStart(time));
}

FeatureScaling ScalingOf(const store::v1::Manifest& manifest) {
  FeatureScaling scaling;
  scaling.load = manifest.normalisation();
  scaling.covariates.assign(manifest.covariate_normalisation().begin(),
                            manifest.covariate_normalisation().end());
  return scaling;
}

void BuildWindowFeatures(const FeatureShape& shape,
                         const std::vector<bool>& known_future,
                         const WindowSource& source,
                         const FeatureScaling& scaling,
                         const HolidayCalendar& holidays, float* past,
                         float* future) {
  const int64_t step = source.resolution_seconds;
  const int64_t first_past_time =
      source.first_forecast_time - shape.input_window * step;

  // Past: one row per window point.
  const int past_channels = shape.past_channels();
  for (int t = 0; t < shape.input_window; ++t) {
    float* row = past + static_cast<size_t>(t) * past_channels;
    row[0] = Scale(source.load[t], scaling.load);
    for (int c = 0; c < shape.covariates; ++c) {
      row[1 + c] = Scale(source.covariates[c][t], scaling.covariates[c]);
    }
    WriteCalendarOrZeros(shape, first_past_time + t * step, holidays,
                         row + 1 + shape.covariates);
  }

  // Future: one row per horizon point.
  const int future_channels = shape.future_channels();
  for (int h = 0; h < shape.horizon; ++h) {
    float* row = future + static_cast<size_t>(h) * future_channels;
    int column = 0;
    for (int c = 0; c < shape.covariates; ++c) {
      if (!known_future[c]) continue;
      row[column++] = Scale(source.covariates[c][shape.input_window + h],
                            scaling.covariates[c]);
    }
    WriteCalendarOrZeros(shape, source.first_forecast_time + h * step, holidays,
                         row + column);
  }
}

}  // namespace gridcast
