// anomalies: recent readings of a feeder scored against the bands of the
// model that forecasts it (DetectAnomalies).
#include <cmath>
#include <cstdint>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "tools/gridcastctl/commands.h"
#include "tools/gridcastctl/exit_codes.h"
#include "tools/gridcastctl/format.h"
#include "tools/gridcastctl/print.h"
#include "tools/gridcastctl/served_model.h"

namespace gridcast::ctl {
namespace {

constexpr int64_t kMaxScoredPoints = 1'000'000;

struct AnomalyOptions {
  std::string model;
  int64_t version = 0;
  std::string history_path;
  HistoryColumns columns;
  CsvFormatOptions csv_format;
  // Points at the end of the file to score; 0: the model's horizon.
  int64_t score_points = 0;
  // Quantile levels of the band; both 0: the model's widest.
  double lower_quantile = 0;
  double upper_quantile = 0;
  int64_t flat_line_points = 0;
  double min_score = 0;
  bool all_points = false;
  OutputFormat format = OutputFormat::kTable;
};

absl::Status ParseBand(const ParsedArgs& args, AnomalyOptions* options) {
  if (!args.Has("band")) return absl::OkStatus();
  GC_ASSIGN_OR_RETURN(const std::vector<double> band,
                      args.GetDoubleList("band", {}, 1e-6, 1 - 1e-6));
  if (band.size() != 2 || band[0] >= band[1]) {
    return UsageError(absl::StrCat("--band \"", args.GetString("band"),
                                   "\" must be two quantile levels, the "
                                   "lower first, such as 0.1,0.9"));
  }
  options->lower_quantile = band[0];
  options->upper_quantile = band[1];
  return absl::OkStatus();
}

absl::StatusOr<AnomalyOptions> ParseAnomalyOptions(const ParsedArgs& args) {
  AnomalyOptions options;
  GC_ASSIGN_OR_RETURN(options.model, GetName(args, "model"));
  GC_ASSIGN_OR_RETURN(
      options.version,
      args.GetInt("version", 0, 0, std::numeric_limits<int64_t>::max()));
  GC_ASSIGN_OR_RETURN(options.history_path, args.GetRequired("history"));
  options.columns = GetHistoryColumns(args);
  GC_ASSIGN_OR_RETURN(options.csv_format, GetCsvFormatOptions(args));
  // A reading the meter did not send is what this command looks for.
  options.csv_format.csv.missing_load_as_nan = true;
  GC_ASSIGN_OR_RETURN(options.score_points,
                      args.GetInt("score", 0, 1, kMaxScoredPoints));
  GC_RETURN_IF_ERROR(ParseBand(args, &options));
  GC_ASSIGN_OR_RETURN(options.flat_line_points,
                      args.GetInt("flat-line", 0, 3, kMaxScoredPoints));
  GC_ASSIGN_OR_RETURN(options.min_score,
                      args.GetDouble("min-score", 0, 0, 1000));
  options.all_points = args.Has("all");
  GC_ASSIGN_OR_RETURN(options.format,
                      ParseOutputFormat(args.GetString("format", "table")));
  return options;
}

// The rows with a missing row (a gap of whole steps) inserted as a NaN
// reading, so that the server sees a regular series and reports the gap
// as missing data. Covariates of an inserted row repeat the row before.
absl::StatusOr<std::vector<HistoryRow>> FillGaps(
    const std::vector<HistoryRow>& rows, int64_t step,
    const std::string& path) {
  if (step <= 0 || rows.empty()) return rows;
  std::vector<HistoryRow> regular = {rows.front()};
  int64_t filled = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    const int64_t gap = rows[i].timestamp - regular.back().timestamp;
    if (gap <= 0 || gap % step != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "reading ", path, ": the row at ", FormatIsoTime(rows[i].timestamp),
          " is ", gap, " s after the one before; the model's resolution is ",
          step, " s, so rows must be in order, whole steps apart"));
    }
    for (int64_t missing = 1; missing < gap / step; ++missing, ++filled) {
      HistoryRow hole = regular.back();
      hole.timestamp += step;
      hole.value = std::numeric_limits<double>::quiet_NaN();
      regular.push_back(hole);
    }
    regular.push_back(rows[i]);
  }
  if (filled > 0) {
    std::cerr << "note: " << filled << " rows absent from " << path
              << " are sent as missing readings\n";
  }
  return regular;
}

v1::DetectAnomaliesRequest BuildAnomalyRequest(
    const AnomalyOptions& options, const ServedShape& shape,
    const std::vector<HistoryRow>& rows, int64_t score_points) {
  v1::DetectAnomaliesRequest request;
  request.set_model(options.model);
  request.set_version(options.version);
  request.set_score_points(static_cast<int32_t>(score_points));
  request.set_lower_quantile(options.lower_quantile);
  request.set_upper_quantile(options.upper_quantile);
  request.set_flat_line_points(static_cast<int32_t>(options.flat_line_points));
  request.set_min_score(options.min_score);

  v1::TimeSeries* history = request.mutable_history();
  for (const HistoryRow& row : rows) {
    history->add_timestamps(row.timestamp);
    history->add_values(row.value);
  }
  // Over the history only: known-future covariates need nothing beyond.
  for (size_t i = 0; i < shape.covariates.size(); ++i) {
    v1::Covariate* covariate = request.add_covariates();
    covariate->set_name(shape.covariates[i].name());
    for (const HistoryRow& row : rows) {
      covariate->add_values(row.covariates[i]);
    }
  }
  return request;
}

absl::Status PrintAnomalies(const v1::DetectAnomaliesResponse& response,
                            const AnomalyOptions& options) {
  switch (options.format) {
    case OutputFormat::kTable:
      PrintOut(FormatAnomalyTable(response, options.columns.value,
                                  options.all_points));
      return absl::OkStatus();
    case OutputFormat::kCsv:
      PrintOut(FormatAnomalyCsv(response, options.columns.value));
      return absl::OkStatus();
    case OutputFormat::kJson: {
      GC_ASSIGN_OR_RETURN(const std::string json, FormatJson(response));
      PrintOut(json);
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown output format");
}

absl::Status RunAnomalies(const ClientOptions& client, const ParsedArgs& args) {
  GC_ASSIGN_OR_RETURN(const AnomalyOptions options, ParseAnomalyOptions(args));
  auto stub = NewForecasterStub(client);
  GC_ASSIGN_OR_RETURN(
      const ServedShape shape,
      FindServedShape(client, stub.get(), options.model, options.version));

  // The model's input window of context before the scored points.
  const int64_t score_points =
      options.score_points > 0 ? options.score_points : shape.horizon;
  const int64_t wanted = shape.input_window + score_points;
  HistoryColumns columns = options.columns;
  for (const auto& covariate : shape.covariates) {
    columns.covariates.push_back(covariate.name());
  }
  GC_ASSIGN_OR_RETURN(const std::vector<HistoryRow> read,
                      ReadHistoryRows(options.history_path, columns,
                                      options.csv_format, wanted));
  GC_ASSIGN_OR_RETURN(
      const std::vector<HistoryRow> regular,
      FillGaps(read, shape.resolution_seconds, options.history_path));
  const std::vector<HistoryRow> sent = LastRows(regular, wanted);
  if (static_cast<int64_t>(sent.size()) < wanted) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reading ", options.history_path, ": ", sent.size(), " rows; model ",
        options.model, " needs its input window of ", shape.input_window,
        " before the ", score_points, " points to score (--score)"));
  }

  const v1::DetectAnomaliesRequest request =
      BuildAnomalyRequest(options, shape, sent, score_points);
  v1::DetectAnomaliesResponse response;
  GC_RETURN_IF_ERROR(CallServer(
      client, absl::StrCat("scoring anomalies with model ", options.model),
      [&](grpc::ClientContext* context) {
        return stub->DetectAnomalies(context, request, &response);
      }));
  return PrintAnomalies(response, options);
}

CommandSpec AnomaliesSpec() {
  return {
      "anomalies", "--model NAME --history FILE.csv [options]",
      "Flag recent readings that the model's band did not expect.",
      "The last --score rows of the file are scored, each against the band\n"
      "the model forecast for it from the input window before it: a\n"
      "reading far above the band is a SPIKE, far below a DROP, the same\n"
      "value repeated a FLAT_LINE (stuck meter), an empty or NaN reading,\n"
      "or a row absent from the file, MISSING_DATA. The model must have\n"
      "been trained with at least two quantile levels (train --quantiles).\n"
      "A history file for a model with covariates carries their columns.\n"
      "Exits 0 when the scoring worked, whatever it found: read the CSV\n"
      "or JSON output to act on the verdicts.\n",
      WithCsvFormatOptions({
          {"model", "NAME", "the model whose bands judge (required)"},
          {"version", "N",
           "a pinned version; 0 means the served one (default 0)"},
          {"history", "FILE.csv",
           "the recent readings (required): the model's input window, "
           "then the points to score"},
          {"score", "N",
           "points at the end of the file to score (default: the model's "
           "horizon)"},
          {"band", "LOW,HIGH",
           "quantile levels of the band, such as 0.1,0.9 (default: the "
           "model's widest)"},
          {"flat-line", "N",
           "equal readings in a row that make a stuck meter (default 4, "
           "at least 3)"},
          {"min-score", "X",
           "band widths outside the band for a spike or drop (default 0.5)"},
          {"all", "", "table: list every scored point, not only anomalies"},
          {"format", "table|csv|json", "output format (default table)"},
      })};
}

}  // namespace

std::vector<Command> AnomalyCommands() {
  return {{AnomaliesSpec(), RunAnomalies}};
}

}  // namespace gridcast::ctl
