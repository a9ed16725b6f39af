// The servers' command lines as an operator meets them: --help lists
// every gridcast flag, wherever in the code it is defined.
#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/store/files.h"
#include "tests/test_support.h"

namespace gridcast::testing {
namespace {

// What `binary --help` prints (absl writes it to stdout and exits).
std::string HelpOf(const std::string& binary, const TempDir& dir) {
  const std::string out = dir.path() + "/help.txt";
  const std::string command =
      absl::StrCat(GRIDCAST_BINARY_DIR, "/", binary, " --help > '", out,
                   "' 2>&1 < /dev/null");
  std::system(command.c_str());
  return ReadFileToString(out).value_or("");
}

TEST_CASE("--help of each server lists the flags of every module", "[config]") {
  TempDir dir;
  const std::string inference = HelpOf("inference/gridcast-inference", dir);
  INFO(inference);
  // Defined in inference/main.cc and in common/config.cc.
  CHECK(absl::StrContains(inference, "--poll_interval_ms"));
  CHECK(absl::StrContains(inference, "--store"));
  CHECK(absl::StrContains(inference, "--max_history_points"));
  CHECK_FALSE(absl::StrContains(inference, "--flagfile"));

  const std::string trainer = HelpOf("trainer/gridcast-trainer", dir);
  INFO(trainer);
  CHECK(absl::StrContains(trainer, "--workers"));
  CHECK(absl::StrContains(trainer, "--tls_cert_file"));
}

}  // namespace
}  // namespace gridcast::testing
