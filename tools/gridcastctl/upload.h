// Streaming a history CSV to UploadHistory: rows are read a line at a time
// and sent in chunks of a bounded number of points, so that memory holds
// one chunk whatever the size of the file. The gRPC stream is behind a
// function so that tests can stand in for it.
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_UPLOAD_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_UPLOAD_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gridcast/v1/trainer.pb.h"
#include "tools/gridcastctl/csv.h"

namespace gridcast::ctl {

// The most points one chunk may carry, and its byte budget, which keeps a
// chunk well under gRPC's default 4 MB message limit.
inline constexpr int64_t kMaxChunkPoints = 65536;
inline constexpr int64_t kMaxChunkBytes = 3 << 20;

struct UploadSettings {
  std::string series_id;
  // 0: the step between the first two rows.
  int64_t resolution_seconds = 0;
  // Names sent in the header, in the order of the reader's covariates.
  std::vector<std::string> covariate_names;
  // As UploadHeader.max_gap_fill_points: 0 the server's default, -1 none.
  int32_t max_gap_fill_points = 0;
  bool sort = false;
  int64_t chunk_points = 8192;
};

// A usage error when `chunk_points` points with `covariates` covariates
// could exceed kMaxChunkBytes, naming the largest chunk that fits.
absl::Status CheckChunkSize(int64_t chunk_points, size_t covariates);

class HistoryUploader {
 public:
  // Sends one chunk; false when the stream broke (the server ended the
  // call: its status tells why).
  using ChunkWriter = std::function<bool(const v1::UploadHistoryRequest&)>;
  // Told the number of points sent so far after each chunk.
  using ProgressCallback = std::function<void(int64_t points_sent)>;

  // `reader` is not owned.
  HistoryUploader(UploadSettings settings, HistoryCsvReader* reader,
                  ChunkWriter write, ProgressCallback progress = nullptr);

  // Sends every row, the header with the first chunk. A local error (a bad
  // line, a resolution that cannot be inferred, no rows) is returned and
  // the caller must cancel the call so that nothing is stored. When a
  // write fails, SendAll stops with OK and stream_broken() set.
  absl::Status SendAll();

  bool stream_broken() const { return stream_broken_; }
  int64_t points_sent() const { return points_sent_; }
  int64_t chunks_sent() const { return chunks_sent_; }

 private:
  void StartChunk();
  void AppendRow(const HistoryRow& row);
  absl::Status SendChunk();
  absl::Status AttachHeader();
  absl::StatusOr<int64_t> Resolution() const;

  UploadSettings settings_;
  HistoryCsvReader* reader_;
  ChunkWriter write_;
  ProgressCallback progress_;
  v1::UploadHistoryRequest chunk_;
  bool stream_broken_ = false;
  int64_t points_sent_ = 0;
  int64_t chunks_sent_ = 0;
};

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_UPLOAD_H_
