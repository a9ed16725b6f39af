// What the forecast and anomalies commands share: the shape of the model
// version that will answer (so that the right history is sent) and the
// reading of a history file's tail.
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_SERVED_MODEL_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_SERVED_MODEL_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gridcast/v1/forecaster.grpc.pb.h"
#include "tools/gridcastctl/client.h"
#include "tools/gridcastctl/commands.h"
#include "tools/gridcastctl/csv.h"

namespace gridcast::ctl {

// What ArchitectureSpec documents for an input_window of 0.
inline constexpr int64_t kDefaultInputWindow = 168;

// GetModel, with a failure marked as the server's.
absl::StatusOr<v1::Model> GetModel(const ClientOptions& client,
                                   v1::ForecasterService::Stub* stub,
                                   const std::string& name);

// The shape of one version of a model.
struct ServedShape {
  int64_t version = 0;
  int64_t input_window = kDefaultInputWindow;
  int64_t horizon = 0;
  int64_t resolution_seconds = 0;
  // The spec's covariates, in order; their columns in the files carry
  // their names.
  std::vector<v1::CovariateSpec> covariates;

  bool NeedsFuture() const {
    return std::any_of(covariates.begin(), covariates.end(),
                       [](const auto& c) { return c.known_future(); });
  }
};

// The shape of `version` of `model`, or with version 0 of the served one,
// else of the newest. NOT_FOUND when there is no such version.
absl::StatusOr<ServedShape> FindServedShape(const ClientOptions& client,
                                            v1::ForecasterService::Stub* stub,
                                            const std::string& model,
                                            int64_t version);

// The last `points` rows of the CSV file at `path` (all of them with
// `points` 0), read with `columns` and `format`. An error names the file.
absl::StatusOr<std::vector<HistoryRow>> ReadHistoryRows(
    const std::string& path, const HistoryColumns& columns,
    const CsvFormatOptions& format, int64_t points);

// The last `count` of `rows` (all of them when there are fewer).
std::vector<HistoryRow> LastRows(const std::vector<HistoryRow>& rows,
                                 int64_t count);

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_SERVED_MODEL_H_
