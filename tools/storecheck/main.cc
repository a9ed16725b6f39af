// gridcast-store: checks a model store for what a crash left behind and
// for damaged published data, and removes the leftovers (only those).
//
//   gridcast-store check --store DIR [--skip-checksums]
//   gridcast-store clean --store DIR
//
// Exit codes, for scripts:
//   0  the store is consistent (after cleaning, for clean)
//   1  published data is damaged (see the lines marked "damaged")
//   2  usage error
//   3  check only: leftovers found that clean would remove
//   4  the store cannot be read, a trainer is running (clean), or a
//      leftover could not be removed
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/store/store_check.h"

namespace gridcast {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitDamaged = 1;
constexpr int kExitUsage = 2;
constexpr int kExitLeftovers = 3;
constexpr int kExitFailed = 4;

constexpr char kUsage[] =
    "usage: gridcast-store check --store DIR [--skip-checksums]\n"
    "       gridcast-store clean --store DIR\n"
    "\n"
    "check  reports leftovers of crashed writes (staging directories,\n"
    "       temporary files, stale checkpoints and work folders) and\n"
    "       damaged published data (versions or datasets with missing or\n"
    "       unreadable files, bad manifests, weights that fail their\n"
    "       SHA-256). Changes nothing.\n"
    "clean  removes the leftovers, never published data. Refuses while a\n"
    "       trainer runs on the store (a trainer cleans when it starts).\n"
    "\n"
    "--store defaults to $GRIDCAST_STORE.\n"
    "Exit: 0 consistent, 1 damaged data, 2 usage, 3 leftovers (check),\n"
    "      4 store unreadable, trainer running or removal failed.\n";

struct Arguments {
  std::string command;
  std::string store;
  bool skip_checksums = false;
};

bool ParseArguments(int argc, char** argv, Arguments* arguments,
                    std::string* error) {
  const char* environment = std::getenv("GRIDCAST_STORE");
  if (environment != nullptr) arguments->store = environment;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--store" && i + 1 < args.size()) {
      arguments->store = args[++i];
    } else if (arg.rfind("--store=", 0) == 0) {
      arguments->store = arg.substr(8);
    } else if (arg == "--skip-checksums") {
      arguments->skip_checksums = true;
    } else if (arguments->command.empty() && arg.rfind("--", 0) != 0) {
      arguments->command = arg;
    } else {
      *error = absl::StrCat("unexpected argument \"", arg, "\"");
      return false;
    }
  }
  if (arguments->command != "check" && arguments->command != "clean") {
    *error = arguments->command.empty()
                 ? "a command is required: check or clean"
                 : absl::StrCat("unknown command \"", arguments->command,
                                "\": use check or clean");
    return false;
  }
  if (arguments->store.empty()) {
    *error = "--store is required (or set GRIDCAST_STORE)";
    return false;
  }
  return true;
}

void PrintFinding(const StoreFinding& finding, bool cleaning) {
  const char* state = "";
  if (cleaning && finding.kind == StoreFinding::Kind::kLeftover) {
    state = finding.removed ? " (removed)" : " (NOT removed)";
  }
  std::printf("%-10s %s%s: %s\n", FindingKindName(finding.kind),
              finding.path.c_str(), state, finding.reason.c_str());
}

int Run(const Arguments& arguments) {
  StoreCheckOptions options;
  options.remove_leftovers = arguments.command == "clean";
  options.verify_checksums = !arguments.skip_checksums;

  const absl::StatusOr<StoreReport> report =
      CheckStore(arguments.store, options);
  if (!report.ok()) {
    std::fprintf(stderr, "gridcast-store: %s\n",
                 std::string(report.status().message()).c_str());
    return kExitFailed;
  }
  for (const StoreFinding& finding : report->findings) {
    PrintFinding(finding, options.remove_leftovers);
  }

  const int leftovers = report->Count(StoreFinding::Kind::kLeftover);
  const int remaining = report->RemainingLeftovers();
  const int damaged = report->Count(StoreFinding::Kind::kDamaged);
  std::printf(
      "%s: %d leftover(s)%s, %d damaged, %d unexpected%s\n",
      arguments.store.c_str(), leftovers,
      options.remove_leftovers
          ? absl::StrCat(" (", leftovers - remaining, " removed)").c_str()
          : "",
      damaged, report->Count(StoreFinding::Kind::kUnexpected),
      report->trainer_running
          ? "; a trainer is running, entries it may be writing "
            "were skipped"
          : "");

  if (options.remove_leftovers && remaining > 0) return kExitFailed;
  if (damaged > 0) return kExitDamaged;
  if (remaining > 0) return kExitLeftovers;
  return kExitOk;
}

}  // namespace
}  // namespace gridcast

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg == "help") {
      std::fputs(gridcast::kUsage, stdout);
      return gridcast::kExitOk;
    }
  }
  gridcast::Arguments arguments;
  std::string error;
  if (!gridcast::ParseArguments(argc, argv, &arguments, &error)) {
    std::fprintf(stderr, "gridcast-store: %s\n\n%s", error.c_str(),
                 gridcast::kUsage);
    return gridcast::kExitUsage;
  }
  return gridcast::Run(arguments);
}
