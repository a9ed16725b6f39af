// The limits that keep one client from exhausting a server: how much a
// single call may carry and how much work the trainer accepts at once.
// Each limit is a flag (see common/config.h); a call beyond one is refused
// with a message that names the flag and its value, so that an operator
// knows which knob to turn and a client knows how to split its request:
//
//   upload has 2000001 points; limit --max_upload_points is 2000000
//
// Volumes (points, bytes, jobs) answer RESOURCE_EXHAUSTED; shapes
// (the horizon) answer INVALID_ARGUMENT.
#ifndef GRIDCAST_COMMON_LIMITS_H_
#define GRIDCAST_COMMON_LIMITS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace gridcast {

struct ServiceLimits {
  // Trainer: bytes one UploadHistory stream may carry on the wire (all
  // chunks: timestamps, values and covariates); checked as chunks arrive.
  int64_t max_dataset_bytes = int64_t{256} << 20;
  // Trainer: training jobs queued or running at once.
  int max_active_jobs = 64;
  // Both: the horizon a training job may ask for (spec.horizon) and a
  // forecast may ask for (horizon), in points.
  int max_horizon = 2048;
  // Inference: points in the history of one forecast request.
  int64_t max_history_points = 100'000;
};

// `code` with "<subject>; limit --<flag> is <limit>" when value > limit,
// OK otherwise. `subject` says what was asked ("history has 7 points").
absl::Status CheckLimit(absl::StatusCode code, absl::string_view subject,
                        int64_t value, absl::string_view flag, int64_t limit);

// INVALID_ARGUMENT naming --max_horizon when `horizon` is over it;
// `field` names the request field ("horizon", "spec.horizon").
absl::Status CheckHorizon(absl::string_view field, int64_t horizon,
                          const ServiceLimits& limits);

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_LIMITS_H_
