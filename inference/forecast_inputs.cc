#include "inference/forecast_inputs.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "common/timeseries/regular_series.h"

namespace gridcast {
namespace {

// Levels travel as doubles through JSON and back; equal within this.
constexpr double kLevelTolerance = 1e-9;

// How far from the training data's mean, in its standard deviations, a
// value sent to a model may lie. The network computes in float32: a
// covariate of 3e57 once came out of it as NaN, an INTERNAL error for what
// is the request's fault, and nothing this far out forecasts anything.
constexpr double kMaxStandardScores = 1e6;

bool InModelRange(double value, const store::v1::Normalisation& scale) {
  return std::abs(value - scale.mean()) <= kMaxStandardScores * scale.stddev();
}

// The INVALID_ARGUMENT for a value that fails InModelRange; only built
// then, since every value of every request is checked.
absl::Status OutOfModelRange(const std::string& field, double value,
                             const store::v1::Normalisation& scale,
                             const ForecastModel& model) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s=%g is too far from what model %s was trained on (mean %g, stddev "
      "%g); it reads values within %g standard deviations of the mean",
      field, value, model.manifest().model(), scale.mean(), scale.stddev(),
      kMaxStandardScores));
}

std::string SpecCovariateNames(const ForecastModel& model) {
  std::vector<std::string> names;
  for (const auto& covariate : model.manifest().spec().covariates()) {
    names.push_back(covariate.name());
  }
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

absl::Status CheckCovariateValues(const ForecastModel& model,
                                  const v1::Covariate& covariate, int index,
                                  int spec_index, size_t expected,
                                  const char* what) {
  if (static_cast<size_t>(covariate.values_size()) != expected) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "covariates[%d] (\"%s\") has %d values; it needs %d (%s)", index,
        covariate.name(), covariate.values_size(), expected, what));
  }
  for (int i = 0; i < covariate.values_size(); ++i) {
    if (!std::isfinite(covariate.values(i))) {
      return absl::InvalidArgumentError(
          absl::StrFormat("covariates[%d].values[%d] (\"%s\") is %g", index, i,
                          covariate.name(), covariate.values(i)));
    }
    const auto& scale = model.manifest().covariate_normalisation(spec_index);
    if (!InModelRange(covariate.values(i), scale)) {
      return OutOfModelRange(
          absl::StrFormat("covariates[%d].values[%d] (\"%s\")", index, i,
                          covariate.name()),
          covariate.values(i), scale, model);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<const double*>> MatchCovariates(
    const ForecastModel& model, const CovariateList& covariates,
    int history_points, int future_points) {
  const auto& spec = model.manifest().spec();
  std::vector<const double*> matched(spec.covariates_size(), nullptr);

  for (int i = 0; i < covariates.size(); ++i) {
    const v1::Covariate& covariate = covariates[i];
    const int index = model.CovariateIndex(covariate.name());
    if (index < 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "covariates[%d].name=\"%s\" is not read by model %s (it reads: %s)",
          i, covariate.name(), model.manifest().model(),
          SpecCovariateNames(model)));
    }
    if (matched[index] != nullptr) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "covariates[%d].name=\"%s\" is sent twice", i, covariate.name()));
    }
    const bool future = model.KnownFuture(index);
    GC_RETURN_IF_ERROR(CheckCovariateValues(
        model, covariate, i, index,
        history_points + (future ? future_points : 0),
        future ? "one per history point, then one per point of the model's "
                 "horizon"
               : "one per history point"));
    matched[index] = covariate.values().data();
  }

  for (int c = 0; c < spec.covariates_size(); ++c) {
    if (matched[c] != nullptr) continue;
    return absl::InvalidArgumentError(absl::StrFormat(
        "covariates is missing \"%s\", which model %s reads%s",
        spec.covariates(c).name(), model.manifest().model(),
        spec.covariates(c).known_future() ? " over the history and the horizon"
                                          : " over the history"));
  }
  return matched;
}

absl::Status CheckHistoryRange(const ForecastModel& model,
                               const v1::TimeSeries& history) {
  const auto& load_scale = model.manifest().normalisation();
  for (int i = 0; i < history.values_size(); ++i) {
    const double value = history.values(i);
    if (std::isnan(value) || InModelRange(value, load_scale)) continue;
    return OutOfModelRange(absl::StrFormat("history.values[%d]", i), value,
                           load_scale, model);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> SelectLevels(
    const ForecastModel& model,
    const google::protobuf::RepeatedField<double>& requested,
    const std::string& field) {
  const auto& levels = model.manifest().spec().quantiles();
  std::vector<int> selected;
  if (requested.empty()) {
    for (int q = 0; q < levels.size(); ++q) selected.push_back(q);
    return selected;
  }
  for (int i = 0; i < requested.size(); ++i) {
    int found = -1;
    for (int q = 0; q < levels.size(); ++q) {
      if (std::abs(levels[q] - requested[i]) < kLevelTolerance) found = q;
    }
    if (found < 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s[%d]=%g is not a level model %s forecasts (it has: %s)", field, i,
          requested[i], model.manifest().model(),
          levels.empty() ? "none; train it with spec.quantiles"
                         : absl::StrJoin(levels, ", ")));
    }
    selected.push_back(found);
  }
  return selected;
}

absl::StatusOr<PreparedForecast> PrepareForecast(
    const ForecastModel& model, const v1::ForecastRequest& request) {
  // A negative horizon once answered OK with no points (found by
  // forecast_request_fuzz).
  if (request.horizon() < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "horizon=%d must be 0 (the model's) or a number of points",
        request.horizon()));
  }
  const int horizon =
      request.horizon() == 0 ? model.horizon() : request.horizon();
  if (horizon > model.horizon()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("horizon=%d exceeds the %d points model %s forecasts",
                        horizon, model.horizon(), request.model()));
  }
  PreparedForecast prepared;
  prepared.horizon = horizon;
  GC_ASSIGN_OR_RETURN(prepared.levels,
                      SelectLevels(model, request.quantiles(), "quantiles"));

  const v1::TimeSeries& history = request.history();
  GC_RETURN_IF_ERROR(
      ValidateRegularHistory(history, model.resolution_seconds(), "history"));
  const int window = model.input_window();
  const int points = history.values_size();
  if (points < window) {
    return absl::FailedPreconditionError(
        absl::StrFormat("history has %d points but model %s reads the last %d",
                        points, request.model(), window));
  }
  GC_RETURN_IF_ERROR(CheckHistoryRange(model, history));
  GC_ASSIGN_OR_RETURN(
      const std::vector<const double*> covariates,
      MatchCovariates(model, request.covariates(), points, model.horizon()));

  ForecastWindow& input = prepared.input;
  input.load = history.values().data() + points - window;
  for (const double* values : covariates) {
    input.covariates.push_back(values + points - window);
  }
  input.first_forecast_time =
      history.timestamps(points - 1) + model.resolution_seconds();
  return prepared;
}

absl::Status ComputeForecast(const ForecastModel& model,
                             const v1::ForecastRequest& request,
                             v1::ForecastResponse* response) {
  GC_ASSIGN_OR_RETURN(const PreparedForecast prepared,
                      PrepareForecast(model, request));
  const ForecastWindow& input = prepared.input;
  const int horizon = prepared.horizon;
  GC_ASSIGN_OR_RETURN(
      const ForecastValues forecast,
      model.Predict({input}, std::vector<int64_t>(request.holidays().begin(),
                                                  request.holidays().end())));

  response->set_model(request.model());
  response->set_version(model.version());
  for (int h = 0; h < horizon; ++h) {
    response->add_timestamps(input.first_forecast_time +
                             h * model.resolution_seconds());
    response->add_values(forecast.Point(0, h));
  }
  for (int q : prepared.levels) {
    v1::QuantileForecast* band = response->add_quantiles();
    band->set_quantile(forecast.levels[q]);
    for (int h = 0; h < horizon; ++h) {
      band->add_values(forecast.Quantile(0, q, h));
    }
  }
  return absl::OkStatus();
}

}  // namespace gridcast
