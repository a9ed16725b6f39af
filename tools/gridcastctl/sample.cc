#include "tools/gridcastctl/sample.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tools/gridcastctl/format.h"

namespace gridcast::ctl {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kMaxPoints = 100'000'000;

// The seasonal temperature: coldest in mid-January, warmest in mid-July.
constexpr double kMeanTemperatureC = 10.5;
constexpr double kSeasonalSwingC = 9.5;
constexpr double kColdestDayOfYear = 15;
// The daily temperature: coldest before dawn, warmest mid-afternoon.
constexpr double kDailySwingC = 3.5;
// The weather wander: its spread, and how much of it is left after an hour
// (0.985 per hour keeps a cold spell for a few days).
constexpr double kWeatherSpreadC = 3.0;
constexpr double kWeatherPersistencePerHour = 0.985;

// Extra load per degree below the heating or above the cooling threshold,
// as a share of the base load.
constexpr double kHeatingThresholdC = 15;
constexpr double kHeatingPerDegree = 0.025;
constexpr double kCoolingThresholdC = 22;
constexpr double kCoolingPerDegree = 0.035;
constexpr double kNoiseShare = 0.02;

// A bell centred on `center_hour` on the 24-hour clock, 1 at its centre.
double Bump(double hour, double center_hour, double width_hours) {
  double distance = std::fabs(hour - center_hour);
  distance = std::min(distance, 24 - distance);
  const double z = distance / width_hours;
  return std::exp(-0.5 * z * z);
}

// Weekends are lower through the day, not only in their profile.
double WeeklyFactor(absl::Weekday weekday) {
  switch (weekday) {
    case absl::Weekday::saturday:
      return 0.92;
    case absl::Weekday::sunday:
      return 0.88;
    default:
      return 1.0;
  }
}

// Rounds to one decimal, without printing "-0.0".
double RoundToTenth(double value) {
  const double rounded = std::round(value * 10) / 10;
  return rounded == 0 ? 0.0 : rounded;
}

}  // namespace

absl::Status ValidateSampleOptions(const SampleOptions& options) {
  if (options.days < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--days must be at least 1, got ", options.days));
  }
  if (options.resolution_seconds < 1 ||
      kSecondsPerDay % options.resolution_seconds != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--resolution must divide a day (86400 seconds), got ",
                     options.resolution_seconds));
  }
  if (!(options.base_kw > 0) || !std::isfinite(options.base_kw)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--base-kw must be positive, got ", options.base_kw));
  }
  const int64_t points_per_day = kSecondsPerDay / options.resolution_seconds;
  if (options.days > kMaxPoints / points_per_day) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--days ", options.days, " at --resolution ",
        options.resolution_seconds, " would exceed ", kMaxPoints, " points"));
  }
  return absl::OkStatus();
}

double DailyProfile(double hour_of_day, bool weekend) {
  const double night = 0.6;
  const double morning = weekend ? 0.2 * Bump(hour_of_day, 10.0, 2.0)
                                 : 0.35 * Bump(hour_of_day, 8.0, 1.6);
  const double midday = (weekend ? 0.25 : 0.2) * Bump(hour_of_day, 13.0, 3.0);
  const double evening = 0.55 * Bump(hour_of_day, 19.0, 2.0);
  return night + morning + midday + evening;
}

SyntheticFeeder::SyntheticFeeder(const SampleOptions& options)
    : options_(options),
      points_(options.days * (kSecondsPerDay / options.resolution_seconds)),
      random_(options.seed),
      weather_persistence_(std::pow(kWeatherPersistencePerHour,
                                    options.resolution_seconds / 3600.0)) {
  // Start the wander from its steady spread, not from a calm zero.
  weather_c_ = kWeatherSpreadC * StandardNormal();
}

SamplePoint SyntheticFeeder::Next() {
  SamplePoint point;
  point.timestamp = options_.start_time + index_ * options_.resolution_seconds;
  ++index_;

  const absl::CivilSecond civil = absl::ToCivilSecond(
      absl::FromUnixSeconds(point.timestamp), absl::UTCTimeZone());
  const double hour_of_day =
      civil.hour() + civil.minute() / 60.0 + civil.second() / 3600.0;

  point.temperature_c = Temperature(point.timestamp, hour_of_day);
  point.load_kw = Load(point.timestamp, hour_of_day, point.temperature_c);
  return point;
}

double SyntheticFeeder::StandardNormal() {
  // Box-Muller on the engine's raw output rather than
  // std::normal_distribution, whose algorithm differs between standard
  // libraries: a seed should give the same file everywhere.
  const double u1 = (static_cast<double>(random_()) + 0.5) / 4294967296.0;
  const double u2 = (static_cast<double>(random_()) + 0.5) / 4294967296.0;
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * kPi * u2);
}

double SyntheticFeeder::Temperature(int64_t time, double hour_of_day) {
  const absl::CivilDay day =
      absl::ToCivilDay(absl::FromUnixSeconds(time), absl::UTCTimeZone());
  const double day_of_year = absl::GetYearDay(day) - 1 + hour_of_day / 24;
  const double seasonal =
      kMeanTemperatureC -
      kSeasonalSwingC *
          std::cos(2 * kPi * (day_of_year - kColdestDayOfYear) / 365.25);
  const double daily =
      kDailySwingC * std::sin(2 * kPi * (hour_of_day - 9) / 24);

  // AR(1) with the innovation scaled so that the spread stays steady.
  const double innovation_scale =
      kWeatherSpreadC *
      std::sqrt(1 - weather_persistence_ * weather_persistence_);
  weather_c_ =
      weather_persistence_ * weather_c_ + innovation_scale * StandardNormal();

  return seasonal + daily + weather_c_;
}

double SyntheticFeeder::Load(int64_t time, double hour_of_day,
                             double temperature_c) {
  const absl::Weekday weekday = absl::GetWeekday(
      absl::ToCivilDay(absl::FromUnixSeconds(time), absl::UTCTimeZone()));
  const bool weekend =
      weekday == absl::Weekday::saturday || weekday == absl::Weekday::sunday;
  const double profile =
      DailyProfile(hour_of_day, weekend) * WeeklyFactor(weekday);

  const double heating =
      kHeatingPerDegree * std::max(0.0, kHeatingThresholdC - temperature_c);
  const double cooling =
      kCoolingPerDegree * std::max(0.0, temperature_c - kCoolingThresholdC);
  const double noise = kNoiseShare * StandardNormal();

  return std::max(0.0,
                  options_.base_kw * (profile + heating + cooling + noise));
}

absl::Status WriteSampleCsv(const SampleOptions& options, std::ostream* out) {
  const absl::Status valid = ValidateSampleOptions(options);
  if (!valid.ok()) return valid;

  *out << "timestamp,load_kw,temperature_c\n";
  SyntheticFeeder feeder(options);
  while (!feeder.Done()) {
    const SamplePoint point = feeder.Next();
    *out << absl::StrFormat("%s,%.1f,%.1f\n", FormatIsoTime(point.timestamp),
                            RoundToTenth(point.load_kw),
                            RoundToTenth(point.temperature_c));
  }

  out->flush();
  if (!*out) return absl::DataLossError("writing the sample failed");
  return absl::OkStatus();
}

}  // namespace gridcast::ctl
