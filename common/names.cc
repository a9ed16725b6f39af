#include "common/names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace gridcast {
namespace {

constexpr size_t kMaxNameLength = 128;

bool IsNameCharacter(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

absl::Status ValidateName(absl::string_view field, absl::string_view value) {
  bool valid = !value.empty() && value.size() <= kMaxNameLength &&
               value.front() != '.' && value.front() != '-';
  for (char c : value) valid = valid && IsNameCharacter(c);
  if (valid) return absl::OkStatus();

  // Cut what we echo back so that a hostile name cannot flood the logs.
  const absl::string_view shown = value.substr(0, kMaxNameLength);
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s=\"%s\" must be 1 to %d letters, digits, '.', '_' or '-', not "
      "starting with '.' or '-'",
      field, absl::CHexEscape(shown), kMaxNameLength));
}

}  // namespace gridcast
