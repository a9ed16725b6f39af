// A series on a regular time grid: the form in which every dataset is
// stored and every network reads its history.
#ifndef GRIDCAST_COMMON_TIMESERIES_REGULAR_SERIES_H_
#define GRIDCAST_COMMON_TIMESERIES_REGULAR_SERIES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gridcast/v1/trainer.pb.h"
#include "gridcast/v1/types.pb.h"

namespace gridcast {

struct RegularSeries {
  std::string series_id;
  int64_t resolution_seconds = 0;
  // Unix seconds of values[0].
  int64_t start_time = 0;
  std::vector<double> values;
  // covariates[c] has one value per entry of `values`.
  std::vector<std::string> covariate_names;
  std::vector<std::vector<double>> covariates;
  std::vector<int64_t> holidays;
  std::vector<v1::Repair> repairs;

  int64_t TimeAt(int64_t index) const {
    return start_time + index * resolution_seconds;
  }
  int64_t end_time() const {
    return values.empty() ? start_time : TimeAt(values.size() - 1);
  }
};

// Checks a history sent with a forecast request: as many timestamps as
// values, finite values (NaN allowed as "missing" when `allow_missing`),
// timestamps exactly `resolution_seconds` apart. Errors are
// INVALID_ARGUMENT and name the field with `field_prefix` (e.g.
// "history.values[17] is NaN").
absl::Status ValidateRegularHistory(const v1::TimeSeries& history,
                                    int64_t resolution_seconds,
                                    const std::string& field_prefix,
                                    bool allow_missing = false);

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_TIMESERIES_REGULAR_SERIES_H_
