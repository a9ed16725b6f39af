// Crash safety of the trainer: jobs survive restarts (graceful or not) and
// resume from their last epoch, and an upload that is cut off leaves
// nothing behind. Restarts happen in-process over one store folder; a
// crash is imitated by copying the store while the trainer is paused right
// after a checkpoint, which is exactly what kill -9 at that moment leaves.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <catch2/catch.hpp>

#include "absl/synchronization/notification.h"
#include "common/store/files.h"
#include "common/store/job_store.h"
#include "common/store/sha256.h"
#include "common/store/store_check.h"
#include "common/store/store_json.h"
#include "tests/test_support.h"
#include "trainer/trainer_server.h"

namespace gridcast::testing {
namespace {

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

constexpr char kModel[] = "feeder-31";

std::unique_ptr<TrainerServer> StartTrainer(
    const std::string& root, JobManagerOptions jobs = JobManagerOptions()) {
  TrainerServerOptions options;
  options.store_root = root;
  options.listen_address = "127.0.0.1:0";
  options.jobs = std::move(jobs);
  absl::StatusOr<std::unique_ptr<TrainerServer>> server =
      TrainerServer::Start(options);
  INFO(server.status().ToString());
  REQUIRE(server.ok());
  return *std::move(server);
}

std::unique_ptr<v1::TrainerService::Stub> StubFor(TrainerServer& server) {
  return v1::TrainerService::NewStub(grpc::CreateChannel(
      server.address(), grpc::InsecureChannelCredentials()));
}

// Five weeks of hourly load stored directly as a dataset.
std::string PutDataset(ModelStore& store, uint32_t seed = 7) {
  const std::vector<double> load = SyntheticHourlyLoad(5 * 7 * 24, seed);
  store::v1::StoredSeries series;
  v1::Dataset* dataset = series.mutable_dataset();
  dataset->set_series_id(kModel);
  dataset->set_resolution_seconds(3600);
  dataset->set_start_time(kSyntheticStartTime);
  dataset->set_end_time(kSyntheticStartTime +
                        (static_cast<int64_t>(load.size()) - 1) * 3600);
  dataset->set_points(static_cast<int64_t>(load.size()));
  series.mutable_values()->Add(load.begin(), load.end());
  absl::StatusOr<v1::Dataset> stored = store.PutDataset(series);
  REQUIRE(stored.ok());
  return stored->id();
}

// A small network that trains for a fixed number of epochs (no early
// stop), so that there is something to resume.
v1::CreateTrainingJobRequest SmallJob(const std::string& dataset_id,
                                      int epochs = 6) {
  v1::CreateTrainingJobRequest request;
  request.set_model(kModel);
  request.add_dataset_ids(dataset_id);
  request.mutable_spec()->set_input_window(24);
  request.mutable_spec()->set_horizon(6);
  request.mutable_spec()->mutable_mlp()->add_hidden_sizes(16);
  request.mutable_spec()->mutable_mlp()->set_dropout(0.1);
  request.mutable_options()->set_max_epochs(epochs);
  request.mutable_options()->set_early_stopping_patience(1000);
  request.mutable_options()->set_batch_size(32);
  return request;
}

v1::TrainingJob WaitUntilEnded(TrainerServer& server,
                               const std::string& job_id) {
  v1::TrainingJob job;
  const bool ended = WaitFor(
      [&] {
        absl::StatusOr<v1::TrainingJob> current = server.jobs()->Get(job_id);
        if (current.ok()) job = *current;
        return current.ok() && IsFinal(current->state());
      },
      std::chrono::seconds(120));
  REQUIRE(ended);
  // The work folder goes right after the final state is recorded.
  CHECK(WaitFor(
      [&] {
        return !fs::exists(server.store()->root() + "/jobs/" + job_id +
                           ".work");
      },
      std::chrono::seconds(10)));
  return job;
}

// Published versions of the test's model; 0 before the first.
size_t VersionCount(ModelStore& store) {
  const absl::StatusOr<std::vector<int64_t>> versions =
      store.ListVersions(kModel);
  if (absl::IsNotFound(versions.status())) return 0;
  REQUIRE(versions.ok());
  return versions->size();
}

// Every epoch a watcher sees, from the start of the job.
std::vector<int> WatchedEpochs(TrainerServer& server,
                               const std::string& job_id) {
  std::vector<int> epochs;
  const absl::Status status = server.jobs()->Watch(
      job_id,
      [&epochs](const v1::WatchTrainingJobResponse& update) {
        if (update.has_epoch()) epochs.push_back(update.epoch().epoch());
        return true;
      },
      nullptr);
  REQUIRE(status.ok());
  return epochs;
}

std::string WeightsSha(ModelStore& store, int64_t version) {
  absl::StatusOr<VersionArtifacts> artifacts =
      store.ReadVersion(kModel, version);
  REQUIRE(artifacts.ok());
  return Sha256Hex(artifacts->weights);
}

store::v1::JobRecord ReadRecord(const std::string& root,
                                const std::string& job_id) {
  const std::string path = root + "/jobs/" + job_id + ".json";
  absl::StatusOr<std::string> json = ReadFileToString(path);
  REQUIRE(json.ok());
  store::v1::JobRecord record;
  REQUIRE(FromJson(*json, path, &record).ok());
  return record;
}

void WriteRecord(const std::string& root, const store::v1::JobRecord& record) {
  absl::StatusOr<std::string> json = ToJson(record);
  REQUIRE(json.ok());
  REQUIRE(ReplaceFileAtomically(root + "/jobs/" + record.job().id() + ".json",
                                *json)
              .ok());
}

void RequireStoreConsistent(const std::string& root) {
  absl::StatusOr<StoreReport> report = CheckStore(root, StoreCheckOptions());
  REQUIRE(report.ok());
  for (const StoreFinding& finding : report->findings) {
    FAIL_CHECK(FindingKindName(finding.kind)
               << " " << finding.path << ": " << finding.reason);
  }
}

// Runs a job to its end in a trainer over `root` and, while the trainer is
// paused right after the checkpoint of `crash_epoch`, copies the store to
// `crash_image`: what kill -9 at that moment would have left.
v1::TrainingJob TrainTakingCrashImage(const std::string& root,
                                      const std::string& crash_image,
                                      int crash_epoch) {
  JobManagerOptions jobs;
  jobs.after_checkpoint = [&](const std::string&, int epoch) {
    if (epoch != crash_epoch) return;
    std::error_code error;  // No exception may leave the worker thread.
    fs::copy(root, crash_image, fs::copy_options::recursive, error);
  };
  auto trainer = StartTrainer(root, jobs);
  absl::StatusOr<v1::TrainingJob> created =
      trainer->jobs()->Create(SmallJob(PutDataset(*trainer->store())));
  REQUIRE(created.ok());
  const v1::TrainingJob finished = WaitUntilEnded(*trainer, created->id());
  REQUIRE(finished.state() == v1::JOB_STATE_SUCCEEDED);
  REQUIRE(fs::exists(crash_image));
  return finished;
}

TEST_CASE("queued jobs survive a restart, run, and stay listed",
          "[crash][jobs]") {
  TempDir store;
  std::vector<std::string> ids;
  {
    JobManagerOptions paused;
    paused.start_workers = false;
    auto trainer = StartTrainer(store.path(), paused);
    const std::string dataset = PutDataset(*trainer->store());
    for (int i = 0; i < 2; ++i) {
      grpc::ClientContext context;
      v1::CreateTrainingJobResponse response;
      REQUIRE(StubFor(*trainer)
                  ->CreateTrainingJob(&context, SmallJob(dataset, 2), &response)
                  .ok());
      ids.push_back(response.job().id());
    }
  }

  auto trainer = StartTrainer(store.path());
  auto stub = StubFor(*trainer);
  for (const std::string& id : ids) {
    grpc::ClientContext context;
    v1::GetTrainingJobRequest request;
    request.set_job_id(id);
    v1::GetTrainingJobResponse response;
    REQUIRE(stub->GetTrainingJob(&context, request, &response).ok());
    CHECK(response.job().id() == id);
    CHECK(WaitUntilEnded(*trainer, id).state() == v1::JOB_STATE_SUCCEEDED);
  }

  grpc::ClientContext context;
  v1::ListTrainingJobsResponse listed;
  REQUIRE(
      stub->ListTrainingJobs(&context, v1::ListTrainingJobsRequest(), &listed)
          .ok());
  CHECK(listed.jobs_size() == 2);
  // Both ran, one after the other, each publishing its own version.
  CHECK(VersionCount(*trainer->store()) == 2);
  RequireStoreConsistent(store.path());
}

TEST_CASE(
    "a job the trainer died in resumes from its last epoch and publishes "
    "what an uninterrupted run would have",
    "[crash][jobs]") {
  TempDir work;
  const std::string root = work.path() + "/store";
  const std::string crash_image = work.path() + "/crashed";
  REQUIRE(CreateDirectories(root).ok());
  const v1::TrainingJob reference =
      TrainTakingCrashImage(root, crash_image, /*crash_epoch=*/3);
  auto reference_store = ModelStore::Open(root, /*read_only=*/true);
  REQUIRE(reference_store.ok());
  const std::string reference_sha =
      WeightsSha(**reference_store, reference.published_version());

  // The crash image: the job is running, its checkpoint is of epoch 3.
  const store::v1::JobRecord crashed = ReadRecord(crash_image, reference.id());
  REQUIRE(crashed.job().state() == v1::JOB_STATE_RUNNING);
  REQUIRE(crashed.checkpoint_epoch() == 3);

  auto trainer = StartTrainer(crash_image);
  const v1::TrainingJob resumed = WaitUntilEnded(*trainer, reference.id());
  REQUIRE(resumed.state() == v1::JOB_STATE_SUCCEEDED);
  CHECK(resumed.epoch() == 6);
  // Each epoch was reported once: 1-3 before the crash, 4-6 after.
  CHECK(WatchedEpochs(*trainer, reference.id()) ==
        std::vector<int>{1, 2, 3, 4, 5, 6});
  // Same optimizer moments, same shuffling and dropout: same weights.
  CHECK(WeightsSha(*trainer->store(), resumed.published_version()) ==
        reference_sha);
  CHECK(ReadRecord(crash_image, reference.id()).restarts() == 1);
  RequireStoreConsistent(crash_image);
}

TEST_CASE("a job whose checkpoint is damaged fails, naming the checkpoint",
          "[crash][jobs]") {
  TempDir work;
  const std::string root = work.path() + "/store";
  const std::string crash_image = work.path() + "/crashed";
  REQUIRE(CreateDirectories(root).ok());
  const v1::TrainingJob reference =
      TrainTakingCrashImage(root, crash_image, /*crash_epoch=*/2);

  const std::string checkpoint =
      crash_image + "/jobs/" + reference.id() + ".work/epoch-2.ckpt";
  std::string bytes = *ReadFileToString(checkpoint);
  bytes[bytes.size() / 2] ^= 0x01;
  REQUIRE(ReplaceFileAtomically(checkpoint, bytes).ok());

  // The store check names it before any trainer looks.
  absl::StatusOr<StoreReport> report =
      CheckStore(crash_image, StoreCheckOptions());
  REQUIRE(report.ok());
  CHECK(report->Count(StoreFinding::Kind::kDamaged) == 1);

  auto trainer = StartTrainer(crash_image);
  const v1::TrainingJob failed = WaitUntilEnded(*trainer, reference.id());
  CHECK(failed.state() == v1::JOB_STATE_FAILED);
  CHECK_THAT(failed.error(), Contains("checkpoint of epoch 2"));
  CHECK_THAT(failed.error(), Contains("sha256"));
  // The crash image predates the reference run's publish; the failed job
  // published nothing.
  CHECK(VersionCount(*trainer->store()) == 0);
}

TEST_CASE("a job during which the trainer keeps dying is failed, not resumed",
          "[crash][jobs]") {
  TempDir work;
  const std::string root = work.path() + "/store";
  const std::string crash_image = work.path() + "/crashed";
  REQUIRE(CreateDirectories(root).ok());
  const v1::TrainingJob reference =
      TrainTakingCrashImage(root, crash_image, /*crash_epoch=*/2);

  store::v1::JobRecord record = ReadRecord(crash_image, reference.id());
  record.set_restarts(kMaxJobRestarts);
  WriteRecord(crash_image, record);

  auto trainer = StartTrainer(crash_image);
  const v1::TrainingJob failed = WaitUntilEnded(*trainer, reference.id());
  CHECK(failed.state() == v1::JOB_STATE_FAILED);
  CHECK_THAT(failed.error(), Contains("the trainer stopped 4 times"));
  RequireStoreConsistent(crash_image);
}

TEST_CASE(
    "a job that published just before the trainer died succeeds without "
    "publishing twice",
    "[crash][jobs]") {
  TempDir store;
  std::string job_id;
  int64_t version = 0;
  {
    auto trainer = StartTrainer(store.path());
    auto created =
        trainer->jobs()->Create(SmallJob(PutDataset(*trainer->store()), 2));
    REQUIRE(created.ok());
    job_id = created->id();
    const v1::TrainingJob done = WaitUntilEnded(*trainer, job_id);
    REQUIRE(done.state() == v1::JOB_STATE_SUCCEEDED);
    version = done.published_version();
  }
  // The state the record has between the rename and the next write.
  store::v1::JobRecord record = ReadRecord(store.path(), job_id);
  record.mutable_job()->set_state(v1::JOB_STATE_PUBLISHING);
  record.mutable_job()->set_published_version(0);
  WriteRecord(store.path(), record);

  auto trainer = StartTrainer(store.path());
  const v1::TrainingJob recovered = WaitUntilEnded(*trainer, job_id);
  CHECK(recovered.state() == v1::JOB_STATE_SUCCEEDED);
  CHECK(recovered.published_version() == version);
  CHECK(VersionCount(*trainer->store()) == 1);
}

TEST_CASE(
    "a graceful stop puts the running job back in the queue and the next "
    "trainer finishes it",
    "[crash][jobs]") {
  TempDir store;
  std::string job_id;
  {
    absl::Notification paused, stopping;
    JobManagerOptions jobs;
    jobs.after_checkpoint = [&](const std::string&, int epoch) {
      if (epoch != 2) return;
      paused.Notify();
      stopping.WaitForNotification();
    };
    auto trainer = StartTrainer(store.path(), jobs);
    auto created =
        trainer->jobs()->Create(SmallJob(PutDataset(*trainer->store())));
    REQUIRE(created.ok());
    job_id = created->id();
    paused.WaitForNotification();
    trainer->jobs()->Shutdown();
    stopping.Notify();
    trainer->Shutdown(absl::Seconds(5));
  }
  const store::v1::JobRecord record = ReadRecord(store.path(), job_id);
  CHECK(record.job().state() == v1::JOB_STATE_QUEUED);
  CHECK(record.checkpoint_epoch() == 2);

  auto trainer = StartTrainer(store.path());
  const v1::TrainingJob done = WaitUntilEnded(*trainer, job_id);
  CHECK(done.state() == v1::JOB_STATE_SUCCEEDED);
  CHECK(WatchedEpochs(*trainer, job_id) == std::vector<int>{1, 2, 3, 4, 5, 6});
  // Stopping gracefully is not a crash.
  CHECK(ReadRecord(store.path(), job_id).restarts() == 0);
}

TEST_CASE("a cancel that the trainer did not finish holds after a restart",
          "[crash][jobs]") {
  TempDir work;
  const std::string root = work.path() + "/store";
  const std::string crash_image = work.path() + "/crashed";
  REQUIRE(CreateDirectories(root).ok());
  const v1::TrainingJob reference =
      TrainTakingCrashImage(root, crash_image, /*crash_epoch=*/2);
  store::v1::JobRecord record = ReadRecord(crash_image, reference.id());
  record.set_cancel_requested(true);
  WriteRecord(crash_image, record);

  auto trainer = StartTrainer(crash_image);
  const v1::TrainingJob cancelled = WaitUntilEnded(*trainer, reference.id());
  CHECK(cancelled.state() == v1::JOB_STATE_CANCELLED);
  CHECK(VersionCount(*trainer->store()) == 0);
  RequireStoreConsistent(crash_image);
}

TEST_CASE("a second trainer on the same store is refused", "[crash][jobs]") {
  TempDir store;
  auto first = StartTrainer(store.path());
  TrainerServerOptions options;
  options.store_root = store.path();
  options.listen_address = "127.0.0.1:0";
  const auto second = TrainerServer::Start(options);
  CHECK(absl::IsUnavailable(second.status()));
  CHECK_THAT(std::string(second.status().message()), Contains(".trainer.lock"));
}

v1::UploadHistoryRequest Chunk(int first_hour, int hours, bool header) {
  v1::UploadHistoryRequest chunk;
  if (header) {
    chunk.mutable_header()->set_series_id("feeder-cut");
    chunk.mutable_header()->set_resolution_seconds(3600);
  }
  for (int h = first_hour; h < first_hour + hours; ++h) {
    chunk.add_timestamps(kSyntheticStartTime + h * 3600);
    chunk.add_values(1.0 + h % 24);
  }
  return chunk;
}

TEST_CASE(
    "an upload whose client goes away mid-stream leaves no dataset and no "
    "temporary files",
    "[crash][upload]") {
  TempDir store;
  auto trainer = StartTrainer(store.path());

  SECTION("the client cancels the call") {
    grpc::ClientContext context;
    v1::UploadHistoryResponse response;
    auto writer = StubFor(*trainer)->UploadHistory(&context, &response);
    for (int i = 0; i < 5; ++i)
      REQUIRE(writer->Write(Chunk(i * 100, 100, i == 0)));
    context.TryCancel();
    CHECK(writer->Finish().error_code() == grpc::StatusCode::CANCELLED);
  }
  SECTION("the client drops its channel without finishing") {
    auto channel = grpc::CreateChannel(trainer->address(),
                                       grpc::InsecureChannelCredentials());
    auto stub = v1::TrainerService::NewStub(channel);
    auto context = std::make_unique<grpc::ClientContext>();
    v1::UploadHistoryResponse response;
    auto writer = stub->UploadHistory(context.get(), &response);
    for (int i = 0; i < 5; ++i)
      REQUIRE(writer->Write(Chunk(i * 100, 100, i == 0)));
    // Everything the client had goes: the call is abandoned, not closed.
    writer.reset();
    context.reset();
    stub.reset();
    channel.reset();
  }

  // Shutting down waits for the upload handler to return, so whatever it
  // would have stored is stored by now.
  trainer->Shutdown(absl::Seconds(10));
  auto datasets = ListDirectory(store.path() + "/datasets");
  REQUIRE(datasets.ok());
  CHECK(datasets->empty());
  RequireStoreConsistent(store.path());
}

}  // namespace
}  // namespace gridcast::testing
