// The store check (common/store/store_check.h and the gridcast-store
// tool): leftovers of crashed writes are found and removed, damaged
// published data is found and never removed, and nothing a running trainer
// may be writing is touched.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "common/store/files.h"
#include "common/store/job_store.h"
#include "common/store/model_store.h"
#include "common/store/store_check.h"
#include "common/store/store_json.h"
#include "tests/test_support.h"

namespace gridcast::testing {
namespace {

namespace fs = std::filesystem;
using Kind = StoreFinding::Kind;

std::unique_ptr<ModelStore> OpenStore(const std::string& root) {
  auto store = ModelStore::Open(root, /*read_only=*/false);
  REQUIRE(store.ok());
  return *std::move(store);
}

store::v1::Manifest Manifest(const std::string& model) {
  store::v1::Manifest manifest;
  manifest.set_model(model);
  manifest.mutable_spec()->set_input_window(24);
  manifest.mutable_spec()->set_horizon(6);
  return manifest;
}

std::string PutDataset(ModelStore& store) {
  store::v1::StoredSeries series;
  series.mutable_dataset()->set_series_id("feeder-1");
  series.mutable_dataset()->set_resolution_seconds(3600);
  series.mutable_dataset()->set_points(3);
  series.add_values(1);
  series.add_values(2);
  series.add_values(3);
  auto dataset = store.PutDataset(series);
  REQUIRE(dataset.ok());
  return dataset->id();
}

// Every regular file below `root` with its content.
std::map<std::string, std::string> Snapshot(const std::string& root) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) {
      files[entry.path().string()] = *ReadFileToString(entry.path().string());
    }
  }
  return files;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  REQUIRE(CreateDirectories(fs::path(path).parent_path().string()).ok());
  REQUIRE(ReplaceFileAtomically(path, bytes).ok());
}

void WriteJob(const std::string& root, const std::string& id,
              v1::JobState state, int checkpoint_epoch = 0,
              const std::string& checkpoint_sha = "") {
  auto jobs = JobStore::Open(root);
  REQUIRE(jobs.ok());
  store::v1::JobRecord record;
  record.mutable_job()->set_id(id);
  record.mutable_job()->set_state(state);
  record.set_checkpoint_epoch(checkpoint_epoch);
  record.set_checkpoint_sha256(checkpoint_sha);
  REQUIRE((*jobs)->Save(record).ok());
}

int StoreTool(const std::string& arguments) {
  const std::string command =
      absl::StrCat(GRIDCAST_BINARY_DIR, "/tools/gridcast-store ", arguments,
                   " > /dev/null 2>&1");
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

// A store with one good version, one good dataset, one running job with a
// good checkpoint, and every kind of leftover a crash can leave.
struct CrashedStore {
  TempDir dir;
  std::string root() const { return dir.path(); }
  std::map<std::string, std::string> published;

  CrashedStore() {
    auto store = OpenStore(root());
    REQUIRE(store->PublishVersion(Manifest("m"), "weights").ok());
    const std::string dataset = PutDataset(*store);
    auto jobs = JobStore::Open(root());
    REQUIRE(jobs.ok());
    const auto sha = (*jobs)->WriteCheckpoint("job-running", 2, "state2");
    REQUIRE(sha.ok());
    WriteJob(root(), "job-running", v1::JOB_STATE_RUNNING, 2, *sha);
    published = Snapshot(root());

    // Staging of a version and of an upload, a half-deleted dataset.
    WriteFile(store->ModelPath("m") + "/.tmp-Ab12Cd/weights.pt", "part");
    WriteFile(root() + "/datasets/.tmp-Zz99Yy/series.pb", "part");
    WriteFile(root() + "/datasets/.tmp-deleted-" + dataset + "-00ff/series.pb",
              "old");
    // A record replacement that never reached its rename.
    WriteFile(root() + "/jobs/.tmp-job-running.json-Q1w2E3", "{");
    // A checkpoint written but never recorded, and work of ended or
    // unknown jobs.
    WriteFile(root() + "/jobs/job-running.work/epoch-3.ckpt", "state3");
    WriteJob(root(), "job-done", v1::JOB_STATE_SUCCEEDED);
    WriteFile(root() + "/jobs/job-done.work/epoch-5.ckpt", "state5");
    WriteFile(root() + "/jobs/job-ghost.work/epoch-1.ckpt", "state1");
  }
};

TEST_CASE(
    "leftovers of crashed writes are reported, and cleaning removes them "
    "and nothing else",
    "[storecheck]") {
  CrashedStore crashed;
  const auto before = Snapshot(crashed.root());

  auto report = CheckStore(crashed.root(), StoreCheckOptions());
  REQUIRE(report.ok());
  CHECK(report->Count(Kind::kLeftover) == 7);
  CHECK(report->Count(Kind::kDamaged) == 0);
  CHECK(Snapshot(crashed.root()) == before);  // Checking changes nothing.
  CHECK(StoreTool("check --store " + crashed.root()) == 3);

  CHECK(StoreTool("clean --store " + crashed.root()) == 0);
  // The job record the test wrote for "job-done" stays; all else is what
  // was published before the leftovers.
  auto after = Snapshot(crashed.root());
  after.erase(crashed.root() + "/jobs/job-done.json");
  after.erase(TrainerLockPath(crashed.root()));
  CHECK(after == crashed.published);
  CHECK(StoreTool("check --store " + crashed.root()) == 0);
}

TEST_CASE("damaged published data is reported and never removed",
          "[storecheck]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  for (int i = 0; i < 4; ++i) {
    REQUIRE(store->PublishVersion(Manifest("m"), "weights").ok());
  }
  const std::string dataset = PutDataset(*store);
  REQUIRE(fs::remove(store->VersionPath("m", 1) + "/weights.pt"));
  WriteFile(store->VersionPath("m", 2) + "/weights.pt", "weightz");
  REQUIRE(fs::remove(store->VersionPath("m", 3) + "/manifest.json"));
  WriteFile(store->VersionPath("m", 3) + "/manifest.json", "not json");
  WriteFile(dir.path() + "/datasets/" + dataset + "/series.pb", "\xff\xff");
  const auto before = Snapshot(dir.path());

  auto report = CheckStore(dir.path(), StoreCheckOptions());
  REQUIRE(report.ok());
  CHECK(report->Count(Kind::kDamaged) == 4);
  std::string reasons;
  for (const auto& finding : report->findings) reasons += finding.reason + "\n";
  CHECK_THAT(reasons, Catch::Contains("weights.pt missing"));
  CHECK_THAT(reasons, Catch::Contains("does not match manifest"));
  CHECK_THAT(reasons, Catch::Contains("manifest.json is not a valid"));
  CHECK_THAT(reasons, Catch::Contains("series.pb is not a valid"));

  CHECK(StoreTool("check --store " + dir.path()) == 1);
  CHECK(StoreTool("clean --store " + dir.path()) == 1);
  auto after = Snapshot(dir.path());
  after.erase(TrainerLockPath(dir.path()));
  CHECK(after == before);
}

TEST_CASE(
    "while a trainer runs, the check skips what it may be writing and "
    "cleaning is refused",
    "[storecheck]") {
  CrashedStore crashed;
  auto lock = FileLock::TryAcquire(TrainerLockPath(crashed.root()));
  REQUIRE(lock.ok());

  auto report = CheckStore(crashed.root(), StoreCheckOptions());
  REQUIRE(report.ok());
  CHECK(report->trainer_running);
  CHECK(report->Count(Kind::kLeftover) == 0);

  StoreCheckOptions clean;
  clean.remove_leftovers = true;
  auto refused = CheckStore(crashed.root(), clean);
  CHECK(absl::IsFailedPrecondition(refused.status()));
  CHECK(StoreTool("clean --store " + crashed.root()) == 4);
  CHECK(fs::exists(crashed.root() + "/datasets/.tmp-Zz99Yy"));
}

TEST_CASE("the store tool's usage errors and unreadable stores have codes",
          "[storecheck]") {
  TempDir dir;
  CHECK(StoreTool("") == 2);
  CHECK(StoreTool("fix --store " + dir.path()) == 2);
  CHECK(StoreTool("check") == 2);
  CHECK(StoreTool("check --store " + dir.path() + "/missing") == 4);
  CHECK(StoreTool("--help") == 0);
  // An empty folder is a store nobody has written yet: consistent.
  CHECK(StoreTool("check --store " + dir.path()) == 0);
}

}  // namespace
}  // namespace gridcast::testing
