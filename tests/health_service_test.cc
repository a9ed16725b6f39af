// gridcast's grpc.health.v1.Health (common/server/health_service.h): Check
// and Watch answer as gRPC's own service does, and a server's shutdown
// ends the watches instead of waiting its whole grace period for them.
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/grpcpp.h>
#include <catch2/catch.hpp>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/metrics/metrics.h"
#include "common/server/health_service.h"
#include "common/server/server_runner.h"
#include "gridcast/bench/v1/echo.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/prometheus_text.h"
#include "tests/test_support.h"

namespace gridcast::testing {
namespace {

using Catch::Matchers::Contains;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

constexpr char kService[] = "gridcast.bench.v1.EchoService";
constexpr std::chrono::seconds kPatience(30);
// Twice kPatience: a shutdown that waited for it fails the waits below.
constexpr absl::Duration kLongGrace = absl::Seconds(60);

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + kPatience;
}

// An Echo service whose calls stay in flight until Release(): the real
// calls a drain has to wait for.
class HeldEcho final : public bench::v1::EchoService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(
      grpc::CallbackServerContext* context,
      const bench::v1::EchoRequest* /*request*/,
      bench::v1::EchoResponse* /*response*/) override {
    absl::MutexLock lock(&mu_);
    held_.push_back(context->DefaultReactor());
    return held_.back();
  }

  // Whether a call has arrived within kPatience.
  bool WaitHeld() {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(
        absl::Condition(
            +[](std::vector<grpc::ServerUnaryReactor*>* held) {
              return !held->empty();
            },
            &held_),
        absl::FromChrono(kPatience));
  }

  void Release() {
    std::vector<grpc::ServerUnaryReactor*> held;
    {
      absl::MutexLock lock(&mu_);
      held.swap(held_);
    }
    for (grpc::ServerUnaryReactor* reactor : held) {
      reactor->Finish(grpc::Status::OK);
    }
  }

 private:
  absl::Mutex mu_;
  std::vector<grpc::ServerUnaryReactor*> held_ ABSL_GUARDED_BY(mu_);
};

// A grpc.health.v1.Health/Watch call through the generated stub. Its
// deadline ends a watch that the server never ends.
class WatchStream {
 public:
  WatchStream(const std::shared_ptr<grpc::Channel>& channel,
              const std::string& service)
      : stub_(Health::NewStub(channel)) {
    HealthCheckRequest request;
    request.set_service(service);
    context_.set_deadline(Deadline());
    reader_ = stub_->Watch(&context_, request);
  }
  ~WatchStream() { context_.TryCancel(); }

  // The next status, or -1 once the stream has ended.
  int Next() {
    HealthCheckResponse response;
    return reader_->Read(&response) ? response.status() : -1;
  }

  // How the stream ended; call after Next() returned -1.
  grpc::Status Finish() { return reader_->Finish(); }

 private:
  std::unique_ptr<Health::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader_;
};

// Check's status for `service`, or minus the gRPC code of its failure;
// the failure's message goes to `message` when given.
int Check(const std::shared_ptr<grpc::Channel>& channel,
          const std::string& service, std::string* message = nullptr) {
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  const grpc::Status status =
      Health::NewStub(channel)->Check(&context, request, &response);
  if (message != nullptr) *message = status.error_message();
  return status.ok() ? response.status()
                     : -static_cast<int>(status.error_code());
}

// A server with nothing but a HealthService, which the test drives.
class BareHealthServer {
 public:
  BareHealthServer() {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.SetOption(
        std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    REQUIRE(server_ != nullptr);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials());
  }
  ~BareHealthServer() {
    health_.Shutdown();
    server_->Shutdown(Deadline());
    server_->Wait();
  }

  HealthService& health() { return health_; }
  const std::shared_ptr<grpc::Channel>& channel() { return channel_; }

 private:
  HealthService health_;  // outlives server_
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

constexpr int kServing = HealthCheckResponse::SERVING;
constexpr int kNotServing = HealthCheckResponse::NOT_SERVING;
constexpr int kServiceUnknown = HealthCheckResponse::SERVICE_UNKNOWN;
constexpr int kNotFound = -static_cast<int>(grpc::StatusCode::NOT_FOUND);

TEST_CASE(
    "health Check answers each service's status, and NOT_FOUND for a "
    "service it has none for",
    "[health]") {
  BareHealthServer server;
  std::string message;
  CHECK(Check(server.channel(), "", &message) == kNotFound);

  server.health().SetServingStatus("", true);
  server.health().SetServingStatus("feeders", false);
  CHECK(Check(server.channel(), "") == kServing);
  CHECK(Check(server.channel(), "feeders") == kNotServing);
  CHECK(Check(server.channel(), "substations", &message) == kNotFound);
  CHECK_THAT(message, Contains("\"substations\""));

  server.health().SetServingStatus("feeders", true);
  server.health().SetServingStatus("", false);
  CHECK(Check(server.channel(), "feeders") == kServing);
  CHECK(Check(server.channel(), "") == kNotServing);
}

TEST_CASE(
    "a health Watch sends the status at once and again at each change, "
    "SERVICE_UNKNOWN until the service has one",
    "[health]") {
  BareHealthServer server;
  server.health().SetServingStatus("", true);
  WatchStream overall(server.channel(), "");
  WatchStream feeders(server.channel(), "feeders");
  CHECK(overall.Next() == kServing);
  CHECK(feeders.Next() == kServiceUnknown);

  server.health().SetServingStatus("feeders", false);
  CHECK(feeders.Next() == kNotServing);
  server.health().SetServingStatus("feeders", true);
  CHECK(feeders.Next() == kServing);
  // Setting the status it has is no change: the next message is the one
  // after it.
  server.health().SetServingStatus("feeders", true);
  server.health().SetServingStatus("feeders", false);
  CHECK(feeders.Next() == kNotServing);

  // The overall watch heard of none of that, only of its own change.
  server.health().SetServingStatus("", false);
  CHECK(overall.Next() == kNotServing);
}

TEST_CASE(
    "a shut-down health service ends every watch after NOT_SERVING, and "
    "Check says NOT_SERVING for good",
    "[health][drain]") {
  BareHealthServer server;
  server.health().SetServingStatus("", true);
  server.health().SetServingStatus("feeders", true);
  WatchStream overall(server.channel(), "");
  WatchStream unknown(server.channel(), "substations");
  REQUIRE(overall.Next() == kServing);
  REQUIRE(unknown.Next() == kServiceUnknown);

  server.health().Shutdown();
  CHECK(overall.Next() == kNotServing);
  CHECK(overall.Next() == -1);
  const grpc::Status ended = overall.Finish();
  CHECK(ended.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK_THAT(ended.error_message(), Contains("shutting down"));
  // Its status did not change: it ends without another message.
  CHECK(unknown.Next() == -1);
  CHECK(unknown.Finish().error_code() == grpc::StatusCode::UNAVAILABLE);

  // A watch begun afterwards gets one message and ends too.
  WatchStream late(server.channel(), "feeders");
  CHECK(late.Next() == kNotServing);
  CHECK(late.Next() == -1);
  CHECK(late.Finish().error_code() == grpc::StatusCode::UNAVAILABLE);

  server.health().SetServingStatus("feeders", true);
  CHECK(Check(server.channel(), "feeders") == kNotServing);
  CHECK(Check(server.channel(), "") == kNotServing);
  CHECK(Check(server.channel(), "substations") == kNotFound);
}

TEST_CASE(
    "named health services that wait until ready say so on Check and "
    "Watch, and follow the server's status once ready",
    "[health][readiness]") {
  HeldEcho echo;
  GrpcServerOptions options;
  options.health_service_names = {kService};
  options.services_wait_until_ready = true;
  auto server = GrpcServer::Start(options, {&echo});
  REQUIRE(server.ok());
  auto channel = grpc::CreateChannel((*server)->LocalAddress(),
                                     grpc::InsecureChannelCredentials());

  CHECK(Check(channel, "") == kServing);
  CHECK(Check(channel, kService) == kNotServing);
  WatchStream service(channel, kService);
  WatchStream overall(channel, "");
  CHECK(service.Next() == kNotServing);
  CHECK(overall.Next() == kServing);

  CHECK((*server)->MarkServicesReady());
  CHECK(service.Next() == kServing);
  CHECK(Check(channel, kService) == kServing);

  (*server)->SetServing(false);
  CHECK(service.Next() == kNotServing);
  CHECK(overall.Next() == kNotServing);
  CHECK(Check(channel, "") == kNotServing);
  (*server)->SetServing(true);
  CHECK(service.Next() == kServing);
  CHECK(overall.Next() == kServing);
  CHECK(Check(channel, "unknown.Service") == kNotFound);
}

TEST_CASE(
    "an open health Watch does not hold a server's shutdown: it ends after "
    "NOT_SERVING, and the server stops once its real calls are done",
    "[health][drain]") {
  HeldEcho echo;
  GrpcServerOptions options;
  options.health_service_names = {kService};
  auto server = GrpcServer::Start(options, {&echo});
  REQUIRE(server.ok());
  auto channel = grpc::CreateChannel((*server)->LocalAddress(),
                                     grpc::InsecureChannelCredentials());
  WatchStream watch(channel, kService);
  REQUIRE(watch.Next() == kServing);

  // A real call in flight, which the drain has to let finish.
  auto stub = bench::v1::EchoService::NewStub(channel);
  grpc::ClientContext call_context;
  call_context.set_deadline(Deadline() + std::chrono::seconds(60));
  const bench::v1::EchoRequest request;
  bench::v1::EchoResponse reply;
  std::promise<grpc::Status> call_done;
  const std::shared_future<grpc::Status> call = call_done.get_future().share();
  stub->async()->Echo(
      &call_context, &request, &reply,
      [&](grpc::Status status) { call_done.set_value(status); });
  // A failed check below must not leave the call held or outstanding.
  const absl::Cleanup settle_call = [&] {
    echo.Release();
    call_context.TryCancel();
    call.wait();
  };
  REQUIRE(echo.WaitHeld());

  const absl::Time started = absl::Now();
  std::future<void> stopped =
      std::async(std::launch::async, [&] { (*server)->Shutdown(kLongGrace); });

  // The watch ends while the call is still held...
  CHECK(watch.Next() == kNotServing);
  CHECK(watch.Next() == -1);
  CHECK(watch.Finish().error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(stopped.wait_for(std::chrono::seconds(0)) ==
        std::future_status::timeout);

  // ...and the shutdown ends with the call, long before the grace.
  echo.Release();
  REQUIRE(call.wait_for(kPatience) == std::future_status::ready);
  CHECK(call.get().ok());
  REQUIRE(stopped.wait_for(kPatience) == std::future_status::ready);
  CHECK(absl::Now() - started < kLongGrace / 2);
}

// Watch calls the servers of this process have answered so far.
double WatchCallsHandled() {
  auto samples = ParsePrometheusText(metrics::DefaultRegistry().RenderText());
  REQUIRE(samples.ok());
  return SumOf(*samples, "gridcast_grpc_server_handled_total",
               {{"service", "grpc.health.v1.Health"}, {"method", "Watch"}});
}

// gRPC C++'s client-side health checking drops its watch by itself when
// the server's GOAWAY comes, so it never held the shutdown; what it needs
// is a watch that stays open through the drain delay.
TEST_CASE(
    "a client with gRPC's health checking hears NOT_SERVING in the drain "
    "delay without calling Watch again and again",
    "[health][drain]") {
  HeldEcho echo;
  GrpcServerOptions options;
  options.health_service_names = {kService};
  // Not a synchronisation: the product's wait for clients to move away,
  // during which the watch must stay open.
  options.drain_delay = absl::Seconds(2);
  auto server = GrpcServer::Start(options, {&echo});
  REQUIRE(server.ok());

  grpc::ChannelArguments arguments;
  arguments.SetServiceConfigJSON(absl::StrCat(
      R"({"loadBalancingConfig": [{"round_robin": {}}],)",
      R"("healthCheckConfig": {"serviceName": ")", kService, R"("}})"));
  auto channel = grpc::CreateCustomChannel(
      (*server)->LocalAddress(), grpc::InsecureChannelCredentials(), arguments);
  // READY only once its watch has said SERVING.
  REQUIRE(channel->WaitForConnected(Deadline()));
  const double watches_before = WatchCallsHandled();

  const absl::Time started = absl::Now();
  std::future<void> stopped =
      std::async(std::launch::async, [&] { (*server)->Shutdown(kLongGrace); });
  CHECK(channel->WaitForStateChange(GRPC_CHANNEL_READY, Deadline()));
  REQUIRE(stopped.wait_for(kPatience) == std::future_status::ready);
  CHECK(absl::Now() - started < kLongGrace / 2);

  // The open watch, and those the client begins again in the instant
  // between the watches' end and the server's (33 of them once, on a
  // machine busy with a build): a watch ended at the start of the delay
  // would have been called again at once, over and over, for all of it
  // (11,269 times in one run).
  const double watches = WatchCallsHandled() - watches_before;
  CHECK(watches >= 1);
  CHECK(watches <= 300);
}

}  // namespace
}  // namespace gridcast::testing
