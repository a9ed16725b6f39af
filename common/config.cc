#include "common/config.h"

#include <cstdio>
#include <cstdlib>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace gridcast {

std::string EnvironmentNameOf(absl::string_view flag_name) {
  return absl::StrCat("GRIDCAST_", absl::AsciiStrToUpper(flag_name));
}

std::vector<char*> ParseFlagsWithEnvironment(int argc, char** argv,
                                             absl::string_view usage) {
  absl::SetProgramUsageMessage(usage);

  for (const auto& [name, flag] : absl::GetAllFlags()) {
    const std::string variable = EnvironmentNameOf(name);
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) continue;

    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      std::fprintf(stderr, "%s=\"%s\": %s\n", variable.c_str(), value,
                   error.c_str());
      std::exit(2);
    }
  }
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace gridcast
