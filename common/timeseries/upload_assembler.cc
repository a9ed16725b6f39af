#include "common/timeseries/upload_assembler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/names.h"
#include "common/status_macros.h"

namespace gridcast {
namespace {

// What max_gap_fill_points = 0 stands for.
constexpr int32_t kDefaultMaxGapFillPoints = 4;

// Unix seconds of 9999-12-31T23:59:59Z. Bounding timestamps keeps every
// difference between two of them far from int64 overflow, and catches the
// usual SCADA mistake of sending milliseconds.
constexpr int64_t kMaxTimestamp = 253402300799;

// Names echoed back in messages are cut so that a hostile upload cannot
// flood the logs.
constexpr size_t kMaxQuotedLength = 128;

std::string Quoted(absl::string_view text) {
  return absl::StrCat("\"", absl::CHexEscape(text.substr(0, kMaxQuotedLength)),
                      "\"");
}

// "NaN", "inf" or "-inf".
const char* NonFiniteName(double value) {
  if (std::isnan(value)) return "NaN";
  return value > 0 ? "inf" : "-inf";
}

const char* PointsNoun(int64_t count) {
  return count == 1 ? "point" : "points";
}

absl::Status ValidateCovariateNames(const v1::UploadHeader& header,
                                    const UploadLimits& limits) {
  const auto& names = header.covariate_names();
  if (names.size() > limits.max_covariates) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "header.covariate_names has %d entries, more than the limit of %d "
        "covariates",
        names.size(), limits.max_covariates));
  }

  for (int c = 0; c < names.size(); ++c) {
    GC_RETURN_IF_ERROR(ValidateName(
        absl::StrFormat("header.covariate_names[%d]", c), names[c]));
    // Chunks name their covariates, so a name must say which one it is.
    for (int earlier = 0; earlier < c; ++earlier) {
      if (names[earlier] != names[c]) continue;
      return absl::InvalidArgumentError(absl::StrFormat(
          "header.covariate_names[%d]=%s repeats header.covariate_names[%d]", c,
          Quoted(names[c]), earlier));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateHeader(const v1::UploadHeader& header,
                            const UploadLimits& limits) {
  GC_RETURN_IF_ERROR(ValidateName("header.series_id", header.series_id()));

  if (header.resolution_seconds() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("header.resolution_seconds=%d must be positive",
                        header.resolution_seconds()));
  }

  if (header.max_gap_fill_points() < -1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "header.max_gap_fill_points=%d must be -1 (fill no gap), 0 (the "
        "default, %d) or positive",
        header.max_gap_fill_points(), kDefaultMaxGapFillPoints));
  }

  return ValidateCovariateNames(header, limits);
}

// Every covariate of the header, in the header's order, with one value per
// timestamp of the chunk; as many values as timestamps.
absl::Status ValidateChunkShape(const v1::UploadHistoryRequest& chunk,
                                const v1::UploadHeader& header,
                                int64_t chunk_index) {
  if (chunk.values_size() != chunk.timestamps_size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "chunk %d: values has %d entries but timestamps has %d", chunk_index,
        chunk.values_size(), chunk.timestamps_size()));
  }

  const auto& names = header.covariate_names();
  if (chunk.covariates_size() != names.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "chunk %d: covariates has %d entries but header.covariate_names has "
        "%d",
        chunk_index, chunk.covariates_size(), names.size()));
  }

  for (int c = 0; c < names.size(); ++c) {
    const v1::Covariate& covariate = chunk.covariates(c);
    if (covariate.name() != names[c]) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "chunk %d: covariates[%d] is named %s but header.covariate_names[%d] "
          "is %s",
          chunk_index, c, Quoted(covariate.name()), c, Quoted(names[c])));
    }
    if (covariate.values_size() != chunk.timestamps_size()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "chunk %d: covariates[%d] (%s) values has %d entries but timestamps "
          "has %d",
          chunk_index, c, Quoted(names[c]), covariate.values_size(),
          chunk.timestamps_size()));
    }
  }
  return absl::OkStatus();
}

// The longest run of missing points that is filled; 0 when none is.
int64_t GapFillLimit(const v1::UploadHeader& header) {
  if (header.max_gap_fill_points() == 0) return kDefaultMaxGapFillPoints;
  return std::max<int64_t>(header.max_gap_fill_points(), 0);
}

// Missing grid points between two on-grid timestamps, the second later.
int64_t MissingBetween(int64_t previous_time, int64_t time,
                       int64_t resolution_seconds) {
  return (time - previous_time) / resolution_seconds - 1;
}

// Indexes of `timestamps` in time order; equal timestamps keep their
// arrival order, so a duplicate is reported after its first occurrence.
std::vector<size_t> StableTimeOrder(const std::vector<int64_t>& timestamps) {
  std::vector<size_t> order(timestamps.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return timestamps[a] < timestamps[b];
  });
  return order;
}

// Points that arrived after a point with a later timestamp: the ones that
// would have been refused without header.sort_timestamps.
int64_t CountOutOfOrder(const std::vector<int64_t>& timestamps) {
  int64_t out_of_order = 0;
  int64_t latest = timestamps.front();
  for (int64_t time : timestamps) {
    if (time < latest) ++out_of_order;
    latest = std::max(latest, time);
  }
  return out_of_order;
}

template <typename T>
void Permute(const std::vector<size_t>& order, std::vector<T>* items) {
  std::vector<T> permuted;
  permuted.reserve(order.size());
  for (size_t from : order) permuted.push_back((*items)[from]);
  *items = std::move(permuted);
}

// A point `fraction` of the way from `from` to `to`, finite whenever both
// are: `to - from` alone overflows for values of opposite sign near the
// largest double, so that case weighs the two ends instead, and rounding
// never leaves the interval.
double Interpolate(double from, double to, double fraction) {
  const double span = to - from;
  const double value = std::isfinite(span)
                           ? from + span * fraction
                           : from * (1 - fraction) + to * fraction;
  return std::clamp(value, std::min(from, to), std::max(from, to));
}

// Appends the `missing` points strictly between `from` and `to` on a
// straight line.
void AppendLinearRun(double from, double to, int64_t missing,
                     std::vector<double>* out) {
  for (int64_t step = 1; step <= missing; ++step) {
    const double fraction =
        static_cast<double>(step) / static_cast<double>(missing + 1);
    out->push_back(Interpolate(from, to, fraction));
  }
}

v1::Repair MakeRepair(v1::Repair::Kind kind, int64_t start_time,
                      int64_t points) {
  v1::Repair repair;
  repair.set_kind(kind);
  repair.set_start_time(start_time);
  repair.set_points(points);
  return repair;
}

}  // namespace

UploadAssembler::UploadAssembler(UploadLimits limits) : limits_(limits) {}

absl::Status UploadAssembler::AddChunk(const v1::UploadHistoryRequest& chunk) {
  if (!error_.ok()) return error_;
  if (finished_) {
    return absl::FailedPreconditionError("upload is already finished");
  }

  absl::Status status = AcceptChunk(chunk);
  if (!status.ok()) return Fail(std::move(status));
  return absl::OkStatus();
}

absl::StatusOr<RegularSeries> UploadAssembler::Finish() {
  if (!error_.ok()) return error_;
  if (finished_) {
    return absl::FailedPreconditionError("upload is already finished");
  }

  absl::StatusOr<RegularSeries> series = Assemble();
  if (!series.ok()) return Fail(series.status());

  finished_ = true;
  timestamps_ = {};
  values_ = {};
  covariates_ = {};
  return series;
}

absl::Status UploadAssembler::Fail(absl::Status error) {
  error_ = std::move(error);
  // Nothing of a refused upload is used again; give the memory back now
  // rather than when the stream ends.
  timestamps_ = {};
  values_ = {};
  covariates_ = {};
  return error_;
}

absl::Status UploadAssembler::AcceptChunk(
    const v1::UploadHistoryRequest& chunk) {
  const int64_t chunk_index = chunks_++;
  // Only the first chunk's header counts; the proto documents later ones
  // as ignored, so a client may repeat it in every chunk.
  if (!have_header_) GC_RETURN_IF_ERROR(AcceptHeader(chunk));

  GC_RETURN_IF_ERROR(ValidateChunkShape(chunk, header_, chunk_index));

  GC_RETURN_IF_ERROR(CheckReceivedCount(chunk.timestamps_size()));

  GC_RETURN_IF_ERROR(CheckChunkPoints(chunk));

  Append(chunk);
  return absl::OkStatus();
}

absl::Status UploadAssembler::AcceptHeader(
    const v1::UploadHistoryRequest& chunk) {
  if (!chunk.has_header()) {
    return absl::InvalidArgumentError("first chunk has no header");
  }
  GC_RETURN_IF_ERROR(ValidateHeader(chunk.header(), limits_));

  header_ = chunk.header();
  have_header_ = true;
  covariates_.resize(header_.covariate_names_size());
  return absl::OkStatus();
}

// Refuses the chunk before its points are copied when they would pass the
// limit, so that an oversized upload costs no memory.
absl::Status UploadAssembler::CheckReceivedCount(int64_t chunk_points) const {
  const int64_t received = static_cast<int64_t>(timestamps_.size());
  if (received + chunk_points <= limits_.max_points) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrFormat("upload has %d points; limit --max_upload_points is %d",
                      received + chunk_points, limits_.max_points));
}

absl::Status UploadAssembler::CheckChunkPoints(
    const v1::UploadHistoryRequest& chunk) {
  if (chunk.timestamps_size() == 0) return absl::OkStatus();

  const int64_t first_index = static_cast<int64_t>(timestamps_.size());
  const int64_t received = first_index + chunk.timestamps_size();
  const int64_t grid_origin =
      timestamps_.empty() ? chunk.timestamps(0) : timestamps_.front();

  for (int i = 0; i < chunk.timestamps_size(); ++i) {
    const int64_t index = first_index + i;
    const int64_t time = chunk.timestamps(i);
    GC_RETURN_IF_ERROR(CheckOnGrid(index, time, grid_origin));

    GC_RETURN_IF_ERROR(CheckFinite(chunk, i, index));

    // When sorting, order, duplicates and gaps are only known in Finish().
    if (header_.sort_timestamps() || index == 0) continue;
    const int64_t previous_time =
        i > 0 ? chunk.timestamps(i - 1) : timestamps_.back();
    GC_RETURN_IF_ERROR(
        CheckStep(index - 1, previous_time, index, time, received));
  }
  return absl::OkStatus();
}

absl::Status UploadAssembler::CheckOnGrid(int64_t index, int64_t time,
                                          int64_t grid_origin) const {
  if (time < 0 || time > kMaxTimestamp) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "timestamps[%d]=%d is outside 0..%d: timestamps are Unix seconds "
        "(1970 to 9999), not milliseconds",
        index, time, kMaxTimestamp));
  }

  // The first point received fixes the grid: every other point must be a
  // whole number of resolutions away from it.
  const int64_t resolution = header_.resolution_seconds();
  if ((time - grid_origin) % resolution == 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrFormat(
      "timestamps[%d]=%d is not on the %d s grid of timestamps[0]=%d", index,
      time, resolution, grid_origin));
}

absl::Status UploadAssembler::CheckFinite(const v1::UploadHistoryRequest& chunk,
                                          int i, int64_t index) const {
  const int64_t time = chunk.timestamps(i);
  if (!std::isfinite(chunk.values(i))) {
    return absl::InvalidArgumentError(
        absl::StrFormat("values[%d] is %s (timestamp %d)", index,
                        NonFiniteName(chunk.values(i)), time));
  }

  for (int c = 0; c < chunk.covariates_size(); ++c) {
    const double value = chunk.covariates(c).values(i);
    if (std::isfinite(value)) continue;
    return absl::InvalidArgumentError(absl::StrFormat(
        "covariates[%d] (%s) values[%d] is %s (timestamp %d)", c,
        Quoted(header_.covariate_names(c)), index, NonFiniteName(value), time));
  }
  return absl::OkStatus();
}

// Checks the point at `index` against the one before it in time, and counts
// the points that will fill the gap between them.
absl::Status UploadAssembler::CheckStep(int64_t previous_index,
                                        int64_t previous_time, int64_t index,
                                        int64_t time, int64_t received_points) {
  if (time == previous_time) {
    return absl::InvalidArgumentError(
        absl::StrFormat("timestamps[%d]=%d duplicates timestamps[%d]", index,
                        time, previous_index));
  }

  if (time < previous_time) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "timestamps[%d]=%d is before timestamps[%d]=%d (timestamps must "
        "increase; set header.sort_timestamps to sort)",
        index, time, previous_index, previous_time));
  }

  const int64_t missing =
      MissingBetween(previous_time, time, header_.resolution_seconds());
  if (missing == 0) return absl::OkStatus();
  GC_RETURN_IF_ERROR(
      CheckGapLength(previous_index, previous_time, index, time, missing));

  filled_points_ += missing;
  return CheckPointBudget(received_points);
}

absl::Status UploadAssembler::CheckGapLength(int64_t previous_index,
                                             int64_t previous_time,
                                             int64_t index, int64_t time,
                                             int64_t missing) const {
  const int64_t limit = GapFillLimit(header_);
  if (missing <= limit) return absl::OkStatus();

  const std::string gap = absl::StrFormat(
      "gap of %d missing %s after timestamps[%d]=%d (next is "
      "timestamps[%d]=%d)",
      missing, PointsNoun(missing), previous_index, previous_time, index, time);
  if (header_.max_gap_fill_points() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(gap, ": header.max_gap_fill_points=-1 refuses every gap"));
  }
  const char* default_note =
      header_.max_gap_fill_points() == 0 ? " (the default for 0)" : "";
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s exceeds header.max_gap_fill_points=%d%s", gap, limit, default_note));
}

// Filled gaps become stored points too, so they count against the limit;
// this also keeps one huge gap from allocating billions of points.
absl::Status UploadAssembler::CheckPointBudget(int64_t received_points) const {
  if (received_points + filled_points_ <= limits_.max_points) {
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(absl::StrFormat(
      "upload has %d points (%d received plus %d to fill gaps); limit "
      "--max_upload_points is %d",
      received_points + filled_points_, received_points, filled_points_,
      limits_.max_points));
}

void UploadAssembler::Append(const v1::UploadHistoryRequest& chunk) {
  timestamps_.insert(timestamps_.end(), chunk.timestamps().begin(),
                     chunk.timestamps().end());
  values_.insert(values_.end(), chunk.values().begin(), chunk.values().end());
  for (int c = 0; c < chunk.covariates_size(); ++c) {
    const auto& values = chunk.covariates(c).values();
    covariates_[c].insert(covariates_[c].end(), values.begin(), values.end());
  }
}

absl::StatusOr<RegularSeries> UploadAssembler::Assemble() {
  if (timestamps_.empty()) {
    return absl::InvalidArgumentError("upload holds no points");
  }

  std::vector<v1::Repair> repairs;
  if (header_.sort_timestamps()) {
    GC_RETURN_IF_ERROR(SortByTimestamp(&repairs));
  }

  return BuildGrid(std::move(repairs));
}

absl::Status UploadAssembler::SortByTimestamp(
    std::vector<v1::Repair>* repairs) {
  const int64_t out_of_order = CountOutOfOrder(timestamps_);
  const std::vector<size_t> order = StableTimeOrder(timestamps_);

  // Checked before permuting so that messages name arrival indexes, which
  // are what the client can find in what it sent.
  const int64_t received = static_cast<int64_t>(timestamps_.size());
  for (size_t j = 1; j < order.size(); ++j) {
    const size_t previous = order[j - 1];
    const size_t current = order[j];
    GC_RETURN_IF_ERROR(CheckStep(previous, timestamps_[previous], current,
                                 timestamps_[current], received));
  }

  Permute(order, &timestamps_);
  Permute(order, &values_);
  for (std::vector<double>& covariate : covariates_) {
    Permute(order, &covariate);
  }

  if (out_of_order > 0) {
    repairs->push_back(
        MakeRepair(v1::Repair::KIND_SORTED, timestamps_.front(), out_of_order));
  }
  return absl::OkStatus();
}

// Lays the checked, time-ordered points on the grid, filling gaps.
RegularSeries UploadAssembler::BuildGrid(std::vector<v1::Repair> repairs) {
  RegularSeries series;
  series.series_id = header_.series_id();
  series.resolution_seconds = header_.resolution_seconds();
  series.start_time = timestamps_.front();
  series.covariate_names.assign(header_.covariate_names().begin(),
                                header_.covariate_names().end());
  series.holidays.assign(header_.holidays().begin(), header_.holidays().end());

  const size_t total = timestamps_.size() + filled_points_;
  series.values.reserve(total);
  series.covariates.resize(covariates_.size());
  for (std::vector<double>& covariate : series.covariates) {
    covariate.reserve(total);
  }

  for (size_t i = 0; i < timestamps_.size(); ++i) {
    const int64_t missing =
        i == 0 ? 0
               : MissingBetween(timestamps_[i - 1], timestamps_[i],
                                series.resolution_seconds);
    if (missing > 0) {
      AppendGapFill(i, missing, &series);
      repairs.push_back(
          MakeRepair(v1::Repair::KIND_GAP_INTERPOLATED,
                     timestamps_[i - 1] + series.resolution_seconds, missing));
    }

    series.values.push_back(values_[i]);
    for (size_t c = 0; c < covariates_.size(); ++c) {
      series.covariates[c].push_back(covariates_[c][i]);
    }
  }

  // TODO: an upload with very many short gaps reports one repair per gap,
  // which can make the response large; consider summarising past a count.
  series.repairs = std::move(repairs);
  return series;
}

// Appends the `missing` points between the received points `next - 1` and
// `next`, values and covariates alike.
void UploadAssembler::AppendGapFill(size_t next, int64_t missing,
                                    RegularSeries* series) const {
  AppendLinearRun(values_[next - 1], values_[next], missing, &series->values);
  for (size_t c = 0; c < covariates_.size(); ++c) {
    AppendLinearRun(covariates_[c][next - 1], covariates_[c][next], missing,
                    &series->covariates[c]);
  }
}

}  // namespace gridcast
