#include "tools/gridcastctl/commands.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "tools/gridcastctl/exit_codes.h"

namespace gridcast::ctl {

absl::Status CallServer(
    const ClientOptions& client, absl::string_view what,
    const std::function<grpc::Status(grpc::ClientContext*)>& call) {
  return WithExitCode(CallUnary(client, what, call), kExitServerError);
}

absl::Status ServerCallError(absl::string_view what,
                             const grpc::Status& status) {
  return WithExitCode(RpcError(what, status), kExitServerError);
}

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

std::vector<OptionSpec> CsvFormatOptionSpecs() {
  return {
      {"timestamp-column", "COLUMN",
       "column of the timestamps, by name or number from 1 (default "
       "timestamp)"},
      {"value-column", "COLUMN",
       "column of the load, by name or number from 1 (default load_kw)"},
      {"timezone", "ZONE",
       "read timestamps without an offset as local time in this IANA zone, "
       "such as Europe/Berlin (default: refuse them)"},
      {"delimiter", "CHAR", "field separator: , ; | or tab (default ,)"},
      {"no-header", "", "the first line is data; choose columns by number"},
  };
}

std::vector<OptionSpec> WithCsvFormatOptions(std::vector<OptionSpec> options) {
  for (OptionSpec& option : CsvFormatOptionSpecs()) {
    options.push_back(std::move(option));
  }
  return options;
}

absl::StatusOr<OutputFormat> ParseOutputFormat(const std::string& text) {
  if (text == "table") return OutputFormat::kTable;
  if (text == "csv") return OutputFormat::kCsv;
  if (text == "json") return OutputFormat::kJson;
  return UsageError(
      absl::StrCat("--format must be table, csv or json, got \"", text, "\""));
}

HistoryColumns GetHistoryColumns(const ParsedArgs& args) {
  HistoryColumns columns;
  columns.timestamp = args.GetString("timestamp-column", "timestamp");
  columns.value = args.GetString("value-column", "load_kw");
  return columns;
}

absl::StatusOr<CsvFormatOptions> GetCsvFormatOptions(const ParsedArgs& args) {
  CsvFormatOptions options;
  const std::string delimiter = args.GetString("delimiter", ",");
  if (delimiter == "tab" || delimiter == "\\t" || delimiter == "\t") {
    options.csv.delimiter = '\t';
  } else if (delimiter.size() == 1 && delimiter != "\"" && delimiter != "\n") {
    options.csv.delimiter = delimiter[0];
  } else {
    return UsageError(absl::StrCat(
        "--delimiter must be one character or tab, got \"", delimiter, "\""));
  }
  options.csv.header = !args.Has("no-header");
  options.time_zone = args.GetString("timezone");
  if (args.Has("timezone") && options.time_zone.empty()) {
    return UsageError("--timezone needs a zone name, such as Europe/Berlin");
  }
  if (!options.csv.header) {
    for (const char* option : {"timestamp-column", "value-column"}) {
      if (!args.Has(option)) {
        return UsageError(absl::StrCat("--no-header needs --", option,
                                       " as a column number"));
      }
    }
  }
  return options;
}

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

void PrintOut(absl::string_view text) { std::cout << text << std::flush; }

}  // namespace gridcast::ctl
