// Turning what a request sends (history, covariates, quantile levels) into
// what a model reads, with errors that name the request's field. Shared by
// Forecast and DetectAnomalies so both check inputs the same way.
#ifndef GRIDCAST_INFERENCE_FORECAST_INPUTS_H_
#define GRIDCAST_INFERENCE_FORECAST_INPUTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/forecast_model.h"
#include "gridcast/v1/forecaster.pb.h"

namespace gridcast {

using CovariateList = google::protobuf::RepeatedPtrField<v1::Covariate>;

// For each covariate of the model's spec, in order, the start of its
// values in the request. Every spec covariate must be sent once, and only
// those: a known-future one with `history_points + future_points` values,
// any other with `history_points`, each finite and within a million
// standard deviations of the covariate's training mean (the model computes
// in float32). INVALID_ARGUMENT names the covariate.
absl::StatusOr<std::vector<const double*>> MatchCovariates(
    const ForecastModel& model, const CovariateList& covariates,
    int history_points, int future_points);

// Every value of the history within a million standard deviations of the
// model's training mean, as MatchCovariates checks covariates; NaN passes
// (DetectAnomalies reads it as missing data, Forecast refuses it before).
// INVALID_ARGUMENT names the first value out of range.
absl::Status CheckHistoryRange(const ForecastModel& model,
                               const v1::TimeSeries& history);

// Indices into the model's quantile levels of the requested ones; all of
// them when none is requested. INVALID_ARGUMENT for a level the model was
// not trained for, listing those it has.
absl::StatusOr<std::vector<int>> SelectLevels(
    const ForecastModel& model,
    const google::protobuf::RepeatedField<double>& requested,
    const std::string& field);

// A Forecast request checked against its model and turned into what the
// model reads; pointers into the request, valid while it is.
struct PreparedForecast {
  int horizon = 0;          // points to answer
  std::vector<int> levels;  // indices into the model's quantiles
  ForecastWindow input;     // the last input window, read in place
};

// Every check of a Forecast request: horizon, quantile levels, a regular
// history of at least the input window (every value within a million
// standard deviations of the training mean), covariates.
absl::StatusOr<PreparedForecast> PrepareForecast(
    const ForecastModel& model, const v1::ForecastRequest& request);

// The whole of Forecast once the model is chosen: PrepareForecast, the
// model, the response.
absl::Status ComputeForecast(const ForecastModel& model,
                             const v1::ForecastRequest& request,
                             v1::ForecastResponse* response);

}  // namespace gridcast

#endif  // GRIDCAST_INFERENCE_FORECAST_INPUTS_H_
