// Scale-out: three inference replicas on loopback, each with its own
// watcher over one store folder, behind one client channel that spreads
// calls with round_robin. Connections are recycled by their maximum age
// while calls flow. A newly published version reaches every replica and
// not one call fails.
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "inference/inference_server.h"
#include "tests/serving_fixtures.h"
#include "tests/test_support.h"

namespace gridcast::testing {
namespace {

constexpr int kReplicas = 3;
// Short, so that connections are replaced during the test.
constexpr int kMaxConnectionAgeMs = 300;

std::shared_ptr<grpc::Channel> RoundRobinChannel(
    const std::vector<std::unique_ptr<InferenceServer>>& replicas) {
  std::vector<std::string> addresses;
  for (const auto& replica : replicas) addresses.push_back(replica->address());
  grpc::ChannelArguments arguments;
  arguments.SetServiceConfigJSON(
      R"({"loadBalancingConfig": [{"round_robin": {}}]})");
  return grpc::CreateCustomChannel(
      absl::StrCat("ipv4:", absl::StrJoin(addresses, ",")),
      grpc::InsecureChannelCredentials(), arguments);
}

TEST_CASE(
    "three replicas over one store all serve a new version and no "
    "call fails",
    "[serving][scaleout]") {
  TempDir root;
  auto store = ModelStore::Open(root.path(), /*read_only=*/false);
  REQUIRE(store.ok());
  REQUIRE(PublishTinyVersion(**store, "feeder-1", 1).ok());

  std::vector<std::unique_ptr<InferenceServer>> replicas;
  for (int i = 0; i < kReplicas; ++i) {
    InferenceServerOptions options;
    options.store_root = root.path();
    options.listen_address = "127.0.0.1:0";
    options.watcher.poll_interval = absl::Milliseconds(50);
    options.max_connection_age_ms = kMaxConnectionAgeMs;
    options.max_connection_age_grace_ms = 5000;
    auto replica = InferenceServer::Start(options);
    REQUIRE(replica.ok());
    replicas.push_back(*std::move(replica));
  }
  const auto all_serve = [&](int64_t version) {
    for (const auto& replica : replicas) {
      if (replica->registry()->ServedVersion("feeder-1") != version) {
        return false;
      }
    }
    return true;
  };
  REQUIRE(WaitFor([&] { return all_serve(1); }, std::chrono::seconds(30)));

  auto stub = v1::ForecasterService::NewStub(RoundRobinChannel(replicas));
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0}, answered_by_v2{0};
  std::vector<std::string> failures;
  std::mutex failures_mu;
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      const v1::ForecastRequest request = TinyRequest("feeder-1");
      while (!stop) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(10));
        v1::ForecastResponse response;
        const grpc::Status status =
            stub->Forecast(&context, request, &response);
        ++calls;
        if (!status.ok()) {
          std::lock_guard<std::mutex> lock(failures_mu);
          failures.push_back(
              absl::StrCat(status.error_code(), ": ", status.error_message()));
        } else if (response.version() == 2) {
          ++answered_by_v2;
        }
      }
    });
  }

  REQUIRE(WaitFor([&] { return calls > 50; }, std::chrono::seconds(30)));
  REQUIRE(PublishTinyVersion(**store, "feeder-1", 2).ok());
  REQUIRE(WaitFor([&] { return all_serve(2); }, std::chrono::seconds(30)));
  // Calls keep flowing after the swap for several connection ages, so
  // that every connection is closed and replaced under load at least once.
  const int calls_at_swap = calls;
  const auto swapped_at = std::chrono::steady_clock::now();
  REQUIRE(WaitFor(
      [&] {
        return answered_by_v2 > 100 && calls > calls_at_swap + 100 &&
               std::chrono::steady_clock::now() - swapped_at >
                   std::chrono::milliseconds(5 * kMaxConnectionAgeMs);
      },
      std::chrono::seconds(30)));
  stop = true;
  for (auto& caller : callers) caller.join();

  INFO(absl::StrJoin(failures, "\n"));
  CHECK(failures.empty());

  // Every replica answers with version 2 on its own address too.
  for (const auto& replica : replicas) {
    auto direct = v1::ForecasterService::NewStub(grpc::CreateChannel(
        replica->address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    v1::ForecastResponse response;
    REQUIRE(
        direct->Forecast(&context, TinyRequest("feeder-1"), &response).ok());
    CHECK(response.version() == 2);
  }
}

}  // namespace
}  // namespace gridcast::testing
