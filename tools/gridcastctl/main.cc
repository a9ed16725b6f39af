// gridcastctl: the operator's and integrator's command line for gridcast.
//
//   gridcastctl [global options] COMMAND [options]
//
// Finds the command, parses its options, resolves where the servers are
// (flag, then environment, then default) and runs it. Every failure
// arrives here as one absl::Status and leaves as one line on stderr and an
// exit code (exit_codes.h).
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/server/security.h"
#include "common/status_macros.h"
#include "tools/gridcastctl/args.h"
#include "tools/gridcastctl/client.h"
#include "tools/gridcastctl/commands.h"
#include "tools/gridcastctl/exit_codes.h"

namespace gridcast::ctl {
namespace {

constexpr size_t kCommandColumnWidth = 18;

std::vector<OptionSpec> GlobalOptions() {
  return {
      {"trainer", "HOST:PORT",
       "TrainerService address (env GRIDCAST_TRAINER; default "
       "127.0.0.1:50051)"},
      {"forecaster", "HOST:PORT",
       "ForecasterService address (env GRIDCAST_FORECASTER; default "
       "127.0.0.1:50052)"},
      {"timeout", "SECONDS", "deadline of each unary call (default 30)"},
      {"tls-ca-file", "FILE",
       "PEM CA that signed the servers' certificates; turns TLS on (env "
       "GRIDCAST_TLS_CA_FILE)"},
      {"tls-cert-file", "FILE",
       "PEM client certificate for mutual TLS (env GRIDCAST_TLS_CERT_FILE)"},
      {"tls-key-file", "FILE",
       "PEM key of --tls-cert-file (env GRIDCAST_TLS_KEY_FILE)"},
      {"tls-server-name", "NAME",
       "name to check in the server's certificate instead of the host "
       "dialled, e.g. through kubectl port-forward (env "
       "GRIDCAST_TLS_SERVER_NAME)"},
      {"token", "TOKEN",
       "bearer token; turns TLS on (env GRIDCAST_TOKEN; prefer --token-file)"},
      {"token-file", "FILE",
       "file holding the bearer token (env GRIDCAST_TOKEN_FILE)"},
  };
}

std::vector<Command> AllCommands() {
  std::vector<Command> commands;
  for (auto group : {DataCommands(), TrainingCommands(), ForecastCommands(),
                     AnomalyCommands()}) {
    commands.insert(commands.end(), group.begin(), group.end());
  }
  return commands;
}

std::string Overview(const std::vector<Command>& commands) {
  std::string text =
      "gridcastctl: the command line of gridcast's trainer and forecaster.\n"
      "\nUsage: gridcastctl [global options] COMMAND [options]\n"
      "\nCommands:\n";
  for (const Command& command : commands) {
    const size_t padding =
        kCommandColumnWidth -
        std::min(kCommandColumnWidth - 1, command.spec.name.size());
    absl::StrAppend(&text, "  ", command.spec.name, std::string(padding, ' '),
                    command.spec.summary, "\n");
  }
  absl::StrAppend(
      &text, "\nGlobal options (before or after the command):\n",
      FormatOptionList(GlobalOptions()),
      "\nRun 'gridcastctl COMMAND --help' for the options of a command.\n\n",
      ExitCodeHelp());
  return text;
}

bool IsHelpWord(const std::string& word) {
  return word == "--help" || word == "-h";
}

// The subcommands of a group such as "datasets", for `datasets --help`;
// empty when `group` is not one.
std::string GroupOverview(const std::vector<Command>& commands,
                          const std::string& group) {
  std::string list;
  for (const Command& command : commands) {
    if (absl::StartsWith(command.spec.name, absl::StrCat(group, " "))) {
      absl::StrAppend(&list, "  gridcastctl ", command.spec.name, " ",
                      command.spec.synopsis, "\n      ", command.spec.summary,
                      "\n");
    }
  }
  if (list.empty()) return "";
  return absl::StrCat("Commands of ", group, ":\n", list, "\nRun 'gridcastctl ",
                      group, " COMMAND --help' for the options of one.\n");
}

// The command named by the words at `args[*start]` (one word, or a group
// and a subcommand such as "datasets get"); advances *start past them.
absl::StatusOr<const Command*> FindCommand(const std::vector<Command>& commands,
                                           const std::vector<std::string>& args,
                                           size_t* start) {
  const std::string& first = args[*start];
  const std::string pair = *start + 1 < args.size()
                               ? absl::StrCat(first, " ", args[*start + 1])
                               : std::string();
  for (const Command& command : commands) {
    if (command.spec.name == pair) {
      *start += 2;
      return &command;
    }
  }
  for (const Command& command : commands) {
    if (command.spec.name == first) {
      *start += 1;
      return &command;
    }
  }

  std::vector<std::string> subcommands;
  for (const Command& command : commands) {
    if (absl::StartsWith(command.spec.name, absl::StrCat(first, " "))) {
      subcommands.push_back(command.spec.name.substr(first.size() + 1));
    }
  }
  if (!subcommands.empty()) {
    return UsageError(absl::StrCat(
        "'", first, "' needs one of: ", absl::StrJoin(subcommands, ", ")));
  }
  return UsageError(absl::StrCat("unknown command \"", first,
                                 "\"; see 'gridcastctl --help'"));
}

// Global options given before the command: every word up to the first
// that is not a `--option` (all global options take a value).
size_t CountLeadingGlobalWords(const std::vector<std::string>& args) {
  size_t i = 0;
  while (i < args.size() && absl::StartsWith(args[i], "--") &&
         args[i] != "--help" && args[i] != "--") {
    i += absl::StrContains(args[i], '=') ? 1 : 2;
  }
  return std::min(i, args.size());
}

// A global option from the command line (after the command, then before
// it), the environment, or the default.
std::string GlobalValue(const ParsedArgs& after, const ParsedArgs& before,
                        const char* name, const char* env,
                        const char* fallback) {
  if (after.Has(name)) return after.GetString(name);
  if (before.Has(name)) return before.GetString(name);
  const char* from_env = env == nullptr ? nullptr : std::getenv(env);
  if (from_env != nullptr && *from_env != '\0') return from_env;
  return fallback;
}

// TLS files and the token, from flags or the environment; a token is
// never sent without TLS.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ResolveCredentials(
    const ParsedArgs& after, const ParsedArgs& before) {
  ClientSecurityOptions security;
  security.ca_file =
      GlobalValue(after, before, "tls-ca-file", "GRIDCAST_TLS_CA_FILE", "");
  security.cert_file =
      GlobalValue(after, before, "tls-cert-file", "GRIDCAST_TLS_CERT_FILE", "");
  security.key_file =
      GlobalValue(after, before, "tls-key-file", "GRIDCAST_TLS_KEY_FILE", "");
  // A flag wins over the environment, --token over --token-file.
  const bool token_flag = after.Has("token") || before.Has("token");
  const bool file_flag = after.Has("token-file") || before.Has("token-file");
  const bool from_file = file_flag && !token_flag;
  security.token =
      from_file ? ""
                : GlobalValue(after, before, "token", "GRIDCAST_TOKEN", "");
  const std::string token_file =
      token_flag
          ? ""
          : GlobalValue(after, before, "token-file", "GRIDCAST_TOKEN_FILE", "");
  if (security.token.empty() && !token_file.empty()) {
    GC_ASSIGN_OR_RETURN(security.token, ReadTokenFile(token_file));
  }
  if (security.cert_file.empty() != security.key_file.empty()) {
    return UsageError("--tls-cert-file and --tls-key-file go together");
  }
  return BuildChannelCredentials(security);
}

absl::StatusOr<ClientOptions> ResolveClientOptions(const ParsedArgs& after,
                                                   const ParsedArgs& before) {
  ClientOptions client;
  client.trainer_address = GlobalValue(after, before, "trainer",
                                       "GRIDCAST_TRAINER", "127.0.0.1:50051");
  client.forecaster_address = GlobalValue(
      after, before, "forecaster", "GRIDCAST_FORECASTER", "127.0.0.1:50052");

  const std::string timeout =
      GlobalValue(after, before, "timeout", nullptr, "30");
  double seconds = 0;
  if (!absl::SimpleAtod(timeout, &seconds) || !(seconds > 0) ||
      seconds > 86400) {
    return UsageError(absl::StrCat(
        "--timeout must be a number of seconds in (0, 86400], got \"", timeout,
        "\""));
  }
  client.timeout = absl::Seconds(seconds);
  GC_ASSIGN_OR_RETURN(client.credentials, ResolveCredentials(after, before));
  client.tls_server_name = GlobalValue(after, before, "tls-server-name",
                                       "GRIDCAST_TLS_SERVER_NAME", "");
  return client;
}

// `gridcastctl help [COMMAND...]`.
absl::Status RunHelp(const std::vector<Command>& commands,
                     const std::vector<std::string>& args, size_t start) {
  if (start >= args.size()) {
    PrintOut(Overview(commands));
    return absl::OkStatus();
  }
  GC_ASSIGN_OR_RETURN(const Command* command,
                      FindCommand(commands, args, &start));
  PrintOut(absl::StrCat(FormatHelp(command->spec, GlobalOptions()), "\n",
                        ExitCodeHelp()));
  return absl::OkStatus();
}

// Answers `--help`, `help [COMMAND]` and `GROUP --help` at args[start];
// false when the line asks for none of them.
absl::StatusOr<bool> AnswerHelp(const std::vector<Command>& commands,
                                const std::vector<std::string>& args,
                                size_t start) {
  if (IsHelpWord(args[start])) {
    PrintOut(Overview(commands));
    return true;
  }
  if (args[start] == "help") {
    GC_RETURN_IF_ERROR(RunHelp(commands, args, start + 1));
    return true;
  }
  if (start + 1 < args.size() && IsHelpWord(args[start + 1])) {
    const std::string group = GroupOverview(commands, args[start]);
    if (!group.empty()) {
      PrintOut(group);
      return true;
    }
  }
  return false;
}

// Parses the words after the command name, which may repeat the global
// options, and runs the command (or prints its --help).
absl::Status RunCommand(const Command& command,
                        const std::vector<std::string>& words,
                        const ParsedArgs& before) {
  CommandSpec spec = command.spec;
  for (const OptionSpec& option : GlobalOptions()) {
    spec.options.push_back(option);
  }
  GC_ASSIGN_OR_RETURN(const ParsedArgs parsed, ParseArgs(spec, words));
  if (parsed.help_requested()) {
    PrintOut(absl::StrCat(FormatHelp(command.spec, GlobalOptions()), "\n",
                          ExitCodeHelp()));
    return absl::OkStatus();
  }

  GC_ASSIGN_OR_RETURN(const ClientOptions client,
                      ResolveClientOptions(parsed, before));
  return command.run(client, parsed);
}

absl::Status Run(const std::vector<std::string>& args) {
  const std::vector<Command> commands = AllCommands();

  const size_t leading = CountLeadingGlobalWords(args);
  const CommandSpec global_spec = {"", "", "", "", GlobalOptions()};
  GC_ASSIGN_OR_RETURN(
      const ParsedArgs before,
      ParseArgs(global_spec, std::vector<std::string>(args.begin(),
                                                      args.begin() + leading)));

  size_t start = leading;
  if (start >= args.size()) {
    return UsageError("no command given; see 'gridcastctl --help'");
  }
  GC_ASSIGN_OR_RETURN(const bool answered, AnswerHelp(commands, args, start));
  if (answered) return absl::OkStatus();

  GC_ASSIGN_OR_RETURN(const Command* command,
                      FindCommand(commands, args, &start));
  return RunCommand(*command,
                    std::vector<std::string>(args.begin() + start, args.end()),
                    before);
}

int ReportAndExitCode(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  std::cout.flush();
  std::cerr << "gridcastctl: " << status.message() << "\n";
  return ExitCodeOf(status);
}

}  // namespace
}  // namespace gridcast::ctl

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return gridcast::ctl::ReportAndExitCode(gridcast::ctl::Run(args));
}
