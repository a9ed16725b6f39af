#include "trainer/trainer_server.h"

#include "common/log.h"
#include "common/status_macros.h"
#include "trainer/trainer_metrics.h"
#include "common/store/store_check.h"

namespace gridcast {
namespace {

// Removes what a trainer that stopped mid-write left in the store, and
// logs what is damaged (which stays for an operator).
absl::Status RemoveStoreLeftovers(const std::string& root) {
  StoreCheckOptions options;
  options.remove_leftovers = true;
  options.caller_holds_trainer_lock = true;
  // Hashing every version's weights would slow every start; inference
  // verifies each version it loads anyway.
  options.verify_checksums = false;
  GC_ASSIGN_OR_RETURN(const StoreReport report, CheckStore(root, options));
  for (const StoreFinding& finding : report.findings) {
    if (finding.kind == StoreFinding::Kind::kDamaged) {
      LogError("store_damage_found")
          .Field("path", finding.path)
          .Field("reason", finding.reason);
    }
  }
  LogInfo("store_checked")
      .Field("store", root)
      .Field("leftovers_removed", report.Count(StoreFinding::Kind::kLeftover) -
                                      report.RemainingLeftovers())
      .Field("damaged", report.Count(StoreFinding::Kind::kDamaged));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TrainerServer>> TrainerServer::Start(
    const TrainerServerOptions& options) {
  auto server = std::unique_ptr<TrainerServer>(new TrainerServer());
  GC_ASSIGN_OR_RETURN(server->store_, ModelStore::Open(options.store_root,
                                                       /*read_only=*/false));
  // One trainer per store: the jobs in it are this one's to run, and what
  // an earlier one left half-written is safe to remove.
  GC_ASSIGN_OR_RETURN(
      server->store_lock_,
      FileLock::TryAcquire(TrainerLockPath(options.store_root)));
  GC_RETURN_IF_ERROR(RemoveStoreLeftovers(options.store_root));
  JobManagerOptions jobs = options.jobs;
  jobs.max_active_jobs = options.limits.max_active_jobs;
  GC_ASSIGN_OR_RETURN(server->jobs_,
                      JobManager::Start(server->store_.get(), jobs));
  server->service_ = std::make_unique<TrainerServiceImpl>(
      server->store_.get(), server->jobs_.get(), options.upload_limits,
      options.limits);

  GrpcServerOptions grpc_options;
  grpc_options.listen_address = options.listen_address;
  grpc_options.max_message_bytes = options.max_message_bytes;
  grpc_options.health_listen_address = options.health_listen_address;
  grpc_options.security = options.security;
  grpc_options.drain_delay = options.drain_delay;
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
  if (grpc_server_ != nullptr) grpc_server_->SetServing(false);
  if (jobs_ != nullptr) jobs_->Shutdown();
  if (service_ != nullptr) service_->BeginDrain();
  if (grpc_server_ != nullptr) grpc_server_->Shutdown(grace);
  // Joins the workers once no call can reach them any more; /metrics stops
  // reading the jobs first.
  job_gauges_ = metrics::CallbackRegistration();
  jobs_.reset();
}

}  // namespace gridcast
