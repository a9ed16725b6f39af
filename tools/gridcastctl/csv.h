// Reading load histories from CSV files: a header line that names the
// columns, then one point per line. Files are read a line at a time so
// that a history of any length goes through in constant memory.
//
//   timestamp,load_kw,temperature_c
//   2024-01-01T00:00:00Z,612.4,1.3
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_CSV_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_CSV_H_

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gridcast::ctl {

class LocalTimeResolver;

// Splits one CSV line at commas. A field may be double-quoted to hold
// commas, with "" for a quote inside it; quoted fields cannot span lines.
// An unterminated quote is INVALID_ARGUMENT.
absl::StatusOr<std::vector<std::string>> SplitCsvLine(absl::string_view line,
                                                      char delimiter = ',');

// Parses a timestamp into Unix seconds. Accepted, with surrounding spaces:
//   2024-01-01T00:00:00Z         ISO 8601 in UTC ('z' too)
//   2024-01-01T01:00:00+01:00    with an offset, also +0100 and +01
//   2024-01-01 01:00:00+01:00    a space in place of the 'T'
//   2024-01-01T00:00Z            without seconds
//   2024-01-01T00:00:00.000Z     a fraction, which must be zero
//   1704067200                   integer Unix seconds
//   2024-01-01 01:00:00          local time, only with `local_time`
// A date-time without a zone is local time in the zone of `local_time`
// (which also learns of every instant, to handle daylight saving); without
// one it is refused rather than guessed. Errors are INVALID_ARGUMENT and
// quote the text.
absl::StatusOr<int64_t> ParseTimestamp(absl::string_view text,
                                       LocalTimeResolver* local_time = nullptr);

// Which columns hold what: a name in the header, or else a column number
// counting from 1 (which is how columns of a file without a header are
// chosen). Create() replaces a number with the header's name.
struct HistoryColumns {
  std::string timestamp = "timestamp";
  // Empty for a file without one, such as a temperature forecast; rows
  // then read as value 0.
  std::string value = "load_kw";
  std::vector<std::string> covariates;
};

// One point of a history.
struct HistoryRow {
  int64_t timestamp = 0;
  double value = 0;
  // In the order of HistoryColumns::covariates.
  std::vector<double> covariates;
};

// How the file is written.
struct CsvOptions {
  // ',' by default; ';' is common where the decimal separator is a comma.
  char delimiter = ',';
  // Whether the first line names the columns.
  bool header = true;
  // Where timestamps without an offset are local time; not owned, may be
  // null (then they are refused).
  LocalTimeResolver* local_time = nullptr;
  // Whether an empty or "NaN" load reads as NaN (a reading the meter did
  // not send) instead of being refused; covariates are always required.
  bool missing_load_as_nan = false;
};

// Reads the points of a history CSV one line at a time. Blank lines are
// skipped, Windows line ends and a UTF-8 byte-order mark are accepted, and
// extra columns are ignored.
class HistoryCsvReader {
 public:
  // Reads the header from `input` (not owned; it must outlive the reader)
  // and finds the columns. A missing column is INVALID_ARGUMENT listing the
  // columns that the header has.
  static absl::StatusOr<HistoryCsvReader> Create(
      std::istream* input, HistoryColumns columns,
      CsvOptions options = CsvOptions());

  // Reads the next point into *row: true when one was read, false at the
  // end of the input. A bad line is INVALID_ARGUMENT that names the line
  // number and the column, such as
  //   line 12, column load_kw: "abc" is not a number
  absl::StatusOr<bool> Next(HistoryRow* row);

  // The number of the line read last, counting the header as line 1.
  int64_t line_number() const { return line_number_; }

  // The columns with numbers replaced by the header's names.
  const HistoryColumns& columns() const { return columns_; }

 private:
  HistoryCsvReader(std::istream* input, HistoryColumns columns,
                   CsvOptions options);

  absl::Status ReadHeader();
  absl::StatusOr<int> FindColumn(const std::vector<std::string>& header,
                                 std::string* name,
                                 absl::string_view option) const;
  absl::Status ParseRow(const std::vector<std::string>& fields,
                        HistoryRow* row) const;
  bool IsMissingLoad(const std::vector<std::string>& fields) const;
  absl::StatusOr<absl::string_view> Field(
      const std::vector<std::string>& fields, int index,
      const std::string& column) const;
  absl::StatusOr<double> ParseNumber(const std::vector<std::string>& fields,
                                     int index,
                                     const std::string& column) const;
  absl::Status LineError(absl::string_view column,
                         absl::string_view problem) const;

  std::istream* input_;
  HistoryColumns columns_;
  CsvOptions options_;
  int timestamp_index_ = -1;
  int value_index_ = -1;
  std::vector<int> covariate_indexes_;
  int64_t line_number_ = 0;
  std::string line_;
};

// Reads every remaining point and keeps only the last `count`, oldest
// first, so that the tail of a long history costs `count` rows of memory.
absl::StatusOr<std::vector<HistoryRow>> ReadLastRows(HistoryCsvReader* reader,
                                                     size_t count);

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_CSV_H_
