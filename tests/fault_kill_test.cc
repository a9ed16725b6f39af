// The fault test: the real gridcast-trainer is killed with SIGKILL at
// seeded random moments while it takes an upload, trains and publishes,
// again and again, with a real gridcast-inference serving beside it from
// the same store. After every kill the store holds no partial dataset or
// version and no damage; after every restart the trainer has removed what
// the kill left and knows every job it acknowledged; and inference answers
// every Forecast, always from a whole version.
//
// Hidden from a plain run of gridcast_tests (it takes a minute or two);
// CTest runs it on its own. GRIDCAST_FAULT_SEED picks another seed.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/store/files.h"
#include "common/store/model_store.h"
#include "gridcast/v1/forecaster.grpc.pb.h"
#include "gridcast/v1/trainer.grpc.pb.h"
#include "tests/test_support.h"

extern char** environ;

namespace gridcast::testing {
namespace {

constexpr char kModel[] = "feeder-99";
constexpr int kKills = 33;
constexpr int kWindow = 24;
constexpr auto kStartTimeout = std::chrono::seconds(60);

// A server binary running as a child process, its stderr in `log`.
class ServerProcess {
 public:
  ServerProcess(const std::string& binary, std::vector<std::string> args,
                const std::string& log, const std::string& listening_event)
      : log_(log) {
    std::vector<char*> argv;
    args.insert(args.begin(), binary);
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
                                     O_WRONLY, 0);
    const int spawned = posix_spawn(&pid_, binary.c_str(), &actions, nullptr,
                                    argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(spawned == 0);

    // The log is appended to across restarts: only what this process
    // wrote counts.
    const size_t start = LogSize();
    const bool listening = WaitFor(
        [&] {
          const std::string text = LogFrom(start);
          const size_t event = text.find("event=" + listening_event);
          if (event == std::string::npos) return !Running();
          const size_t port = text.find(" port=", event);
          return port != std::string::npos &&
                 absl::SimpleAtoi(
                     text.substr(port + 6, text.find(' ', port + 6) - port - 6),
                     &port_);
        },
        kStartTimeout);
    INFO(LogFrom(start));
    REQUIRE(listening);
    REQUIRE(port_ > 0);
  }

  ~ServerProcess() {
    if (Running()) Kill();
  }

  int port() const { return port_; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  bool Running() {
    if (exited_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) exited_ = true;
    return !exited_;
  }

  void Kill() {
    REQUIRE(kill(pid_, SIGKILL) == 0);
    int status = 0;
    REQUIRE(waitpid(pid_, &status, 0) == pid_);
    exited_ = true;
  }

  // SIGTERM; returns the exit code.
  int Terminate() {
    REQUIRE(kill(pid_, SIGTERM) == 0);
    int status = 0;
    REQUIRE(waitpid(pid_, &status, 0) == pid_);
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  size_t LogSize() const {
    absl::StatusOr<std::string> text = ReadFileToString(log_);
    return text.ok() ? text->size() : 0;
  }
  std::string LogFrom(size_t start) const {
    absl::StatusOr<std::string> text = ReadFileToString(log_);
    return text.ok() && text->size() > start ? text->substr(start) : "";
  }

  std::string log_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool exited_ = false;
};

std::string Binary(const std::string& relative) {
  return absl::StrCat(GRIDCAST_BINARY_DIR, "/", relative);
}

std::unique_ptr<ServerProcess> StartTrainer(const std::string& store,
                                            const std::string& log) {
  return std::make_unique<ServerProcess>(
      Binary("trainer/gridcast-trainer"),
      std::vector<std::string>{"--store=" + store, "--listen=127.0.0.1:0",
                               "--torch_threads=1"},
      log, "trainer_listening");
}

// Runs gridcast-store; returns its exit code and its output.
int StoreTool(const std::string& arguments, std::string* output) {
  const std::string command =
      absl::StrCat(Binary("tools/gridcast-store"), " ", arguments, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  size_t count;
  while ((count = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    output->append(buffer, count);
  }
  const int status = pclose(pipe);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

// The paths the store tool reported as leftovers.
std::vector<std::string> Leftovers(const std::string& output) {
  std::vector<std::string> paths;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (!absl::StartsWith(line, "leftover")) continue;
    const size_t start = line.find_first_not_of(' ', 8);
    paths.push_back(line.substr(start, line.find(": ", start) - start));
  }
  return paths;
}

std::vector<v1::UploadHistoryRequest> UploadChunks(uint32_t seed) {
  const std::vector<double> load = SyntheticHourlyLoad(5 * 7 * 24, seed);
  std::vector<v1::UploadHistoryRequest> chunks;
  for (size_t begin = 0; begin < load.size(); begin += 120) {
    v1::UploadHistoryRequest chunk;
    if (begin == 0) {
      chunk.mutable_header()->set_series_id(kModel);
      chunk.mutable_header()->set_resolution_seconds(3600);
    }
    for (size_t i = begin; i < std::min(load.size(), begin + 120); ++i) {
      chunk.add_timestamps(kSyntheticStartTime +
                           static_cast<int64_t>(i) * 3600);
      chunk.add_values(load[i]);
    }
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

v1::CreateTrainingJobRequest TinyJob(const std::string& dataset_id,
                                     int64_t seed) {
  v1::CreateTrainingJobRequest request;
  request.set_model(kModel);
  request.add_dataset_ids(dataset_id);
  request.mutable_spec()->set_input_window(kWindow);
  request.mutable_spec()->set_horizon(6);
  request.mutable_spec()->mutable_mlp()->add_hidden_sizes(16);
  request.mutable_options()->set_max_epochs(12);
  request.mutable_options()->set_early_stopping_patience(100);
  request.mutable_options()->set_batch_size(32);
  request.mutable_options()->set_seed(seed);
  // The test is about what survives a kill, not about accuracy: a tiny
  // network rejected by the quality gate would never be served.
  request.mutable_options()->set_skip_quality_gate(true);
  return request;
}

// Calls Forecast continuously on its own thread and remembers every
// failure and every version that answered.
class ForecastProbe {
 public:
  explicit ForecastProbe(const std::string& address)
      : stub_(v1::ForecasterService::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {
    const std::vector<double> load = SyntheticHourlyLoad(5 * 7 * 24, 1);
    for (size_t i = load.size() - kWindow; i < load.size(); ++i) {
      request_.mutable_history()->add_timestamps(
          kSyntheticStartTime + static_cast<int64_t>(i) * 3600);
      request_.mutable_history()->add_values(load[i]);
    }
    request_.set_model(kModel);
  }

  // Forgets what was seen so far.
  void Reset() {
    absl::MutexLock lock(&mu_);
    calls_ = 0;
    failures_.clear();
    versions_.clear();
  }

  bool CallOnce() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::ForecastResponse response;
    const grpc::Status status = stub_->Forecast(&context, request_, &response);
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (!status.ok()) {
      failures_.push_back(status.error_message());
      return false;
    }
    if (response.version() < last_version_) {
      failures_.push_back(absl::StrCat("version went back from ", last_version_,
                                       " to ", response.version()));
    }
    last_version_ = response.version();
    versions_.insert(response.version());
    return true;
  }

  void Start() {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        CallOnce();
        // Pacing only, to leave the two cores to the trainer.
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }

  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  ~ForecastProbe() { Stop(); }

  int64_t calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  std::vector<std::string> failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }
  std::set<int64_t> versions() {
    absl::MutexLock lock(&mu_);
    return versions_;
  }

 private:
  std::unique_ptr<v1::ForecasterService::Stub> stub_;
  v1::ForecastRequest request_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  absl::Mutex mu_;
  int64_t calls_ = 0;
  int64_t last_version_ = 0;
  std::vector<std::string> failures_;
  std::set<int64_t> versions_;
};

class FaultRun {
 public:
  FaultRun()
      : store_(dir_.path() + "/store"),
        trainer_log_(dir_.path() + "/trainer.log"),
        random_(Seed()) {}

  static uint32_t Seed() {
    const char* text = std::getenv("GRIDCAST_FAULT_SEED");
    uint32_t seed = 20261203;
    if (text != nullptr) REQUIRE(absl::SimpleAtoi(text, &seed));
    return seed;
  }

  const std::string& store() const { return store_; }
  const std::string& trainer_log() const { return trainer_log_; }

  void RestartTrainer() {
    trainer_.reset();
    trainer_ = StartTrainer(store_, trainer_log_);
    stub_ = v1::TrainerService::NewStub(grpc::CreateChannel(
        trainer_->address(), grpc::InsecureChannelCredentials()));
  }

  ServerProcess& trainer() { return *trainer_; }
  v1::TrainerService::Stub& stub() { return *stub_; }
  std::mt19937& random() { return random_; }
  int Between(int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random_);
  }

  // Uploads; the dataset id when the trainer acknowledged it.
  std::string Upload(uint32_t seed, int kill_after_chunks, int kill_delay_ms) {
    const auto chunks = UploadChunks(seed);
    grpc::ClientContext context;
    v1::UploadHistoryResponse response;
    auto writer = stub_->UploadHistory(&context, &response);
    bool killed = false;
    for (int i = 0; i < static_cast<int>(chunks.size()); ++i) {
      if (i == kill_after_chunks) {
        trainer_->Kill();
        killed = true;
        break;
      }
      if (!writer->Write(chunks[i])) break;
    }
    if (!killed) {
      writer->WritesDone();
      if (kill_after_chunks >= static_cast<int>(chunks.size())) {
        // The random moment: somewhere in assembling and storing it.
        std::this_thread::sleep_for(std::chrono::milliseconds(kill_delay_ms));
        trainer_->Kill();
      }
    }
    const grpc::Status status = writer->Finish();
    return status.ok() ? response.dataset().id() : "";
  }

  std::string CreateJob(const std::string& dataset_id) {
    grpc::ClientContext context;
    v1::CreateTrainingJobResponse response;
    const grpc::Status status = stub_->CreateTrainingJob(
        &context, TinyJob(dataset_id, Between(1, 1000)), &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return response.job().id();
  }

  // Follows the job until it has finished `epoch` or ended.
  void WatchUntilEpoch(const std::string& job_id, int epoch) {
    grpc::ClientContext context;
    v1::WatchTrainingJobRequest request;
    request.set_job_id(job_id);
    auto reader = stub_->WatchTrainingJob(&context, request);
    v1::WatchTrainingJobResponse update;
    while (reader->Read(&update)) {
      if (update.job().epoch() >= epoch) break;
    }
    context.TryCancel();
    reader->Finish();
  }

  v1::TrainingJob GetJob(const std::string& job_id, grpc::Status* status) {
    grpc::ClientContext context;
    v1::GetTrainingJobRequest request;
    request.set_job_id(job_id);
    v1::GetTrainingJobResponse response;
    *status = stub_->GetTrainingJob(&context, request, &response);
    return response.job();
  }

 private:
  TempDir dir_;
  std::string store_;
  std::string trainer_log_;
  std::mt19937 random_;
  std::unique_ptr<ServerProcess> trainer_;
  std::unique_ptr<v1::TrainerService::Stub> stub_;
};

// Forgets the events so far.
void Drain(int inotify) {
  char buffer[4096];
  while (read(inotify, buffer, sizeof(buffer)) > 0) {
  }
}

// Whether the trainer's log says it removed `path` at start-up.
bool RemovedAtStartup(const std::string& log, const std::string& path) {
  return absl::StrContains(
      log, absl::StrCat("event=store_leftover_removed path=", path, " "));
}

// Waits until a new entry whose name starts with ".tmp-" appears in
// `directory` (a publish has begun), then returns.
bool AwaitStaging(int inotify, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  alignas(inotify_event) char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd ready{inotify, POLLIN, 0};
    if (poll(&ready, 1, 100) <= 0) continue;
    const ssize_t length = read(inotify, buffer, sizeof(buffer));
    for (ssize_t offset = 0; offset < length;) {
      const auto* event =
          reinterpret_cast<const inotify_event*>(buffer + offset);
      if (event->len > 0 && absl::StartsWith(event->name, ".tmp-")) return true;
      offset += sizeof(inotify_event) + event->len;
    }
  }
  return false;
}

TEST_CASE(
    "killing the trainer at random moments loses nothing acknowledged, "
    "leaves nothing partial, and inference serves throughout",
    "[.][fault]") {
  FaultRun run;
  INFO("seed " << FaultRun::Seed() << ", trainer log " << run.trainer_log());
  REQUIRE(CreateDirectories(run.store()).ok());

  // A first version, so that inference has something to serve.
  run.RestartTrainer();
  std::set<std::string> datasets;
  const std::string first_dataset = run.Upload(1, /*kill_after_chunks=*/-1, 0);
  REQUIRE_FALSE(first_dataset.empty());
  datasets.insert(first_dataset);
  std::set<std::string> jobs;
  const std::string first_job = run.CreateJob(*datasets.begin());
  jobs.insert(first_job);
  REQUIRE(WaitFor(
      [&] {
        grpc::Status status;
        return run.GetJob(first_job, &status).state() ==
               v1::JOB_STATE_SUCCEEDED;
      },
      std::chrono::seconds(120)));

  ServerProcess inference(Binary("inference/gridcast-inference"),
                          {"--store=" + run.store(), "--listen=127.0.0.1:0",
                           "--poll_interval_ms=50"},
                          run.store() + "/../inference.log",
                          "inference_listening");
  ForecastProbe probe(inference.address());
  REQUIRE(WaitFor([&] { return probe.CallOnce(); }, std::chrono::seconds(30)));
  probe.Reset();
  probe.Start();

  const int inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  REQUIRE(inotify >= 0);
  REQUIRE(inotify_add_watch(inotify,
                            (run.store() + "/models/" + kModel).c_str(),
                            IN_CREATE) >= 0);

  std::vector<std::string> left_by_last_kill;
  int leftovers_removed = 0;
  int kills_with_staging = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    INFO("kill " << kill);
    if (kill > 0) run.RestartTrainer();

    // The trainer removed what the last kill left, and knows every job it
    // acknowledged.
    const std::string log = *ReadFileToString(run.trainer_log());
    for (const std::string& path : left_by_last_kill) {
      INFO(path);
      CHECK(RemovedAtStartup(log, path));
    }
    for (const std::string& job : jobs) {
      grpc::Status status;
      run.GetJob(job, &status);
      INFO(job << ": " << status.error_message());
      CHECK(status.ok());
    }
    std::string output;
    const int running_code = StoreTool("check --store " + run.store(), &output);
    INFO(output);
    CHECK(running_code == 0);

    switch (kill % 3) {
      case 0: {  // During an upload: mid-stream or while it is stored.
        const std::string dataset =
            run.Upload(100 + kill, run.Between(1, 9), run.Between(0, 20));
        if (!dataset.empty()) datasets.insert(dataset);
        break;
      }
      case 1: {  // During training, after a random epoch.
        const std::string job = run.CreateJob(*datasets.begin());
        jobs.insert(job);
        run.WatchUntilEpoch(job, run.Between(1, 11));
        std::this_thread::sleep_for(
            std::chrono::milliseconds(run.Between(0, 30)));
        run.trainer().Kill();
        break;
      }
      case 2: {  // While a version is being published.
        Drain(inotify);
        jobs.insert(run.CreateJob(*datasets.begin()));
        CHECK(AwaitStaging(inotify, std::chrono::seconds(120)));
        std::this_thread::sleep_for(
            std::chrono::microseconds(run.Between(0, 3000)));
        run.trainer().Kill();
        break;
      }
    }

    // With the trainer dead: no damage, whatever the moment; leftovers are
    // allowed, and the next trainer must remove them.
    std::string dead_output;
    const int code = StoreTool("check --store " + run.store(), &dead_output);
    INFO(dead_output);
    CHECK((code == 0 || code == 3));
    left_by_last_kill = Leftovers(dead_output);
    leftovers_removed += static_cast<int>(left_by_last_kill.size());
    kills_with_staging += absl::StrContains(dead_output, "staging of");

    // Every acknowledged dataset is whole.
    auto store = ModelStore::Open(run.store(), /*read_only=*/true);
    REQUIRE(store.ok());
    for (const std::string& dataset : datasets) {
      INFO(dataset);
      CHECK((*store)->ReadDataset(dataset).ok());
    }
  }
  close(inotify);

  // One last start: every job acknowledged ends, none is lost.
  run.RestartTrainer();
  std::map<v1::JobState, int> outcomes;
  for (const std::string& job : jobs) {
    INFO(job);
    v1::TrainingJob final_state;
    CHECK(WaitFor(
        [&] {
          grpc::Status status;
          final_state = run.GetJob(job, &status);
          return status.ok() &&
                 (final_state.state() == v1::JOB_STATE_SUCCEEDED ||
                  final_state.state() == v1::JOB_STATE_FAILED ||
                  final_state.state() == v1::JOB_STATE_CANCELLED);
        },
        std::chrono::seconds(120)));
    if (final_state.state() != v1::JOB_STATE_SUCCEEDED) {
      CHECK_FALSE(final_state.error().empty());
    }
    ++outcomes[final_state.state()];
  }
  CHECK(run.trainer().Terminate() == 0);

  // Inference caught up with the newest version and never failed a call.
  auto store = ModelStore::Open(run.store(), /*read_only=*/true);
  REQUIRE(store.ok());
  const auto versions = (*store)->ListVersions(kModel);
  REQUIRE(versions.ok());
  CHECK(WaitFor([&] { return probe.versions().count(versions->back()) > 0; },
                std::chrono::seconds(30)));
  probe.Stop();
  for (const std::string& failure : probe.failures()) FAIL_CHECK(failure);
  for (int64_t version : probe.versions()) {
    INFO("served version " << version);
    CHECK((*store)->ReadVersion(kModel, version).ok());
  }
  CHECK(probe.calls() > 100);

  // For docs/reliability.md: what the run went through.
  std::printf(
      "fault test (seed %u): %d kills, %d left staging behind, %d leftovers "
      "removed at restarts; %zu jobs: %d succeeded, %d failed; %zu datasets; "
      "%zu versions; %lld forecasts, %zu failed, %zu versions served\n",
      FaultRun::Seed(), kKills, kills_with_staging, leftovers_removed,
      jobs.size(), outcomes[v1::JOB_STATE_SUCCEEDED],
      outcomes[v1::JOB_STATE_FAILED], datasets.size(), versions->size(),
      static_cast<long long>(probe.calls()), probe.failures().size(),
      probe.versions().size());

  std::string output;
  const int final_code = StoreTool("check --store " + run.store(), &output);
  INFO(output);
  CHECK(final_code == 0);
}

}  // namespace
}  // namespace gridcast::testing
