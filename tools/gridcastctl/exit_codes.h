// gridcastctl's exit codes, which scripts rely on. Every failure travels
// as an absl::Status; the kind of failure rides along as a payload, so
// that main() picks the exit code without parsing messages.
//
//   0  success
//   1  a local failure: a file that cannot be read or written, a bad CSV
//      line (the message names the line and column)
//   2  a usage error: unknown command or option, a bad or missing value
//   3  the server refused or failed a call; the message carries the gRPC
//      code name (UNAVAILABLE when it cannot be reached, NOT_FOUND, ...)
//   4  the training job ended FAILED or CANCELLED (train, finetune,
//      jobs watch); the message says why
//   5  a wait timed out (models get --wait-version)
//   6  the job published a version that the quality gate rejected: it is
//      kept for inspection but not served (train, finetune, jobs watch)
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_EXIT_CODES_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_EXIT_CODES_H_

#include <string>

#include "absl/status/status.h"

namespace gridcast::ctl {

enum ExitCode : int {
  kExitOk = 0,
  kExitLocalFailure = 1,
  kExitUsage = 2,
  kExitServerError = 3,
  kExitJobFailed = 4,
  kExitTimedOut = 5,
  kExitVersionRejected = 6,
};

// Marks a failed status with the exit code it leads to; OK passes through.
absl::Status WithExitCode(absl::Status status, ExitCode code);

// The exit code of a command's result: 0 for OK, 2 for usage errors, the
// marked code, else 1.
int ExitCodeOf(const absl::Status& status);

// The table above, for --help.
std::string ExitCodeHelp();

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_EXIT_CODES_H_
