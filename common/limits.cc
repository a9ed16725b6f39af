#include "common/limits.h"

#include "absl/strings/str_cat.h"

namespace gridcast {

absl::Status CheckLimit(absl::StatusCode code, absl::string_view subject,
                        int64_t value, absl::string_view flag, int64_t limit) {
  if (value <= limit) return absl::OkStatus();
  return absl::Status(code,
                      absl::StrCat(subject, "; limit --", flag, " is ", limit));
}

absl::Status CheckHorizon(absl::string_view field, int64_t horizon,
                          const ServiceLimits& limits) {
  return CheckLimit(absl::StatusCode::kInvalidArgument,
                    absl::StrCat(field, "=", horizon), horizon, "max_horizon",
                    limits.max_horizon);
}

}  // namespace gridcast
