// gridcast-bench-store: prepares and churns a model store for the serving
// benchmark, from one version the trainer published (nothing here trains
// or links LibTorch):
//
//   gridcast-bench-store copy --store=S --from=bench-feeder
//       --prefix=bench-m- --count=1000
//     publishes the newest version of --from as version 1 of --count new
//     models bench-m-0000 ... (same network and weights, own manifests);
//
//   gridcast-bench-store republish --store=S --from=bench-feeder
//       --every_ms=5000 --times=12
//     publishes the newest version again as the next version, every
//     --every_ms, --times times: a trainer publishing under load.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/store/model_store.h"

ABSL_FLAG(std::string, store, "./store", "model store root");
ABSL_FLAG(std::string, from, "bench-feeder",
          "model whose newest version to use");
ABSL_FLAG(std::string, prefix, "bench-m-",
          "copy: name prefix of the new models");
ABSL_FLAG(int, count, 1000, "copy: how many models");
ABSL_FLAG(int, every_ms, 5000, "republish: interval");
ABSL_FLAG(int, times, 12, "republish: how many new versions");

namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "bench-store: %s\n", status.ToString().c_str());
  return EXIT_FAILURE;
}

absl::StatusOr<gridcast::VersionArtifacts> Newest(
    const gridcast::ModelStore& store, const std::string& model) {
  auto versions = store.ListVersions(model);
  if (!versions.ok()) return versions.status();
  if (versions->empty()) {
    return absl::NotFoundError(model + " has no published version");
  }
  return store.ReadVersion(model, versions->back());
}

int Copy(gridcast::ModelStore& store, const gridcast::VersionArtifacts& from) {
  const int count = absl::GetFlag(FLAGS_count);
  for (int i = 0; i < count; ++i) {
    gridcast::store::v1::Manifest manifest = from.manifest;
    manifest.set_model(
        absl::StrFormat("%s%04d", absl::GetFlag(FLAGS_prefix), i));
    manifest.set_create_time(0);  // PublishVersion stamps now.
    const auto version = store.PublishVersion(manifest, from.weights);
    if (!version.ok()) return Fail(version.status());
  }
  std::printf("published %d models %s0000..\n", count,
              absl::GetFlag(FLAGS_prefix).c_str());
  return EXIT_SUCCESS;
}

int Republish(gridcast::ModelStore& store,
              const gridcast::VersionArtifacts& from) {
  const absl::Duration every =
      absl::Milliseconds(absl::GetFlag(FLAGS_every_ms));
  absl::Time next = absl::Now() + every;
  for (int i = 0; i < absl::GetFlag(FLAGS_times); ++i) {
    absl::SleepFor(next - absl::Now());
    next += every;
    gridcast::store::v1::Manifest manifest = from.manifest;
    manifest.set_create_time(0);
    const auto version = store.PublishVersion(manifest, from.weights);
    if (!version.ok()) return Fail(version.status());
    std::printf("%s published %s version %lld\n",
                absl::FormatTime(absl::Now()).c_str(), manifest.model().c_str(),
                static_cast<long long>(*version));
    std::fflush(stdout);
  }
  return EXIT_SUCCESS;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "gridcast-bench-store copy|republish [flags]: benchmark store setup");
  const std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::fprintf(stderr,
                 "usage: gridcast-bench-store copy|republish [flags]\n");
    return 2;
  }
  const std::string command = args[1];

  auto store = gridcast::ModelStore::Open(absl::GetFlag(FLAGS_store),
                                          /*read_only=*/false);
  if (!store.ok()) return Fail(store.status());
  const auto from = Newest(**store, absl::GetFlag(FLAGS_from));
  if (!from.ok()) return Fail(from.status());

  if (command == "copy") return Copy(**store, *from);
  if (command == "republish") return Republish(**store, *from);
  std::fprintf(stderr, "unknown command %s: use copy or republish\n",
               command.c_str());
  return 2;
}
