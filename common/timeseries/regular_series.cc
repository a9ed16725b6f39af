#include "common/timeseries/regular_series.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace gridcast {
namespace {

// "history.values" for prefix "history"; just "values" without a prefix.
std::string FieldName(const std::string& prefix, absl::string_view field) {
  if (prefix.empty()) return std::string(field);
  return absl::StrCat(prefix, ".", field);
}

// "NaN", "inf" or "-inf".
const char* NonFiniteName(double value) {
  if (std::isnan(value)) return "NaN";
  return value > 0 ? "inf" : "-inf";
}

// True when `time` is exactly one resolution after `previous`; written so
// that timestamps near the int64 limits cannot overflow.
bool IsOneStepAfter(int64_t previous, int64_t time, int64_t resolution) {
  if (previous > std::numeric_limits<int64_t>::max() - resolution) {
    return false;
  }
  return time == previous + resolution;
}

absl::Status CheckLengths(const v1::TimeSeries& history,
                          const std::string& prefix) {
  if (history.values_size() == history.timestamps_size()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s has %d entries but %s has %d", FieldName(prefix, "values"),
      history.values_size(), FieldName(prefix, "timestamps"),
      history.timestamps_size()));
}

absl::Status CheckFinite(const v1::TimeSeries& history,
                         const std::string& prefix, bool allow_nan) {
  for (int i = 0; i < history.values_size(); ++i) {
    const double value = history.values(i);
    if (std::isfinite(value) || (allow_nan && std::isnan(value))) continue;
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s[%d] is %s (timestamp %d)", FieldName(prefix, "values"), i,
        NonFiniteName(value), history.timestamps(i)));
  }
  return absl::OkStatus();
}

absl::Status CheckSpacing(const v1::TimeSeries& history,
                          int64_t resolution_seconds,
                          const std::string& prefix) {
  const std::string field = FieldName(prefix, "timestamps");
  for (int i = 1; i < history.timestamps_size(); ++i) {
    const int64_t previous = history.timestamps(i - 1);
    const int64_t time = history.timestamps(i);
    if (IsOneStepAfter(previous, time, resolution_seconds)) continue;
    return absl::InvalidArgumentError(
        absl::StrFormat("%s[%d]=%d is not %d s after %s[%d]=%d", field, i, time,
                        resolution_seconds, field, i - 1, previous));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateRegularHistory(const v1::TimeSeries& history,
                                    int64_t resolution_seconds,
                                    const std::string& field_prefix,
                                    bool allow_missing) {
  // The resolution comes from the model, not the request; a bad one is a
  // server-side bug, but still must not pass silently.
  if (resolution_seconds <= 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "resolution_seconds=%d must be positive", resolution_seconds));
  }

  GC_RETURN_IF_ERROR(CheckLengths(history, field_prefix));

  // Lengths match from here on, so values[i] has its timestamps[i].
  GC_RETURN_IF_ERROR(CheckFinite(history, field_prefix, allow_missing));

  return CheckSpacing(history, resolution_seconds, field_prefix);
}

}  // namespace gridcast
