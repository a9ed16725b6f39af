// SHA-256 of byte strings, as the model store records it for weights.pt.
#ifndef GRIDCAST_COMMON_STORE_SHA256_H_
#define GRIDCAST_COMMON_STORE_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace gridcast {

// The SHA-256 digest of `bytes` as 64 lower-case hex digits.
std::string Sha256Hex(absl::string_view bytes);

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_STORE_SHA256_H_
