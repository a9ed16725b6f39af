// Graceful drain: on SIGTERM a server reports NOT_SERVING at once, refuses
// new calls, lets the calls it accepted finish and exits 0; the trainer
// puts its running job back in the queue.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/sync_stream.h>
#include <catch2/catch.hpp>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/store/files.h"
#include "tests/cluster.h"
#include "tests/health_probe.h"
#include "tests/test_support.h"

extern char** environ;

namespace gridcast::testing {
namespace {

using Catch::Matchers::Contains;

constexpr int kHistoryHours = 10 * 7 * 24;

std::string UploadSynthetic(Cluster& cluster, int hours) {
  v1::UploadHistoryResponse uploaded;
  REQUIRE(cluster
              .Upload("feeder-1", kSyntheticStartTime,
                      SyntheticHourlyLoad(hours), &uploaded)
              .ok());
  return uploaded.dataset().id();
}

// Starts training a job that would run for a long time; returns its id
// once it has finished an epoch.
std::string StartLongJob(Cluster& cluster, const std::string& dataset) {
  v1::CreateTrainingJobRequest request = QuickJob("feeder-1", dataset);
  request.mutable_options()->set_max_epochs(10000);
  request.mutable_options()->set_early_stopping_patience(10000);
  v1::CreateTrainingJobResponse created;
  grpc::ClientContext context;
  REQUIRE(cluster.trainer_stub()
              .CreateTrainingJob(&context, request, &created)
              .ok());
  const std::string id = created.job().id();
  REQUIRE(WaitFor(
      [&] {
        auto job = cluster.trainer().jobs()->Get(id);
        return job.ok() && job->epoch() >= 1;
      },
      std::chrono::seconds(60)));
  return id;
}

// grpc.health.v1.Health/Watch for the whole server, as raw bytes: each
// HealthCheckResponse is field 1, a varint (1 SERVING, 2 NOT_SERVING).
class HealthWatch {
 public:
  explicit HealthWatch(const std::shared_ptr<grpc::Channel>& channel)
      : method_("/grpc.health.v1.Health/Watch",
                grpc::internal::RpcMethod::SERVER_STREAMING) {
    grpc::Slice empty("");
    // Ends a watch that the server never ends.
    context_.set_deadline(std::chrono::system_clock::now() +
                          std::chrono::minutes(2));
    reader_.reset(grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
        channel.get(), method_, &context_, grpc::ByteBuffer(&empty, 1)));
  }
  ~HealthWatch() { Cancel(); }

  // Ends the stream from this side.
  void Cancel() { context_.TryCancel(); }

  // The next status, or -1 when the stream ended.
  int Next() {
    grpc::ByteBuffer reply;
    if (!reader_->Read(&reply)) return -1;
    std::vector<grpc::Slice> slices;
    reply.Dump(&slices).IgnoreError();
    std::string bytes;
    for (const auto& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    return bytes.size() >= 2 && bytes[0] == 0x08 ? bytes[1] : 0;
  }

  // How the stream ended; call once Next() has returned -1.
  grpc::Status Finish() { return reader_->Finish(); }

 private:
  grpc::internal::RpcMethod method_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader_;
};

TEST_CASE(
    "a draining trainer finishes an upload in flight and refuses new "
    "calls",
    "[drain]") {
  SetMinLogLevel(LogLevel::kDebug);
  const absl::Cleanup default_level = [] { SetMinLogLevel(LogLevel::kInfo); };
  StderrCapture log;
  Cluster cluster;
  HealthWatch health(cluster.trainer_channel());
  REQUIRE(health.Next() == kHealthServing);

  const std::vector<double> load = SyntheticHourlyLoad(2000);
  grpc::ClientContext context;
  v1::UploadHistoryResponse response;
  auto writer = cluster.trainer_stub().UploadHistory(&context, &response);
  v1::UploadHistoryRequest first;
  first.mutable_header()->set_series_id("feeder-1");
  first.mutable_header()->set_resolution_seconds(3600);
  for (int i = 0; i < 1000; ++i) {
    first.add_timestamps(kSyntheticStartTime + i * 3600);
    first.add_values(load[i]);
  }
  REQUIRE(writer->Write(first));

  // Drain only once the server runs the upload: a call that reaches it in
  // the instant of the shutdown is reset before it runs (see
  // docs/reliability.md), and this test is about a call already accepted.
  REQUIRE(WaitFor(
      [&] { return absl::StrContains(log.Text(), "event=upload_started"); },
      std::chrono::seconds(30)));

  std::thread drain([&] { cluster.trainer().Shutdown(absl::Seconds(60)); });

  // Health says so at once, and a new call is refused. A probe that meets
  // the instant of the shutdown may be reset instead (see
  // docs/reliability.md), so each has a deadline and another follows.
  CHECK(health.Next() == kHealthNotServing);
  health.Cancel();
  std::vector<grpc::StatusCode> probes;
  CHECK(WaitFor(
      [&] {
        grpc::ClientContext list_context;
        list_context.set_deadline(std::chrono::system_clock::now() +
                                  std::chrono::seconds(2));
        v1::ListDatasetsResponse listed;
        probes.push_back(
            cluster.trainer_stub()
                .ListDatasets(&list_context, v1::ListDatasetsRequest(), &listed)
                .error_code());
        return probes.back() == grpc::StatusCode::UNAVAILABLE;
      },
      std::chrono::seconds(20)));
  for (grpc::StatusCode code : probes) UNSCOPED_INFO("probe: " << code);

  // The upload that was accepted before goes on to the end.
  v1::UploadHistoryRequest rest;
  for (int i = 1000; i < 2000; ++i) {
    rest.add_timestamps(kSyntheticStartTime + i * 3600);
    rest.add_values(load[i]);
  }
  CHECK(writer->Write(rest));
  writer->WritesDone();
  const grpc::Status finished = writer->Finish();
  INFO("upload: " << finished.error_code() << " " << finished.error_message());
  CHECK(finished.ok());
  CHECK(response.dataset().points() == 2000);
  drain.join();

  auto stored = cluster.trainer().store()->GetDataset(response.dataset().id());
  REQUIRE(stored.ok());
  CHECK(stored->points() == 2000);
}

TEST_CASE("a draining trainer queues its running job again and ends watches",
          "[drain]") {
  std::mutex requeued_mu;
  std::vector<v1::TrainingJob> requeued;
  ClusterOptions options;
  options.configure_trainer = [&](TrainerServerOptions* trainer) {
    trainer->jobs.on_requeued = [&](const v1::TrainingJob& job) {
      std::lock_guard<std::mutex> lock(requeued_mu);
      requeued.push_back(job);
    };
  };
  Cluster cluster(options);
  const std::string id =
      StartLongJob(cluster, UploadSynthetic(cluster, kHistoryHours));

  grpc::ClientContext watch_context;
  v1::WatchTrainingJobRequest watch;
  watch.set_job_id(id);
  auto reader = cluster.trainer_stub().WatchTrainingJob(&watch_context, watch);
  v1::WatchTrainingJobResponse update;
  REQUIRE(reader->Read(&update));

  // A grace far longer than the test may take: the watch must not hold it.
  const absl::Time started = absl::Now();
  cluster.trainer().Shutdown(absl::Minutes(5));
  CHECK(absl::Now() - started < absl::Minutes(1));

  while (reader->Read(&update)) {
  }
  const grpc::Status ended = reader->Finish();
  CHECK(ended.error_code() == grpc::StatusCode::UNAVAILABLE);
  // It says the job is kept and when to watch again, whichever of the
  // service and the job manager ends the watch first.
  CHECK_THAT(ended.error_message(), Contains("the trainer is stopping"));
  CHECK_THAT(ended.error_message(), Contains("goes on when it starts again"));

  std::lock_guard<std::mutex> lock(requeued_mu);
  REQUIRE(requeued.size() == 1);
  CHECK(requeued[0].id() == id);
  CHECK(requeued[0].state() == v1::JOB_STATE_QUEUED);
  CHECK(requeued[0].epoch() >= 1);
  CHECK_THAT(requeued[0].error(),
             Contains("interrupted by a trainer shutdown at epoch"));
  CHECK(cluster.trainer()
            .store()
            ->ListVersions("feeder-1")
            .value_or(std::vector<int64_t>{})
            .empty());
}

// A child process whose stderr goes to a file.
struct Child {
  pid_t pid = -1;
  std::string log_path;

  std::string Log() const { return ReadFileToString(log_path).value_or(""); }
};

Child Spawn(const std::vector<std::string>& args, const std::string& log_path) {
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&files, 2, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  // The child starts with no signal blocked, whatever this thread has.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> argv;
  for (const std::string& arg : args)
    argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  Child child;
  child.log_path = log_path;
  const int error = posix_spawn(&child.pid, argv[0], &files, &attributes,
                                argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attributes);
  REQUIRE(error == 0);
  return child;
}

// The port in the "inference_listening ... port=N" line, or 0.
int ListeningPort(const std::string& log) {
  const size_t line = log.find("event=inference_listening");
  if (line == std::string::npos) return 0;
  const size_t field = log.find(" port=", line);
  if (field == std::string::npos) return 0;
  const size_t end = log.find_first_not_of("0123456789", field + 6);
  int port = 0;
  return absl::SimpleAtoi(log.substr(field + 6, end - field - 6), &port) ? port
                                                                         : 0;
}

TEST_CASE(
    "SIGTERM: a client calling gridcast-inference throughout sees no "
    "accepted call fail, and the server exits 0",
    "[drain]") {
  // A trained model in a store of its own, from an in-process trainer.
  TempDir store;
  const std::vector<double> load = SyntheticHourlyLoad(kHistoryHours);
  {
    ClusterOptions options;
    options.configure_trainer = [&](TrainerServerOptions* trainer) {
      trainer->store_root = store.path();
    };
    Cluster cluster(options);
    v1::CreateTrainingJobRequest job =
        QuickJob("feeder-1", UploadSynthetic(cluster, kHistoryHours));
    job.mutable_options()->set_max_epochs(2);
    REQUIRE(cluster.TrainAndWait(job).state() == v1::JOB_STATE_SUCCEEDED);
  }

  Child server =
      Spawn({std::string(GRIDCAST_BINARY_DIR) + "/inference/gridcast-inference",
             "--store=" + store.path(), "--listen=127.0.0.1:0",
             "--poll_interval_ms=100", "--shutdown_grace_ms=5000",
             "--drain_delay_ms=3000"},
            store.path() + "/inference.log");
  int port = 0;
  REQUIRE(WaitFor([&] { return (port = ListeningPort(server.Log())) != 0; },
                  std::chrono::seconds(60)));
  // The server ran itself again, same process, with sleeping OpenMP waits
  // (a policy that this test's environment sets would be kept instead).
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    const std::string environment =
        ReadFileToString(absl::StrCat("/proc/", server.pid, "/environ"))
            .value_or("");
    const std::vector<std::string> variables =
        absl::StrSplit(environment, '\0');
    CHECK(std::count(variables.begin(), variables.end(),
                     "OMP_WAIT_POLICY=PASSIVE") == 1);
  }
  // A client as a well-behaved integration builds it: it watches health
  // and stops sending to a server that reports NOT_SERVING.
  grpc::ChannelArguments arguments;
  arguments.SetServiceConfigJSON(R"({
      "loadBalancingConfig": [{"round_robin": {}}],
      "healthCheckConfig": {"serviceName": "gridcast.v1.ForecasterService"}
  })");
  auto channel =
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                grpc::InsecureChannelCredentials(), arguments);
  auto stub = v1::ForecasterService::NewStub(channel);
  const v1::ForecastRequest request =
      Cluster::MakeForecastRequest("feeder-1", kSyntheticStartTime, load, 168);
  const auto forecast = [&] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    v1::ForecastResponse response;
    return stub->Forecast(&context, request, &response);
  };
  REQUIRE(WaitFor([&] { return forecast().ok(); }, std::chrono::seconds(60)));

  // Clients call without pause until the server has exited.
  std::atomic<bool> exited{false};
  std::atomic<int> ok_calls{0};
  std::mutex failures_mu;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      while (!exited) {
        const grpc::Status status = forecast();
        if (status.ok()) {
          ++ok_calls;
        } else if (status.error_code() != grpc::StatusCode::UNAVAILABLE) {
          std::lock_guard<std::mutex> lock(failures_mu);
          failures.push_back(
              absl::StrCat(status.error_code(), ": ", status.error_message()));
        }
      }
    });
  }
  REQUIRE(WaitFor([&] { return ok_calls >= 200; }, std::chrono::seconds(60)));
  REQUIRE(kill(server.pid, SIGTERM) == 0);

  int wait_status = 0;
  REQUIRE(WaitFor(
      [&] { return waitpid(server.pid, &wait_status, WNOHANG) == server.pid; },
      std::chrono::seconds(60)));
  exited = true;
  for (std::thread& client : clients) client.join();

  INFO(server.Log());
  for (const std::string& failure : failures) UNSCOPED_INFO(failure);
  CHECK(failures.empty());
  REQUIRE(WIFEXITED(wait_status));
  CHECK(WEXITSTATUS(wait_status) == 0);
  CHECK_THAT(server.Log(), Contains("event=inference_draining"));
  CHECK_THAT(server.Log(), Contains("event=inference_stopped"));
}

TEST_CASE(
    "SIGTERM: clients that watch health do not keep gridcast-inference "
    "waiting for its grace period",
    "[drain][health]") {
  TempDir store;
  Child server =
      Spawn({std::string(GRIDCAST_BINARY_DIR) + "/inference/gridcast-inference",
             "--store=" + store.path(), "--listen=127.0.0.1:0",
             "--poll_interval_ms=100", "--shutdown_grace_ms=60000",
             "--drain_delay_ms=500"},
            store.path() + "/inference.log");
  bool reaped = false;
  const absl::Cleanup stop_server = [&] {
    if (reaped) return;
    kill(server.pid, SIGKILL);
    waitpid(server.pid, nullptr, 0);
  };
  int port = 0;
  REQUIRE(WaitFor([&] { return (port = ListeningPort(server.Log())) != 0; },
                  std::chrono::seconds(60)));
  const std::string address = absl::StrCat("127.0.0.1:", port);

  // gRPC's own health checking keeps a watch open (and lets go of it at
  // the server's GOAWAY); this raw one stays, as grpcurl's Watch or a
  // proxy's health checker does.
  grpc::ChannelArguments arguments;
  arguments.SetServiceConfigJSON(R"({
      "loadBalancingConfig": [{"round_robin": {}}],
      "healthCheckConfig": {"serviceName": "gridcast.v1.ForecasterService"}
  })");
  auto checked = grpc::CreateCustomChannel(
      address, grpc::InsecureChannelCredentials(), arguments);
  // READY once the service says SERVING, after the first scan of the store.
  REQUIRE(checked->WaitForConnected(std::chrono::system_clock::now() +
                                    std::chrono::seconds(60)));
  HealthWatch health(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  REQUIRE(health.Next() == kHealthServing);

  const absl::Time signalled = absl::Now();
  REQUIRE(kill(server.pid, SIGTERM) == 0);
  CHECK(health.Next() == kHealthNotServing);
  CHECK(health.Next() == -1);
  CHECK(health.Finish().error_code() == grpc::StatusCode::UNAVAILABLE);

  int wait_status = 0;
  REQUIRE(WaitFor(
      [&] { return waitpid(server.pid, &wait_status, WNOHANG) == server.pid; },
      std::chrono::seconds(30)));
  reaped = true;
  // Half the grace: the watches did not hold the drain to its end.
  CHECK(absl::Now() - signalled < absl::Seconds(30));
  INFO(server.Log());
  REQUIRE(WIFEXITED(wait_status));
  CHECK(WEXITSTATUS(wait_status) == 0);
  CHECK_THAT(server.Log(), Contains("event=inference_stopped"));
}

}  // namespace
}  // namespace gridcast::testing
