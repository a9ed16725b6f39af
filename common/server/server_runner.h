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

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics/grpc_metrics.h"
#include "common/metrics/http_server.h"
#include "common/server/health_port.h"
#include "common/server/health_service.h"
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
  // When true, the named services report NOT_SERVING until
  // MarkServicesReady(), while "" reports SERVING from the start: "" then
  // says the process is up (liveness), a service name that it can answer
  // calls (readiness), as for an inference replica still loading models.
  bool services_wait_until_ready = false;
  // Where to serve GET /metrics (host:port, port 0 picks one); "" for no
  // metrics endpoint. Calls are counted either way.
  std::string metrics_listen_address;
  // How to read the model label of each method's requests.
  metrics::ModelLabelExtractors metrics_model_labels;
  // host:port of a plaintext port serving only grpc.health.v1.Health with
  // the same statuses (for Kubernetes probes); empty for none.
  std::string health_listen_address;
  // When positive, a connection is closed (GOAWAY) after about this age so
  // that round_robin clients spread onto new replicas; calls in flight then
  // get max_connection_age_grace_ms to finish (0: gRPC's default, forever).
  int max_connection_age_ms = 0;
  int max_connection_age_grace_ms = 0;
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
  // The health-only port; 0 when there is none.
  int health_port() const {
    return health_port_ == nullptr ? 0 : health_port_->port();
  }
  // "127.0.0.1:<port>", for clients in the same process.
  std::string LocalAddress() const;
  // The port of the /metrics endpoint, 0 when there is none.
  int metrics_port() const;

  // Reports SERVING or NOT_SERVING for "" and every named service (a
  // service still waiting until ready stays NOT_SERVING). Once Shutdown()
  // has begun, everything stays NOT_SERVING. Safe from any thread.
  void SetServing(bool serving);

  // The named services can answer calls from now on: they report SERVING
  // whenever "" does. Returns whether they do now (false while not serving
  // or draining). Idempotent; safe from any thread.
  bool MarkServicesReady();

  // Drains: reports NOT_SERVING at once, waits drain_delay when `grace`
  // is not zero, then ends every grpc.health.v1.Health/Watch stream (with
  // UNAVAILABLE, after NOT_SERVING), refuses new calls (clients see
  // UNAVAILABLE and retry elsewhere), lets calls in flight finish for up to
  // `grace` and cancels the rest. Returns once no call is left, so health
  // watches do not keep it waiting. Idempotent.
  //
  // Why the delay: gRPC resets a call that reaches the server after its
  // shutdown began, before the client has read the GOAWAY, with CANCELLED
  // and without running it. Clients that watch health (and Kubernetes
  // endpoints) stop sending once they see NOT_SERVING, so a delay of a
  // few round trips leaves no call in that window.
  void Shutdown(absl::Duration grace);

 private:
  GrpcServer(std::unique_ptr<HealthService> health,
             std::unique_ptr<grpc::Server> server, int port,
             std::vector<std::string> health_names, absl::Duration drain_delay,
             bool services_ready);

  // Writes the statuses that serving_, draining_ and services_ready_ call
  // for into both health services.
  void PublishHealthLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(health_mu_);
  void ReportHealth(const std::string& service, bool serving)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(health_mu_);

  // Outlives server_, whose calls refer to it.
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<metrics::MetricsHttpServer> metrics_server_;
  int port_;
  std::vector<std::string> health_names_;
  std::unique_ptr<HealthPort> health_port_;
  const absl::Duration drain_delay_;
  bool shut_down_ = false;

  // The watcher that marks services ready runs on a thread of its own,
  // while a signal may start the drain.
  absl::Mutex health_mu_;
  bool serving_ ABSL_GUARDED_BY(health_mu_) = false;
  bool draining_ ABSL_GUARDED_BY(health_mu_) = false;
  bool services_ready_ ABSL_GUARDED_BY(health_mu_);
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
