// The whole trainer in one object: store, job manager, gRPC service and
// server. main() starts one; the end-to-end tests start several.
#ifndef GRIDCAST_TRAINER_TRAINER_SERVER_H_
#define GRIDCAST_TRAINER_TRAINER_SERVER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "common/server/server_runner.h"
#include "common/store/files.h"
#include "common/store/model_store.h"
#include "common/timeseries/upload_assembler.h"
#include "trainer/job_manager.h"
#include "trainer/trainer_service.h"

namespace gridcast {

struct TrainerServerOptions {
  // Root of the model store, opened read-write.
  std::string store_root = "./store";
  // host:port; port 0 picks a free port.
  std::string listen_address = "127.0.0.1:50051";
  JobManagerOptions jobs;
  UploadLimits upload_limits;
  int max_message_bytes = 64 << 20;
  // host:port of GET /metrics (port 0 picks one); "" for none.
  std::string metrics_listen_address;
  // host:port of the plaintext health-only port; empty for none.
  std::string health_listen_address;
  // max_active_jobs overrides jobs.max_active_jobs.
  ServiceLimits limits;
  ServerSecurityOptions security;
  // See GrpcServerOptions::drain_delay.
  absl::Duration drain_delay = absl::ZeroDuration();
};

class TrainerServer {
 public:
  static absl::StatusOr<std::unique_ptr<TrainerServer>> Start(
      const TrainerServerOptions& options);
  ~TrainerServer();

  int port() const { return grpc_server_->port(); }
  std::string address() const { return grpc_server_->LocalAddress(); }
  // 0 when there is no /metrics endpoint.
  int metrics_port() const { return grpc_server_->metrics_port(); }
  ModelStore* store() { return store_.get(); }
  JobManager* jobs() { return jobs_.get(); }

  // Drains: reports NOT_SERVING, interrupts the running job and queues it
  // again (JobManagerOptions::on_requeued), ends job watches with
  // UNAVAILABLE, refuses new calls and lets calls in flight (uploads
  // above all) finish for up to `grace`. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  TrainerServer() = default;

  std::unique_ptr<ModelStore> store_;
  // Held for the trainer's life; released by the kernel however it ends.
  std::optional<FileLock> store_lock_;
  std::unique_ptr<JobManager> jobs_;
  std::unique_ptr<TrainerServiceImpl> service_;
  metrics::CallbackRegistration job_gauges_;
  std::unique_ptr<GrpcServer> grpc_server_;
};

}  // namespace gridcast

#endif  // GRIDCAST_TRAINER_TRAINER_SERVER_H_
