// A second, plaintext gRPC port that answers nothing but
// grpc.health.v1.Health, with the statuses of the main server. Kubernetes'
// native gRPC probes cannot speak TLS, so when the main port requires TLS
// (and tokens) the probes ask this port instead (--health_port).
#ifndef GRIDCAST_COMMON_SERVER_HEALTH_PORT_H_
#define GRIDCAST_COMMON_SERVER_HEALTH_PORT_H_

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "common/server/health_service.h"

namespace gridcast {

class HealthPort {
 public:
  // Listens on `listen_address` (host:port; port 0 picks a free one), all
  // statuses NOT_SERVING until set. UNAVAILABLE when it cannot bind.
  static absl::StatusOr<std::unique_ptr<HealthPort>> Start(
      const std::string& listen_address);
  ~HealthPort();

  int port() const { return port_; }

  // `service` "" is the overall status the probes ask by default.
  void SetServingStatus(const std::string& service, bool serving);

  // Ends the watches and stops answering at once; idempotent.
  void Shutdown();

 private:
  HealthPort(std::unique_ptr<HealthService> health,
             std::unique_ptr<grpc::Server> server, int port);

  // Outlives server_, whose calls refer to it.
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<grpc::Server> server_;
  int port_;
  bool shut_down_ = false;
};

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_SERVER_HEALTH_PORT_H_
