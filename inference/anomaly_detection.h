// Scoring recent actuals against a model's prediction intervals, and
// naming what an operator would call them: a spike, a drop, a stuck meter,
// missing data. Free of gRPC, so it can be tested and benchmarked alone.
#ifndef GRIDCAST_INFERENCE_ANOMALY_DETECTION_H_
#define GRIDCAST_INFERENCE_ANOMALY_DETECTION_H_

#include "absl/status/status.h"
#include "common/model/forecast_model.h"
#include "gridcast/v1/forecaster.pb.h"

namespace gridcast {

// The scored points are forecast in blocks of the model's horizon, each
// from the input window just before it (so a block never sees the actuals
// it is scored on). A point found anomalous (a NaN is missing data) is
// replaced by the model's expectation before a later window reads it;
// missing values in the leading context are interpolated.
absl::Status DetectAnomalies(const ForecastModel& model,
                             const v1::DetectAnomaliesRequest& request,
                             v1::DetectAnomaliesResponse* response);

}  // namespace gridcast

#endif  // GRIDCAST_INFERENCE_ANOMALY_DETECTION_H_
