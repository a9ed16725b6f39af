#include "tools/accuracy/etth1.h"

#include <cmath>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace gridcast::accuracy {

absl::StatusOr<Etth1> ReadEtth1(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat(path, " is absent"));

  Etth1 data;
  std::string line;
  std::getline(file, line);
  const std::vector<std::string> header = absl::StrSplit(line, ',');
  if (header.size() < 2 || header[0] != "date") {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the header does not start with date: ", line));
  }
  data.names.assign(header.begin() + 1, header.end());

  for (int row = 0; row < kUsedRows && std::getline(file, line); ++row) {
    const std::vector<std::string> fields = absl::StrSplit(line, ',');
    if (fields.size() != header.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " line ", row + 2, " has ", fields.size(), " fields"));
    }
    absl::Time time;
    std::string error;
    if (!absl::ParseTime("%Y-%m-%d %H:%M:%S", fields[0], absl::UTCTimeZone(),
                         &time, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " line ", row + 2, ": date ", fields[0], ": ", error));
    }
    data.times.push_back(absl::ToUnixSeconds(time));
    for (size_t c = 1; c < fields.size(); ++c) {
      double value;
      if (!absl::SimpleAtod(fields[c], &value)) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, " line ", row + 2, " column ", header[c], ": ", fields[c]));
      }
      data.columns[header[c]].push_back(value);
    }
  }
  if (static_cast<int>(data.times.size()) != kUsedRows) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " has ", data.times.size(),
                     " rows; the protocol needs ", kUsedRows));
  }
  return data;
}

ZScore TrainingZScore(const std::vector<double>& values) {
  double sum = 0, squares = 0;
  for (int i = 0; i < kTrainRows; ++i) {
    sum += values[i];
    squares += values[i] * values[i];
  }
  ZScore z;
  z.mean = sum / kTrainRows;
  z.stddev = std::sqrt(squares / kTrainRows - z.mean * z.mean);
  return z;
}

}  // namespace gridcast::accuracy
