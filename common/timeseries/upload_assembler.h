// Turns the chunks of an UploadHistory stream into one regular series, or
// into an error that names the field and the offending index or value.
//
// Chunks are checked as they arrive (header, lengths, finite values, order
// within the upload) so that a bad upload fails early; Finish() then sorts
// if the header asked for it, rejects duplicates and off-grid timestamps,
// fills short gaps by linear interpolation and reports each repair.
#ifndef GRIDCAST_COMMON_TIMESERIES_UPLOAD_ASSEMBLER_H_
#define GRIDCAST_COMMON_TIMESERIES_UPLOAD_ASSEMBLER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/timeseries/regular_series.h"
#include "gridcast/v1/trainer.pb.h"

namespace gridcast {

struct UploadLimits {
  // Points in one upload, over all chunks; more is RESOURCE_EXHAUSTED.
  int64_t max_points = 5'000'000;
  // Covariates per upload; more is RESOURCE_EXHAUSTED.
  int max_covariates = 16;
};

class UploadAssembler {
 public:
  explicit UploadAssembler(UploadLimits limits = UploadLimits());

  // Checks one chunk and keeps its points. The first chunk must carry a
  // header. Indexes in errors count points from the start of the upload.
  absl::Status AddChunk(const v1::UploadHistoryRequest& chunk);

  // Validates the whole upload and returns it on a regular grid. An upload
  // without any point is INVALID_ARGUMENT.
  absl::StatusOr<RegularSeries> Finish();

 private:
  // (see upload_assembler.cc)
  UploadLimits limits_;
  bool have_header_ = false;
  v1::UploadHeader header_;
  int64_t chunks_ = 0;
  std::vector<int64_t> timestamps_;
  std::vector<double> values_;
  std::vector<std::vector<double>> covariates_;
};

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_TIMESERIES_UPLOAD_ASSEMBLER_H_
