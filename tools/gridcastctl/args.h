// The command-line parser of gridcastctl's subcommands: options as
// `--name=value`, `--name value` or a bare `--switch`, repeatable options,
// positional arguments, and --help text generated from the same table that
// drives the parsing, so that the two cannot drift apart.
//
// absl flags are process-global; a table per subcommand keeps each
// command's --help listing only what that command reads.
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_ARGS_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_ARGS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gridcast::ctl {

// One option that a command accepts.
struct OptionSpec {
  // Without the leading dashes, such as "chunk-points".
  std::string name;
  // Placeholder of the value in --help, such as "N"; empty for a switch,
  // which takes no value.
  std::string value_name;
  // One line for --help that names the default.
  std::string help;
  // Whether every occurrence is kept (otherwise the last one wins).
  bool repeatable = false;
};

// What a command accepts and how --help describes it.
struct CommandSpec {
  // As typed, such as "upload" or "datasets get".
  std::string name;
  // The synopsis after the name, such as "--file FILE.csv --series ID".
  std::string synopsis;
  // One line for the list of commands.
  std::string summary;
  // Further paragraphs for --help; may be empty.
  std::string description;
  std::vector<OptionSpec> options;
  int min_positional = 0;
  int max_positional = 0;
};

// The options and positional arguments of one command line.
class ParsedArgs {
 public:
  bool help_requested() const { return help_requested_; }
  const std::vector<std::string>& positional() const { return positional_; }

  // Whether the option was given at all.
  bool Has(absl::string_view name) const;

  // The last value given, or `fallback` when the option is absent.
  std::string GetString(absl::string_view name,
                        absl::string_view fallback = "") const;

  // Every value given, in order.
  std::vector<std::string> GetAll(absl::string_view name) const;

  // The last value given; a usage error when the option is absent or empty.
  absl::StatusOr<std::string> GetRequired(absl::string_view name) const;

  // The value as an integer in [min, max], or `fallback` when absent.
  absl::StatusOr<int64_t> GetInt(absl::string_view name, int64_t fallback,
                                 int64_t min, int64_t max) const;

  // The value as a number in [min, max], or `fallback` when absent.
  absl::StatusOr<double> GetDouble(absl::string_view name, double fallback,
                                   double min, double max) const;

  // A comma-separated list of integers in [min, max], such as "256,256";
  // `fallback` when absent.
  absl::StatusOr<std::vector<int64_t>> GetIntList(absl::string_view name,
                                                  std::vector<int64_t> fallback,
                                                  int64_t min,
                                                  int64_t max) const;

  // A comma-separated list of numbers in [min, max], such as "0.1,0.9";
  // `fallback` when absent.
  absl::StatusOr<std::vector<double>> GetDoubleList(
      absl::string_view name, std::vector<double> fallback, double min,
      double max) const;

 private:
  friend absl::StatusOr<ParsedArgs> ParseArgs(
      const CommandSpec& spec, const std::vector<std::string>& args);

  bool help_requested_ = false;
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

// Parses `args` (the words after the command name) against `spec`.
// `--help` and `-h` set help_requested() and skip the positional count
// check; `--` ends the options. Errors are usage errors.
absl::StatusOr<ParsedArgs> ParseArgs(const CommandSpec& spec,
                                     const std::vector<std::string>& args);

// The --help text of a command; `global_options` are listed after the
// command's own.
std::string FormatHelp(const CommandSpec& spec,
                       const std::vector<OptionSpec>& global_options);

// The two-column "  --name=VALUE   help" lines of an option list.
std::string FormatOptionList(const std::vector<OptionSpec>& options);

// A mistake on the command line, which exits with 2. It is an
// INVALID_ARGUMENT status marked with a payload, so that it is told apart
// from a server's INVALID_ARGUMENT, which exits with 1.
absl::Status UsageError(absl::string_view message);
bool IsUsageError(const absl::Status& status);

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_ARGS_H_
