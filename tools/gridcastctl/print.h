// How gridcastctl shows the API's messages: tables for lists, aligned
// "key: value" blocks for single objects, and the forecast in table, CSV
// or JSON form. Every function returns the text; callers write it out.
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_PRINT_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_PRINT_H_

#include <string>

#include "absl/status/statusor.h"
#include "gridcast/v1/forecaster.pb.h"
#include "gridcast/v1/trainer.pb.h"
#include "gridcast/v1/types.pb.h"

namespace gridcast::ctl {

// "SUCCEEDED", "READY": the enum name without its prefix.
std::string StateName(v1::JobState state);
std::string StateName(v1::VersionState state);

// Whether a job has ended and will not change again.
bool IsFinal(v1::JobState state);

// "mlp 256,256, window 168, horizon 24".
std::string DescribeSpec(const v1::ArchitectureSpec& spec);

std::string FormatDataset(const v1::Dataset& dataset);
std::string FormatDatasetTable(
    const google::protobuf::RepeatedPtrField<v1::Dataset>& datasets);

std::string FormatJob(const v1::TrainingJob& job);
std::string FormatJobTable(
    const google::protobuf::RepeatedPtrField<v1::TrainingJob>& jobs);

// The model beside the seasonal-naive baseline: MAE, RMSE and MAPE, the
// scored tail, and by how much the model wins or loses.
std::string FormatEvaluation(const v1::Evaluation& evaluation);
// The quantile bands of an evaluation, a line each: nominal and observed
// coverage, mean width, calibration factors. Empty without bands.
std::string FormatBands(const v1::Evaluation& evaluation);

std::string FormatModel(const v1::Model& model);
std::string FormatModelTable(
    const google::protobuf::RepeatedPtrField<v1::Model>& models);

// A header line naming the model and version, then one right-aligned row
// per point; `value_name` heads the value column.
std::string FormatForecastTable(const v1::ForecastResponse& forecast,
                                const std::string& value_name);
// `timestamp,<value_name>[,q<level>...]` with ISO 8601 timestamps.
std::string FormatForecastCsv(const v1::ForecastResponse& forecast,
                              const std::string& value_name);
// A response in the proto3 JSON mapping.
absl::StatusOr<std::string> FormatJson(
    const google::protobuf::Message& message);

// "SPIKE", "HIGH": the enum name without its prefix.
std::string KindName(v1::AnomalyKind kind);
std::string SeverityName(v1::AnomalySeverity severity);

// A header line (model, version, band, points scored and flagged), one
// row per anomalous point (every scored point with `all_points`), then
// the events. `value_name` heads the actual-value column.
std::string FormatAnomalyTable(const v1::DetectAnomaliesResponse& anomalies,
                               const std::string& value_name, bool all_points);
// One line per scored point: timestamp, actual, expected, lower, upper,
// score, kind, severity; a missing actual is written "NaN".
std::string FormatAnomalyCsv(const v1::DetectAnomaliesResponse& anomalies,
                             const std::string& value_name);

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_PRINT_H_
