// A synthetic feeder: a load history that looks like a real distribution
// feeder's, for trying gridcast out without SCADA data and for tests.
//
// The load is the base load times a daily profile (night trough, morning
// and evening peaks) and a weekly factor (weekends lower), plus heating
// below 15 C and cooling above 22 C, plus noise. The temperature is a
// seasonal and a daily sinusoid plus an AR(1) "weather" wander. Times are
// UTC, and the profile is laid on UTC hours: the feeder lives at UTC+0.
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_SAMPLE_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_SAMPLE_H_

#include <cstdint>
#include <ostream>
#include <random>

#include "absl/status/status.h"

namespace gridcast::ctl {

struct SampleOptions {
  // Length of the history in days.
  int64_t days = 84;
  // Unix seconds of the first point; 2024-01-01T00:00:00Z, a Monday.
  int64_t start_time = 1704067200;
  // Spacing of the points; must divide a day.
  int64_t resolution_seconds = 3600;
  // The same seed gives the same history, point for point.
  uint32_t seed = 1;
  // The typical load, in kW: the daily profile swings around it.
  double base_kw = 800;
};

// One point of the synthetic history.
struct SamplePoint {
  int64_t timestamp = 0;
  double load_kw = 0;
  double temperature_c = 0;
};

// INVALID_ARGUMENT naming the option when the options cannot make a
// history (no days, a resolution that does not divide a day, ...).
absl::Status ValidateSampleOptions(const SampleOptions& options);

// The daily profile as a multiple of the base load at `hour_of_day` in
// [0, 24): about 0.6 at night, near 1.0 in the morning peak and 1.2 in the
// evening peak on weekdays; on weekends the morning peak comes later and
// lower.
double DailyProfile(double hour_of_day, bool weekend);

// Generates the points of a synthetic feeder one at a time, so that a long
// history streams to a file in constant memory. Options must be valid.
class SyntheticFeeder {
 public:
  explicit SyntheticFeeder(const SampleOptions& options);

  bool Done() const { return index_ >= points_; }
  int64_t points() const { return points_; }

  // The next point; only while !Done().
  SamplePoint Next();

 private:
  double StandardNormal();
  double Temperature(int64_t time, double hour_of_day);
  double Load(int64_t time, double hour_of_day, double temperature_c);

  SampleOptions options_;
  int64_t points_ = 0;
  int64_t index_ = 0;
  std::mt19937 random_;
  // Persistence of the weather wander over one step.
  double weather_persistence_ = 0;
  // The AR(1) state: degrees above or below the seasonal normal.
  double weather_c_ = 0;
};

// Writes the whole history as CSV with the header
// `timestamp,load_kw,temperature_c`; load and temperature to 0.1.
absl::Status WriteSampleCsv(const SampleOptions& options, std::ostream* out);

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_SAMPLE_H_
