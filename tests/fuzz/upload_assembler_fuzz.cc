// Fuzzes the chunks of an UploadHistory stream through UploadAssembler.
// Input: records (fuzz_support.h), each a serialised UploadHistoryRequest.
//
// Properties: no crash or undefined behaviour; errors are valid UTF-8; an
// accepted upload is a regular grid of the declared resolution with one
// finite value (and one per covariate) per point, within the point budget.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/timeseries/upload_assembler.h"
#include "gridcast/v1/trainer.pb.h"
#include "tests/fuzz/fuzz_support.h"

namespace gridcast::fuzz {
namespace {

// Smaller than the server's so that gap filling stays fast per input; the
// checks against the budget are the same code.
constexpr int64_t kMaxPoints = 20'000;

bool AllFinite(const std::vector<double>& values) {
  for (double value : values) {
    if (!std::isfinite(value)) return false;
  }
  return true;
}

void CheckSeries(const RegularSeries& series, int covariates) {
  const int64_t points = static_cast<int64_t>(series.values.size());
  Require(points > 0 && points <= kMaxPoints, "points within the budget");
  Require(series.resolution_seconds > 0, "a positive resolution");
  Require(static_cast<int>(series.covariates.size()) == covariates,
          "one column per declared covariate");
  for (const auto& column : series.covariates) {
    Require(static_cast<int64_t>(column.size()) == points,
            "a covariate value per point");
    Require(AllFinite(column),
            "finite covariates, also where gaps were filled");
  }
  Require(AllFinite(series.values),
          "finite values, also where gaps were filled");
}

}  // namespace
}  // namespace gridcast::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gridcast;
  UploadLimits limits;
  limits.max_points = fuzz::kMaxPoints;
  limits.max_covariates = 4;
  UploadAssembler assembler(limits);

  int covariates = 0;
  bool first = true;
  for (absl::string_view record : fuzz::SplitRecords(data, size)) {
    v1::UploadHistoryRequest chunk;
    if (!chunk.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
      continue;
    }
    if (first) covariates = chunk.header().covariate_names_size();
    first = false;
    const absl::Status status = assembler.AddChunk(chunk);
    if (!status.ok()) fuzz::RequireUtf8Message(status);
  }

  const absl::StatusOr<RegularSeries> series = assembler.Finish();
  if (!series.ok()) {
    fuzz::RequireUtf8Message(series.status());
    return 0;
  }
  fuzz::CheckSeries(*series, covariates);
  return 0;
}
