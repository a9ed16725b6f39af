// What an inference replica reports on /metrics beside its gRPC calls:
//
//   gridcast_inference_versions{state}          versions by state (gauge,
//                                               read from the registry at
//                                               scrape time)
//   gridcast_inference_models                   models known
//   gridcast_inference_load_failures_total{reason}
//   gridcast_inference_load_seconds             read + check + smoke test
//   gridcast_inference_reload_lag_seconds       manifest create_time to
//                                               serving
//   gridcast_inference_batch_size               windows per forward pass
//
// The Record* functions are one-liners for the code paths that know the
// event; they record into metrics::DefaultRegistry().
#ifndef GRIDCAST_INFERENCE_INFERENCE_METRICS_H_
#define GRIDCAST_INFERENCE_INFERENCE_METRICS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "inference/model_registry.h"

namespace gridcast {

// A version was loaded and now serves: `load_time` is how long reading,
// checking and warming it took; `create_time` the manifest's publish time
// (Unix seconds), from which the reload lag is measured to now.
void RecordVersionServed(int64_t create_time, absl::Duration load_time);

// A version was refused; counted under LoadFailureReason(status).
void RecordLoadFailure(const absl::Status& status);

// One forward pass ran over `windows` windows at once.
void RecordForwardBatch(int windows);

// "checksum", "shapes", "weights", "smoke", "manifest", "files", "spec"
// or "other": the step of loading that `status` (a refusal from
// StoreWatcher) comes from, told by its code and message.
std::string LoadFailureReason(const absl::Status& status);

// Reports the versions of `registry` by state and its model count at
// every scrape, until the returned registrations are destroyed.
std::vector<metrics::CallbackRegistration> ExportRegistryGauges(
    const ModelRegistry* registry) ABSL_MUST_USE_RESULT;

}  // namespace gridcast

#endif  // GRIDCAST_INFERENCE_INFERENCE_METRICS_H_
