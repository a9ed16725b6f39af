// Fuzzes gridcastctl's CSV import: a history file read line by line with
// the options an operator can choose.
// Input: one byte of options, then the file.
//   bit 0  ';' as the delimiter instead of ','
//   bit 1  no header line (columns chosen by number)
//   bit 2  a temperature covariate column
//   bit 3  local times in Europe/Berlin (bit 4: rows not in time order)
//
// Properties: no crash or undefined behaviour; every row read has a finite
// value and one finite value per covariate; reading stops at the end.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>

#include "tests/fuzz/fuzz_support.h"
#include "tools/gridcastctl/csv.h"
#include "tools/gridcastctl/local_time.h"

namespace gridcast::fuzz {
namespace {

// Loading tzdata per input would dominate; each input gets a fresh copy.
const ctl::LocalTimeResolver& Berlin(bool rows_in_order) {
  static const ctl::LocalTimeResolver in_order =
      *ctl::LocalTimeResolver::Create("Europe/Berlin", true);
  static const ctl::LocalTimeResolver sorted_later =
      *ctl::LocalTimeResolver::Create("Europe/Berlin", false);
  return rows_in_order ? in_order : sorted_later;
}

void ReadFile(uint8_t flags, const std::string& file) {
  ctl::CsvOptions options;
  options.delimiter = (flags & 1) ? ';' : ',';
  options.header = (flags & 2) == 0;
  std::optional<ctl::LocalTimeResolver> local_time;
  if (flags & 8) {
    local_time.emplace(Berlin((flags & 16) == 0));
    options.local_time = &*local_time;
  }

  ctl::HistoryColumns columns;
  if (!options.header) {
    columns.timestamp = "1";
    columns.value = "2";
  }
  if (flags & 4) columns.covariates = {options.header ? "temperature_c" : "3"};

  std::istringstream input(file);
  auto reader = ctl::HistoryCsvReader::Create(&input, columns, options);
  if (!reader.ok()) return;

  ctl::HistoryRow row;
  int64_t rows = 0;
  while (true) {
    const absl::StatusOr<bool> read = reader->Next(&row);
    if (!read.ok() || !*read) break;
    ++rows;
    Require(rows <= static_cast<int64_t>(file.size()), "a row per line");
    Require(std::isfinite(row.value), "finite values");
    Require(row.covariates.size() == columns.covariates.size(),
            "a value per covariate");
    for (double value : row.covariates) {
      Require(std::isfinite(value), "finite covariates");
    }
  }
  if (local_time.has_value()) local_time->Report();
}

}  // namespace
}  // namespace gridcast::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string file(reinterpret_cast<const char*>(data) + 1, size - 1);
  gridcast::fuzz::ReadFile(data[0], file);

  // The timestamp parser alone, on the whole text, with and without a zone.
  gridcast::ctl::ParseTimestamp(file).IgnoreError();
  gridcast::ctl::LocalTimeResolver local = gridcast::fuzz::Berlin(true);
  gridcast::ctl::ParseTimestamp(file, &local).IgnoreError();
  return 0;
}
