// Turns the chunks of an UploadHistory stream into one regular series, or
// into an error that names the field and the offending index or value.
//
// Chunks are checked as they arrive (header, lengths, finite values,
// timestamps on the grid and, unless the header asks for sorting, their
// order and gaps) so that a bad upload fails early; Finish() then sorts if
// the header asked for it, rejects duplicates, fills short gaps by linear
// interpolation and reports each repair.
//
// Repairs reported in RegularSeries::repairs, sort first:
//   KIND_SORTED           start_time: the first timestamp of the sorted
//                         series; points: how many points arrived after a
//                         point with a later timestamp, i.e. the points that
//                         without header.sort_timestamps would have been
//                         refused. Not reported when nothing was out of
//                         order.
//   KIND_GAP_INTERPOLATED one per gap: start_time of the first filled point,
//                         points: how many were filled.
//
// Timestamps must be Unix seconds from 1970 to 9999 (which also catches
// milliseconds), each a whole number of resolutions from the first point
// received.
//
// Indexes in messages count points from the start of the whole upload
// (original arrival order, also after sorting); chunks count from 0. A
// header on a chunk after the first is ignored. After the first error every
// later call returns that error again, and nothing is kept.
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
  absl::Status AcceptChunk(const v1::UploadHistoryRequest& chunk);
  absl::Status AcceptHeader(const v1::UploadHistoryRequest& chunk);
  absl::Status CheckReceivedCount(int64_t chunk_points) const;
  absl::Status CheckChunkPoints(const v1::UploadHistoryRequest& chunk);
  absl::Status CheckOnGrid(int64_t index, int64_t time,
                           int64_t grid_origin) const;
  absl::Status CheckFinite(const v1::UploadHistoryRequest& chunk, int i,
                           int64_t index) const;
  absl::Status CheckStep(int64_t previous_index, int64_t previous_time,
                         int64_t index, int64_t time, int64_t received_points);
  absl::Status CheckGapLength(int64_t previous_index, int64_t previous_time,
                              int64_t index, int64_t time,
                              int64_t missing) const;
  absl::Status CheckPointBudget(int64_t received_points) const;
  void Append(const v1::UploadHistoryRequest& chunk);

  absl::StatusOr<RegularSeries> Assemble();
  absl::Status SortByTimestamp(std::vector<v1::Repair>* repairs);
  RegularSeries BuildGrid(std::vector<v1::Repair> repairs);
  void AppendGapFill(size_t next, int64_t missing, RegularSeries* series) const;

  // Remembers the first error and drops what was received.
  absl::Status Fail(absl::Status error);

  UploadLimits limits_;
  bool have_header_ = false;
  v1::UploadHeader header_;
  // Chunks seen so far, counting the one being checked.
  int64_t chunks_ = 0;
  // The received points in arrival order; covariates_[c][i] belongs to
  // timestamps_[i].
  std::vector<int64_t> timestamps_;
  std::vector<double> values_;
  std::vector<std::vector<double>> covariates_;
  // Points that gap filling will add; counts against limits_.max_points.
  int64_t filled_points_ = 0;
  // The first error; every later call returns it.
  absl::Status error_;
  bool finished_ = false;
};

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_TIMESERIES_UPLOAD_ASSEMBLER_H_
