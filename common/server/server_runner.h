// Starting and stopping a gRPC server the same way in both binaries and in
// the tests: health checking and server reflection always on, the bound
// port known, and SIGTERM/SIGINT turned into a graceful shutdown.
#ifndef GRIDCAST_COMMON_SERVER_SERVER_RUNNER_H_
#define GRIDCAST_COMMON_SERVER_SERVER_RUNNER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/server/security.h"

namespace gridcast {

struct GrpcServerOptions {
  // host:port; port 0 picks a free one (tests).
  std::string listen_address = "127.0.0.1:0";
  // Largest request or response, in bytes.
  int max_message_bytes = 64 << 20;
  // Names of the services to report in grpc.health.v1.Health, beside the
  // overall "" entry.
  std::vector<std::string> health_service_names;
  // TLS, mutual TLS and bearer tokens; plaintext and open when empty.
  ServerSecurityOptions security;
  // How long Shutdown() goes on serving after reporting NOT_SERVING; see
  // Shutdown().
  absl::Duration drain_delay = absl::ZeroDuration();
};

class GrpcServer {
 public:
  // Builds and starts a server with `services` (which must outlive it),
  // health and reflection. UNAVAILABLE when the address cannot be bound;
  // the errors of BuildServerCredentials() for bad security options.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerOptions& options,
      const std::vector<grpc::Service*>& services);

  ~GrpcServer();

  int port() const { return port_; }
  // "127.0.0.1:<port>", for clients in the same process.
  std::string LocalAddress() const;

  // Reports SERVING or NOT_SERVING for "" and every named service.
  void SetServing(bool serving);

  // Drains: reports NOT_SERVING at once, waits drain_delay when `grace`
  // is not zero, then refuses new calls (clients see UNAVAILABLE and retry
  // elsewhere), lets calls in flight finish for up to `grace` and cancels
  // the rest. Idempotent.
  //
  // Why the delay: gRPC resets a call that reaches the server after its
  // shutdown began, before the client has read the GOAWAY, with CANCELLED
  // and without running it. Clients that watch health (and Kubernetes
  // endpoints) stop sending once they see NOT_SERVING, so a delay of a
  // few round trips leaves no call in that window.
  void Shutdown(absl::Duration grace);

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, int port,
             std::vector<std::string> health_names, absl::Duration drain_delay);

  std::unique_ptr<grpc::Server> server_;
  int port_;
  std::vector<std::string> health_names_;
  const absl::Duration drain_delay_;
  bool shut_down_ = false;
};

// Blocks SIGINT and SIGTERM in the calling thread and every thread it
// starts afterwards; call first thing in main().
void BlockTerminationSignals();
// Waits for SIGINT or SIGTERM (blocked beforehand) and returns its number.
int WaitForTerminationSignal();

// Waits for SIGINT or SIGTERM, then calls `shutdown(grace)` and logs
// "<server>_draining" and "<server>_stopped" around it.
void ServeUntilTerminated(absl::string_view server,
                          const std::function<void(absl::Duration)>& shutdown,
                          absl::Duration grace);

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_SERVER_SERVER_RUNNER_H_
