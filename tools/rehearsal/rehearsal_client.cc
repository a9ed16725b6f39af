// gridcast-rehearsal-client: keeps Forecast calls flowing over several
// inference replicas with client-side round_robin (as a SCADA integration
// would against the headless Service) and counts every failed call. The
// rehearsal (tools/rehearsal.sh) restarts a replica under this load.
//
// It calls until --stop_file appears, then until every replica has
// answered --calls_after_stop more calls, so the restarted replica is
// proven back in the rotation. Exit 0 only when no call failed and every
// replica answered calls before and after the stop file.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gridcast/v1/forecaster.grpc.pb.h"
#include "tools/gridcastctl/sample.h"

ABSL_FLAG(std::string, targets, "",
          "comma-separated host:port of every replica, e.g. "
          "127.0.0.1:50172,127.0.0.1:50173");
ABSL_FLAG(std::string, model, "rehearsal", "the model to forecast with");
ABSL_FLAG(int, threads, 4, "calls in flight at once");
ABSL_FLAG(int, deadline_ms, 5000, "deadline of each call");
ABSL_FLAG(bool, retry_unavailable, true,
          "let gRPC retry a call that failed with UNAVAILABLE (service "
          "config retryPolicy), as the operator guide tells clients to");
ABSL_FLAG(bool, health_check, true,
          "watch each replica's grpc.health.v1 status and send calls only to "
          "SERVING ones (service config healthCheckConfig)");
ABSL_FLAG(std::string, stop_file, "", "stop calling once this file exists");
ABSL_FLAG(int, calls_after_stop, 20,
          "calls every replica must answer after the stop file appears");
ABSL_FLAG(int, max_seconds, 300, "give up (and fail) after this long");
ABSL_FLAG(std::string, status_file, "",
          "rewritten every 100 ms with `calls=N failed=F`");

namespace gridcast {
namespace {

namespace v1 = ::gridcast::v1;

// What the service config asks of the channel: round_robin over every
// address, only to replicas whose health is SERVING, and UNAVAILABLE
// retried on another replica.
std::string ServiceConfig(bool retry_unavailable, bool health_check) {
  std::string config = R"({"loadBalancingConfig": [{"round_robin": {}}])";
  if (health_check) {
    absl::StrAppend(&config, R"(, "healthCheckConfig": {
      "serviceName": "gridcast.v1.ForecasterService"})");
  }
  if (retry_unavailable) {
    absl::StrAppend(&config, R"(, "methodConfig": [{
      "name": [{"service": "gridcast.v1.ForecasterService"}],
      "retryPolicy": {
        "maxAttempts": 4, "initialBackoff": "0.05s", "maxBackoff": "0.5s",
        "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}])");
  }
  return absl::StrCat(config, "}");
}

// Two weeks of synthetic hourly load: longer than the model's window.
v1::ForecastRequest MakeRequest(const std::string& model) {
  ctl::SampleOptions options;
  options.days = 14;
  options.seed = 7;
  ctl::SyntheticFeeder feeder(options);

  v1::ForecastRequest request;
  request.set_model(model);
  request.set_series_id("rehearsal-feeder");
  while (!feeder.Done()) {
    ctl::SamplePoint point = feeder.Next();
    request.mutable_history()->add_timestamps(point.timestamp);
    request.mutable_history()->add_values(point.load_kw);
  }
  return request;
}

class Tally {
 public:
  void Record(const std::string& peer, const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++calls_;
    if (status.ok()) {
      ++answered_[peer];
      return;
    }
    ++failed_;
    std::fprintf(stderr, "%s call failed: peer=%s code=%d message=\"%s\"\n",
                 absl::FormatTime(absl::Now()).c_str(), peer.c_str(),
                 status.error_code(), status.error_message().c_str());
  }

  std::map<std::string, int64_t> Answered() {
    std::lock_guard<std::mutex> lock(mutex_);
    return answered_;
  }
  int64_t calls() {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }
  int64_t failed() {
    std::lock_guard<std::mutex> lock(mutex_);
    return failed_;
  }

 private:
  std::mutex mutex_;
  int64_t calls_ = 0;
  int64_t failed_ = 0;
  // Successful calls per peer ("ipv4:127.0.0.1:50172").
  std::map<std::string, int64_t> answered_;
};

void CallUntil(v1::ForecasterService::Stub* stub,
               const v1::ForecastRequest& request,
               const std::atomic<bool>* done, Tally* tally) {
  while (!done->load()) {
    grpc::ClientContext context;
    context.set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::milliseconds(absl::GetFlag(FLAGS_deadline_ms)));
    v1::ForecastResponse response;
    grpc::Status status = stub->Forecast(&context, request, &response);
    tally->Record(context.peer(), status);
  }
}

bool Exists(const std::string& path) {
  return !path.empty() && std::ifstream(path).good();
}

void WriteStatus(Tally* tally) {
  const std::string path = absl::GetFlag(FLAGS_status_file);
  if (path.empty()) return;
  const std::string partial = path + ".partial";
  std::ofstream(partial) << "calls=" << tally->calls()
                         << " failed=" << tally->failed() << "\n";
  std::rename(partial.c_str(), path.c_str());
}

// Every target has answered at least `minimum` calls more than in `before`.
bool EveryReplicaAnswered(const std::vector<std::string>& targets,
                          const std::map<std::string, int64_t>& before,
                          const std::map<std::string, int64_t>& now,
                          int64_t minimum) {
  for (const std::string& target : targets) {
    const std::string peer = absl::StrCat("ipv4:", target);
    const int64_t earlier = before.count(peer) ? before.at(peer) : 0;
    const int64_t later = now.count(peer) ? now.at(peer) : 0;
    if (later - earlier < minimum) return false;
  }
  return true;
}

std::string Describe(const std::map<std::string, int64_t>& answered) {
  std::vector<std::string> parts;
  for (const auto& [peer, count] : answered) {
    parts.push_back(absl::StrCat(peer, "=", count));
  }
  return absl::StrJoin(parts, " ");
}

int Run() {
  const std::vector<std::string> targets =
      absl::StrSplit(absl::GetFlag(FLAGS_targets), ',', absl::SkipEmpty());
  if (targets.empty()) {
    std::fprintf(stderr, "--targets: give every replica's host:port\n");
    return 2;
  }
  grpc::ChannelArguments arguments;
  arguments.SetServiceConfigJSON(
      ServiceConfig(absl::GetFlag(FLAGS_retry_unavailable),
                    absl::GetFlag(FLAGS_health_check)));
  auto channel = grpc::CreateCustomChannel(
      absl::StrCat("ipv4:", absl::StrJoin(targets, ",")),
      grpc::InsecureChannelCredentials(), arguments);
  auto stub = v1::ForecasterService::NewStub(channel);
  const v1::ForecastRequest request = MakeRequest(absl::GetFlag(FLAGS_model));

  Tally tally;
  std::atomic<bool> done{false};
  std::vector<std::thread> callers;
  for (int i = 0; i < absl::GetFlag(FLAGS_threads); ++i) {
    callers.emplace_back(CallUntil, stub.get(), request, &done, &tally);
  }

  // Call until the stop file appears, then until every replica is back.
  const absl::Time give_up =
      absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_max_seconds));
  bool stopping = false, complete = false;
  std::map<std::string, int64_t> at_stop;
  while (absl::Now() < give_up) {
    WriteStatus(&tally);
    if (!stopping && Exists(absl::GetFlag(FLAGS_stop_file))) {
      stopping = true;
      at_stop = tally.Answered();
    }
    if (stopping &&
        EveryReplicaAnswered(targets, at_stop, tally.Answered(),
                             absl::GetFlag(FLAGS_calls_after_stop))) {
      complete = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  done = true;
  for (std::thread& caller : callers) caller.join();
  WriteStatus(&tally);

  const bool spread = EveryReplicaAnswered(targets, {}, at_stop, 1);
  std::printf("rehearsal-client: calls=%lld failed=%lld\n",
              static_cast<long long>(tally.calls()),
              static_cast<long long>(tally.failed()));
  std::printf("answered before the stop file: %s\n", Describe(at_stop).c_str());
  std::printf("answered in all: %s\n", Describe(tally.Answered()).c_str());
  if (!complete) {
    std::printf(
        "FAIL: not every replica answered %d calls after the stop "
        "file within %d s\n",
        absl::GetFlag(FLAGS_calls_after_stop),
        absl::GetFlag(FLAGS_max_seconds));
  }
  if (!spread) std::printf("FAIL: a replica answered nothing before\n");
  if (tally.failed() > 0) std::printf("FAIL: some calls failed\n");
  return complete && spread && tally.failed() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace gridcast

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "gridcast-rehearsal-client --targets=HOST:PORT,... --stop_file=PATH");
  absl::ParseCommandLine(argc, argv);
  return gridcast::Run();
}
