// models and forecast: what the forecaster serves, and asking it.
#include <algorithm>
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
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "tools/gridcastctl/commands.h"
#include "tools/gridcastctl/csv.h"
#include "tools/gridcastctl/exit_codes.h"
#include "tools/gridcastctl/format.h"
#include "tools/gridcastctl/local_time.h"
#include "tools/gridcastctl/print.h"
#include "tools/gridcastctl/svg_plot.h"

namespace gridcast::ctl {
namespace {

constexpr absl::Duration kWaitPollInterval = absl::Milliseconds(200);
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
// What ArchitectureSpec documents for an input_window of 0.
constexpr int64_t kDefaultInputWindow = 168;
// The most history points a forecast reads from a file.
constexpr int64_t kMaxHistoryPoints = 10'000'000;

absl::StatusOr<v1::Model> GetModel(const ClientOptions& client,
                                   v1::ForecasterService::Stub* stub,
                                   const std::string& name) {
  v1::GetModelRequest request;
  request.set_model(name);
  v1::GetModelResponse response;
  GC_RETURN_IF_ERROR(CallServer(client, absl::StrCat("getting model ", name),
                                [&](grpc::ClientContext* context) {
                                  return stub->GetModel(context, request,
                                                        &response);
                                }));
  return response.model();
}

// ----------------------------------------------------------------- models

absl::Status RunModelsList(const ClientOptions& client, const ParsedArgs&) {
  auto stub = NewForecasterStub(client);
  v1::ListModelsRequest request;
  v1::ListModelsResponse response;
  GC_RETURN_IF_ERROR(
      CallServer(client, "listing models", [&](grpc::ClientContext* context) {
        return stub->ListModels(context, request, &response);
      }));

  if (response.models().empty()) {
    std::cerr << "no models\n";
    return absl::OkStatus();
  }
  PrintOut(FormatModelTable(response.models()));
  return absl::OkStatus();
}

// While a forecaster starts, or before it has found the first version in
// the store, these are expected and worth another poll.
bool IsWorthRetrying(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsNotFound(status);
}

absl::Status WaitTimedOut(const std::string& name, int64_t version,
                          absl::Duration wait, int64_t served,
                          const absl::Status& last_error) {
  std::string message =
      absl::StrCat("waiting for model ", name, " to serve version ", version,
                   ": timed out after ", absl::FormatDuration(wait),
                   "; served version ", served);
  if (!last_error.ok()) {
    absl::StrAppend(&message, "; last error: ", last_error.message());
  }
  return WithExitCode(absl::DeadlineExceededError(message), kExitTimedOut);
}

// Polls GetModel until the model serves `version` or newer.
absl::StatusOr<v1::Model> WaitForServedVersion(const ClientOptions& client,
                                               const std::string& name,
                                               int64_t version,
                                               absl::Duration wait) {
  const absl::Time deadline = absl::Now() + wait;
  auto stub = NewForecasterStub(client);
  int64_t served = 0;
  absl::Status last_error;
  while (true) {
    // No single poll may outlast the wait.
    ClientOptions poll = client;
    poll.timeout = std::max(kWaitPollInterval,
                            std::min(client.timeout, deadline - absl::Now()));
    absl::StatusOr<v1::Model> model = GetModel(poll, stub.get(), name);
    if (model.ok()) {
      if (model->served_version() >= version) return model;
      served = model->served_version();
      last_error = absl::OkStatus();
    } else if (IsWorthRetrying(model.status())) {
      last_error = model.status();
    } else {
      return model.status();
    }

    // After a refused connection, gRPC 1.51's channel keeps failing calls
    // fast for seconds without trying again; a fresh channel per poll
    // sees a restarted forecaster at once.
    if (absl::IsUnavailable(last_error)) stub = NewForecasterStub(client);

    if (absl::Now() + kWaitPollInterval > deadline) break;
    absl::SleepFor(kWaitPollInterval);
  }

  return WaitTimedOut(name, version, wait, served, last_error);
}

absl::Status RunModelsGet(const ClientOptions& client, const ParsedArgs& args) {
  const std::string& name = args.positional()[0];
  GC_ASSIGN_OR_RETURN(const int64_t wait_version,
                      args.GetInt("wait-version", 0, 1, kInt64Max));
  GC_ASSIGN_OR_RETURN(const double wait_seconds,
                      args.GetDouble("wait-timeout", 120, 0, 7 * 86400));
  v1::Model model;
  if (args.Has("wait-version")) {
    GC_ASSIGN_OR_RETURN(model,
                        WaitForServedVersion(client, name, wait_version,
                                             absl::Seconds(wait_seconds)));
  } else {
    auto stub = NewForecasterStub(client);
    GC_ASSIGN_OR_RETURN(model, GetModel(client, stub.get(), name));
  }

  PrintOut(FormatModel(model));
  return absl::OkStatus();
}

CommandSpec ModelsGetSpec() {
  return {
      "models get",
      "NAME [--wait-version N [--wait-timeout SECONDS]]",
      "Show a model's versions: state, reason, metrics, lineage.",
      "With --wait-version, polls every 200 ms until the forecaster serves\n"
      "version N or newer (UNAVAILABLE and NOT_FOUND meanwhile are\n"
      "retried), which is how a deploy script waits for a new version to\n"
      "go live. Exits 1 when the wait times out.\n",
      {{"wait-version", "N", "wait until version N or newer is served"},
       {"wait-timeout", "SECONDS", "how long to wait (default 120)"}},
      1,
      1};
}

// --------------------------------------------------------------- forecast

std::vector<OptionSpec> WithCsvFormatOptions(std::vector<OptionSpec> options) {
  for (OptionSpec& option : CsvFormatOptionSpecs()) {
    options.push_back(std::move(option));
  }
  return options;
}

enum class OutputFormat { kTable, kCsv, kJson };

struct ForecastOptions {
  std::string model;
  int64_t version = 0;
  std::string history_path;
  HistoryColumns columns;
  CsvFormatOptions csv_format;
  // Where to write the SVG picture; empty: none.
  std::string plot_path;
  // 0: the input window of the model.
  int64_t points = 0;
  int64_t horizon = 0;
  // History points drawn by --plot; 0: the points sent.
  int64_t plot_history = 0;
  OutputFormat format = OutputFormat::kTable;
};

absl::StatusOr<OutputFormat> ParseOutputFormat(const std::string& text) {
  if (text == "table") return OutputFormat::kTable;
  if (text == "csv") return OutputFormat::kCsv;
  if (text == "json") return OutputFormat::kJson;
  return UsageError(
      absl::StrCat("--format must be table, csv or json, got \"", text, "\""));
}

absl::StatusOr<ForecastOptions> ParseForecastOptions(const ParsedArgs& args) {
  ForecastOptions options;
  GC_ASSIGN_OR_RETURN(options.model, GetName(args, "model"));
  GC_ASSIGN_OR_RETURN(options.version, args.GetInt("version", 0, 0, kInt64Max));
  GC_ASSIGN_OR_RETURN(options.history_path, args.GetRequired("history"));
  options.columns = GetHistoryColumns(args);
  GC_ASSIGN_OR_RETURN(options.csv_format, GetCsvFormatOptions(args));
  options.plot_path = args.GetString("plot");
  if (args.Has("plot") && options.plot_path.empty()) {
    return UsageError("--plot needs a file name, such as forecast.svg");
  }
  GC_ASSIGN_OR_RETURN(options.points,
                      args.GetInt("points", 0, 1, kMaxHistoryPoints));
  GC_ASSIGN_OR_RETURN(options.plot_history,
                      args.GetInt("plot-history", 0, 1, kMaxHistoryPoints));
  GC_ASSIGN_OR_RETURN(options.horizon, args.GetInt("horizon", 0, 0, 1'000'000));
  GC_ASSIGN_OR_RETURN(options.format,
                      ParseOutputFormat(args.GetString("format", "table")));
  return options;
}

// The input window of the pinned version, else of the served one, else of
// the newest: how much history the forecast needs.
absl::StatusOr<int64_t> InputWindow(const ClientOptions& client,
                                    v1::ForecasterService::Stub* stub,
                                    const ForecastOptions& options) {
  GC_ASSIGN_OR_RETURN(const v1::Model model,
                      GetModel(client, stub, options.model));

  int64_t wanted =
      options.version != 0 ? options.version : model.served_version();
  if (wanted == 0) {
    for (const v1::ModelVersion& version : model.versions()) {
      wanted = std::max(wanted, version.version());
    }
  }
  for (const v1::ModelVersion& version : model.versions()) {
    if (version.version() != wanted) continue;
    const int64_t window = version.spec().input_window();
    return window > 0 ? window : kDefaultInputWindow;
  }
  return absl::NotFoundError(
      absl::StrCat("model ", options.model,
                   wanted == 0 ? std::string(" has no version")
                               : absl::StrCat(" has no version ", wanted),
                   "; pass --points to choose the history length"));
}

// The last `points` rows of the history file.
absl::StatusOr<std::vector<HistoryRow>> ReadHistoryTail(
    const ForecastOptions& options, int64_t points) {
  std::ifstream file;
  GC_RETURN_IF_ERROR(OpenForReading(options.history_path, &file));

  std::optional<LocalTimeResolver> local_time;
  if (!options.csv_format.time_zone.empty()) {
    auto resolver = LocalTimeResolver::Create(options.csv_format.time_zone);
    if (!resolver.ok()) return UsageError(resolver.status().message());
    local_time.emplace(*std::move(resolver));
  }
  CsvOptions csv = options.csv_format.csv;
  csv.local_time = local_time.has_value() ? &*local_time : nullptr;

  auto rows = [&]() -> absl::StatusOr<std::vector<HistoryRow>> {
    GC_ASSIGN_OR_RETURN(HistoryCsvReader reader,
                        HistoryCsvReader::Create(&file, options.columns, csv));
    return ReadLastRows(&reader, static_cast<size_t>(points));
  }();
  if (!rows.ok()) {
    return absl::Status(rows.status().code(),
                        absl::StrCat("reading ", options.history_path, ": ",
                                     rows.status().message()));
  }
  if (rows->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("reading ", options.history_path, ": no points"));
  }
  return rows;
}

v1::ForecastRequest BuildForecastRequest(const ForecastOptions& options,
                                         const std::vector<HistoryRow>& rows) {
  v1::ForecastRequest request;
  request.set_model(options.model);
  request.set_version(options.version);
  request.set_horizon(static_cast<int32_t>(options.horizon));
  v1::TimeSeries* history = request.mutable_history();
  for (const HistoryRow& row : rows) {
    history->add_timestamps(row.timestamp);
    history->add_values(row.value);
  }
  return request;
}

absl::Status PrintForecast(const v1::ForecastResponse& forecast,
                           const ForecastOptions& options) {
  switch (options.format) {
    case OutputFormat::kTable:
      PrintOut(FormatForecastTable(forecast, options.columns.value));
      return absl::OkStatus();
    case OutputFormat::kCsv:
      PrintOut(FormatForecastCsv(forecast, options.columns.value));
      return absl::OkStatus();
    case OutputFormat::kJson: {
      GC_ASSIGN_OR_RETURN(const std::string json, FormatForecastJson(forecast));
      PrintOut(json);
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown output format");
}

absl::Status WritePlot(const ForecastOptions& options,
                       const std::vector<HistoryRow>& rows,
                       const v1::ForecastResponse& response) {
  ForecastPlot plot;
  plot.title =
      absl::StrCat("model ", response.model(), " version ", response.version(),
                   ": forecast after ", options.history_path);
  plot.value_label = options.columns.value;
  for (const HistoryRow& row : rows) {
    plot.history.timestamps.push_back(row.timestamp);
    plot.history.values.push_back(row.value);
  }
  plot.forecast.timestamps.assign(response.timestamps().begin(),
                                  response.timestamps().end());
  plot.forecast.values.assign(response.values().begin(),
                              response.values().end());
  plot.bands = BandsFromQuantiles(response);

  // TODO(issue 6): PNG as well; SVG needs no library and opens anywhere.
  std::ofstream file(options.plot_path, std::ios::out | std::ios::trunc);
  file << RenderForecastSvg(plot);
  file.close();
  if (!file) {
    return absl::UnavailableError(absl::StrCat("writing ", options.plot_path,
                                               ": ", std::strerror(errno)));
  }
  std::cerr << "wrote the plot to " << options.plot_path << "\n";
  return absl::OkStatus();
}

std::vector<HistoryRow> LastRows(const std::vector<HistoryRow>& rows,
                                 int64_t count) {
  const size_t kept = std::min(static_cast<size_t>(count), rows.size());
  return std::vector<HistoryRow>(rows.end() - kept, rows.end());
}

absl::Status RunForecast(const ClientOptions& client, const ParsedArgs& args) {
  GC_ASSIGN_OR_RETURN(const ForecastOptions options,
                      ParseForecastOptions(args));
  auto stub = NewForecasterStub(client);

  int64_t points = options.points;
  if (points == 0) {
    GC_ASSIGN_OR_RETURN(points, InputWindow(client, stub.get(), options));
  }
  // The plot may show more history than the model reads; only the last
  // `points` rows are sent.
  const int64_t kept = std::max(points, options.plot_history);
  GC_ASSIGN_OR_RETURN(const std::vector<HistoryRow> rows,
                      ReadHistoryTail(options, kept));
  const std::vector<HistoryRow> sent = LastRows(rows, points);
  const std::vector<HistoryRow> drawn =
      LastRows(rows, options.plot_history > 0 ? options.plot_history : points);

  const v1::ForecastRequest request = BuildForecastRequest(options, sent);
  v1::ForecastResponse response;
  GC_RETURN_IF_ERROR(
      CallServer(client, absl::StrCat("forecasting with model ", options.model),
                 [&](grpc::ClientContext* context) {
                   return stub->Forecast(context, request, &response);
                 }));
  GC_RETURN_IF_ERROR(PrintForecast(response, options));
  if (!options.plot_path.empty()) {
    GC_RETURN_IF_ERROR(WritePlot(options, drawn, response));
  }
  return absl::OkStatus();
}

CommandSpec ForecastSpec() {
  return {
      "forecast", "--model NAME --history FILE.csv [options]",
      "Forecast the horizon after the end of a history file.",
      "Only the last --points rows of the file are kept (and sent), so the\n"
      "file may be a long history; by default as many as the model's input\n"
      "window, asked of the forecaster. Timestamps print as ISO 8601 UTC.\n"
      "The history file is read as upload reads it (columns, --timezone).\n",
      WithCsvFormatOptions({
          {"model", "NAME", "the model to ask (required)"},
          {"version", "N",
           "a pinned version; 0 means the served one (default 0)"},
          {"history", "FILE.csv", "the recent load history (required)"},
          {"points", "N",
           "history points to send, from the end of the file (default: "
           "the model's input window)"},
          {"horizon", "N",
           "points to forecast; 0 means the model's (default 0)"},
          {"format", "table|csv|json", "output format (default table)"},
          {"plot", "FILE.svg",
           "also draw the history, the forecast and its quantile bands as "
           "an SVG picture"},
          {"plot-history", "N",
           "history points to draw (default: the points sent)"},
      })};
}

}  // namespace

std::vector<Command> ForecastCommands() {
  // TODO(issue 6): an `anomalies` command, once ForecasterService offers
  // DetectAnomalies (it does not on this branch yet).
  return {
      {{"models list", "", "List the models the forecaster knows.", "", {}},
       RunModelsList},
      {ModelsGetSpec(), RunModelsGet},
      {ForecastSpec(), RunForecast},
  };
}

}  // namespace gridcast::ctl
