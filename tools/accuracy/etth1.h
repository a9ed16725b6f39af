// Reading ETTh1 (../shared/data/ETTh1.csv) and the protocol the forecasting
// literature scores it with, for the accuracy benchmark.
#ifndef GRIDCAST_TOOLS_ACCURACY_ETTH1_H_
#define GRIDCAST_TOOLS_ACCURACY_ETTH1_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gridcast::accuracy {

// The protocol: 12 months train, 4 validate, 4 test, of 30-day months.
inline constexpr int kTrainRows = 8640;
inline constexpr int kValidationRows = 2880;
inline constexpr int kTestRows = 2880;
inline constexpr int kUsedRows = kTrainRows + kValidationRows + kTestRows;
inline constexpr int kTestStart = kTrainRows + kValidationRows;

struct Etth1 {
  // Unix seconds, hourly.
  std::vector<int64_t> times;
  // By column name: HUFL, HULL, MUFL, MULL, LUFL, LULL, OT.
  std::map<std::string, std::vector<double>> columns;
  std::vector<std::string> names;
};

// Reads the first kUsedRows rows. NOT_FOUND when the file is absent.
absl::StatusOr<Etth1> ReadEtth1(const std::string& path);

// Mean and standard deviation of the training rows, for the protocol's
// z-scores.
struct ZScore {
  double mean = 0;
  double stddev = 1;
  double operator()(double value) const { return (value - mean) / stddev; }
};
ZScore TrainingZScore(const std::vector<double>& values);

}  // namespace gridcast::accuracy

#endif  // GRIDCAST_TOOLS_ACCURACY_ETTH1_H_
