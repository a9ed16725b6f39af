#include "tools/gridcastctl/exit_codes.h"

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tools/gridcastctl/args.h"

namespace gridcast::ctl {
namespace {

constexpr char kExitCodePayloadUrl[] = "type.gridcast.io/gridcastctl.ExitCode";

}  // namespace

absl::Status WithExitCode(absl::Status status, ExitCode code) {
  if (status.ok()) return status;
  status.SetPayload(kExitCodePayloadUrl, absl::Cord(absl::StrCat(code)));
  return status;
}

int ExitCodeOf(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (IsUsageError(status)) return kExitUsage;
  const auto payload = status.GetPayload(kExitCodePayloadUrl);
  int code = 0;
  if (payload.has_value() && absl::SimpleAtoi(std::string(*payload), &code)) {
    return code;
  }
  return kExitLocalFailure;
}

std::string ExitCodeHelp() {
  return "Exit status:\n"
         "  0  success\n"
         "  1  a local failure: a file cannot be read or written, or a CSV "
         "line is bad\n"
         "  2  a usage error (unknown command or option, bad or missing "
         "value)\n"
         "  3  the server refused or failed a call; the message names the "
         "gRPC code,\n"
         "     such as UNAVAILABLE (not reachable) or NOT_FOUND\n"
         "  4  the training job ended FAILED or CANCELLED\n"
         "  5  a wait timed out (models get --wait-version)\n"
         "  6  the version was published but rejected by the quality gate "
         "(not served)\n";
}

}  // namespace gridcast::ctl
