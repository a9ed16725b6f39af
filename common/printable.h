// Making text from untrusted bytes safe to put in a proto string field or
// a log line.
#ifndef GRIDCAST_COMMON_PRINTABLE_H_
#define GRIDCAST_COMMON_PRINTABLE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace gridcast {

// `text` with every byte that is not part of valid UTF-8, and every ASCII
// control character but tab, written as \xNN. Protobuf refuses to
// serialise a string field holding invalid UTF-8, so an error message that
// quotes a damaged file must pass through this before it reaches a
// response.
std::string PrintableUtf8(absl::string_view text);

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_PRINTABLE_H_
