#include "tools/gridcastctl/upload.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "tools/gridcastctl/args.h"
#include "tools/gridcastctl/format.h"

namespace gridcast::ctl {

absl::Status CheckChunkSize(int64_t chunk_points, size_t covariates) {
  // A point costs up to 10 bytes of varint timestamp and 8 per value.
  const int64_t point_bytes = 10 + 8 * (1 + static_cast<int64_t>(covariates));
  if (chunk_points * point_bytes <= kMaxChunkBytes) return absl::OkStatus();
  return UsageError(absl::StrCat(
      "--chunk-points ", chunk_points, " with ", covariates,
      " covariates would exceed gRPC's message limit; use at most ",
      kMaxChunkBytes / point_bytes));
}

HistoryUploader::HistoryUploader(UploadSettings settings,
                                 HistoryCsvReader* reader, ChunkWriter write,
                                 ProgressCallback progress)
    : settings_(std::move(settings)),
      reader_(reader),
      write_(std::move(write)),
      progress_(std::move(progress)) {
  StartChunk();
}

absl::Status HistoryUploader::SendAll() {
  HistoryRow row;
  while (!stream_broken_) {
    GC_ASSIGN_OR_RETURN(const bool read, reader_->Next(&row));
    if (!read) break;
    AppendRow(row);
    if (chunk_.timestamps_size() >= settings_.chunk_points) {
      GC_RETURN_IF_ERROR(SendChunk());
    }
  }
  if (stream_broken_) return absl::OkStatus();

  if (points_sent_ == 0 && chunk_.timestamps_size() == 0) {
    return absl::InvalidArgumentError("the file has no points");
  }
  if (chunk_.timestamps_size() > 0) GC_RETURN_IF_ERROR(SendChunk());
  return absl::OkStatus();
}

void HistoryUploader::StartChunk() {
  chunk_.Clear();
  for (const std::string& name : settings_.covariate_names) {
    chunk_.add_covariates()->set_name(name);
  }
}

void HistoryUploader::AppendRow(const HistoryRow& row) {
  chunk_.add_timestamps(row.timestamp);
  chunk_.add_values(row.value);
  for (size_t i = 0; i < row.covariates.size(); ++i) {
    chunk_.mutable_covariates(static_cast<int>(i))
        ->add_values(row.covariates[i]);
  }
}

absl::Status HistoryUploader::SendChunk() {
  if (chunks_sent_ == 0) GC_RETURN_IF_ERROR(AttachHeader());
  if (!write_(chunk_)) {
    stream_broken_ = true;
    return absl::OkStatus();
  }
  ++chunks_sent_;
  points_sent_ += chunk_.timestamps_size();
  if (progress_) progress_(points_sent_);
  StartChunk();
  return absl::OkStatus();
}

absl::Status HistoryUploader::AttachHeader() {
  v1::UploadHeader* header = chunk_.mutable_header();
  header->set_series_id(settings_.series_id);
  GC_ASSIGN_OR_RETURN(const int64_t resolution, Resolution());
  header->set_resolution_seconds(resolution);
  for (const std::string& name : settings_.covariate_names) {
    header->add_covariate_names(name);
  }
  header->set_max_gap_fill_points(settings_.max_gap_fill_points);
  header->set_sort_timestamps(settings_.sort);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> HistoryUploader::Resolution() const {
  if (settings_.resolution_seconds > 0) return settings_.resolution_seconds;
  if (chunk_.timestamps_size() < 2) {
    return UsageError(
        "cannot infer the resolution from fewer than two points; pass "
        "--resolution");
  }
  const int64_t step = chunk_.timestamps(1) - chunk_.timestamps(0);
  if (step <= 0) {
    return UsageError(absl::StrCat(
        "cannot infer the resolution: the first two timestamps are ",
        FormatIsoTime(chunk_.timestamps(0)), " and ",
        FormatIsoTime(chunk_.timestamps(1)), "; pass --resolution"));
  }
  return step;
}

}  // namespace gridcast::ctl
