#include "trainer/trainer_server.h"

#include "common/log.h"
#include "common/status_macros.h"
#include "trainer/trainer_metrics.h"

namespace gridcast {

absl::StatusOr<std::unique_ptr<TrainerServer>> TrainerServer::Start(
    const TrainerServerOptions& options) {
  auto server = std::unique_ptr<TrainerServer>(new TrainerServer());
  GC_ASSIGN_OR_RETURN(server->store_, ModelStore::Open(options.store_root,
                                                       /*read_only=*/false));
  server->jobs_ =
      std::make_unique<JobManager>(server->store_.get(), options.jobs);
  server->service_ = std::make_unique<TrainerServiceImpl>(
      server->store_.get(), server->jobs_.get(), options.upload_limits);

  GrpcServerOptions grpc_options;
  grpc_options.listen_address = options.listen_address;
  grpc_options.max_message_bytes = options.max_message_bytes;
  grpc_options.health_service_names = {
      std::string(v1::TrainerService::service_full_name())};
  grpc_options.metrics_listen_address = options.metrics_listen_address;
  grpc_options.metrics_model_labels = {
      {"/gridcast.v1.TrainerService/CreateTrainingJob",
       metrics::ModelFieldOf<v1::CreateTrainingJobRequest>()},
      {"/gridcast.v1.TrainerService/ListTrainingJobs",
       metrics::ModelFieldOf<v1::ListTrainingJobsRequest>()},
  };
  server->job_gauges_ = ExportJobGauges(server->jobs_.get());
  GC_ASSIGN_OR_RETURN(
      server->grpc_server_,
      GrpcServer::Start(grpc_options, {server->service_.get()}));

  LogInfo("trainer_listening")
      .Field("address", options.listen_address)
      .Field("port", server->port())
      .Field("store", options.store_root)
      .Field("workers", options.jobs.workers)
      .Field("metrics_port", server->metrics_port());
  return server;
}

TrainerServer::~TrainerServer() { Shutdown(absl::ZeroDuration()); }

void TrainerServer::Shutdown(absl::Duration grace) {
  if (jobs_ != nullptr) jobs_->Shutdown();
  if (grpc_server_ != nullptr) grpc_server_->Shutdown(grace);
  // Joins the workers once no call can reach them any more; /metrics stops
  // reading the jobs first.
  job_gauges_ = metrics::CallbackRegistration();
  jobs_.reset();
}

}  // namespace gridcast
