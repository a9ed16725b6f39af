// sample, upload and datasets: getting load histories into the trainer.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "tools/gridcastctl/commands.h"
#include "tools/gridcastctl/csv.h"
#include "tools/gridcastctl/format.h"
#include "tools/gridcastctl/print.h"
#include "tools/gridcastctl/sample.h"

namespace gridcast::ctl {
namespace {

// Chunks stay under gRPC's default 4 MB message limit with room to spare.
constexpr int64_t kMaxChunkPoints = 65536;
constexpr int64_t kMaxChunkBytes = 3 << 20;

// ---------------------------------------------------------------- sample

absl::StatusOr<SampleOptions> ParseSampleOptions(const ParsedArgs& args) {
  SampleOptions options;
  GC_ASSIGN_OR_RETURN(options.days,
                      args.GetInt("days", options.days, 1, 36600));
  GC_ASSIGN_OR_RETURN(
      options.resolution_seconds,
      args.GetInt("resolution", options.resolution_seconds, 1, 86400));
  GC_ASSIGN_OR_RETURN(const int64_t seed,
                      args.GetInt("seed", options.seed, 0,
                                  std::numeric_limits<uint32_t>::max()));
  options.seed = static_cast<uint32_t>(seed);
  GC_ASSIGN_OR_RETURN(options.base_kw,
                      args.GetDouble("base-kw", options.base_kw, 1e-3, 1e9));

  if (args.Has("start")) {
    auto start = ParseTimestamp(args.GetString("start"));
    if (!start.ok()) {
      return UsageError(absl::StrCat("--start: ", start.status().message()));
    }
    options.start_time = *start;
  }

  const absl::Status valid = ValidateSampleOptions(options);
  if (!valid.ok()) return UsageError(valid.message());
  return options;
}

absl::Status WriteSampleFile(const SampleOptions& options,
                             const std::string& path) {
  std::ofstream file(path, std::ios::out | std::ios::trunc);
  if (!file.is_open()) {
    return absl::UnavailableError(
        absl::StrCat("writing ", path, ": ", std::strerror(errno)));
  }

  const absl::Status written = WriteSampleCsv(options, &file);
  file.close();
  if (!written.ok() || !file) {
    return absl::DataLossError(
        absl::StrCat("writing ", path, ": ",
                     written.ok() ? std::strerror(errno) : written.message()));
  }
  return absl::OkStatus();
}

absl::Status RunSample(const ClientOptions&, const ParsedArgs& args) {
  GC_ASSIGN_OR_RETURN(const std::string path, args.GetRequired("out"));
  GC_ASSIGN_OR_RETURN(const SampleOptions options, ParseSampleOptions(args));
  if (path == "-") return WriteSampleCsv(options, &std::cout);

  GC_RETURN_IF_ERROR(WriteSampleFile(options, path));
  const SyntheticFeeder feeder(options);
  const int64_t end_time =
      options.start_time + (feeder.points() - 1) * options.resolution_seconds;
  std::cerr << "wrote " << feeder.points() << " points, "
            << FormatHumanTime(options.start_time) << " .. "
            << FormatHumanTime(end_time) << ", to " << path << "\n";
  return absl::OkStatus();
}

CommandSpec SampleSpec() {
  return {
      "sample",
      "--out FILE.csv [options]",
      "Write a synthetic feeder load history as CSV.",
      "The header is timestamp,load_kw,temperature_c with ISO 8601 UTC\n"
      "timestamps. The load has a daily cycle (night trough, morning and\n"
      "evening peaks), a weekly cycle (weekends lower), heating below 15 C "
      "and\n"
      "cooling above 22 C driven by a synthetic temperature (seasonal and\n"
      "daily cycles plus a wandering weather term) and noise. The same seed\n"
      "writes the same file.\n",
      {{"out", "FILE.csv", "where to write; - for stdout (required)"},
       {"days", "N", "days of history (default 84)"},
       {"start", "TIME",
        "first timestamp, ISO 8601 or Unix seconds "
        "(default 2024-01-01T00:00:00Z)"},
       {"resolution", "SECONDS",
        "spacing of the points; must divide a day (default 3600)"},
       {"seed", "N", "random seed (default 1)"},
       {"base-kw", "KW", "typical load of the feeder in kW (default 800)"}}};
}

// ---------------------------------------------------------------- upload

struct UploadOptions {
  std::string path;
  std::string series_id;
  HistoryColumns columns;
  // 0: inferred from the first two rows.
  int64_t resolution_seconds = 0;
  int64_t chunk_points = 8192;
  bool sort = false;
  // As UploadHeader.max_gap_fill_points: 0 the server's default, -1 none.
  int32_t max_gap_fill_points = 0;
  bool quiet = false;
};

// A point costs up to 10 bytes of varint timestamp and 8 per value.
absl::Status CheckChunkSize(const UploadOptions& options) {
  const int64_t point_bytes =
      10 + 8 * (1 + static_cast<int64_t>(options.columns.covariates.size()));
  if (options.chunk_points * point_bytes <= kMaxChunkBytes) {
    return absl::OkStatus();
  }
  return UsageError(absl::StrCat(
      "--chunk-points ", options.chunk_points, " with ",
      options.columns.covariates.size(),
      " covariates would exceed gRPC's message limit; use at most ",
      kMaxChunkBytes / point_bytes));
}

absl::StatusOr<UploadOptions> ParseUploadOptions(const ParsedArgs& args) {
  UploadOptions options;
  GC_ASSIGN_OR_RETURN(options.path, args.GetRequired("file"));
  GC_ASSIGN_OR_RETURN(options.series_id, GetName(args, "series"));
  options.columns.timestamp = args.GetString("timestamp-column", "timestamp");
  options.columns.value = args.GetString("value-column", "load_kw");
  options.columns.covariates = GetRepeatedList(args, "covariate");
  GC_ASSIGN_OR_RETURN(options.resolution_seconds,
                      args.GetInt("resolution", 0, 1, 365 * 86400));
  GC_ASSIGN_OR_RETURN(
      options.chunk_points,
      args.GetInt("chunk-points", options.chunk_points, 2, kMaxChunkPoints));
  GC_RETURN_IF_ERROR(CheckChunkSize(options));
  options.sort = args.Has("sort");
  options.quiet = args.Has("quiet");

  // On the command line 0 reads as "fill no gap"; the API spells that -1
  // because its 0 means "the default".
  if (args.Has("max-gap-fill")) {
    GC_ASSIGN_OR_RETURN(const int64_t fill,
                        args.GetInt("max-gap-fill", 0, 0, 1'000'000));
    options.max_gap_fill_points = fill == 0 ? -1 : static_cast<int32_t>(fill);
  }
  return options;
}

// Streams the rows of a CSV to UploadHistory, a chunk at a time, so that
// memory stays at one chunk whatever the size of the file.
class HistoryUploader {
 public:
  using Writer = grpc::ClientWriterInterface<v1::UploadHistoryRequest>;

  HistoryUploader(const UploadOptions& options, HistoryCsvReader* reader,
                  Writer* writer, bool show_progress)
      : options_(options),
        reader_(reader),
        writer_(writer),
        show_progress_(show_progress) {
    StartChunk();
  }

  // Sends every row. A local error (a bad line, too few rows to infer the
  // resolution) is returned, and the caller cancels the call. When the
  // server ends the call early, Write fails: SendAll stops with OK and
  // stream_broken() set, and Finish() tells the server's reason.
  absl::Status SendAll() {
    HistoryRow row;
    while (!stream_broken_) {
      GC_ASSIGN_OR_RETURN(const bool read, reader_->Next(&row));
      if (!read) break;
      AppendRow(row);
      if (chunk_.timestamps_size() >= options_.chunk_points) {
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

  bool stream_broken() const { return stream_broken_; }

  // Clears the progress line, if one was drawn.
  void EndProgress() {
    if (show_progress_ && points_sent_ > 0) std::cerr << "\r\033[K";
  }

 private:
  void StartChunk() {
    chunk_.Clear();
    for (const std::string& name : options_.columns.covariates) {
      chunk_.add_covariates()->set_name(name);
    }
  }

  void AppendRow(const HistoryRow& row) {
    chunk_.add_timestamps(row.timestamp);
    chunk_.add_values(row.value);
    for (size_t i = 0; i < row.covariates.size(); ++i) {
      chunk_.mutable_covariates(static_cast<int>(i))
          ->add_values(row.covariates[i]);
    }
  }

  absl::Status SendChunk() {
    if (!header_sent_) GC_RETURN_IF_ERROR(AttachHeader());
    if (!writer_->Write(chunk_)) {
      stream_broken_ = true;
      return absl::OkStatus();
    }
    header_sent_ = true;
    points_sent_ += chunk_.timestamps_size();
    if (show_progress_) std::cerr << "\rsent " << points_sent_ << " points";
    StartChunk();
    return absl::OkStatus();
  }

  absl::Status AttachHeader() {
    v1::UploadHeader* header = chunk_.mutable_header();
    header->set_series_id(options_.series_id);
    GC_ASSIGN_OR_RETURN(const int64_t resolution, Resolution());
    header->set_resolution_seconds(resolution);
    for (const std::string& name : options_.columns.covariates) {
      header->add_covariate_names(name);
    }
    header->set_max_gap_fill_points(options_.max_gap_fill_points);
    header->set_sort_timestamps(options_.sort);
    return absl::OkStatus();
  }

  // The given resolution, or the step between the first two points.
  absl::StatusOr<int64_t> Resolution() const {
    if (options_.resolution_seconds > 0) return options_.resolution_seconds;
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

  const UploadOptions& options_;
  HistoryCsvReader* reader_;
  Writer* writer_;
  bool show_progress_;
  v1::UploadHistoryRequest chunk_;
  bool header_sent_ = false;
  bool stream_broken_ = false;
  int64_t points_sent_ = 0;
};

// Prefixes errors of the file, but not usage errors, with "reading PATH".
absl::Status FileError(const std::string& path, const absl::Status& status) {
  if (IsUsageError(status)) return status;
  return absl::Status(status.code(),
                      absl::StrCat("reading ", path, ": ", status.message()));
}

absl::Status RunUpload(const ClientOptions& client, const ParsedArgs& args) {
  GC_ASSIGN_OR_RETURN(const UploadOptions options, ParseUploadOptions(args));

  std::ifstream file;
  GC_RETURN_IF_ERROR(OpenForReading(options.path, &file));
  auto reader = HistoryCsvReader::Create(&file, options.columns);
  if (!reader.ok()) return FileError(options.path, reader.status());

  auto stub = NewTrainerStub(client);
  grpc::ClientContext context;
  v1::UploadHistoryResponse response;
  auto writer = stub->UploadHistory(&context, &response);

  HistoryUploader uploader(options, &*reader, writer.get(),
                           StderrIsTerminal() && !options.quiet);
  const absl::Status sent = uploader.SendAll();
  uploader.EndProgress();
  if (!sent.ok()) {
    // Cancelling before WritesDone() is what makes the server drop the
    // partial upload: nothing is stored.
    context.TryCancel();
    writer->Finish();
    return FileError(options.path, sent);
  }

  if (!uploader.stream_broken()) writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) {
    return RpcError(absl::StrCat("uploading ", options.path), status);
  }

  PrintOut(options.quiet ? absl::StrCat(response.dataset().id(), "\n")
                         : FormatDataset(response.dataset()));
  return absl::OkStatus();
}

CommandSpec UploadSpec() {
  return {
      "upload",
      "--file FILE.csv --series ID [options]",
      "Stream a load history CSV to the trainer as a new dataset.",
      "The file is read a line at a time and sent in chunks, so it may be\n"
      "larger than memory. Timestamps may be ISO 8601 with Z or an offset\n"
      "(2024-01-01T00:00:00Z, 2024-01-01 01:00:00+01:00) or Unix seconds. A\n"
      "bad line stops the upload, naming the line and column; the call is\n"
      "cancelled and nothing is stored. Prints the stored dataset.\n",
      {{"file", "FILE.csv", "the CSV to upload (required)"},
       {"series", "ID",
        "feeder or substation id, such as feeder-17 (required)"},
       {"resolution", "SECONDS",
        "spacing of the series (default: the step between the first two "
        "rows)"},
       {"timestamp-column", "NAME",
        "column of the timestamps (default timestamp)"},
       {"value-column", "NAME", "column of the load (default load_kw)"},
       {"covariate", "NAME",
        "a column to send as a covariate, such as temperature_c; repeatable",
        /*repeatable=*/true},
       {"chunk-points", "N", "points per streamed chunk (default 8192)"},
       {"sort", "",
        "let the server sort out-of-order rows (reported as a repair)"},
       {"max-gap-fill", "N",
        "interpolate gaps of up to N missing points; 0 refuses every gap "
        "(default: the server's, 4)"},
       {"quiet", "", "print only the dataset id"}}};
}

// -------------------------------------------------------------- datasets

absl::Status RunDatasetsList(const ClientOptions& client,
                             const ParsedArgs& args) {
  auto stub = NewTrainerStub(client);
  v1::ListDatasetsRequest request;
  request.set_series_id(args.GetString("series"));
  v1::ListDatasetsResponse response;
  GC_RETURN_IF_ERROR(
      CallUnary(client, "listing datasets", [&](grpc::ClientContext* context) {
        return stub->ListDatasets(context, request, &response);
      }));

  if (response.datasets().empty()) {
    std::cerr << "no datasets\n";
    return absl::OkStatus();
  }
  PrintOut(FormatDatasetTable(response.datasets()));
  return absl::OkStatus();
}

absl::Status RunDatasetsGet(const ClientOptions& client,
                            const ParsedArgs& args) {
  auto stub = NewTrainerStub(client);
  v1::GetDatasetRequest request;
  request.set_dataset_id(args.positional()[0]);
  v1::GetDatasetResponse response;
  GC_RETURN_IF_ERROR(
      CallUnary(client, absl::StrCat("getting dataset ", request.dataset_id()),
                [&](grpc::ClientContext* context) {
                  return stub->GetDataset(context, request, &response);
                }));

  PrintOut(FormatDataset(response.dataset()));
  return absl::OkStatus();
}

absl::Status RunDatasetsDelete(const ClientOptions& client,
                               const ParsedArgs& args) {
  auto stub = NewTrainerStub(client);
  v1::DeleteDatasetRequest request;
  request.set_dataset_id(args.positional()[0]);
  v1::DeleteDatasetResponse response;
  GC_RETURN_IF_ERROR(
      CallUnary(client, absl::StrCat("deleting dataset ", request.dataset_id()),
                [&](grpc::ClientContext* context) {
                  return stub->DeleteDataset(context, request, &response);
                }));

  PrintOut(absl::StrCat("deleted dataset ", request.dataset_id(), "\n"));
  return absl::OkStatus();
}

}  // namespace

std::vector<Command> DataCommands() {
  return {
      {SampleSpec(), RunSample},
      {UploadSpec(), RunUpload},
      {{"datasets list",
        "[--series ID]",
        "List the stored datasets.",
        "",
        {{"series", "ID", "only the datasets of this series"}}},
       RunDatasetsList},
      {{"datasets get",
        "ID",
        "Show one dataset: range, points, repairs.",
        "",
        {},
        1,
        1},
       RunDatasetsGet},
      {{"datasets delete", "ID", "Delete a dataset.", "", {}, 1, 1},
       RunDatasetsDelete},
  };
}

}  // namespace gridcast::ctl
