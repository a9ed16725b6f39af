// The subcommands of gridcastctl. Each is a table of options, which also
// writes its --help, and the function that runs it; main.cc dispatches.
// Commands return absl::Status; main turns it into the one error line and
// the exit code (see exit_codes.h).
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_COMMANDS_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_COMMANDS_H_

#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "tools/gridcastctl/args.h"
#include "tools/gridcastctl/client.h"
#include "tools/gridcastctl/csv.h"

namespace gridcast::ctl {

struct Command {
  CommandSpec spec;
  std::function<absl::Status(const ClientOptions&, const ParsedArgs&)> run;
};

// sample, upload, datasets list|get|delete.
std::vector<Command> DataCommands();
// train, finetune, jobs list|get|cancel|watch.
std::vector<Command> TrainingCommands();
// models list|get, forecast.
std::vector<Command> ForecastCommands();
// anomalies.
std::vector<Command> AnomalyCommands();

// Helpers shared by the commands.

// CallUnary, with a failure marked as the server's (exit code 3).
absl::Status CallServer(
    const ClientOptions& client, absl::string_view what,
    const std::function<grpc::Status(grpc::ClientContext*)>& call);

// RpcError, marked as the server's (exit code 3).
absl::Status ServerCallError(absl::string_view what,
                             const grpc::Status& status);

// Opens a file for reading; NOT_FOUND etc. as "reading PATH: <reason>".
absl::Status OpenForReading(const std::string& path, std::ifstream* file);

// The value of a name option (--model, --series, ...), checked against
// the store's naming rules so that a typo is a usage error at once.
absl::StatusOr<std::string> GetName(const ParsedArgs& args,
                                    absl::string_view option);

// The values of a repeatable option, also split at commas:
// `--dataset a --dataset b,c` gives a, b, c.
std::vector<std::string> GetRepeatedList(const ParsedArgs& args,
                                         absl::string_view option);

// How a history CSV is written, from the options of CsvFormatOptionSpecs.
struct CsvFormatOptions {
  // Without local_time, which the command sets from time_zone.
  CsvOptions csv;
  // --timezone: where timestamps without an offset are local; empty: none.
  std::string time_zone;
};

// --timestamp-column, --value-column, --timezone, --delimiter, --no-header.
std::vector<OptionSpec> CsvFormatOptionSpecs();
// The timestamp and value columns (no covariates).
HistoryColumns GetHistoryColumns(const ParsedArgs& args);
absl::StatusOr<CsvFormatOptions> GetCsvFormatOptions(const ParsedArgs& args);

// The CSV format options appended to `options`.
std::vector<OptionSpec> WithCsvFormatOptions(std::vector<OptionSpec> options);

// How forecast and anomalies print their answer (--format).
enum class OutputFormat { kTable, kCsv, kJson };

// "table", "csv" or "json"; anything else is a usage error.
absl::StatusOr<OutputFormat> ParseOutputFormat(const std::string& text);

// Whether stderr is a terminal, where progress may be redrawn in place.
bool StderrIsTerminal();

// Writes command output to stdout.
void PrintOut(absl::string_view text);

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_COMMANDS_H_
