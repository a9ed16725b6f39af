// The model store: publishing and reading versions, datasets, and the
// guarantees readers rely on (no partial, duplicate or corrupt version is
// ever served as good).
#include "common/store/model_store.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/store/files.h"
#include "common/store/sha256.h"
#include "tests/test_support.h"

namespace gridcast {
namespace {

using google::protobuf::util::MessageDifferencer;
using store::v1::Manifest;
using store::v1::StoredSeries;
using testing::TempDir;

namespace fs = std::filesystem;

std::unique_ptr<ModelStore> OpenStore(const std::string& root,
                                      bool read_only = false) {
  absl::StatusOr<std::unique_ptr<ModelStore>> store =
      ModelStore::Open(root, read_only);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return *std::move(store);
}

// A manifest with every field set, so that a round trip proves each one.
Manifest FullManifest(const std::string& model) {
  Manifest manifest;
  manifest.set_model(model);
  v1::ArchitectureSpec* spec = manifest.mutable_spec();
  spec->set_input_window(168);
  spec->set_horizon(24);
  spec->add_quantiles(0.1);
  spec->add_quantiles(0.9);
  spec->mutable_mlp()->add_hidden_sizes(256);
  spec->mutable_mlp()->add_hidden_sizes(128);
  spec->mutable_mlp()->set_dropout(0.1);
  manifest.mutable_normalisation()->set_mean(1234.5678);
  manifest.mutable_normalisation()->set_stddev(0.1 + 0.2);
  manifest.add_features("load");
  manifest.add_features("hour_of_day_sin");
  manifest.set_resolution_seconds(3600);
  v1::Evaluation* evaluation = manifest.mutable_evaluation();
  evaluation->mutable_model()->set_mae(12.25);
  evaluation->mutable_model()->set_rmse(15.5);
  evaluation->mutable_model()->set_mape(3.75);
  evaluation->mutable_model()->set_windows(10);
  evaluation->mutable_model()->set_points(240);
  evaluation->mutable_seasonal_naive()->set_mae(20.0);
  evaluation->set_season_points(24);
  evaluation->set_tail_start_time(1704067200);
  evaluation->set_tail_end_time(1704153600);
  evaluation->set_beats_baseline(true);
  manifest.mutable_lineage()->add_dataset_ids("ds-0123456789abcdef");
  manifest.mutable_lineage()->mutable_parent()->set_name(model);
  manifest.mutable_lineage()->mutable_parent()->set_version(2);
  manifest.mutable_lineage()->set_job_id("job-7");
  manifest.set_create_time(1704067200);
  manifest.set_torch_version("2.0.1");
  return manifest;
}

Manifest MinimalManifest(const std::string& model) {
  Manifest manifest;
  manifest.set_model(model);
  return manifest;
}

// Weights that differ per writer and publish, and long enough that a torn
// write would be caught by the checksum.
std::string DistinctWeights(int writer, int publish) {
  const std::string label =
      absl::StrCat("writer=", writer, " publish=", publish, ";");
  std::string weights;
  while (weights.size() < 16 * 1024) weights += label;
  return weights;
}

void OverwriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  REQUIRE(out.good());
}

void FlipFirstByte(const std::string& path) {
  absl::StatusOr<std::string> content = ReadFileToString(path);
  REQUIRE(content.ok());
  REQUIRE(!content->empty());
  (*content)[0] = static_cast<char>((*content)[0] ^ 0x01);
  OverwriteFile(path, *content);
}

std::string ManifestJson(const Manifest& manifest) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  REQUIRE(google::protobuf::util::MessageToJsonString(manifest, &json, options)
              .ok());
  return json;
}

std::vector<std::string> EntriesStartingWith(const std::string& directory,
                                             const std::string& prefix) {
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(directory);
  REQUIRE(names.ok());
  std::vector<std::string> matching;
  for (const std::string& name : *names) {
    if (absl::StartsWith(name, prefix)) matching.push_back(name);
  }
  return matching;
}

std::vector<int64_t> OneTo(int64_t last) {
  std::vector<int64_t> versions;
  for (int64_t v = 1; v <= last; ++v) versions.push_back(v);
  return versions;
}

// Every version of `model` is 1..N without gaps, reads back whole with a
// matching checksum, carries one of `published` and no two carry the same;
// no staging directory is left behind.
void RequireExactlyThesePublished(const ModelStore& store,
                                  const std::string& model,
                                  const std::set<std::string>& published) {
  absl::StatusOr<std::vector<int64_t>> versions = store.ListVersions(model);
  REQUIRE(versions.ok());
  REQUIRE(*versions == OneTo(static_cast<int64_t>(published.size())));

  std::set<std::string> seen;
  for (int64_t version : *versions) {
    absl::StatusOr<VersionArtifacts> artifacts =
        store.ReadVersion(model, version);
    INFO("version " << version << ": " << artifacts.status().ToString());
    REQUIRE(artifacts.ok());
    CHECK(artifacts->manifest.weights_sha256() ==
          Sha256Hex(artifacts->weights));
    CHECK(published.count(artifacts->weights) == 1);
    CHECK(seen.insert(artifacts->weights).second);
  }
  CHECK(seen.size() == published.size());
  CHECK(EntriesStartingWith(store.ModelPath(model), ".tmp-").empty());
}

StoredSeries HourlySeries(const std::string& series_id, int hours,
                          uint32_t seed) {
  StoredSeries series;
  v1::Dataset* dataset = series.mutable_dataset();
  dataset->set_series_id(series_id);
  dataset->set_resolution_seconds(3600);
  dataset->set_start_time(testing::kSyntheticStartTime);
  dataset->set_end_time(testing::kSyntheticStartTime + (hours - 1) * 3600);
  dataset->set_points(hours);
  dataset->add_covariate_names("temperature");
  v1::Repair* repair = dataset->add_repairs();
  repair->set_kind(v1::Repair::KIND_GAP_INTERPOLATED);
  repair->set_start_time(testing::kSyntheticStartTime + 7200);
  repair->set_points(2);
  dataset->add_holidays(testing::kSyntheticStartTime);

  v1::Covariate* temperature = series.add_covariates();
  temperature->set_name("temperature");
  for (double load : testing::SyntheticHourlyLoad(hours, seed)) {
    series.add_values(load);
    temperature->add_values(20.0 - load);
  }
  return series;
}

void RequireCode(const absl::Status& status, absl::StatusCode code) {
  INFO(status.ToString());
  REQUIRE(status.code() == code);
}

void RequireMessageContains(const absl::Status& status,
                            const std::string& text) {
  INFO(status.ToString());
  REQUIRE(absl::StrContains(status.message(), text));
}

TEST_CASE(
    "a published version reads back with every manifest field and "
    "its weights") {
  TempDir root;
  auto store = OpenStore(root.path());
  const Manifest manifest = FullManifest("feeder-17");
  const std::string weights = DistinctWeights(0, 0);

  absl::StatusOr<int64_t> version = store->PublishVersion(manifest, weights);
  RequireCode(version.status(), absl::StatusCode::kOk);
  REQUIRE(*version == 1);

  absl::StatusOr<VersionArtifacts> artifacts =
      store->ReadVersion("feeder-17", 1);
  RequireCode(artifacts.status(), absl::StatusCode::kOk);
  Manifest expected = manifest;
  expected.set_format_version(1);
  expected.set_weights_sha256(Sha256Hex(weights));
  std::string difference;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&difference);
  INFO(difference);
  CHECK(differencer.Compare(expected, artifacts->manifest));
  CHECK(artifacts->version == 1);
  CHECK(artifacts->weights == weights);

  // A second store on the same root, as inference opens it, sees the same.
  auto reader = OpenStore(root.path(), /*read_only=*/true);
  absl::StatusOr<Manifest> read_back = reader->ReadManifest("feeder-17", 1);
  RequireCode(read_back.status(), absl::StatusCode::kOk);
  CHECK(MessageDifferencer::Equals(expected, *read_back));
}

TEST_CASE("publishing fills the checksum, format version and create time") {
  TempDir root;
  auto store = OpenStore(root.path());
  Manifest manifest = MinimalManifest("m");
  manifest.set_weights_sha256("forged");

  REQUIRE(store->PublishVersion(manifest, "weights").ok());

  absl::StatusOr<Manifest> read_back = store->ReadManifest("m", 1);
  RequireCode(read_back.status(), absl::StatusCode::kOk);
  CHECK(read_back->weights_sha256() == Sha256Hex("weights"));
  CHECK(read_back->format_version() == 1);
  CHECK(read_back->create_time() > 1704067200);
}

TEST_CASE("versions of a model are numbered 1, 2, 3 in publishing order") {
  TempDir root;
  auto store = OpenStore(root.path());

  for (int publish = 0; publish < 3; ++publish) {
    absl::StatusOr<int64_t> version = store->PublishVersion(
        MinimalManifest("feeder-1"), DistinctWeights(0, publish));
    RequireCode(version.status(), absl::StatusCode::kOk);
    CHECK(*version == publish + 1);
  }

  absl::StatusOr<std::vector<int64_t>> versions =
      store->ListVersions("feeder-1");
  REQUIRE(versions.ok());
  CHECK(*versions == std::vector<int64_t>{1, 2, 3});
  absl::StatusOr<std::vector<std::string>> models = store->ListModels();
  REQUIRE(models.ok());
  CHECK(*models == std::vector<std::string>{"feeder-1"});
  CHECK(store->ModelExists("feeder-1"));
  CHECK_FALSE(store->ModelExists("feeder-2"));
}

TEST_CASE("versions sort as numbers, and only positive integers count") {
  TempDir root;
  auto store = OpenStore(root.path());
  for (int publish = 0; publish < 10; ++publish) {
    REQUIRE(
        store->PublishVersion(MinimalManifest("m"), DistinctWeights(0, publish))
            .ok());
  }
  for (const char* stray :
       {"0", "01", "+11", "-3", "x", "11a", "99999999999999999999"}) {
    REQUIRE(CreateDirectories(store->ModelPath("m") + "/" + stray).ok());
  }

  absl::StatusOr<std::vector<int64_t>> versions = store->ListVersions("m");
  REQUIRE(versions.ok());
  CHECK(*versions == OneTo(10));

  absl::StatusOr<int64_t> next =
      store->PublishVersion(MinimalManifest("m"), DistinctWeights(0, 10));
  REQUIRE(next.ok());
  CHECK(*next == 11);
}

TEST_CASE("an unknown model is NOT_FOUND and one without versions is empty") {
  TempDir root;
  auto store = OpenStore(root.path());

  absl::StatusOr<std::vector<int64_t>> missing = store->ListVersions("ghost");
  RequireCode(missing.status(), absl::StatusCode::kNotFound);
  RequireMessageContains(missing.status(), "model ghost not found");

  REQUIRE(CreateDirectories(store->ModelPath("empty")).ok());
  absl::StatusOr<std::vector<int64_t>> empty = store->ListVersions("empty");
  RequireCode(empty.status(), absl::StatusCode::kOk);
  CHECK(empty->empty());

  RequireCode(store->ReadVersion("ghost", 1).status(),
              absl::StatusCode::kNotFound);
  RequireCode(store->ReadVersion("empty", 1).status(),
              absl::StatusCode::kNotFound);
  RequireCode(store->ReadVersion("empty", 0).status(),
              absl::StatusCode::kInvalidArgument);
}

TEST_CASE(
    "concurrent publishing threads never yield a partial or duplicate "
    "version") {
  TempDir root;
  auto store = OpenStore(root.path());
  constexpr int kThreads = 8;
  constexpr int kPublishesEach = 10;

  std::vector<std::vector<absl::Status>> failures(kThreads);
  std::vector<std::thread> threads;
  for (int writer = 0; writer < kThreads; ++writer) {
    threads.emplace_back([&, writer] {
      for (int publish = 0; publish < kPublishesEach; ++publish) {
        absl::StatusOr<int64_t> version = store->PublishVersion(
            MinimalManifest("shared"), DistinctWeights(writer, publish));
        if (!version.ok()) failures[writer].push_back(version.status());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::set<std::string> published;
  for (int writer = 0; writer < kThreads; ++writer) {
    for (const absl::Status& failure : failures[writer]) {
      FAIL_CHECK(failure.ToString());
    }
    for (int publish = 0; publish < kPublishesEach; ++publish) {
      published.insert(DistinctWeights(writer, publish));
    }
  }
  RequireExactlyThesePublished(*store, "shared", published);
}

// Each child opens its own store, as separate trainer processes on one
// volume would, and reports through its exit code only: a forked child must
// not run the test framework.
void PublishFromChildProcess(const std::string& root, int writer,
                             int publishes) {
  absl::StatusOr<std::unique_ptr<ModelStore>> store =
      ModelStore::Open(root, /*read_only=*/false);
  if (!store.ok()) _exit(2);
  for (int publish = 0; publish < publishes; ++publish) {
    absl::StatusOr<int64_t> version = (*store)->PublishVersion(
        MinimalManifest("shared"), DistinctWeights(writer, publish));
    if (!version.ok()) _exit(1);
  }
  _exit(0);
}

TEST_CASE(
    "concurrent publishing processes never yield a partial or "
    "duplicate version") {
  TempDir root;
  constexpr int kProcesses = 6;
  constexpr int kPublishesEach = 10;

  std::vector<pid_t> children;
  for (int writer = 0; writer < kProcesses; ++writer) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) PublishFromChildProcess(root.path(), writer, kPublishesEach);
    children.push_back(pid);
  }
  for (pid_t child : children) {
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

  std::set<std::string> published;
  for (int writer = 0; writer < kProcesses; ++writer) {
    for (int publish = 0; publish < kPublishesEach; ++publish) {
      published.insert(DistinctWeights(writer, publish));
    }
  }
  auto store = OpenStore(root.path(), /*read_only=*/true);
  RequireExactlyThesePublished(*store, "shared", published);
}

TEST_CASE(
    "a version whose weights were corrupted is DATA_LOSS naming the "
    "checksums") {
  TempDir root;
  auto store = OpenStore(root.path());
  REQUIRE(store->PublishVersion(MinimalManifest("m"), "weights").ok());

  FlipFirstByte(store->VersionPath("m", 1) + "/weights.pt");

  absl::StatusOr<VersionArtifacts> artifacts = store->ReadVersion("m", 1);
  RequireCode(artifacts.status(), absl::StatusCode::kDataLoss);
  RequireMessageContains(artifacts.status(), "weights.pt sha256");
  RequireMessageContains(artifacts.status(),
                         "does not match manifest " + Sha256Hex("weights"));
}

TEST_CASE("a version missing a file is DATA_LOSS naming the file") {
  TempDir root;
  auto store = OpenStore(root.path());
  REQUIRE(store->PublishVersion(MinimalManifest("m"), "weights").ok());
  REQUIRE(store->PublishVersion(MinimalManifest("m"), "weights").ok());

  REQUIRE(fs::remove(store->VersionPath("m", 1) + "/manifest.json"));
  REQUIRE(fs::remove(store->VersionPath("m", 2) + "/weights.pt"));

  absl::StatusOr<VersionArtifacts> no_manifest = store->ReadVersion("m", 1);
  RequireCode(no_manifest.status(), absl::StatusCode::kDataLoss);
  RequireMessageContains(no_manifest.status(),
                         "version 1 of model m: manifest.json missing");
  RequireCode(store->ReadManifest("m", 1).status(),
              absl::StatusCode::kDataLoss);

  absl::StatusOr<VersionArtifacts> no_weights = store->ReadVersion("m", 2);
  RequireCode(no_weights.status(), absl::StatusCode::kDataLoss);
  RequireMessageContains(no_weights.status(),
                         "version 2 of model m: weights.pt missing");
}

TEST_CASE("a manifest that is not JSON is DATA_LOSS naming the file") {
  TempDir root;
  auto store = OpenStore(root.path());
  REQUIRE(store->PublishVersion(MinimalManifest("m"), "weights").ok());
  OverwriteFile(store->VersionPath("m", 1) + "/manifest.json", "{\"model\":");

  absl::StatusOr<Manifest> manifest = store->ReadManifest("m", 1);
  RequireCode(manifest.status(), absl::StatusCode::kDataLoss);
  RequireMessageContains(manifest.status(), "manifest.json");
}

TEST_CASE("a manifest of another model is DATA_LOSS") {
  TempDir root;
  auto store = OpenStore(root.path());
  REQUIRE(store->PublishVersion(MinimalManifest("m"), "weights").ok());
  Manifest foreign = *store->ReadManifest("m", 1);
  foreign.set_model("other");
  OverwriteFile(store->VersionPath("m", 1) + "/manifest.json",
                ManifestJson(foreign));

  absl::StatusOr<Manifest> manifest = store->ReadManifest("m", 1);
  RequireCode(manifest.status(), absl::StatusCode::kDataLoss);
  RequireMessageContains(manifest.status(), "other");
}

TEST_CASE("a manifest of a newer format version is refused") {
  TempDir root;
  auto store = OpenStore(root.path());
  REQUIRE(store->PublishVersion(MinimalManifest("m"), "weights").ok());
  Manifest newer = *store->ReadManifest("m", 1);
  newer.set_format_version(2);
  OverwriteFile(store->VersionPath("m", 1) + "/manifest.json",
                ManifestJson(newer));

  absl::StatusOr<VersionArtifacts> artifacts = store->ReadVersion("m", 1);
  RequireCode(artifacts.status(), absl::StatusCode::kFailedPrecondition);
  RequireMessageContains(artifacts.status(), "format_version 2");

  // Nor may a writer publish a layout its own readers refuse.
  newer.set_format_version(2);
  RequireCode(store->PublishVersion(newer, "weights").status(),
              absl::StatusCode::kInvalidArgument);
}

TEST_CASE("a manifest with fields from a newer writer stays readable") {
  TempDir root;
  auto store = OpenStore(root.path());
  REQUIRE(store->PublishVersion(MinimalManifest("m"), "weights").ok());
  std::string json = ManifestJson(*store->ReadManifest("m", 1));
  json.insert(1, "\"added_later\": {\"x\": 1}, ");
  OverwriteFile(store->VersionPath("m", 1) + "/manifest.json", json);

  RequireCode(store->ReadVersion("m", 1).status(), absl::StatusCode::kOk);
}

TEST_CASE("datasets round-trip through put, get, read, list and delete") {
  TempDir root;
  auto store = OpenStore(root.path());
  const StoredSeries series = HourlySeries("feeder-17", 72, 1);

  absl::StatusOr<v1::Dataset> stored = store->PutDataset(series);
  RequireCode(stored.status(), absl::StatusCode::kOk);
  CHECK(absl::StartsWith(stored->id(), "ds-"));
  CHECK(stored->id().size() == 3 + 16);
  CHECK(stored->create_time() > 0);
  CHECK(stored->series_id() == "feeder-17");

  absl::StatusOr<v1::Dataset> got = store->GetDataset(stored->id());
  RequireCode(got.status(), absl::StatusCode::kOk);
  CHECK(MessageDifferencer::Equals(*got, *stored));

  absl::StatusOr<StoredSeries> read = store->ReadDataset(stored->id());
  RequireCode(read.status(), absl::StatusCode::kOk);
  StoredSeries expected = series;
  *expected.mutable_dataset() = *stored;
  CHECK(MessageDifferencer::Equals(*read, expected));

  absl::StatusOr<v1::Dataset> other =
      store->PutDataset(HourlySeries("feeder-18", 48, 2));
  REQUIRE(other.ok());
  absl::StatusOr<std::vector<v1::Dataset>> listed = store->ListDatasets();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].id() < (*listed)[1].id());
  CHECK(std::set<std::string>{(*listed)[0].id(), (*listed)[1].id()} ==
        std::set<std::string>{stored->id(), other->id()});

  RequireCode(store->DeleteDataset(stored->id()), absl::StatusCode::kOk);
  absl::StatusOr<v1::Dataset> gone = store->GetDataset(stored->id());
  RequireCode(gone.status(), absl::StatusCode::kNotFound);
  RequireMessageContains(gone.status(),
                         "dataset " + stored->id() + " not found");
  RequireCode(store->ReadDataset(stored->id()).status(),
              absl::StatusCode::kNotFound);
  RequireCode(store->DeleteDataset(stored->id()), absl::StatusCode::kNotFound);
  listed = store->ListDatasets();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].id() == other->id());
  CHECK(EntriesStartingWith(root.path() + "/datasets", ".").empty());
}

TEST_CASE("storing the same series twice yields the same dataset") {
  TempDir root;
  auto store = OpenStore(root.path());
  const StoredSeries series = HourlySeries("feeder-17", 48, 1);

  absl::StatusOr<v1::Dataset> first = store->PutDataset(series);
  REQUIRE(first.ok());
  // Fields the store assigns do not take part in the id.
  StoredSeries again = series;
  again.mutable_dataset()->set_id("ds-whatever");
  again.mutable_dataset()->set_create_time(42);
  absl::StatusOr<v1::Dataset> second = store->PutDataset(again);
  RequireCode(second.status(), absl::StatusCode::kOk);
  CHECK(MessageDifferencer::Equals(*first, *second));

  StoredSeries changed = series;
  changed.set_values(0, changed.values(0) + 1.0);
  absl::StatusOr<v1::Dataset> third = store->PutDataset(changed);
  REQUIRE(third.ok());
  CHECK(third->id() != first->id());

  absl::StatusOr<std::vector<v1::Dataset>> listed = store->ListDatasets();
  REQUIRE(listed.ok());
  CHECK(listed->size() == 2);
  CHECK(EntriesStartingWith(root.path() + "/datasets", ".").empty());
}

TEST_CASE("an unreadable dataset is left out of the listing") {
  TempDir root;
  auto store = OpenStore(root.path());
  absl::StatusOr<v1::Dataset> good =
      store->PutDataset(HourlySeries("a", 24, 1));
  absl::StatusOr<v1::Dataset> bad = store->PutDataset(HourlySeries("b", 24, 2));
  REQUIRE(good.ok());
  REQUIRE(bad.ok());
  OverwriteFile(root.path() + "/datasets/" + bad->id() + "/dataset.json",
                "not json");

  RequireCode(store->GetDataset(bad->id()).status(),
              absl::StatusCode::kDataLoss);
  absl::StatusOr<std::vector<v1::Dataset>> listed = store->ListDatasets();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].id() == good->id());
}

TEST_CASE("invalid names are INVALID_ARGUMENT and create nothing") {
  TempDir root;
  auto store = OpenStore(root.path());

  for (const char* model : {"../x", "", ".hidden", "a/b", "-flag"}) {
    absl::StatusOr<int64_t> version =
        store->PublishVersion(MinimalManifest(model), "weights");
    RequireCode(version.status(), absl::StatusCode::kInvalidArgument);
    RequireMessageContains(version.status(), "model=");
  }
  RequireCode(store->ReadVersion("../x", 1).status(),
              absl::StatusCode::kInvalidArgument);
  RequireCode(store->ListVersions("../x").status(),
              absl::StatusCode::kInvalidArgument);
  RequireCode(store->GetDataset("../datasets").status(),
              absl::StatusCode::kInvalidArgument);
  RequireCode(store->ReadDataset("../models").status(),
              absl::StatusCode::kInvalidArgument);
  RequireCode(store->DeleteDataset(".."), absl::StatusCode::kInvalidArgument);

  absl::StatusOr<std::vector<std::string>> top = ListDirectory(root.path());
  REQUIRE(top.ok());
  CHECK(*top == std::vector<std::string>{"datasets", "models"});
  CHECK(ListDirectory(root.path() + "/models")->empty());
  CHECK(ListDirectory(root.path() + "/datasets")->empty());
}

TEST_CASE("a read-only store creates nothing and refuses every write") {
  TempDir parent;
  const std::string root = parent.path() + "/not-yet";
  auto reader = OpenStore(root, /*read_only=*/true);
  CHECK_FALSE(fs::exists(root));
  CHECK(reader->ListModels()->empty());
  CHECK(reader->ListDatasets()->empty());

  absl::StatusOr<int64_t> version =
      reader->PublishVersion(MinimalManifest("m"), "weights");
  RequireCode(version.status(), absl::StatusCode::kFailedPrecondition);
  RequireMessageContains(version.status(), "read-only");
  RequireCode(reader->PutDataset(HourlySeries("a", 24, 1)).status(),
              absl::StatusCode::kFailedPrecondition);
  RequireCode(reader->DeleteDataset("ds-0000000000000000"),
              absl::StatusCode::kFailedPrecondition);
  CHECK_FALSE(fs::exists(root));

  // Once a writer has published, the reader sees it without reopening.
  auto writer = OpenStore(root);
  REQUIRE(writer->PublishVersion(MinimalManifest("m"), "weights").ok());
  CHECK(reader->ReadVersion("m", 1).ok());
  CHECK(*reader->ListModels() == std::vector<std::string>{"m"});
}

TEST_CASE("staging and deleted directories are never listed") {
  TempDir root;
  auto store = OpenStore(root.path());
  REQUIRE(store->PublishVersion(MinimalManifest("m"), "weights").ok());
  absl::StatusOr<v1::Dataset> dataset =
      store->PutDataset(HourlySeries("a", 24, 1));
  REQUIRE(dataset.ok());

  // What a publisher that crashed mid-write would leave behind.
  const std::string models = root.path() + "/models";
  const std::string datasets = root.path() + "/datasets";
  REQUIRE(MakeTempDirectory(store->ModelPath("m")).ok());
  REQUIRE(CreateDirectories(store->ModelPath("m") + "/.tmp-7").ok());
  REQUIRE(CreateDirectories(models + "/.tmp-abc").ok());
  REQUIRE(MakeTempDirectory(datasets).ok());
  REQUIRE(CreateDirectories(datasets + "/.tmp-deleted-" + dataset->id() +
                            "-0123456789abcdef")
              .ok());

  CHECK(*store->ListVersions("m") == std::vector<int64_t>{1});
  CHECK(*store->ListModels() == std::vector<std::string>{"m"});
  absl::StatusOr<std::vector<v1::Dataset>> listed = store->ListDatasets();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].id() == dataset->id());

  absl::StatusOr<int64_t> next =
      store->PublishVersion(MinimalManifest("m"), "more weights");
  REQUIRE(next.ok());
  CHECK(*next == 2);
}

TEST_CASE("file helpers refuse to overwrite and name the path") {
  TempDir root;
  const std::string file = root.path() + "/file";
  const std::string other = root.path() + "/other";

  absl::StatusOr<std::string> missing = ReadFileToString(file);
  RequireCode(missing.status(), absl::StatusCode::kNotFound);
  RequireMessageContains(missing.status(), file);

  REQUIRE(WriteFileDurably(file, "first").ok());
  RequireCode(WriteFileDurably(file, "second"),
              absl::StatusCode::kAlreadyExists);
  CHECK(*ReadFileToString(file) == "first");

  REQUIRE(WriteFileDurably(other, "other").ok());
  RequireCode(RenameNoReplace(other, file), absl::StatusCode::kAlreadyExists);
  CHECK(*ReadFileToString(file) == "first");
  CHECK(*ReadFileToString(other) == "other");

  const std::string full = root.path() + "/full";
  REQUIRE(CreateDirectories(full).ok());
  REQUIRE(WriteFileDurably(full + "/inside", "x").ok());
  absl::StatusOr<std::string> staging = MakeTempDirectory(root.path());
  REQUIRE(staging.ok());
  RequireCode(RenameNoReplace(*staging, full),
              absl::StatusCode::kAlreadyExists);

  REQUIRE(RenameNoReplace(*staging, root.path() + "/moved").ok());
  CHECK(*IsDirectory(root.path() + "/moved"));
  CHECK_FALSE(*IsDirectory(*staging));
  REQUIRE(FsyncDirectory(root.path()).ok());
  REQUIRE(RemoveTree(full).ok());
  REQUIRE(RemoveTree(full).ok());
  CHECK_FALSE(fs::exists(full));
}

TEST_CASE("Sha256Hex matches the FIPS 180-2 test vectors") {
  CHECK(Sha256Hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace gridcast
