#include "common/server/health_service.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace gridcast {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// The status a watch ends with once the server shuts down: clients try
// again, elsewhere or later, as they do for any other ending but
// UNIMPLEMENTED.
const grpc::Status& ShutdownStatus() {
  static const auto* const status = new grpc::Status(
      grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
  return *status;
}

// `service` quoted for an error message, cut short: a request may carry a
// name of megabytes, and a status message travels in a header.
std::string QuotedServiceName(const std::string& service) {
  constexpr size_t kMaxShown = 200;
  if (service.size() <= kMaxShown) {
    return absl::StrCat("\"", absl::CHexEscape(service), "\"");
  }
  return absl::StrCat("\"", absl::CHexEscape(service.substr(0, kMaxShown)),
                      "...\" (", service.size(), " bytes)");
}

}  // namespace

// One Watch stream. At most one write is in flight; a status offered
// meanwhile waits, and only the newest one is sent, once, when it differs
// from the last one sent. Counted references keep it alive while a
// notification holds it after gRPC is done with it; the last one deletes it.
class HealthService::Watcher final
    : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  Watcher(HealthService* health, std::string service)
      : health_(health), service_(std::move(service)) {}

  const std::string& service() const { return service_; }

  void Ref() {
    absl::MutexLock lock(&mu_);
    ++refs_;
  }
  void Unref() {
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      last = --refs_ == 0;
    }
    if (last) delete this;
  }

  // Sends `status` unless a newer snapshot came first; with `end`, the
  // stream ends after it.
  void Offer(ServingStatus status, uint64_t generation, bool end) {
    {
      absl::MutexLock lock(&mu_);
      if (generation < generation_) return;
      generation_ = generation;
      pending_ = status;
      end_ = end_ || end;
    }
    Pump();
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      // The client is gone: nothing more can be sent.
      if (!ok) broken_ = true;
    }
    Pump();
  }

  void OnCancel() override {
    {
      absl::MutexLock lock(&mu_);
      broken_ = true;
    }
    Pump();
  }

  void OnDone() override {
    health_->Forget(this);
    Unref();
  }

 private:
  enum class Step { kNone, kWrite, kWriteAndFinish, kFinish };

  // Starts the next write, or the end of the stream, unless a write is
  // under way (its OnWriteDone comes back here). gRPC is called without
  // mu_ held, because it may run OnWriteDone on this very thread.
  void Pump() {
    Step step = Step::kNone;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || finished_) return;
      step = NextStepLocked(&status);
    }
    switch (step) {
      case Step::kNone:
        break;
      case Step::kWrite:
        StartWrite(&response_);
        break;
      case Step::kWriteAndFinish:
        StartWriteAndFinish(&response_, grpc::WriteOptions(), status);
        break;
      case Step::kFinish:
        Finish(status);
        break;
    }
  }

  Step NextStepLocked(grpc::Status* status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (broken_) {
      finished_ = true;
      *status = grpc::Status::CANCELLED;
      return Step::kFinish;
    }
    const bool send = pending_.has_value() && pending_ != last_sent_;
    if (send) {
      response_.set_status(*pending_);
      last_sent_ = pending_;
    }
    pending_.reset();
    if (end_) {
      finished_ = true;
      *status = ShutdownStatus();
      return send ? Step::kWriteAndFinish : Step::kFinish;
    }
    if (!send) return Step::kNone;
    writing_ = true;
    return Step::kWrite;
  }

  HealthService* const health_;
  const std::string service_;

  absl::Mutex mu_;
  int refs_ ABSL_GUARDED_BY(mu_) = 1;  // gRPC's, given back in OnDone()
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<ServingStatus> pending_ ABSL_GUARDED_BY(mu_);
  std::optional<ServingStatus> last_sent_ ABSL_GUARDED_BY(mu_);
  bool end_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // The message being written; gRPC reads it until the write is done.
  HealthCheckResponse response_;
};

void HealthService::SetServingStatus(const std::string& service, bool serving) {
  const ServingStatus status =
      serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    auto [entry, added] = statuses_.try_emplace(service, status);
    if (!added && entry->second == status) return;
    entry->second = status;
    ++generation_;
  }
  NotifyWatchers(&service);
}

void HealthService::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    for (auto& [service, status] : statuses_) {
      status = HealthCheckResponse::NOT_SERVING;
    }
    ++generation_;
  }
  NotifyWatchers(nullptr);
}

grpc::ServerUnaryReactor* HealthService::Check(
    grpc::CallbackServerContext* context, const HealthCheckRequest* request,
    HealthCheckResponse* response) {
  grpc::Status status;
  {
    absl::MutexLock lock(&mu_);
    const auto found = statuses_.find(request->service());
    if (found == statuses_.end()) {
      status = grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat("service ", QuotedServiceName(request->service()),
                       " has no health status here"));
    } else {
      response->set_status(found->second);
    }
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* /*context*/,
    const HealthCheckRequest* request) {
  auto* watcher = new Watcher(this, request->service());
  ServingStatus status;
  uint64_t generation;
  bool end;
  {
    absl::MutexLock lock(&mu_);
    status = StatusLocked(request->service());
    generation = generation_;
    end = shut_down_;
    if (!end) watchers_.insert(watcher);
  }
  // gRPC holds the watcher's writes until this returns it, and runs none
  // of its callbacks before: no reference is needed here.
  watcher->Offer(status, generation, end);
  return watcher;
}

HealthService::ServingStatus HealthService::StatusLocked(
    const std::string& service) const {
  const auto found = statuses_.find(service);
  return found == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN
                                  : found->second;
}

void HealthService::NotifyWatchers(const std::string* service) {
  std::vector<std::pair<Watcher*, ServingStatus>> targets;
  uint64_t generation;
  bool end;
  {
    absl::MutexLock lock(&mu_);
    generation = generation_;
    end = shut_down_;
    for (Watcher* watcher : watchers_) {
      if (service != nullptr && watcher->service() != *service) continue;
      watcher->Ref();
      targets.emplace_back(watcher, StatusLocked(watcher->service()));
    }
  }
  for (auto& [watcher, status] : targets) {
    watcher->Offer(status, generation, end);
    watcher->Unref();
  }
}

void HealthService::Forget(Watcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
}

}  // namespace gridcast
