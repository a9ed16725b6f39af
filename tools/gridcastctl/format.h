// Text output of gridcastctl that does not depend on the API: times,
// durations, numbers with a sensible precision, aligned tables and the
// training progress bar.
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_FORMAT_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_FORMAT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gridcast::ctl {

// ISO 8601 in UTC, as files and scripts want it: "2024-01-01T00:00:00Z".
std::string FormatIsoTime(int64_t unix_seconds);

// For people: "2024-01-01 00:00:00 UTC"; "-" for 0, which the API uses
// for "not set".
std::string FormatHumanTime(int64_t unix_seconds);

// Compact, for table cells under a "(UTC)" header: "2024-01-01 00:00";
// "-" for 0.
std::string FormatShortTime(int64_t unix_seconds);

// A span of seconds the way Go and Abseil write it: "1h", "15m", "3m12s";
// under ten seconds with a tenth: "2.1s".
std::string FormatSeconds(double seconds);

// Decimals that show `significant_digits` digits of a number of the
// magnitude of `typical`, between 0 and 6.
int DecimalsFor(double typical, int significant_digits);

// A number with about `significant_digits` significant digits in fixed
// notation: 812.3, 0.08123, 12346.
std::string FormatNumber(double value, int significant_digits = 4);

// A number in fixed notation with `decimals` decimals.
std::string FormatFixed(double value, int decimals);

// A percentage such as "3.21%".
std::string FormatPercent(double percent);

// Columns of text aligned for a terminal: two spaces between columns, no
// trailing spaces.
class Table {
 public:
  enum class Align { kLeft, kRight };

  // One header per column; numeric columns are usually right-aligned.
  Table(std::vector<std::string> headers, std::vector<Align> alignment);

  // A row with one cell per column; missing cells are empty.
  void AddRow(std::vector<std::string> cells);

  bool empty() const { return rows_.empty(); }

  // The header line, then one line per row.
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<Align> alignment_;
  std::vector<std::vector<std::string>> rows_;
};

// "key:   value" lines with the values aligned; the later lines of a
// multi-line value are indented to the value column.
std::string FormatFields(
    const std::vector<std::pair<std::string, std::string>>& fields);

// "[=====>    ]": `done` of `total` steps, `width` characters inside the
// brackets.
std::string FormatProgressBar(int64_t done, int64_t total, int width);

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_FORMAT_H_
