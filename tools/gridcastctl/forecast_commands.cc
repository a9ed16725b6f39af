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

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "tools/gridcastctl/commands.h"
#include "tools/gridcastctl/csv.h"
#include "tools/gridcastctl/exit_codes.h"
#include "tools/gridcastctl/format.h"
#include "tools/gridcastctl/local_time.h"
#include "tools/gridcastctl/png_plot.h"
#include "tools/gridcastctl/print.h"
#include "tools/gridcastctl/served_model.h"
#include "tools/gridcastctl/svg_plot.h"

namespace gridcast::ctl {
namespace {

constexpr absl::Duration kWaitPollInterval = absl::Milliseconds(200);
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
// The most history points a forecast reads from a file.
constexpr int64_t kMaxHistoryPoints = 10'000'000;

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
// the store, these are expected and worth another poll; so is one poll
// that outlived its own short deadline on a busy server.
bool IsWorthRetrying(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsNotFound(status) ||
         absl::IsDeadlineExceeded(status);
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

// Whether the served version is still being loaded: it answers, but its
// first calls wait for the load.
bool IsLoading(const v1::Model& model) {
  for (const v1::ModelVersion& version : model.versions()) {
    if (version.version() == model.served_version()) {
      return version.state() == v1::VERSION_STATE_LOADING;
    }
  }
  return false;
}

// Polls GetModel until the model serves `version` or newer, loaded (or,
// with lazy loading, ready to load on first use).
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
      if (model->served_version() >= version && !IsLoading(*model)) {
        return model;
      }
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
      "version N or newer and is done loading it (UNAVAILABLE and\n"
      "NOT_FOUND meanwhile are retried), which is how a deploy script\n"
      "waits for a new version to go live. Exits 5 when the wait times\n"
      "out.\n",
      {{"wait-version", "N", "wait until version N or newer is served"},
       {"wait-timeout", "SECONDS", "how long to wait (default 120)"}},
      1,
      1};
}

// --------------------------------------------------------------- forecast

enum class PlotFormat { kSvg, kPng };

struct ForecastOptions {
  std::string model;
  int64_t version = 0;
  std::string history_path;
  // The known-future covariates over the horizon (a temperature forecast);
  // empty when the model reads none.
  std::string future_path;
  HistoryColumns columns;
  CsvFormatOptions csv_format;
  // Where to write the picture, SVG or PNG by its name; empty: none.
  std::string plot_path;
  PlotFormat plot_format = PlotFormat::kSvg;
  // 0: the input window of the model.
  int64_t points = 0;
  int64_t horizon = 0;
  // History points drawn by --plot; 0: the points sent.
  int64_t plot_history = 0;
  OutputFormat format = OutputFormat::kTable;
};

// The picture's format, from the end of its file name.
absl::StatusOr<PlotFormat> PlotFormatOf(const std::string& path) {
  if (path.empty()) {
    return UsageError("--plot needs a file name, such as forecast.svg");
  }
  const std::string lower = absl::AsciiStrToLower(path);
  if (absl::EndsWith(lower, ".svg")) return PlotFormat::kSvg;
  if (absl::EndsWith(lower, ".png")) return PlotFormat::kPng;
  return UsageError(absl::StrCat("--plot ", path,
                                 ": the file name must end in .svg or .png"));
}

absl::StatusOr<ForecastOptions> ParseForecastOptions(const ParsedArgs& args) {
  ForecastOptions options;
  GC_ASSIGN_OR_RETURN(options.model, GetName(args, "model"));
  GC_ASSIGN_OR_RETURN(options.version, args.GetInt("version", 0, 0, kInt64Max));
  GC_ASSIGN_OR_RETURN(options.history_path, args.GetRequired("history"));
  options.future_path = args.GetString("future");
  options.columns = GetHistoryColumns(args);
  GC_ASSIGN_OR_RETURN(options.csv_format, GetCsvFormatOptions(args));
  options.plot_path = args.GetString("plot");
  if (args.Has("plot")) {
    GC_ASSIGN_OR_RETURN(options.plot_format, PlotFormatOf(options.plot_path));
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

// The spec's known-future covariates for the horizon: the first `horizon`
// rows of --future, which must go on from the history at its own step.
absl::StatusOr<std::vector<HistoryRow>> ReadFuture(
    const ForecastOptions& options, const ServedShape& shape,
    const std::vector<HistoryRow>& history) {
  if (options.future_path.empty()) {
    std::vector<std::string> names;
    for (const auto& c : shape.covariates) {
      if (c.known_future()) names.push_back(c.name());
    }
    return UsageError(absl::StrCat(
        "model ", options.model, " reads the future of ",
        absl::StrJoin(names, ", "),
        ": pass --future FILE.csv with a timestamp column and those columns "
        "for the ",
        shape.horizon, " points after the history"));
  }
  HistoryColumns columns;
  columns.timestamp = options.columns.timestamp;
  columns.value.clear();
  for (const auto& c : shape.covariates) {
    if (c.known_future()) columns.covariates.push_back(c.name());
  }
  GC_ASSIGN_OR_RETURN(
      std::vector<HistoryRow> future,
      ReadHistoryRows(options.future_path, columns, options.csv_format, 0));
  // Only the first `horizon` rows are needed; the whole file was kept.
  if (static_cast<int64_t>(future.size()) < shape.horizon) {
    return absl::InvalidArgumentError(
        absl::StrCat("--future ", options.future_path, " has ", future.size(),
                     " rows; model ", options.model,
                     " needs its whole horizon of ", shape.horizon));
  }
  future.resize(static_cast<size_t>(shape.horizon));

  if (history.size() >= 2) {
    const int64_t step =
        history.back().timestamp - history[history.size() - 2].timestamp;
    int64_t expected = history.back().timestamp + step;
    for (size_t i = 0; i < future.size(); ++i, expected += step) {
      if (future[i].timestamp == expected) continue;
      return absl::InvalidArgumentError(absl::StrCat(
          "--future ", options.future_path, ": row ", i + 1, " is at ",
          FormatIsoTime(future[i].timestamp),
          " but the history's next "
          "point after ",
          FormatIsoTime(expected - step), " is at ", FormatIsoTime(expected)));
    }
  }
  return future;
}

v1::ForecastRequest BuildForecastRequest(
    const ForecastOptions& options, const ServedShape& shape,
    const std::vector<HistoryRow>& rows,
    const std::vector<HistoryRow>& future) {
  v1::ForecastRequest request;
  request.set_model(options.model);
  request.set_version(options.version);
  request.set_horizon(static_cast<int32_t>(options.horizon));
  v1::TimeSeries* history = request.mutable_history();
  for (const HistoryRow& row : rows) {
    history->add_timestamps(row.timestamp);
    history->add_values(row.value);
  }

  // The files' covariate columns are in the spec's order, and --future
  // holds the known-future ones only, in that order too.
  size_t future_index = 0;
  for (size_t i = 0; i < shape.covariates.size(); ++i) {
    v1::Covariate* covariate = request.add_covariates();
    covariate->set_name(shape.covariates[i].name());
    for (const HistoryRow& row : rows) {
      covariate->add_values(row.covariates[i]);
    }
    if (!shape.covariates[i].known_future()) continue;
    for (const HistoryRow& row : future) {
      covariate->add_values(row.covariates[future_index]);
    }
    ++future_index;
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
      GC_ASSIGN_OR_RETURN(const std::string json, FormatJson(forecast));
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

  std::string picture;
  if (options.plot_format == PlotFormat::kPng) {
    GC_ASSIGN_OR_RETURN(picture, RenderForecastPng(plot));
  } else {
    picture = RenderForecastSvg(plot);
  }
  std::ofstream file(options.plot_path,
                     std::ios::out | std::ios::trunc | std::ios::binary);
  file << picture;
  file.close();
  if (!file) {
    return absl::UnavailableError(absl::StrCat("writing ", options.plot_path,
                                               ": ", std::strerror(errno)));
  }
  std::cerr << "wrote the plot to " << options.plot_path << "\n";
  return absl::OkStatus();
}

absl::Status RunForecast(const ClientOptions& client, const ParsedArgs& args) {
  GC_ASSIGN_OR_RETURN(const ForecastOptions options,
                      ParseForecastOptions(args));
  auto stub = NewForecasterStub(client);

  GC_ASSIGN_OR_RETURN(
      const ServedShape shape,
      FindServedShape(client, stub.get(), options.model, options.version));
  const int64_t points =
      options.points > 0 ? options.points : shape.input_window;

  // The plot may show more history than the model reads; only the last
  // `points` rows are sent. The model's covariates are read from the
  // columns named after them.
  HistoryColumns columns = options.columns;
  for (const auto& covariate : shape.covariates) {
    columns.covariates.push_back(covariate.name());
  }
  const int64_t kept = std::max(points, options.plot_history);
  GC_ASSIGN_OR_RETURN(
      const std::vector<HistoryRow> rows,
      ReadHistoryRows(options.history_path, columns, options.csv_format, kept));
  const std::vector<HistoryRow> sent = LastRows(rows, points);
  const std::vector<HistoryRow> drawn =
      LastRows(rows, options.plot_history > 0 ? options.plot_history : points);
  std::vector<HistoryRow> future;
  if (shape.NeedsFuture()) {
    GC_ASSIGN_OR_RETURN(future, ReadFuture(options, shape, sent));
  }

  const v1::ForecastRequest request =
      BuildForecastRequest(options, shape, sent, future);
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
          {"history", "FILE.csv",
           "the recent load history (required), with a column for each "
           "covariate the model reads, named as in its spec"},
          {"future", "FILE.csv",
           "for a model with known-future covariates: a timestamp column "
           "and one column for each of them, over the model's horizon after "
           "the history (a temperature forecast)"},
          {"points", "N",
           "history points to send, from the end of the file (default: "
           "the model's input window)"},
          {"horizon", "N",
           "points to forecast; 0 means the model's (default 0)"},
          {"format", "table|csv|json", "output format (default table)"},
          {"plot", "FILE.svg|FILE.png",
           "also draw the history, the forecast and its quantile bands, as "
           "an SVG or a PNG picture by the file name's ending"},
          {"plot-history", "N",
           "history points to draw (default: the points sent)"},
      })};
}

}  // namespace

std::vector<Command> ForecastCommands() {
  return {
      {{"models list", "", "List the models the forecaster knows.", "", {}},
       RunModelsList},
      {ModelsGetSpec(), RunModelsGet},
      {ForecastSpec(), RunForecast},
  };
}

}  // namespace gridcast::ctl
