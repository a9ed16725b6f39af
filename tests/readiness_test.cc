// Readiness: an inference replica reports gridcast.v1.ForecasterService
// NOT_SERVING, on its gRPC port and on its health port, until the
// watcher's first pass over the store has loaded or refused every version
// it serves, while "" (liveness) says SERVING from the start. Loads are
// held by a hook rather than slowed by sleeps, and every wait has a
// deadline far beyond what a slow machine needs.
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/server/server_runner.h"
#include "common/store/files.h"
#include "gridcast/v1/forecaster.grpc.pb.h"
#include "inference/inference_server.h"
#include "tests/health_probe.h"
#include "tests/serving_fixtures.h"
#include "tests/test_support.h"

namespace gridcast::testing {
namespace {

using Catch::Matchers::Contains;

constexpr char kService[] = "gridcast.v1.ForecasterService";
constexpr std::chrono::seconds kPatience(30);

// Holds every load that reaches it until Open().
class LoadGate {
 public:
  void Enter() {
    absl::MutexLock lock(&mu_);
    ++entered_;
    mu_.Await(absl::Condition(&open_));
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  // Shuts the gate again for the loads that come next.
  void Close() {
    absl::MutexLock lock(&mu_);
    open_ = false;
    entered_ = 0;
  }
  // Whether a load has reached the gate within `timeout`.
  bool WaitEntered(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(
        absl::Condition(
            +[](int* entered) { return *entered > 0; }, &entered_),
        timeout);
  }

 private:
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  int entered_ ABSL_GUARDED_BY(mu_) = 0;
};

// A store the test publishes into and one replica over it that polls on
// its own thread, as in production, with a health-only port.
class Replica {
 public:
  Replica() {
    auto store = ModelStore::Open(root_.path(), /*read_only=*/false);
    REQUIRE(store.ok());
    store_ = *std::move(store);
  }
  // A held load would hold the replica's shutdown.
  ~Replica() {
    gate_->Open();
    server_.reset();
  }

  void Start(LoadMode load_mode = LoadMode::kEager) {
    InferenceServerOptions options;
    options.store_root = root_.path();
    options.listen_address = "127.0.0.1:0";
    options.health_listen_address = "127.0.0.1:0";
    options.watcher.poll_interval = absl::Milliseconds(50);
    options.registry.load_mode = load_mode;
    options.before_load = [gate = gate_](const std::string&, int64_t) {
      gate->Enter();
    };
    auto server = InferenceServer::Start(options);
    REQUIRE(server.ok());
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(server_->address(),
                                   grpc::InsecureChannelCredentials());
    probe_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->health_port()),
                            grpc::InsecureChannelCredentials());
  }

  int64_t Publish(const std::string& model, uint64_t seed) {
    auto version = PublishTinyVersion(*store_, model, seed);
    REQUIRE(version.ok());
    return *version;
  }
  // Cuts the version's weights in half: its checksum no longer matches.
  void Truncate(const std::string& model, int64_t version) {
    const std::string path =
        store_->VersionPath(model, version) + "/weights.pt";
    const std::string weights = *ReadFileToString(path);
    REQUIRE(ReplaceFileAtomically(path, weights.substr(0, weights.size() / 2))
                .ok());
  }

  // `service`'s status on the gRPC port and on the health port.
  int Health(const std::string& service) {
    return HealthStatus(channel_, service);
  }
  int Probe(const std::string& service) {
    return HealthStatus(probe_, service);
  }
  bool WaitUntilReady() {
    return WaitFor(
        [&] {
          return Health(kService) == kHealthServing &&
                 Probe(kService) == kHealthServing;
        },
        kPatience);
  }

  LoadGate& gate() { return *gate_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  InferenceServer& server() { return *server_; }
  grpc::Status Forecast(const v1::ForecastRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kPatience);
    v1::ForecastResponse response;
    return v1::ForecasterService::NewStub(channel_)->Forecast(&context, request,
                                                              &response);
  }

 private:
  TempDir root_;
  std::unique_ptr<ModelStore> store_;
  std::shared_ptr<LoadGate> gate_ = std::make_shared<LoadGate>();
  std::unique_ptr<InferenceServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<grpc::Channel> probe_;
};

// The state GetModel reports for a version.
v1::VersionState StateOf(InferenceServer& server, const std::string& model,
                         int64_t version) {
  auto described = server.registry()->Describe(model);
  REQUIRE(described.ok());
  for (const v1::ModelVersion& v : described->versions()) {
    if (v.version() == version) return v.state();
  }
  FAIL("version " << version << " of " << model << " not described");
  return v1::VERSION_STATE_UNSPECIFIED;
}

TEST_CASE(
    "a replica still loading reports its service NOT_SERVING and itself "
    "SERVING, then its service SERVING once the load ends",
    "[readiness]") {
  StderrCapture log;
  Replica replica;
  replica.Publish("feeder-1", 1);
  replica.Start();
  // The load is held: the first pass over the store cannot have ended.
  REQUIRE(replica.gate().WaitEntered(absl::Seconds(30)));
  CHECK(replica.Health("") == kHealthServing);
  CHECK(replica.Health(kService) == kHealthNotServing);
  CHECK(replica.Probe("") == kHealthServing);
  CHECK(replica.Probe(kService) == kHealthNotServing);

  replica.gate().Open();
  REQUIRE(replica.WaitUntilReady());
  CHECK(replica.Probe("") == kHealthServing);
  CHECK(replica.server().registry()->ServedVersion("feeder-1") == 1);
  CHECK(replica.Forecast(TinyRequest("feeder-1")).ok());
  // Ready is published before it is logged.
  CHECK(WaitFor(
      [&] {
        return log.Text().find("event=inference_ready models=1 ") !=
               std::string::npos;
      },
      kPatience));
  CHECK_THAT(log.Text(), Contains("loaded_versions=1 failed_versions=0"));
}

TEST_CASE(
    "GetModel shows a version LOADING while it loads, beside the one "
    "serving",
    "[readiness]") {
  Replica replica;
  replica.Publish("feeder-1", 1);
  replica.Start();
  auto stub = v1::ForecasterService::NewStub(replica.channel());
  const auto describe = [&] {
    grpc::ClientContext context;
    v1::GetModelRequest get;
    get.set_model("feeder-1");
    v1::GetModelResponse response;
    REQUIRE(stub->GetModel(&context, get, &response).ok());
    return response.model();
  };

  // The first load is held: GetModel answers, and says so.
  REQUIRE(replica.gate().WaitEntered(absl::Seconds(30)));
  v1::Model model = describe();
  REQUIRE(model.versions_size() == 1);
  CHECK(model.versions(0).state() == v1::VERSION_STATE_LOADING);
  replica.gate().Open();
  REQUIRE(replica.WaitUntilReady());
  CHECK(describe().versions(0).state() == v1::VERSION_STATE_READY);

  // A new version loads beside version 1, which keeps serving.
  replica.gate().Close();
  replica.Publish("feeder-1", 2);
  REQUIRE(replica.gate().WaitEntered(absl::Seconds(30)));
  model = describe();
  REQUIRE(model.versions_size() == 2);
  CHECK(model.served_version() == 1);
  CHECK(model.versions(0).state() == v1::VERSION_STATE_READY);
  CHECK(model.versions(1).state() == v1::VERSION_STATE_LOADING);
  CHECK(replica.Forecast(TinyRequest("feeder-1")).ok());

  replica.gate().Open();
  CHECK(WaitFor([&] { return describe().served_version() == 2; }, kPatience));
  CHECK(describe().versions(1).state() == v1::VERSION_STATE_READY);
}

TEST_CASE("a replica over an empty store is ready after its first scan",
          "[readiness]") {
  Replica replica;
  replica.Start();
  CHECK(replica.WaitUntilReady());
  CHECK(replica.Health("") == kHealthServing);
}

TEST_CASE("a corrupt version does not keep a replica unready", "[readiness]") {
  StderrCapture log;
  Replica replica;
  replica.gate().Open();
  replica.Publish("feeder-1", 1);
  replica.Truncate("feeder-2", replica.Publish("feeder-2", 2));
  replica.Start();

  REQUIRE(replica.WaitUntilReady());
  CHECK(StateOf(replica.server(), "feeder-2", 1) == v1::VERSION_STATE_FAILED);
  CHECK(StateOf(replica.server(), "feeder-1", 1) == v1::VERSION_STATE_READY);
  CHECK(WaitFor(
      [&] {
        return log.Text().find("event=inference_ready") != std::string::npos;
      },
      kPatience));
  const std::string text = log.Text();
  CHECK_THAT(text, Contains("event=version_refused model=feeder-2 version=1"));
  CHECK_THAT(text, Contains("loaded_versions=1 failed_versions=1"));
}

TEST_CASE("in lazy mode a replica is ready once it has listed the store",
          "[readiness]") {
  // The gate stays shut: any load would hold it; none may be needed.
  Replica replica;
  replica.Publish("feeder-1", 1);
  replica.Start(LoadMode::kLazy);
  CHECK(replica.WaitUntilReady());
  CHECK(replica.server().registry()->LoadedVersions() == 0);
  CHECK(StateOf(replica.server(), "feeder-1", 1) ==
        v1::VERSION_STATE_AVAILABLE);
}

TEST_CASE("a service that becomes ready during a drain stays NOT_SERVING",
          "[readiness][health_port]") {
  // Every method unimplemented: only health matters here.
  v1::ForecasterService::Service forecaster;
  GrpcServerOptions options;
  options.health_service_names = {kService};
  options.services_wait_until_ready = true;
  options.health_listen_address = "127.0.0.1:0";
  // Long enough for the checks below to see the drain's NOT_SERVING.
  options.drain_delay = absl::Seconds(3);
  auto server = GrpcServer::Start(options, {&forecaster});
  REQUIRE(server.ok());
  auto probe =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->health_port()),
                          grpc::InsecureChannelCredentials());
  CHECK(HealthStatus(probe, "") == kHealthServing);
  CHECK(HealthStatus(probe, kService) == kHealthNotServing);

  std::thread drain([&] { (*server)->Shutdown(absl::Seconds(1)); });
  CHECK(WaitFor([&] { return HealthStatus(probe, "") != kHealthServing; },
                kPatience));
  CHECK_FALSE((*server)->MarkServicesReady());
  // NOT_SERVING, or no answer at all once the drain is over.
  CHECK(HealthStatus(probe, kService) != kHealthServing);
  CHECK(HealthStatus(probe, "") != kHealthServing);
  drain.join();
}

}  // namespace
}  // namespace gridcast::testing
