// Rules for the names that become directory names in the model store:
// model names, series ids and dataset ids.
#ifndef GRIDCAST_COMMON_NAMES_H_
#define GRIDCAST_COMMON_NAMES_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace gridcast {

// 1 to 128 characters of letters, digits, '.', '_' and '-', not starting
// with '.' or '-'. Otherwise INVALID_ARGUMENT naming `field` and the value,
// e.g. `model="../etc" must be 1 to 128 letters, digits, '.', '_' or '-'`.
absl::Status ValidateName(absl::string_view field, absl::string_view value);

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_NAMES_H_
