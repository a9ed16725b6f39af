#include "trainer/trainer_server.h"

#include "common/log.h"
#include "common/status_macros.h"

namespace gridcast {

absl::StatusOr<std::unique_ptr<TrainerServer>> TrainerServer::Start(
    const TrainerServerOptions& options) {
  auto server = std::unique_ptr<TrainerServer>(new TrainerServer());
  GC_ASSIGN_OR_RETURN(server->store_, ModelStore::Open(options.store_root,
                                                       /*read_only=*/false));
  JobManagerOptions jobs = options.jobs;
  jobs.max_active_jobs = options.limits.max_active_jobs;
  server->jobs_ = std::make_unique<JobManager>(server->store_.get(), jobs);
  server->service_ = std::make_unique<TrainerServiceImpl>(
      server->store_.get(), server->jobs_.get(), options.upload_limits,
      options.limits);

  GrpcServerOptions grpc_options;
  grpc_options.listen_address = options.listen_address;
  grpc_options.max_message_bytes = options.max_message_bytes;
  grpc_options.security = options.security;
  grpc_options.drain_delay = options.drain_delay;
  grpc_options.health_service_names = {
      std::string(v1::TrainerService::service_full_name())};
  GC_ASSIGN_OR_RETURN(
      server->grpc_server_,
      GrpcServer::Start(grpc_options, {server->service_.get()}));

  LogInfo("trainer_listening")
      .Field("address", options.listen_address)
      .Field("port", server->port())
      .Field("store", options.store_root)
      .Field("workers", options.jobs.workers);
  return server;
}

TrainerServer::~TrainerServer() { Shutdown(absl::ZeroDuration()); }

void TrainerServer::Shutdown(absl::Duration grace) {
  if (grpc_server_ != nullptr) grpc_server_->SetServing(false);
  if (jobs_ != nullptr) jobs_->Shutdown();
  if (service_ != nullptr) service_->BeginDrain();
  if (grpc_server_ != nullptr) grpc_server_->Shutdown(grace);
  // Joins the workers once no call can reach them any more.
  jobs_.reset();
}

}  // namespace gridcast
