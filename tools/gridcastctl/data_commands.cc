// sample, upload and datasets: getting load histories into the trainer.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "tools/gridcastctl/commands.h"
#include "tools/gridcastctl/csv.h"
#include "tools/gridcastctl/format.h"
#include "tools/gridcastctl/local_time.h"
#include "tools/gridcastctl/print.h"
#include "tools/gridcastctl/sample.h"
#include "tools/gridcastctl/upload.h"

namespace gridcast::ctl {
namespace {

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
  HistoryColumns columns;
  CsvFormatOptions format;
  UploadSettings settings;
  bool quiet = false;
};

absl::StatusOr<UploadOptions> ParseUploadOptions(const ParsedArgs& args) {
  UploadOptions options;
  GC_ASSIGN_OR_RETURN(options.path, args.GetRequired("file"));
  GC_ASSIGN_OR_RETURN(options.settings.series_id, GetName(args, "series"));
  options.columns = GetHistoryColumns(args);
  options.columns.covariates = GetRepeatedList(args, "covariate");
  GC_ASSIGN_OR_RETURN(options.format, GetCsvFormatOptions(args));
  GC_ASSIGN_OR_RETURN(options.settings.resolution_seconds,
                      args.GetInt("resolution", 0, 1, 365 * 86400));
  GC_ASSIGN_OR_RETURN(options.settings.chunk_points,
                      args.GetInt("chunk-points", options.settings.chunk_points,
                                  2, kMaxChunkPoints));
  GC_RETURN_IF_ERROR(CheckChunkSize(options.settings.chunk_points,
                                    options.columns.covariates.size()));
  options.settings.sort = args.Has("sort");
  options.quiet = args.Has("quiet");

  // On the command line 0 reads as "fill no gap"; the API spells that -1
  // because its 0 means "the default".
  if (args.Has("max-gap-fill")) {
    GC_ASSIGN_OR_RETURN(const int64_t fill,
                        args.GetInt("max-gap-fill", 0, 0, 1'000'000));
    options.settings.max_gap_fill_points =
        fill == 0 ? -1 : static_cast<int32_t>(fill);
  }
  return options;
}

// Prefixes errors of the file, but not usage errors, with "reading PATH".
absl::Status FileError(const std::string& path, const absl::Status& status) {
  if (IsUsageError(status)) return status;
  return absl::Status(status.code(),
                      absl::StrCat("reading ", path, ": ", status.message()));
}

// What the upload did beyond storing the rows: how local times were read.
std::string DescribeTimeHandling(const LocalTimeResolver* local_time) {
  if (local_time == nullptr) return "";
  std::string text = "time zone:\n";
  for (const std::string& line : local_time->Report()) {
    absl::StrAppend(&text, "  ", line, "\n");
  }
  return text;
}

absl::Status RunUpload(const ClientOptions& client, const ParsedArgs& args) {
  GC_ASSIGN_OR_RETURN(UploadOptions options, ParseUploadOptions(args));
  std::optional<LocalTimeResolver> local_time;
  if (!options.format.time_zone.empty()) {
    auto resolver = LocalTimeResolver::Create(options.format.time_zone,
                                              !options.settings.sort);
    if (!resolver.ok()) return UsageError(resolver.status().message());
    local_time.emplace(*std::move(resolver));
  }
  CsvOptions csv = options.format.csv;
  csv.local_time = local_time.has_value() ? &*local_time : nullptr;

  std::ifstream file;
  GC_RETURN_IF_ERROR(OpenForReading(options.path, &file));
  auto reader = HistoryCsvReader::Create(&file, options.columns, csv);
  if (!reader.ok()) return FileError(options.path, reader.status());
  options.settings.covariate_names = reader->columns().covariates;

  auto stub = NewTrainerStub(client);
  grpc::ClientContext context;
  v1::UploadHistoryResponse response;
  auto writer = stub->UploadHistory(&context, &response);

  const bool show_progress = StderrIsTerminal() && !options.quiet;
  HistoryUploader uploader(
      options.settings, &*reader,
      [&](const v1::UploadHistoryRequest& chunk) {
        return writer->Write(chunk);
      },
      [&](int64_t points) {
        if (show_progress) std::cerr << "\rsent " << points << " points";
      });
  const absl::Status sent = uploader.SendAll();
  if (show_progress && uploader.points_sent() > 0) std::cerr << "\r\033[K";
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
    return ServerCallError(absl::StrCat("uploading ", options.path), status);
  }

  const std::string time_handling =
      DescribeTimeHandling(local_time.has_value() ? &*local_time : nullptr);
  if (options.quiet) {
    std::cerr << time_handling;
    PrintOut(absl::StrCat(response.dataset().id(), "\n"));
  } else {
    PrintOut(absl::StrCat(FormatDataset(response.dataset()), time_handling));
  }
  return absl::OkStatus();
}

CommandSpec UploadSpec() {
  std::vector<OptionSpec> options = {
      {"file", "FILE.csv", "the CSV to upload (required)"},
      {"series", "ID", "feeder or substation id, such as feeder-17 (required)"},
      {"resolution", "SECONDS",
       "spacing of the series (default: the step between the first two "
       "rows)"},
      {"covariate", "COLUMN",
       "a column to send as a covariate, such as temperature_c, by name or "
       "number; repeatable",
       /*repeatable=*/true},
      {"chunk-points", "N", "points per streamed chunk (default 8192)"},
      {"sort", "",
       "let the server sort out-of-order rows (reported as a repair)"},
      {"max-gap-fill", "N",
       "interpolate gaps of up to N missing points; 0 refuses every gap "
       "(default: the server's, 4)"},
      {"quiet", "",
       "print only the dataset id (the time zone report goes "
       "to stderr)"}};
  for (OptionSpec& option : CsvFormatOptionSpecs()) {
    options.push_back(std::move(option));
  }
  return {
      "upload", "--file FILE.csv --series ID [options]",
      "Stream a load history CSV to the trainer as a new dataset.",
      "The file is read a line at a time and sent in chunks of at most\n"
      "--chunk-points rows, so it may be larger than memory. Columns are\n"
      "chosen by header name or by number counting from 1.\n"
      "\n"
      "Timestamps may be ISO 8601 with Z or an offset\n"
      "(2024-01-01T00:00:00Z, 2024-01-01 01:00:00+01:00) or Unix seconds.\n"
      "With --timezone, timestamps without an offset are local time in that\n"
      "zone: a local time that daylight saving skips (spring) is refused;\n"
      "in the hour that repeats (autumn) the first pass is read as summer\n"
      "time and the second as winter time, by the order of the rows (so\n"
      "with --sort such times need an offset). The output says which clock\n"
      "changes the file crossed and how the repeated hours were read.\n"
      "\n"
      "A bad line stops the upload, naming the line and column; the call is\n"
      "cancelled and nothing is stored. Prints the stored dataset.\n",
      options};
}

// -------------------------------------------------------------- datasets

absl::Status RunDatasetsList(const ClientOptions& client,
                             const ParsedArgs& args) {
  auto stub = NewTrainerStub(client);
  v1::ListDatasetsRequest request;
  request.set_series_id(args.GetString("series"));
  v1::ListDatasetsResponse response;
  GC_RETURN_IF_ERROR(
      CallServer(client, "listing datasets", [&](grpc::ClientContext* context) {
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
      CallServer(client, absl::StrCat("getting dataset ", request.dataset_id()),
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
  GC_RETURN_IF_ERROR(CallServer(
      client, absl::StrCat("deleting dataset ", request.dataset_id()),
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
