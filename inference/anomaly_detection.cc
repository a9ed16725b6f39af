#include "inference/anomaly_detection.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "common/timeseries/regular_series.h"
#include "inference/forecast_inputs.h"

namespace gridcast {
namespace {

constexpr int kDefaultFlatLinePoints = 4;
constexpr int kMinFlatLinePoints = 3;
constexpr double kDefaultMinScore = 0.5;
constexpr double kMediumScore = 1.0;
constexpr double kHighScore = 3.0;

// What the request asks for, with defaults filled and ranges checked.
struct DetectionSettings {
  int score_points = 0;
  int lower_level = 0;  // index into the model's quantiles
  int upper_level = 0;
  int flat_line_points = kDefaultFlatLinePoints;
  double min_score = kDefaultMinScore;
};

absl::StatusOr<int> FindLevel(const ForecastModel& model, double level,
                              const char* field) {
  google::protobuf::RepeatedField<double> requested;
  requested.Add(level);
  GC_ASSIGN_OR_RETURN(const std::vector<int> found,
                      SelectLevels(model, requested, field));
  return found.front();
}

absl::StatusOr<DetectionSettings> ResolveSettings(
    const ForecastModel& model, const v1::DetectAnomaliesRequest& request) {
  const int points = request.history().values_size();
  const int window = model.input_window();
  DetectionSettings settings;

  settings.score_points =
      request.score_points() == 0 ? points - window : request.score_points();
  if (settings.score_points < 1 || settings.score_points > points - window) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "score_points=%d needs a history of input_window (%d) + %d points; "
        "history has %d",
        request.score_points(), window, std::max(1, settings.score_points),
        points));
  }

  const int levels = model.manifest().spec().quantiles_size();
  if (levels < 2) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "model %s forecasts %d quantile levels; anomaly detection needs a "
        "band: train it with spec.quantiles such as [0.1, 0.9]",
        model.manifest().model(), levels));
  }
  if (request.lower_quantile() == 0 && request.upper_quantile() == 0) {
    settings.lower_level = 0;
    settings.upper_level = levels - 1;
  } else {
    GC_ASSIGN_OR_RETURN(
        settings.lower_level,
        FindLevel(model, request.lower_quantile(), "lower_quantile"));
    GC_ASSIGN_OR_RETURN(
        settings.upper_level,
        FindLevel(model, request.upper_quantile(), "upper_quantile"));
    if (settings.lower_level >= settings.upper_level) {
      return absl::InvalidArgumentError(
          absl::StrFormat("lower_quantile=%g must be below upper_quantile=%g",
                          request.lower_quantile(), request.upper_quantile()));
    }
  }

  if (request.flat_line_points() != 0) {
    settings.flat_line_points = request.flat_line_points();
  }
  if (settings.flat_line_points < kMinFlatLinePoints) {
    return absl::InvalidArgumentError(
        absl::StrFormat("flat_line_points=%d must be at least %d",
                        request.flat_line_points(), kMinFlatLinePoints));
  }
  if (request.min_score() != 0) settings.min_score = request.min_score();
  if (!(settings.min_score > 0 && std::isfinite(settings.min_score))) {
    return absl::InvalidArgumentError(
        absl::StrFormat("min_score=%g must be positive", request.min_score()));
  }
  return settings;
}

// NaN replaced by linear interpolation between the nearest values (the
// nearest value at the ends), so that windows that read them stay usable.
absl::StatusOr<std::vector<double>> FillMissing(const v1::TimeSeries& history) {
  std::vector<double> values(history.values().begin(), history.values().end());
  int previous = -1;
  for (int i = 0; i <= static_cast<int>(values.size()); ++i) {
    if (i < static_cast<int>(values.size()) && std::isnan(values[i])) continue;
    const int gap_begin = previous + 1;
    for (int j = gap_begin; j < i; ++j) {
      if (previous < 0 && i == static_cast<int>(values.size())) {
        return absl::InvalidArgumentError(
            "history.values are all NaN: there is nothing to score against");
      }
      if (previous < 0) {
        values[j] = values[i];
      } else if (i == static_cast<int>(values.size())) {
        values[j] = values[previous];
      } else {
        const double share = static_cast<double>(j - previous) / (i - previous);
        values[j] = values[previous] + share * (values[i] - values[previous]);
      }
    }
    previous = i;
  }
  return values;
}

// Length of the run of equal values each point belongs to (0 for NaN).
std::vector<int> RunLengths(const v1::TimeSeries& history) {
  const int points = history.values_size();
  std::vector<int> lengths(points, 0);
  int begin = 0;
  for (int i = 1; i <= points; ++i) {
    const bool same = i < points && !std::isnan(history.values(i)) &&
                      history.values(i) == history.values(i - 1);
    if (same) continue;
    if (!std::isnan(history.values(begin))) {
      std::fill(lengths.begin() + begin, lengths.begin() + i, i - begin);
    }
    begin = i;
  }
  return lengths;
}

// Forecast origins covering [first, points), each a whole horizon long
// where the history allows. `block_of[i - first]` is the origin scoring
// point i.
struct Blocks {
  std::vector<int> origins;
  std::vector<int> block_of;
};

absl::StatusOr<Blocks> PlanBlocks(const ForecastModel& model, int points,
                                  int first) {
  const int window = model.input_window();
  const int horizon = model.horizon();
  bool has_future = false;
  for (const auto& covariate : model.manifest().spec().covariates()) {
    has_future = has_future || covariate.known_future();
  }

  Blocks blocks;
  for (int origin = first; origin < points; origin += horizon) {
    int chosen = origin;
    // A last block that runs past the history starts earlier instead, so
    // that its known-future covariates exist.
    if (origin + horizon > points && points - horizon >= window) {
      chosen = points - horizon;
    } else if (origin + horizon > points && has_future) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "model %s reads known-future covariates: the history needs at "
          "least input_window + horizon = %d points",
          model.manifest().model(), window + horizon));
    }
    blocks.origins.push_back(chosen);
    for (int i = origin; i < std::min(points, origin + horizon); ++i) {
      blocks.block_of.push_back(static_cast<int>(blocks.origins.size()) - 1);
    }
  }
  return blocks;
}

v1::AnomalySeverity SeverityOf(v1::AnomalyKind kind, double score) {
  switch (kind) {
    case v1::ANOMALY_KIND_NONE:
      return v1::ANOMALY_SEVERITY_NONE;
    case v1::ANOMALY_KIND_FLAT_LINE:
    case v1::ANOMALY_KIND_MISSING_DATA:
      return v1::ANOMALY_SEVERITY_MEDIUM;
    default:
      break;
  }
  if (score >= kHighScore) return v1::ANOMALY_SEVERITY_HIGH;
  if (score >= kMediumScore) return v1::ANOMALY_SEVERITY_MEDIUM;
  return v1::ANOMALY_SEVERITY_LOW;
}

// Consecutive points of one kind become one event.
void GroupEvents(v1::DetectAnomaliesResponse* response) {
  const int points = response->kinds_size();
  for (int begin = 0; begin < points;) {
    const auto kind = static_cast<v1::AnomalyKind>(response->kinds(begin));
    int end = begin + 1;
    while (end < points && response->kinds(end) == kind) ++end;
    if (kind != v1::ANOMALY_KIND_NONE) {
      v1::AnomalyEvent* event = response->add_events();
      event->set_kind(kind);
      event->set_start_time(response->timestamps(begin));
      event->set_end_time(response->timestamps(end - 1));
      event->set_points(end - begin);
      double max_score = 0;
      int severity = v1::ANOMALY_SEVERITY_NONE;
      for (int i = begin; i < end; ++i) {
        max_score = std::max(max_score, response->score(i));
        severity = std::max<int>(severity, response->severities(i));
      }
      event->set_max_score(max_score);
      event->set_severity(static_cast<v1::AnomalySeverity>(severity));
    }
    begin = end;
  }
}

ForecastWindow WindowAt(const ForecastModel& model,
                        const std::vector<double>& load,
                        const std::vector<const double*>& covariates,
                        const v1::TimeSeries& history, int origin) {
  const int window = model.input_window();
  ForecastWindow input;
  input.load = load.data() + origin - window;
  for (const double* values : covariates) {
    input.covariates.push_back(values + origin - window);
  }
  input.first_forecast_time = history.timestamps(origin);
  return input;
}

struct PointVerdict {
  double expected = 0, lower = 0, upper = 0, score = 0;
  v1::AnomalyKind kind = v1::ANOMALY_KIND_NONE;
};

// Point `h` of a block's forecast against the actual value: missing data
// first, then a stuck meter, then the distance outside the band.
PointVerdict Judge(const ForecastValues& forecast, int h, double actual,
                   int run_length, const DetectionSettings& settings) {
  PointVerdict verdict;
  verdict.expected = forecast.Point(0, h);
  verdict.lower = forecast.Quantile(0, settings.lower_level, h);
  verdict.upper = forecast.Quantile(0, settings.upper_level, h);
  const double width =
      std::max(verdict.upper - verdict.lower,
               1e-9 * std::max(1.0, std::abs(verdict.expected)));

  if (std::isnan(actual)) {
    verdict.kind = v1::ANOMALY_KIND_MISSING_DATA;
  } else if (run_length >= settings.flat_line_points) {
    verdict.kind = v1::ANOMALY_KIND_FLAT_LINE;
  } else if (actual > verdict.upper) {
    verdict.score = (actual - verdict.upper) / width;
    if (verdict.score >= settings.min_score) {
      verdict.kind = v1::ANOMALY_KIND_SPIKE;
    }
  } else if (actual < verdict.lower) {
    verdict.score = (verdict.lower - actual) / width;
    if (verdict.score >= settings.min_score) {
      verdict.kind = v1::ANOMALY_KIND_DROP;
    }
  }
  return verdict;
}

void AddPoint(int64_t time, double actual, const PointVerdict& verdict,
              v1::DetectAnomaliesResponse* response) {
  response->add_timestamps(time);
  response->add_actual(actual);
  response->add_expected(verdict.expected);
  response->add_lower(verdict.lower);
  response->add_upper(verdict.upper);
  response->add_score(verdict.score);
  response->add_kinds(verdict.kind);
  response->add_severities(SeverityOf(verdict.kind, verdict.score));
}

}  // namespace

absl::Status DetectAnomalies(const ForecastModel& model,
                             const v1::DetectAnomaliesRequest& request,
                             v1::DetectAnomaliesResponse* response) {
  const v1::TimeSeries& history = request.history();
  GC_RETURN_IF_ERROR(ValidateRegularHistory(history, model.resolution_seconds(),
                                            "history", /*allow_missing=*/true));
  // A load of -2.6e256 once passed here and came out of the network as an
  // INTERNAL "non-finite value" (found by anomaly_request_fuzz).
  GC_RETURN_IF_ERROR(CheckHistoryRange(model, history));
  GC_ASSIGN_OR_RETURN(const DetectionSettings settings,
                      ResolveSettings(model, request));
  const int points = history.values_size();
  GC_ASSIGN_OR_RETURN(
      const std::vector<const double*> covariates,
      MatchCovariates(model, request.covariates(), points, /*future=*/0));
  GC_ASSIGN_OR_RETURN(const std::vector<double> filled, FillMissing(history));

  const int first = points - settings.score_points;
  GC_ASSIGN_OR_RETURN(const Blocks blocks, PlanBlocks(model, points, first));
  const std::vector<int> runs = RunLengths(history);
  const std::vector<int64_t> holidays(request.holidays().begin(),
                                      request.holidays().end());
  response->set_model(model.manifest().model());
  response->set_version(model.version());
  response->set_lower_quantile(
      model.manifest().spec().quantiles(settings.lower_level));
  response->set_upper_quantile(
      model.manifest().spec().quantiles(settings.upper_level));

  // Block by block, in time order: a point found anomalous is replaced by
  // what the model expected before later windows read it, so that one
  // stuck meter or spike does not make the next block's forecast wrong
  // and flag good points after it.
  std::vector<double> cleaned = filled;
  int next = first;
  for (size_t block = 0; block < blocks.origins.size(); ++block) {
    const int origin = blocks.origins[block];
    GC_ASSIGN_OR_RETURN(
        const ForecastValues forecast,
        model.Predict({WindowAt(model, cleaned, covariates, history, origin)},
                      holidays));
    for (; next < points &&
           blocks.block_of[next - first] == static_cast<int>(block);
         ++next) {
      const PointVerdict verdict = Judge(
          forecast, next - origin, history.values(next), runs[next], settings);
      if (verdict.kind != v1::ANOMALY_KIND_NONE) {
        cleaned[next] = verdict.expected;
      }
      AddPoint(history.timestamps(next), history.values(next), verdict,
               response);
    }
  }
  GroupEvents(response);
  return absl::OkStatus();
}

}  // namespace gridcast
