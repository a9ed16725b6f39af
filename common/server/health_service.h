// grpc.health.v1.Health, gridcast's own: Check and Watch as gRPC's default
// service answers them, plus a Shutdown() that ends every Watch stream.
// gRPC's default service never ends a watch, so one open Watch (grpcurl's,
// a proxy's health checker) kept a server shutting down waiting for its
// whole grace period even with no real call in flight.
#ifndef GRIDCAST_COMMON_SERVER_HEALTH_SERVICE_H_
#define GRIDCAST_COMMON_SERVER_HEALTH_SERVICE_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace gridcast {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // Knows no service at first: Check answers NOT_FOUND, even for "" (the
  // whole server), until SetServingStatus() names it.
  HealthService() = default;
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;
  // The server this is registered with must have stopped first (its
  // Wait() returned): a watch still open refers to this object.
  ~HealthService() override = default;

  // Sets the status of `service` ("" for the whole server); its watches
  // receive it if it differs from what they last received. Ignored after
  // Shutdown(). Safe from any thread.
  void SetServingStatus(const std::string& service, bool serving);

  // Every known service turns NOT_SERVING for good, every open watch
  // receives NOT_SERVING (or SERVICE_UNKNOWN) and then ends with
  // UNAVAILABLE, and a watch begun later ends the same way after its first
  // message. Check keeps answering. Idempotent; safe from any thread.
  void Shutdown();

  // grpc.health.v1.Health/Check: the service's status, NOT_FOUND for a
  // service with none.
  grpc::ServerUnaryReactor* Check(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request,
      grpc::health::v1::HealthCheckResponse* response) override;

  // grpc.health.v1.Health/Watch: the service's status (SERVICE_UNKNOWN
  // for a service with none) at once and again at every change, until
  // the client cancels or Shutdown().
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class Watcher;

  // What a watch of `service` is to receive now.
  ServingStatus StatusLocked(const std::string& service) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands every watch of `service` (all watches when `service` is null) its
  // current status, ending them after it once shut down. Called without
  // mu_: a watch may run gRPC's callbacks on this thread.
  void NotifyWatchers(const std::string* service) ABSL_LOCKS_EXCLUDED(mu_);
  // Called by a watch once gRPC is done with it.
  void Forget(Watcher* watcher) ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex mu_;
  std::map<std::string, ServingStatus> statuses_ ABSL_GUARDED_BY(mu_);
  std::set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
  // Counts status changes, so that a watch can tell an older snapshot
  // that arrives late (two changes notified from two threads) from a newer
  // one.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_SERVER_HEALTH_SERVICE_H_
