#include "tools/gridcastctl/print.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tools/gridcastctl/format.h"

namespace gridcast::ctl {
namespace {

using Align = Table::Align;
using Fields = std::vector<std::pair<std::string, std::string>>;

// The defaults that the API documents for a zero.
constexpr int kDefaultInputWindow = 168;
constexpr int kDefaultHorizon = 24;

// A zero in TrainingOptions means "the server's default".
template <typename T>
std::string OrDefault(T value) {
  if (value == 0) return "default";
  return absl::StrCat(value);
}

std::string EnumName(const std::string& full_name, absl::string_view prefix,
                     int number) {
  if (full_name.empty()) return absl::StrCat("UNKNOWN(", number, ")");
  return std::string(absl::StripPrefix(full_name, prefix));
}

std::string Indent(const std::string& text, const std::string& indent) {
  std::string indented;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    absl::StrAppend(&indented, indent, line, "\n");
  }
  return indented;
}

std::string DescribeRepair(const v1::Repair& repair) {
  switch (repair.kind()) {
    case v1::Repair::KIND_GAP_INTERPOLATED:
      return absl::StrCat(repair.points(), " missing points interpolated from ",
                          FormatHumanTime(repair.start_time()));
    case v1::Repair::KIND_SORTED:
      return absl::StrCat(repair.points(), " points out of order, sorted");
    default:
      return absl::StrCat(repair.points(), " points repaired (kind ",
                          static_cast<int>(repair.kind()), ") from ",
                          FormatHumanTime(repair.start_time()));
  }
}

std::string DescribeRepairs(
    const google::protobuf::RepeatedPtrField<v1::Repair>& repairs) {
  if (repairs.empty()) return "none";
  std::vector<std::string> lines;
  for (const v1::Repair& repair : repairs) {
    lines.push_back(DescribeRepair(repair));
  }
  return absl::StrJoin(lines, "\n");
}

std::string DescribeList(
    const google::protobuf::RepeatedPtrField<std::string>& items) {
  if (items.empty()) return "none";
  return absl::StrJoin(items, ", ");
}

std::string DescribeOptions(const v1::TrainingOptions& options) {
  return absl::StrCat(
      "epochs ", OrDefault(options.max_epochs()), ", batch ",
      OrDefault(options.batch_size()), ", learning rate ",
      OrDefault(options.learning_rate()),
      options.learning_rate_decay() > 0 && options.learning_rate_decay() < 1
          ? absl::StrCat(" (x", options.learning_rate_decay(), " per epoch)")
          : "",
      ", patience ", OrDefault(options.early_stopping_patience()), ", seed ",
      OrDefault(options.seed()));
}

std::string DescribeModelRef(const v1::ModelRef& ref) {
  return absl::StrCat(
      ref.name(), " version ",
      ref.version() == 0 ? std::string("latest") : absl::StrCat(ref.version()));
}

std::string DescribeEpoch(const v1::TrainingJob& job) {
  std::string text = absl::StrCat(job.epoch(), "/", job.max_epochs());
  if (job.has_last_epoch()) {
    const v1::EpochProgress& last = job.last_epoch();
    absl::StrAppend(&text, ", train ", FormatNumber(last.train_loss()),
                    ", val ", FormatNumber(last.validation_loss()), " (",
                    FormatSeconds(last.seconds()), " the last epoch)");
  }
  return text;
}

// One line of metrics for a version block.
std::string DescribeMetrics(const v1::ErrorMetrics& metrics) {
  return absl::StrCat("MAE ", FormatNumber(metrics.mae()), ", RMSE ",
                      FormatNumber(metrics.rmse()), ", MAPE ",
                      FormatPercent(metrics.mape()));
}

// The model's MASE against daily and weekly seasonal naive, whichever the
// evaluation has (versions from before weekly MASE have only the daily);
// empty when it has neither.
std::string DescribeMase(const v1::ErrorMetrics& metrics) {
  std::vector<std::string> parts;
  if (metrics.mase() > 0) {
    parts.push_back(absl::StrCat(FormatFixed(metrics.mase(), 3), " daily"));
  }
  if (metrics.weekly_mase() > 0) {
    parts.push_back(
        absl::StrCat(FormatFixed(metrics.weekly_mase(), 3), " weekly"));
  }
  if (parts.empty()) return "";
  return absl::StrCat("MASE ", absl::StrJoin(parts, ", "));
}

std::string DescribeEvaluationBriefly(const v1::Evaluation& evaluation) {
  if (evaluation.model().points() == 0) return "none";
  std::string text = DescribeMetrics(evaluation.model());
  const std::string mase = DescribeMase(evaluation.model());
  if (!mase.empty()) absl::StrAppend(&text, ", ", mase);
  absl::StrAppend(
      &text, "\nseasonal naive: ", DescribeMetrics(evaluation.seasonal_naive()),
      evaluation.beats_baseline() ? "\nbeats the baseline"
                                  : "\ndoes NOT beat the baseline");
  const std::string bands = FormatBands(evaluation);
  if (!bands.empty()) {
    absl::StrAppend(&text, "\n", absl::StripSuffix(bands, "\n"));
  }
  return text;
}

std::string DescribeLineage(const v1::Lineage& lineage) {
  std::string text = absl::StrCat("job ", lineage.job_id(), "\ndatasets ",
                                  DescribeList(lineage.dataset_ids()));
  if (!lineage.parent().name().empty()) {
    absl::StrAppend(&text, "\nfine-tuned from ",
                    DescribeModelRef(lineage.parent()));
  }
  return text;
}

std::string FormatVersion(const v1::ModelVersion& version, bool served) {
  std::string text = absl::StrCat("version ", version.version(), "  ",
                                  StateName(version.state()),
                                  served ? "  (served)" : "", "\n");
  Fields fields;
  if (!version.reason().empty()) fields.push_back({"reason", version.reason()});
  fields.push_back({"created", FormatHumanTime(version.create_time())});
  fields.push_back(
      {"network", absl::StrCat(DescribeSpec(version.spec()), ", resolution ",
                               FormatSeconds(version.resolution_seconds()))});
  fields.push_back(
      {"evaluation", DescribeEvaluationBriefly(version.evaluation())});
  fields.push_back({"lineage", DescribeLineage(version.lineage())});
  if (!version.weights_sha256().empty()) {
    fields.push_back(
        {"weights", absl::StrCat("sha256 ", version.weights_sha256())});
  }
  return absl::StrCat(text, Indent(FormatFields(fields), "  "));
}

const v1::ModelVersion* FindVersion(const v1::Model& model, int64_t number) {
  for (const v1::ModelVersion& version : model.versions()) {
    if (version.version() == number) return &version;
  }
  return nullptr;
}

int64_t LatestVersion(const v1::Model& model) {
  int64_t latest = 0;
  for (const v1::ModelVersion& version : model.versions()) {
    latest = std::max(latest, version.version());
  }
  return latest;
}

// The forecast's spacing, from its first two timestamps.
std::string DescribeSpacing(const v1::ForecastResponse& forecast) {
  if (forecast.timestamps_size() < 2) return "";
  return absl::StrCat(", every ", FormatSeconds(forecast.timestamps(1) -
                                                forecast.timestamps(0)));
}

std::string QuantileHeader(double level) {
  return absl::StrCat("q", absl::StrFormat("%g", level));
}

}  // namespace

std::string StateName(v1::JobState state) {
  return EnumName(v1::JobState_Name(state), "JOB_STATE_", state);
}

std::string StateName(v1::VersionState state) {
  return EnumName(v1::VersionState_Name(state), "VERSION_STATE_", state);
}

bool IsFinal(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED;
}

// The family and the hyper-parameters set in the spec; a field left at 0
// takes the server's default, so it is not shown.
std::string DescribeNetwork(const v1::ArchitectureSpec& spec) {
  switch (spec.network_case()) {
    case v1::ArchitectureSpec::kMlp: {
      const v1::MlpSpec& mlp = spec.mlp();
      std::string text =
          absl::StrCat("mlp ", mlp.hidden_sizes().empty()
                                   ? std::string("256,256")
                                   : absl::StrJoin(mlp.hidden_sizes(), ","));
      if (mlp.dropout() > 0) absl::StrAppend(&text, " dropout ", mlp.dropout());
      return text;
    }
    case v1::ArchitectureSpec::kLinear: {
      std::string text =
          spec.linear().variant() == v1::LinearSpec::VARIANT_DECOMPOSITION
              ? "dlinear"
              : "nlinear";
      if (spec.linear().lookback_members() > 1) {
        absl::StrAppend(&text, " ", spec.linear().lookback_members(),
                        " lookback members");
      }
      return text;
    }
    case v1::ArchitectureSpec::kResidualStack: {
      const v1::ResidualStackSpec& stack = spec.residual_stack();
      std::string text = "residual stack";
      if (stack.blocks() > 0)
        absl::StrAppend(&text, " ", stack.blocks(), " blocks");
      if (stack.hidden_size() > 0) {
        absl::StrAppend(&text, " hidden ", stack.hidden_size());
      }
      return text;
    }
    case v1::ArchitectureSpec::kRecurrent: {
      const v1::RecurrentSpec& recurrent = spec.recurrent();
      std::string text =
          recurrent.cell() == v1::RecurrentSpec::CELL_LSTM ? "lstm" : "gru";
      if (recurrent.hidden_size() > 0) {
        absl::StrAppend(&text, " hidden ", recurrent.hidden_size());
      }
      return text;
    }
    case v1::ArchitectureSpec::NETWORK_NOT_SET:
      break;
  }
  // What the server trains when no family is named.
  return "mlp 256,256";
}

std::string DescribeSpec(const v1::ArchitectureSpec& spec) {
  const std::string network = DescribeNetwork(spec);

  const int window =
      spec.input_window() == 0 ? kDefaultInputWindow : spec.input_window();
  const int horizon = spec.horizon() == 0 ? kDefaultHorizon : spec.horizon();
  std::string text =
      absl::StrCat(network, ", window ", window, ", horizon ", horizon);
  if (!spec.quantiles().empty()) {
    absl::StrAppend(&text, ", quantiles ",
                    absl::StrJoin(spec.quantiles(), ","));
  }
  for (const v1::CovariateSpec& covariate : spec.covariates()) {
    absl::StrAppend(
        &text, covariate.known_future() ? ", covariate " : ", past covariate ",
        covariate.name());
  }
  if (spec.skip_calendar()) absl::StrAppend(&text, ", no calendar");
  return text;
}

std::string FormatDataset(const v1::Dataset& dataset) {
  Fields fields = {
      {"dataset", dataset.id()},
      {"series", dataset.series_id()},
      {"points", absl::StrCat(dataset.points(), " every ",
                              FormatSeconds(dataset.resolution_seconds()))},
      {"from", FormatHumanTime(dataset.start_time())},
      {"to", FormatHumanTime(dataset.end_time())},
      {"covariates", DescribeList(dataset.covariate_names())},
      {"repairs", DescribeRepairs(dataset.repairs())},
  };
  if (!dataset.holidays().empty()) {
    fields.push_back({"holidays", absl::StrCat(dataset.holidays_size())});
  }
  if (dataset.create_time() != 0) {
    fields.push_back({"created", FormatHumanTime(dataset.create_time())});
  }
  return FormatFields(fields);
}

std::string FormatDatasetTable(
    const google::protobuf::RepeatedPtrField<v1::Dataset>& datasets) {
  Table table({"ID", "SERIES", "EVERY", "POINTS", "FROM (UTC)", "TO (UTC)",
               "REPAIRS", "CREATED (UTC)"},
              {Align::kLeft, Align::kLeft, Align::kRight, Align::kRight,
               Align::kLeft, Align::kLeft, Align::kRight, Align::kLeft});
  for (const v1::Dataset& dataset : datasets) {
    table.AddRow({dataset.id(), dataset.series_id(),
                  FormatSeconds(dataset.resolution_seconds()),
                  absl::StrCat(dataset.points()),
                  FormatShortTime(dataset.start_time()),
                  FormatShortTime(dataset.end_time()),
                  absl::StrCat(dataset.repairs_size()),
                  FormatShortTime(dataset.create_time())});
  }
  return table.Render();
}

std::string FormatJob(const v1::TrainingJob& job) {
  Fields fields = {{"job", job.id()},
                   {"model", job.model()},
                   {"state", StateName(job.state())}};
  if (!job.error().empty()) fields.push_back({"error", job.error()});
  fields.push_back({"datasets", DescribeList(job.dataset_ids())});
  if (!job.base().name().empty()) {
    fields.push_back({"fine-tunes", DescribeModelRef(job.base())});
  } else {
    fields.push_back({"network", DescribeSpec(job.spec())});
  }
  fields.push_back({"options", DescribeOptions(job.options())});
  fields.push_back({"epoch", DescribeEpoch(job)});
  fields.push_back({"created", FormatHumanTime(job.create_time())});
  fields.push_back({"started", FormatHumanTime(job.start_time())});
  fields.push_back({"ended", FormatHumanTime(job.end_time())});
  if (job.published_version() != 0) {
    fields.push_back(
        {"published", absl::StrCat("version ", job.published_version())});
  }

  std::string text = FormatFields(fields);
  if (job.has_evaluation() && job.evaluation().model().points() > 0) {
    absl::StrAppend(&text, "\n", FormatEvaluation(job.evaluation()));
  }
  return text;
}

std::string FormatJobTable(
    const google::protobuf::RepeatedPtrField<v1::TrainingJob>& jobs) {
  Table table(
      {"ID", "MODEL", "STATE", "EPOCH", "VERSION", "CREATED (UTC)", "ERROR"},
      {Align::kLeft, Align::kLeft, Align::kLeft, Align::kRight, Align::kRight,
       Align::kLeft, Align::kLeft});
  for (const v1::TrainingJob& job : jobs) {
    table.AddRow({job.id(), job.model(), StateName(job.state()),
                  absl::StrCat(job.epoch(), "/", job.max_epochs()),
                  job.published_version() == 0
                      ? "-"
                      : absl::StrCat(job.published_version()),
                  FormatShortTime(job.create_time()), job.error()});
  }
  return table.Render();
}

namespace {

// "x1.12", or "as trained" for a level the trainer did not rescale.
std::string FormatScale(double scale) {
  if (scale == 0 || scale == 1) return "as trained";
  return absl::StrCat("x", FormatFixed(scale, 2));
}

}  // namespace

// One line per band: how many actuals it held on the tail against how
// many it should, and the calibration factors of its two levels.
std::string FormatBands(const v1::Evaluation& evaluation) {
  std::map<double, double> scale_of;
  for (const v1::QuantileMetrics& level : evaluation.quantiles()) {
    scale_of[level.quantile()] = level.calibration_scale();
  }
  std::string text;
  for (const v1::IntervalMetrics& band : evaluation.intervals()) {
    absl::StrAppend(&text, absl::StrCat(100 * band.nominal_coverage()),
                    "% band (", absl::StrCat(band.lower_quantile()), " to ",
                    absl::StrCat(band.upper_quantile()), ") held ",
                    FormatFixed(100 * band.observed_coverage(), 1),
                    "% of the actuals, mean width ",
                    FormatNumber(band.mean_width()), "; calibration ",
                    FormatScale(scale_of[band.lower_quantile()]), " / ",
                    FormatScale(scale_of[band.upper_quantile()]), "\n");
  }
  return text;
}

std::string FormatEvaluation(const v1::Evaluation& evaluation) {
  const v1::ErrorMetrics& model = evaluation.model();
  const v1::ErrorMetrics& naive = evaluation.seasonal_naive();

  // One precision per column, so that the two rows line up digit by digit.
  const int mae_decimals = DecimalsFor(std::max(model.mae(), naive.mae()), 4);
  const int rmse_decimals =
      DecimalsFor(std::max(model.rmse(), naive.rmse()), 4);
  Table table({"", "MAE", "RMSE", "MAPE"},
              {Align::kLeft, Align::kRight, Align::kRight, Align::kRight});
  table.AddRow({"model", FormatFixed(model.mae(), mae_decimals),
                FormatFixed(model.rmse(), rmse_decimals),
                FormatPercent(model.mape())});
  table.AddRow({"seasonal naive", FormatFixed(naive.mae(), mae_decimals),
                FormatFixed(naive.rmse(), rmse_decimals),
                FormatPercent(naive.mape())});

  std::string text = absl::StrCat(
      "evaluation on the held-out tail (", model.points(), " points in ",
      model.windows(), " windows),\n",
      FormatShortTime(evaluation.tail_start_time()), " .. ",
      FormatShortTime(evaluation.tail_end_time()), " UTC:\n", table.Render());

  if (naive.mae() > 0) {
    const double change = 100 * (model.mae() - naive.mae()) / naive.mae();
    absl::StrAppend(
        &text, "the model's MAE is ", FormatFixed(std::fabs(change), 1), "% ",
        change <= 0 ? "lower" : "HIGHER", " than seasonal naive's (season ",
        evaluation.season_points(), " points)\n");
  }
  const std::string mase = DescribeMase(model);
  if (!mase.empty()) {
    absl::StrAppend(&text, "the model's ", mase,
                    " (its MAE over the in-sample MAE of that seasonal "
                    "naive)\n");
  }
  absl::StrAppend(&text, FormatBands(evaluation));
  return text;
}

std::string FormatModel(const v1::Model& model) {
  Fields fields = {
      {"model", model.name()},
      {"served version", model.served_version() == 0
                             ? std::string("none")
                             : absl::StrCat(model.served_version())}};
  if (!model.aliases().empty()) {
    std::map<std::string, int64_t> sorted(model.aliases().begin(),
                                          model.aliases().end());
    std::vector<std::string> aliases;
    for (const auto& [alias, version] : sorted) {
      aliases.push_back(absl::StrCat(alias, " -> ", version));
    }
    fields.push_back({"aliases", absl::StrJoin(aliases, ", ")});
  }
  // A refused policy.json leaves the previous policy in force.
  if (!model.policy_error().empty()) {
    fields.push_back({"policy refused", model.policy_error()});
  }
  std::string text = FormatFields(fields);

  // Newest first: the version an operator asks about is usually the last.
  std::vector<const v1::ModelVersion*> versions;
  for (const v1::ModelVersion& version : model.versions()) {
    versions.push_back(&version);
  }
  std::sort(versions.begin(), versions.end(),
            [](const v1::ModelVersion* a, const v1::ModelVersion* b) {
              return a->version() > b->version();
            });
  for (const v1::ModelVersion* version : versions) {
    absl::StrAppend(
        &text, "\n",
        FormatVersion(*version, version->version() == model.served_version()));
  }
  return text;
}

std::string FormatModelTable(
    const google::protobuf::RepeatedPtrField<v1::Model>& models) {
  Table table({"NAME", "SERVED", "LATEST", "LATEST STATE", "MAE", "NAIVE MAE"},
              {Align::kLeft, Align::kRight, Align::kRight, Align::kLeft,
               Align::kRight, Align::kRight});
  for (const v1::Model& model : models) {
    const int64_t latest = LatestVersion(model);
    const v1::ModelVersion* latest_version = FindVersion(model, latest);
    const v1::ModelVersion* served = FindVersion(model, model.served_version());
    const bool scored =
        served != nullptr && served->evaluation().model().points() > 0;
    table.AddRow(
        {model.name(),
         served == nullptr ? "-" : absl::StrCat(model.served_version()),
         latest == 0 ? "-" : absl::StrCat(latest),
         latest_version == nullptr ? "-" : StateName(latest_version->state()),
         scored ? FormatNumber(served->evaluation().model().mae()) : "-",
         scored ? FormatNumber(served->evaluation().seasonal_naive().mae())
                : "-"});
  }
  return table.Render();
}

std::string FormatForecastTable(const v1::ForecastResponse& forecast,
                                const std::string& value_name) {
  double largest = 0;
  for (double value : forecast.values()) {
    largest = std::max(largest, std::fabs(value));
  }
  const int decimals = DecimalsFor(largest, 5);

  std::vector<std::string> headers = {"TIMESTAMP (UTC)", value_name};
  for (const v1::QuantileForecast& band : forecast.quantiles()) {
    headers.push_back(QuantileHeader(band.quantile()));
  }
  Table table(headers, std::vector<Align>(headers.size(), Align::kRight));
  for (int i = 0; i < forecast.values_size(); ++i) {
    std::vector<std::string> row = {i < forecast.timestamps_size()
                                        ? FormatIsoTime(forecast.timestamps(i))
                                        : "-",
                                    FormatFixed(forecast.values(i), decimals)};
    for (const v1::QuantileForecast& band : forecast.quantiles()) {
      row.push_back(
          i < band.values_size() ? FormatFixed(band.values(i), decimals) : "-");
    }
    table.AddRow(std::move(row));
  }

  const std::string first = forecast.timestamps().empty()
                                ? "-"
                                : FormatHumanTime(forecast.timestamps(0));
  return absl::StrCat("model ", forecast.model(), " version ",
                      forecast.version(), ": ", forecast.values_size(),
                      " points from ", first, DescribeSpacing(forecast), "\n",
                      table.Render());
}

std::string FormatForecastCsv(const v1::ForecastResponse& forecast,
                              const std::string& value_name) {
  std::string text = absl::StrCat("timestamp,", value_name);
  for (const v1::QuantileForecast& band : forecast.quantiles()) {
    absl::StrAppend(&text, ",", QuantileHeader(band.quantile()));
  }
  text.push_back('\n');

  // Seven significant digits: what a float32 network actually computed.
  for (int i = 0; i < forecast.values_size(); ++i) {
    const int64_t time =
        i < forecast.timestamps_size() ? forecast.timestamps(i) : 0;
    absl::StrAppend(&text, FormatIsoTime(time), ",",
                    absl::StrFormat("%.7g", forecast.values(i)));
    for (const v1::QuantileForecast& band : forecast.quantiles()) {
      absl::StrAppend(&text, ",",
                      i < band.values_size()
                          ? absl::StrFormat("%.7g", band.values(i))
                          : "");
    }
    text.push_back('\n');
  }
  return text;
}

absl::StatusOr<std::string> FormatJson(
    const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  std::string json;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("converting the answer to JSON: ", status.ToString()));
  }
  return json;
}

std::string KindName(v1::AnomalyKind kind) {
  return std::string(
      absl::StripPrefix(v1::AnomalyKind_Name(kind), "ANOMALY_KIND_"));
}

std::string SeverityName(v1::AnomalySeverity severity) {
  return std::string(absl::StripPrefix(v1::AnomalySeverity_Name(severity),
                                       "ANOMALY_SEVERITY_"));
}

namespace {

bool IsAnomalous(const v1::DetectAnomaliesResponse& anomalies, int i) {
  return i < anomalies.kinds_size() &&
         anomalies.kinds(i) != v1::ANOMALY_KIND_NONE &&
         anomalies.kinds(i) != v1::ANOMALY_KIND_UNSPECIFIED;
}

// Field i of a repeated double, "-" when the server sent fewer.
std::string Cell(const google::protobuf::RepeatedField<double>& values, int i,
                 int decimals) {
  if (i >= values.size()) return "-";
  if (std::isnan(values[i])) return "NaN";
  return FormatFixed(values[i], decimals);
}

std::string EventTable(const v1::DetectAnomaliesResponse& anomalies) {
  Table table(
      {"KIND", "SEVERITY", "FROM (UTC)", "TO (UTC)", "POINTS", "MAX SCORE"},
      {Align::kLeft, Align::kLeft, Align::kLeft, Align::kLeft, Align::kRight,
       Align::kRight});
  for (const v1::AnomalyEvent& event : anomalies.events()) {
    table.AddRow(
        {KindName(event.kind()), SeverityName(event.severity()),
         FormatShortTime(event.start_time()), FormatShortTime(event.end_time()),
         absl::StrCat(event.points()), FormatFixed(event.max_score(), 2)});
  }
  return table.Render();
}

}  // namespace

std::string FormatAnomalyTable(const v1::DetectAnomaliesResponse& anomalies,
                               const std::string& value_name, bool all_points) {
  double largest = 0;
  for (double value : anomalies.expected()) {
    largest = std::max(largest, std::fabs(value));
  }
  const int decimals = DecimalsFor(largest, 5);

  Table table(
      {"TIMESTAMP (UTC)", value_name, "EXPECTED",
       QuantileHeader(anomalies.lower_quantile()),
       QuantileHeader(anomalies.upper_quantile()), "SCORE", "KIND", "SEVERITY"},
      {Align::kRight, Align::kRight, Align::kRight, Align::kRight,
       Align::kRight, Align::kRight, Align::kLeft, Align::kLeft});
  int flagged = 0;
  for (int i = 0; i < anomalies.timestamps_size(); ++i) {
    const bool anomalous = IsAnomalous(anomalies, i);
    if (anomalous) ++flagged;
    if (!anomalous && !all_points) continue;
    table.AddRow(
        {FormatIsoTime(anomalies.timestamps(i)),
         Cell(anomalies.actual(), i, decimals),
         Cell(anomalies.expected(), i, decimals),
         Cell(anomalies.lower(), i, decimals),
         Cell(anomalies.upper(), i, decimals), Cell(anomalies.score(), i, 2),
         i < anomalies.kinds_size() ? KindName(anomalies.kinds(i)) : "-",
         i < anomalies.severities_size() ? SeverityName(anomalies.severities(i))
                                         : "-"});
  }

  std::string text = absl::StrCat(
      "model ", anomalies.model(), " version ", anomalies.version(), ": ",
      anomalies.timestamps_size(), " points scored against the ",
      QuantileHeader(anomalies.lower_quantile()), "-",
      QuantileHeader(anomalies.upper_quantile()), " band, ", flagged,
      " anomalous in ", anomalies.events_size(), " events\n");
  if (!table.empty()) absl::StrAppend(&text, table.Render());
  if (anomalies.events_size() > 0) {
    absl::StrAppend(&text, "\n", EventTable(anomalies));
  }
  return text;
}

std::string FormatAnomalyCsv(const v1::DetectAnomaliesResponse& anomalies,
                             const std::string& value_name) {
  std::string text = absl::StrCat(
      "timestamp,", value_name, ",expected,lower,upper,score,kind,severity\n");
  for (int i = 0; i < anomalies.timestamps_size(); ++i) {
    absl::StrAppend(
        &text, FormatIsoTime(anomalies.timestamps(i)), ",",
        Cell(anomalies.actual(), i, 6), ",", Cell(anomalies.expected(), i, 6),
        ",", Cell(anomalies.lower(), i, 6), ",", Cell(anomalies.upper(), i, 6),
        ",", Cell(anomalies.score(), i, 4), ",",
        i < anomalies.kinds_size() ? KindName(anomalies.kinds(i)) : "", ",",
        i < anomalies.severities_size() ? SeverityName(anomalies.severities(i))
                                        : "",
        "\n");
  }
  return text;
}

}  // namespace gridcast::ctl
