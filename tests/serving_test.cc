// The registry behind a real inference server over a scratch store: lazy
// and eager loading, the LRU with requests in flight, hot swaps, policies
// with aliases and rollback, rejected versions, the batch RPC and dynamic
// batching. Versions are tiny networks published straight into the store;
// the watcher is stepped by hand.
#include <atomic>
#include <memory>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <catch2/catch.hpp>

#include "absl/synchronization/notification.h"
#include "inference/dynamic_batcher.h"
#include "inference/inference_server.h"
#include "tests/serving_fixtures.h"
#include "tests/test_support.h"

namespace gridcast::testing {
namespace {

using Catch::Matchers::Contains;

// A store the test writes to and one inference server over it.
class Serving {
 public:
  explicit Serving(InferenceServerOptions options = {}) {
    auto store = ModelStore::Open(root_.path(), /*read_only=*/false);
    REQUIRE(store.ok());
    store_ = *std::move(store);
    StartServer(std::move(options));
  }

  void StartServer(InferenceServerOptions options) {
    server_.reset();
    options.store_root = root_.path();
    options.listen_address = "127.0.0.1:0";
    options.watcher.start_thread = false;
    auto server = InferenceServer::Start(options);
    REQUIRE(server.ok());
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(server_->address(),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::ForecasterService::NewStub(channel_);
  }

  int64_t Publish(const std::string& model, uint64_t seed,
                  const std::string& rejection_reason = "") {
    auto version = PublishTinyVersion(*store_, model, seed, rejection_reason);
    REQUIRE(version.ok());
    return *version;
  }
  void Policy(const std::string& model, const std::string& json) {
    WritePolicy(root_.path(), model, json);
  }
  void RemovePolicy(const std::string& model) {
    testing::RemovePolicy(root_.path(), model);
  }
  void Poll() { server_->watcher()->PollOnce(); }

  ModelRegistry& registry() { return *server_->registry(); }
  InferenceServer& server() { return *server_; }
  v1::ForecasterService::Stub& stub() { return *stub_; }

  grpc::Status Forecast(const v1::ForecastRequest& request,
                        v1::ForecastResponse* response) {
    grpc::ClientContext context;
    return stub_->Forecast(&context, request, response);
  }
  v1::Model Describe(const std::string& model) {
    auto described = registry().Describe(model);
    REQUIRE(described.ok());
    return *described;
  }
  const v1::ModelVersion& VersionOf(const v1::Model& model, int64_t version) {
    for (const auto& v : model.versions()) {
      if (v.version() == version) return v;
    }
    FAIL("version " << version << " not described");
    return model.versions(0);
  }

 private:
  TempDir root_;
  std::unique_ptr<ModelStore> store_;
  std::unique_ptr<InferenceServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ForecasterService::Stub> stub_;
};

InferenceServerOptions Lazy() {
  InferenceServerOptions options;
  options.registry.load_mode = LoadMode::kLazy;
  return options;
}

v1::ForecastRequest Pinned(const std::string& model, int64_t version) {
  v1::ForecastRequest request = TinyRequest(model);
  request.set_version(version);
  return request;
}

v1::ForecastRequest Aliased(const std::string& model,
                            const std::string& alias) {
  v1::ForecastRequest request = TinyRequest(model);
  request.set_alias(alias);
  return request;
}

// --- lazy and eager ---

TEST_CASE("eager mode loads what the policy serves at the poll",
          "[serving][registry]") {
  Serving serving;
  serving.Publish("feeder-1", 1);
  serving.Publish("feeder-2", 2);
  serving.Poll();
  CHECK(serving.registry().LoadedVersions() == 2);
  CHECK(serving.VersionOf(serving.Describe("feeder-1"), 1).state() ==
        v1::VERSION_STATE_READY);
}

TEST_CASE("lazy mode loads a version on its first request only",
          "[serving][registry]") {
  Serving serving(Lazy());
  serving.Publish("feeder-1", 1);
  serving.Publish("feeder-2", 2);
  serving.Poll();
  CHECK(serving.registry().LoadedVersions() == 0);
  const v1::Model cold = serving.Describe("feeder-1");
  CHECK(cold.served_version() == 1);
  CHECK(serving.VersionOf(cold, 1).state() == v1::VERSION_STATE_AVAILABLE);
  CHECK(serving.VersionOf(cold, 1).reason() == "loads on first use");

  v1::ForecastResponse response;
  REQUIRE(serving.Forecast(TinyRequest("feeder-1"), &response).ok());
  CHECK(response.version() == 1);
  CHECK(response.values_size() == kTinyHorizon);
  CHECK(serving.registry().LoadedVersions() == 1);
  CHECK(serving.VersionOf(serving.Describe("feeder-1"), 1).state() ==
        v1::VERSION_STATE_READY);
  CHECK(serving.VersionOf(serving.Describe("feeder-2"), 1).state() ==
        v1::VERSION_STATE_AVAILABLE);
}

TEST_CASE("many first requests for a cold model share one load",
          "[serving][registry]") {
  Serving serving(Lazy());
  serving.Publish("feeder-1", 1);
  serving.Poll();
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      v1::ForecastResponse response;
      if (!serving.server()
               .service()
               ->RunForecast(TinyRequest("feeder-1"), &response)
               .ok()) {
        ++failures;
      }
    });
  }
  for (auto& caller : callers) caller.join();
  CHECK(failures == 0);
  CHECK(serving.registry().LoadedVersions() == 1);
}

TEST_CASE(
    "in lazy mode a model in use gets its next version loaded by "
    "the poll, a cold one does not",
    "[serving][registry]") {
  Serving serving(Lazy());
  serving.Publish("feeder-hot", 1);
  serving.Publish("feeder-cold", 1);
  serving.Poll();
  v1::ForecastResponse response;
  REQUIRE(serving.Forecast(TinyRequest("feeder-hot"), &response).ok());

  serving.Publish("feeder-hot", 2);
  serving.Publish("feeder-cold", 2);
  serving.Poll();
  CHECK(serving.registry().LoadedVersions() == 1);
  const v1::Model hot = serving.Describe("feeder-hot");
  CHECK(hot.served_version() == 2);
  CHECK(serving.VersionOf(hot, 2).state() == v1::VERSION_STATE_READY);
  CHECK(serving.VersionOf(hot, 1).state() == v1::VERSION_STATE_UNLOADED);
  CHECK(serving.VersionOf(serving.Describe("feeder-cold"), 2).state() ==
        v1::VERSION_STATE_AVAILABLE);
}

// --- the LRU ---

TEST_CASE("the least recently used version is evicted beyond the count",
          "[serving][lru]") {
  InferenceServerOptions options = Lazy();
  options.registry.max_loaded_versions = 2;
  Serving serving(options);
  for (const char* model : {"feeder-a", "feeder-b", "feeder-c"}) {
    serving.Publish(model, 1);
  }
  serving.Poll();
  ModelRegistry& registry = serving.registry();

  // A request on feeder-a is in flight: it holds its version.
  auto in_flight = registry.Acquire("feeder-a", {});
  REQUIRE(in_flight.ok());
  std::weak_ptr<const ForecastModel> watched = *in_flight;
  REQUIRE(registry.Acquire("feeder-b", {}).ok());
  REQUIRE(registry.Acquire("feeder-c", {}).ok());

  CHECK(registry.LoadedVersions() == 2);
  const v1::Model feeder_a = serving.Describe("feeder-a");
  const v1::ModelVersion& evicted = serving.VersionOf(feeder_a, 1);
  CHECK(evicted.state() == v1::VERSION_STATE_UNLOADED);
  CHECK_THAT(evicted.reason(), Contains("evicted"));

  // The request in flight still forecasts with the evicted version, which
  // is freed when it lets go.
  const v1::ForecastRequest request = TinyRequest("feeder-a");
  const int64_t first = request.history().timestamps(kTinyWindow - 1) + 3600;
  CHECK(
      (*in_flight)->Predict(request.history().values().data(), &first, 1).ok());
  CHECK_FALSE(watched.expired());
  in_flight->reset();
  CHECK(watched.expired());

  // feeder-a comes back on demand and feeder-b, now the oldest, goes.
  v1::ForecastResponse response;
  REQUIRE(serving.Forecast(request, &response).ok());
  CHECK(registry.LoadedVersions() == 2);
  CHECK(serving.VersionOf(serving.Describe("feeder-b"), 1).state() ==
        v1::VERSION_STATE_UNLOADED);
  CHECK(serving.VersionOf(serving.Describe("feeder-a"), 1).state() ==
        v1::VERSION_STATE_READY);
}

TEST_CASE("the memory budget bounds the loaded parameter bytes",
          "[serving][lru]") {
  Serving probe(Lazy());
  probe.Publish("feeder-a", 1);
  probe.Poll();
  REQUIRE(probe.registry().Acquire("feeder-a", {}).ok());
  const int64_t one_model = probe.registry().LoadedBytes();
  REQUIRE(one_model > 0);

  InferenceServerOptions options;  // eager: all three want to load
  options.registry.memory_budget_bytes = 2 * one_model;
  options.registry.max_loaded_versions = 0;
  Serving serving(options);
  for (const char* model : {"feeder-a", "feeder-b", "feeder-c"}) {
    serving.Publish(model, 1);
  }
  serving.Poll();
  CHECK(serving.registry().LoadedVersions() == 2);
  CHECK(serving.registry().LoadedBytes() <= 2 * one_model);
  // An evicted version is not reloaded by the next eager poll...
  serving.Poll();
  CHECK(serving.registry().LoadedVersions() == 2);
  // ...but answers its next request.
  for (const char* model : {"feeder-a", "feeder-b", "feeder-c"}) {
    v1::ForecastResponse response;
    CHECK(serving.Forecast(TinyRequest(model), &response).ok());
  }
}

TEST_CASE("requests keep succeeding while one slot is shared by three models",
          "[serving][lru]") {
  InferenceServerOptions options = Lazy();
  options.registry.max_loaded_versions = 1;
  Serving serving(options);
  const std::vector<std::string> models = {"feeder-a", "feeder-b", "feeder-c"};
  for (const auto& model : models) serving.Publish(model, 1);
  serving.Poll();

  std::atomic<int> calls{0}, failures{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        v1::ForecastResponse response;
        const grpc::Status status =
            serving.Forecast(TinyRequest(models[(t + i) % 3]), &response);
        ++calls;
        if (!status.ok()) {
          ++failures;
          UNSCOPED_INFO(status.error_message());
        }
      }
    });
  }
  for (auto& caller : callers) caller.join();
  CHECK(calls == 90);
  CHECK(failures == 0);
  CHECK(serving.registry().LoadedVersions() <= 1);
}

// --- reload ---

TEST_CASE(
    "a new version is swapped in; the old one is freed by its last "
    "request and never two extra copies exist",
    "[serving][reload]") {
  TempDir root;
  auto store = ModelStore::Open(root.path(), /*read_only=*/false);
  REQUIRE(store.ok());
  REQUIRE(PublishTinyVersion(**store, "feeder-1", 1).ok());

  // A registry whose loader notes how many versions were loaded while it
  // ran: the old copy at most, beside the one being loaded.
  std::atomic<int> most_loaded_during_load{0};
  ModelRegistry* registry_seen = nullptr;
  ModelRegistry registry(
      ModelRegistryOptions(), [&](const std::string& model, int64_t version) {
        most_loaded_during_load = std::max(most_loaded_during_load.load(),
                                           registry_seen->LoadedVersions());
        return LoadVersionFromStore(**store, model, version);
      });
  registry_seen = &registry;
  StoreWatcherOptions watcher_options;
  watcher_options.start_thread = false;
  StoreWatcher watcher(store->get(), &registry, watcher_options);
  watcher.PollOnce();

  auto in_flight = registry.Acquire("feeder-1", {});
  REQUIRE(in_flight.ok());
  CHECK((*in_flight)->version() == 1);
  std::weak_ptr<const ForecastModel> old_version = *in_flight;

  for (uint64_t seed = 2; seed <= 4; ++seed) {
    REQUIRE(PublishTinyVersion(**store, "feeder-1", seed).ok());
    watcher.PollOnce();
  }
  CHECK(registry.ServedVersion("feeder-1") == 4);
  CHECK(registry.LoadedVersions() == 1);
  CHECK(most_loaded_during_load == 1);
  auto model = registry.Describe("feeder-1");
  REQUIRE(model.ok());
  CHECK(model->versions(0).state() == v1::VERSION_STATE_UNLOADED);
  CHECK(model->versions(2).reason() == "replaced by version 4");
  CHECK(model->versions(3).state() == v1::VERSION_STATE_READY);

  CHECK_FALSE(old_version.expired());
  in_flight->reset();
  CHECK(old_version.expired());
}

TEST_CASE("loads, swaps and evictions are logged with the model and version",
          "[serving][logs]") {
  StderrCapture log;
  InferenceServerOptions options = Lazy();
  options.registry.max_loaded_versions = 1;
  Serving serving(options);
  v1::ForecastResponse response;

  // Loaded by its first request.
  serving.Publish("feeder-1", 1);
  serving.Poll();
  REQUIRE(serving.Forecast(TinyRequest("feeder-1"), &response).ok());
  CHECK_THAT(log.Text(),
             Contains("event=version_loaded model=feeder-1 version=1 "));

  // The model is in use: the poll loads its next version and swaps.
  serving.Publish("feeder-1", 2);
  serving.Poll();
  REQUIRE(serving.registry().ServedVersion("feeder-1") == 2);
  CHECK_THAT(log.Text(),
             Contains("event=version_loaded model=feeder-1 version=2 "));
  CHECK_THAT(log.Text(), Contains("event=version_swapped model=feeder-1 "
                                  "version=2 previous_version=1 "));

  // One slot: the next model's first request evicts it.
  serving.Publish("feeder-2", 3);
  serving.Poll();
  REQUIRE(serving.Forecast(TinyRequest("feeder-2"), &response).ok());
  const std::string text = log.Text();
  CHECK_THAT(text, Contains("event=version_loaded model=feeder-2 version=1 "));
  CHECK_THAT(text, Contains("event=version_evicted model=feeder-1 version=2 "
                            "reason=\"evicted: at most 1 versions stay "
                            "loaded\""));
}

// --- rejected versions ---

TEST_CASE("a rejected version is never served, by default, number or alias",
          "[serving][policy]") {
  Serving serving;
  serving.Publish("feeder-1", 1);
  serving.Publish("feeder-1", 2, "MAE 51.8 kW loses to seasonal naive 47.9");
  serving.Poll();

  const v1::Model model = serving.Describe("feeder-1");
  CHECK(model.served_version() == 1);
  const v1::ModelVersion& rejected = serving.VersionOf(model, 2);
  CHECK(rejected.state() == v1::VERSION_STATE_REJECTED);
  CHECK_THAT(rejected.reason(), Contains("seasonal naive"));

  v1::ForecastResponse response;
  REQUIRE(serving.Forecast(TinyRequest("feeder-1"), &response).ok());
  CHECK(response.version() == 1);
  const grpc::Status pinned =
      serving.Forecast(Pinned("feeder-1", 2), &response);
  CHECK(pinned.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(pinned.error_message(), Contains("rejected"));

  serving.Policy("feeder-1", R"({"aliases": {"production": 2}})");
  serving.Poll();
  CHECK_THAT(serving.Describe("feeder-1").policy_error(),
             Contains("aliases[production]=2 was rejected"));
  CHECK(serving.Forecast(Aliased("feeder-1", "production"), &response)
            .error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(serving.registry().ServedVersion("feeder-1") == 1);
}

TEST_CASE("a model whose only version is rejected is UNAVAILABLE saying why",
          "[serving][policy]") {
  Serving serving;
  serving.Publish("feeder-1", 1, "loses to seasonal naive");
  serving.Poll();
  v1::ForecastResponse response;
  const grpc::Status status =
      serving.Forecast(TinyRequest("feeder-1"), &response);
  CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK_THAT(status.error_message(), Contains("no good version"));
  CHECK(serving.registry().LoadedVersions() == 0);
}

// --- policies ---

TEST_CASE("a policy serves the latest N, pinned and aliased versions",
          "[serving][policy]") {
  Serving serving;
  for (uint64_t seed = 1; seed <= 5; ++seed) serving.Publish("feeder-1", seed);
  serving.Policy("feeder-1",
                 R"({"latest": 2, "pinned": [1], "aliases": {"canary": 3}})");
  serving.Poll();

  const v1::Model model = serving.Describe("feeder-1");
  CHECK(model.served_version() == 5);
  CHECK(model.aliases().at("canary") == 3);
  CHECK(model.policy_error().empty());
  CHECK(serving.registry().LoadedVersions() == 4);
  CHECK(serving.VersionOf(model, 3).aliases(0) == "canary");
  CHECK_FALSE(serving.VersionOf(model, 2).served());

  v1::ForecastResponse response;
  for (int64_t version : {1, 4, 5}) {
    REQUIRE(serving.Forecast(Pinned("feeder-1", version), &response).ok());
    CHECK(response.version() == version);
  }
  REQUIRE(serving.Forecast(Aliased("feeder-1", "canary"), &response).ok());
  CHECK(response.version() == 3);

  const grpc::Status unserved =
      serving.Forecast(Pinned("feeder-1", 2), &response);
  CHECK(unserved.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(unserved.error_message(), Contains("not served by its policy"));
  const grpc::Status unknown =
      serving.Forecast(Aliased("feeder-1", "staging"), &response);
  CHECK(unknown.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(unknown.error_message(), Contains("canary"));

  v1::ForecastRequest both = Pinned("feeder-1", 4);
  both.set_alias("canary");
  CHECK(serving.Forecast(both, &response).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("moving the production alias back is the rollback",
          "[serving][policy]") {
  Serving serving;
  for (uint64_t seed = 1; seed <= 3; ++seed) serving.Publish("feeder-1", seed);
  serving.Policy("feeder-1", R"({"aliases": {"production": 2}})");
  serving.Poll();
  v1::ForecastResponse v2;
  REQUIRE(serving.Forecast(TinyRequest("feeder-1"), &v2).ok());
  CHECK(v2.version() == 2);

  // Promote 3, then roll back to 2.
  serving.Policy("feeder-1", R"({"aliases": {"production": 3}})");
  serving.Poll();
  v1::ForecastResponse v3;
  REQUIRE(serving.Forecast(TinyRequest("feeder-1"), &v3).ok());
  CHECK(v3.version() == 3);
  CHECK(v3.values(0) != v2.values(0));

  serving.Policy("feeder-1", R"({"aliases": {"production": 2}})");
  serving.Poll();
  v1::ForecastResponse rolled_back;
  REQUIRE(serving.Forecast(TinyRequest("feeder-1"), &rolled_back).ok());
  CHECK(rolled_back.version() == 2);
  CHECK(rolled_back.values(0) == v2.values(0));
  CHECK(serving.Describe("feeder-1").served_version() == 2);

  // Without its policy the model goes back to its newest version.
  serving.RemovePolicy("feeder-1");
  serving.Poll();
  CHECK(serving.registry().ServedVersion("feeder-1") == 3);
}

TEST_CASE("a bad policy.json is refused and the previous policy stays",
          "[serving][policy]") {
  Serving serving;
  for (uint64_t seed = 1; seed <= 3; ++seed) serving.Publish("feeder-1", seed);
  serving.Policy("feeder-1", R"({"aliases": {"production": 1}})");
  serving.Poll();
  REQUIRE(serving.registry().ServedVersion("feeder-1") == 1);

  struct Case {
    const char* json;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {R"({"aliases": {"production": 3})", "does not parse"},
      {R"({"aliases": {"production": 9}})",
       "aliases[production]=9 is not a published version"},
      {R"({"latest": -2})", "latest=-2"},
  };
  for (const Case& c : cases) {
    INFO(c.json);
    serving.Policy("feeder-1", c.json);
    serving.Poll();
    const v1::Model model = serving.Describe("feeder-1");
    CHECK_THAT(model.policy_error(), Contains(c.reason));
    CHECK(model.served_version() == 1);
    CHECK(model.aliases().at("production") == 1);
    v1::ForecastResponse response;
    REQUIRE(serving.Forecast(TinyRequest("feeder-1"), &response).ok());
    CHECK(response.version() == 1);
  }

  // The refused policy naming version 9 is taken once 9 exists... here it
  // is fixed instead, and the error clears.
  serving.Policy("feeder-1", R"({"aliases": {"production": 3}})");
  serving.Poll();
  CHECK(serving.Describe("feeder-1").policy_error().empty());
  CHECK(serving.registry().ServedVersion("feeder-1") == 3);
}

TEST_CASE("a policy naming a version not yet published applies once it is",
          "[serving][policy]") {
  Serving serving;
  serving.Publish("feeder-1", 1);
  serving.Policy("feeder-1", R"({"aliases": {"production": 2}})");
  serving.Poll();
  CHECK_FALSE(serving.Describe("feeder-1").policy_error().empty());
  CHECK(serving.registry().ServedVersion("feeder-1") == 1);

  serving.Publish("feeder-1", 2);
  serving.Poll();
  CHECK(serving.Describe("feeder-1").policy_error().empty());
  CHECK(serving.registry().ServedVersion("feeder-1") == 2);
}

// --- the batch RPC ---

TEST_CASE("a batch answers every feeder, each error in its own item",
          "[serving][batch]") {
  Serving serving;
  serving.Publish("feeder-1", 1);
  serving.Publish("feeder-2", 2);
  serving.Publish("feeder-2", 3);
  serving.Policy("feeder-2", R"({"latest": 2})");
  serving.Poll();

  v1::ForecastBatchRequest batch;
  *batch.add_items() = TinyRequest("feeder-1");
  *batch.add_items() = TinyRequest("no-such-feeder");
  v1::ForecastRequest short_history = TinyRequest("feeder-2");
  short_history.mutable_history()->mutable_values()->RemoveLast();
  short_history.mutable_history()->mutable_timestamps()->RemoveLast();
  *batch.add_items() = short_history;
  *batch.add_items() = Pinned("feeder-2", 1);
  *batch.add_items() = Aliased("feeder-2", "production");
  v1::ForecastRequest bad_name = TinyRequest("../etc");
  *batch.add_items() = bad_name;

  grpc::ClientContext context;
  v1::ForecastBatchResponse response;
  REQUIRE(serving.stub().ForecastBatch(&context, batch, &response).ok());
  REQUIRE(response.results_size() == 6);

  const std::vector<grpc::StatusCode> expected = {
      grpc::StatusCode::OK,
      grpc::StatusCode::NOT_FOUND,
      grpc::StatusCode::FAILED_PRECONDITION,
      grpc::StatusCode::OK,
      grpc::StatusCode::NOT_FOUND,
      grpc::StatusCode::INVALID_ARGUMENT,
  };
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("item " << i << ": " << response.results(i).message());
    CHECK(response.results(i).code() == static_cast<int>(expected[i]));
    CHECK(response.results(i).has_response() ==
          (expected[i] == grpc::StatusCode::OK));
  }
  CHECK_THAT(response.results(1).message(), Contains("no-such-feeder"));
  CHECK_THAT(response.results(2).message(), Contains("23 points"));

  // The good items are what single calls answer.
  for (int i : {0, 3}) {
    v1::ForecastResponse single;
    REQUIRE(serving.Forecast(batch.items(i), &single).ok());
    CHECK(response.results(i).response().version() == single.version());
    CHECK(response.results(i).response().values(0) == single.values(0));
  }
  CHECK(response.results(3).response().version() == 1);
}

TEST_CASE("a batch beyond the item limit is RESOURCE_EXHAUSTED naming it",
          "[serving][batch]") {
  InferenceServerOptions options;
  options.service.max_batch_items = 3;
  Serving serving(options);
  serving.Publish("feeder-1", 1);
  serving.Poll();

  v1::ForecastBatchRequest batch;
  for (int i = 0; i < 4; ++i) *batch.add_items() = TinyRequest("feeder-1");
  grpc::ClientContext context;
  v1::ForecastBatchResponse response;
  const grpc::Status status =
      serving.stub().ForecastBatch(&context, batch, &response);
  CHECK(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(status.error_message(), Contains("max_batch_items"));
  CHECK_THAT(status.error_message(), Contains("at most 3"));

  batch.mutable_items()->RemoveLast();
  grpc::ClientContext fits;
  REQUIRE(serving.stub().ForecastBatch(&fits, batch, &response).ok());
  CHECK(response.results_size() == 3);
}

// --- dynamic batching ---

TEST_CASE("dynamically batched requests get the answers of unbatched ones",
          "[serving][dynamic_batching]") {
  constexpr int kRequests = 8;
  InferenceServerOptions off;
  off.batching.max_batch_size = 0;
  Serving unbatched(off);
  InferenceServerOptions options;
  options.batching.max_batch_size = kRequests;
  // Long enough that the batch is closed by its size, not by the clock.
  options.batching.max_delay = absl::Seconds(5);
  Serving batched(options);
  for (Serving* serving : {&unbatched, &batched}) {
    serving->Publish("feeder-1", 1);
    serving->Poll();
  }

  std::vector<v1::ForecastRequest> requests;
  for (int i = 0; i < kRequests; ++i) {
    requests.push_back(TinyRequest("feeder-1", 80 + 5 * i));
  }
  std::vector<v1::ForecastResponse> alone(kRequests), together(kRequests);
  std::vector<grpc::Status> statuses(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    REQUIRE(unbatched.Forecast(requests[i], &alone[i]).ok());
  }
  std::vector<std::thread> callers;
  for (int i = 0; i < kRequests; ++i) {
    callers.emplace_back(
        [&, i] { statuses[i] = batched.Forecast(requests[i], &together[i]); });
  }
  for (auto& caller : callers) caller.join();

  const DynamicBatcher::Stats stats = batched.server().batcher()->stats();
  CHECK(stats.requests == kRequests);
  CHECK(stats.largest_batch == kRequests);
  for (int i = 0; i < kRequests; ++i) {
    INFO("request " << i);
    REQUIRE(statuses[i].ok());
    REQUIRE(together[i].values_size() == alone[i].values_size());
    CHECK(together[i].timestamps(0) == alone[i].timestamps(0));
    for (int h = 0; h < alone[i].values_size(); ++h) {
      CHECK(together[i].values(h) == Approx(alone[i].values(h)).epsilon(1e-5));
    }
  }
  // Different inputs gave different answers: nothing was mixed up.
  CHECK(together[0].values(0) != together[kRequests - 1].values(0));
}

TEST_CASE("a batch that does not fill runs after the delay, per version",
          "[serving][dynamic_batching]") {
  InferenceServerOptions options;
  options.batching.max_batch_size = 64;
  options.batching.max_delay = absl::Milliseconds(20);
  Serving serving(options);
  serving.Publish("feeder-1", 1);
  serving.Publish("feeder-2", 2);
  serving.Poll();

  std::vector<v1::ForecastResponse> responses(4);
  std::vector<grpc::Status> statuses(4);
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&, i] {
      statuses[i] = serving.Forecast(
          TinyRequest(i % 2 == 0 ? "feeder-1" : "feeder-2"), &responses[i]);
    });
  }
  for (auto& caller : callers) caller.join();
  for (int i = 0; i < 4; ++i) {
    REQUIRE(statuses[i].ok());
    CHECK(responses[i].model() == (i % 2 == 0 ? "feeder-1" : "feeder-2"));
  }
  CHECK(responses[0].values(0) == responses[2].values(0));
  CHECK(responses[0].values(0) != responses[1].values(0));
  CHECK(serving.server().batcher()->stats().requests == 4);
}

// Greedy batching (max_delay zero) on a batcher of the test's own, with a
// version the server loaded: answers are counted, and the first request's
// answer can hold its pass open while others arrive.
struct GreedyBatching {
  GreedyBatching() {
    serving.Publish("feeder-1", 1);
    serving.Poll();
    auto acquired = serving.registry().Acquire("feeder-1", {});
    REQUIRE(acquired.ok());
    model = *acquired;
    REQUIRE(batcher.greedy());
  }

  void Submit(const v1::ForecastRequest& request, DynamicBatcher::Done done) {
    const v1::TimeSeries& history = request.history();
    batcher.Submit(model, history.values().data(),
                   history.timestamps(kTinyWindow - 1) + 3600, std::move(done));
  }

  Serving serving;
  ModelHandle model;
  DynamicBatcher batcher{{/*max_batch_size=*/8, absl::ZeroDuration()}};
};

TEST_CASE(
    "greedy batching runs a lone request at once and batches what queues "
    "behind its pass",
    "[serving][dynamic_batching]") {
  GreedyBatching greedy;
  const v1::ForecastRequest request = TinyRequest("feeder-1");

  absl::Notification first_answered, release;
  bool first_ok = false;
  std::thread first([&] {
    greedy.Submit(request, [&](absl::StatusOr<std::vector<double>> forecast) {
      first_ok = forecast.ok();
      first_answered.Notify();
      release.WaitForNotification();
    });
  });
  // It ran alone and did not wait for company.
  first_answered.WaitForNotification();
  CHECK(first_ok);
  CHECK(greedy.batcher.stats().requests == 1);

  // While its pass is still open, three more queue and return unanswered.
  std::atomic<int> answered{0};
  for (int i = 0; i < 3; ++i) {
    greedy.Submit(request, [&](absl::StatusOr<std::vector<double>> forecast) {
      if (forecast.ok()) ++answered;
    });
  }
  CHECK(answered == 0);

  // The first request's thread runs them, as one pass.
  release.Notify();
  first.join();
  CHECK(answered == 3);
  const DynamicBatcher::Stats stats = greedy.batcher.stats();
  CHECK(stats.batches == 2);
  CHECK(stats.largest_batch == 3);
}

TEST_CASE("a batch that fails is answered request by request",
          "[serving][dynamic_batching]") {
  GreedyBatching greedy;
  const v1::ForecastRequest good = TinyRequest("feeder-1");
  // The service refuses such a load before it gets here; the batcher is
  // fed it directly, and the network's float32 overflows on it.
  const v1::ForecastRequest bad = TinyRequest("feeder-1", 1e300);

  absl::Notification first_answered, release;
  std::thread first([&] {
    greedy.Submit(good, [&](absl::StatusOr<std::vector<double>>) {
      first_answered.Notify();
      release.WaitForNotification();
    });
  });
  first_answered.WaitForNotification();

  std::vector<absl::StatusCode> codes(3, absl::StatusCode::kUnknown);
  for (int i = 0; i < 3; ++i) {
    greedy.Submit(i == 1 ? bad : good,
                  [&codes, i](absl::StatusOr<std::vector<double>> forecast) {
                    codes[i] = forecast.status().code();
                  });
  }
  release.Notify();
  first.join();

  CHECK(codes[0] == absl::StatusCode::kOk);
  CHECK(codes[1] == absl::StatusCode::kInternal);
  CHECK(codes[2] == absl::StatusCode::kOk);
}

TEST_CASE(
    "a batched Forecast refuses a load far beyond the model's range, as "
    "an unbatched one does",
    "[serving][dynamic_batching]") {
  InferenceServerOptions options;
  options.batching.max_batch_size = 8;
  options.batching.max_delay = absl::ZeroDuration();
  Serving serving(options);
  serving.Publish("feeder-1", 1);
  serving.Poll();

  v1::ForecastRequest request = TinyRequest("feeder-1");
  request.mutable_history()->set_values(5, -1e300);
  v1::ForecastResponse response;
  const grpc::Status status = serving.Forecast(request, &response);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(),
             Contains("history.values[5]=-1e+300 is too far from what model "
                      "feeder-1 was trained on"));
}

// Before PrepareForecast was shared, the batched path had its own copy of
// the checks and had lost two of them along the way.
TEST_CASE("a batched Forecast checks its request as an unbatched one does",
          "[serving][dynamic_batching]") {
  InferenceServerOptions options;
  options.batching.max_batch_size = 8;
  options.batching.max_delay = absl::ZeroDuration();
  Serving serving(options);
  serving.Publish("feeder-1", 1);
  serving.Poll();
  v1::ForecastResponse response;

  SECTION("a negative horizon") {
    v1::ForecastRequest request = TinyRequest("feeder-1");
    request.set_horizon(-3);
    const grpc::Status status = serving.Forecast(request, &response);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(), Contains("horizon=-3 must be 0"));
  }
  SECTION("a band the model does not have") {
    v1::ForecastRequest request = TinyRequest("feeder-1");
    request.add_quantiles(0.9);
    const grpc::Status status = serving.Forecast(request, &response);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(),
               Contains("quantiles[0]=0.9 is not a level model feeder-1 "
                        "forecasts"));
  }
  CHECK(response.values_size() == 0);
}

}  // namespace
}  // namespace gridcast::testing
