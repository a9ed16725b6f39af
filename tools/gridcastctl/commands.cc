#include "tools/gridcastctl/commands.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/names.h"
#include "common/status_macros.h"

namespace gridcast::ctl {

absl::Status OpenForReading(const std::string& path, std::ifstream* file) {
  file->open(path, std::ios::in | std::ios::binary);
  if (file->is_open()) return absl::OkStatus();

  const int error = errno;
  const std::string reason = std::strerror(error);
  const std::string message = absl::StrCat("reading ", path, ": ", reason);
  if (error == ENOENT) return absl::NotFoundError(message);
  if (error == EACCES) return absl::PermissionDeniedError(message);
  return absl::UnavailableError(message);
}

absl::StatusOr<std::string> GetName(const ParsedArgs& args,
                                    absl::string_view option) {
  GC_ASSIGN_OR_RETURN(std::string name, args.GetRequired(option));
  const absl::Status valid = ValidateName(absl::StrCat("--", option), name);
  if (!valid.ok()) return UsageError(valid.message());
  return name;
}

std::vector<std::string> GetRepeatedList(const ParsedArgs& args,
                                         absl::string_view option) {
  std::vector<std::string> items;
  for (const std::string& value : args.GetAll(option)) {
    for (absl::string_view item :
         absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      items.emplace_back(item);
    }
  }
  return items;
}

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

void PrintOut(absl::string_view text) { std::cout << text << std::flush; }

}  // namespace gridcast::ctl
