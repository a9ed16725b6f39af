#include "inference/inference_server.h"

#include "common/log.h"
#include "common/status_macros.h"
#include "inference/inference_metrics.h"

namespace gridcast {
namespace {

// Versions refused at load or for an unreadable manifest: the start-up
// log line shows them beside the loaded ones.
int CountFailedVersions(const ModelRegistry& registry) {
  int failed = 0;
  for (const v1::Model& model : registry.DescribeAll()) {
    for (const v1::ModelVersion& version : model.versions()) {
      if (version.state() == v1::VERSION_STATE_FAILED) ++failed;
    }
  }
  return failed;
}

}  // namespace

absl::StatusOr<std::unique_ptr<InferenceServer>> InferenceServer::Start(
    const InferenceServerOptions& options) {
  const absl::Time started = absl::Now();
  auto server = std::unique_ptr<InferenceServer>(new InferenceServer());
  GC_ASSIGN_OR_RETURN(server->store_,
                      ModelStore::Open(options.store_root, /*read_only=*/true));
  const ModelStore* store = server->store_.get();
  server->registry_ = std::make_unique<ModelRegistry>(
      options.registry, [store, before_load = options.before_load](
                            const std::string& model, int64_t version) {
        if (before_load) before_load(model, version);
        return LoadVersionFromStore(*store, model, version);
      });
  server->batcher_ = std::make_unique<DynamicBatcher>(options.batching);
  server->service_ = std::make_unique<ForecasterServiceImpl>(
      store, server->registry_.get(), server->batcher_.get(), options.service);

  GrpcServerOptions grpc_options;
  grpc_options.listen_address = options.listen_address;
  grpc_options.max_message_bytes = options.max_message_bytes;
  grpc_options.health_listen_address = options.health_listen_address;
  grpc_options.max_connection_age_ms = options.max_connection_age_ms;
  grpc_options.max_connection_age_grace_ms =
      options.max_connection_age_grace_ms;
  grpc_options.security = options.security;
  grpc_options.drain_delay = options.drain_delay;
  grpc_options.health_service_names = {
      std::string(v1::ForecasterService::service_full_name())};
  grpc_options.services_wait_until_ready = true;
  grpc_options.metrics_listen_address = options.metrics_listen_address;
  grpc_options.metrics_model_labels = {
      {"/gridcast.v1.ForecasterService/Forecast",
       metrics::ModelFieldOf<v1::ForecastRequest>()},
      {"/gridcast.v1.ForecasterService/GetModel",
       metrics::ModelFieldOf<v1::GetModelRequest>()},
      {"/gridcast.v1.ForecasterService/DetectAnomalies",
       metrics::ModelFieldOf<v1::DetectAnomaliesRequest>()},
      // ForecastBatch is left out: one call names many models, and a
      // label per call cannot say which.
  };
  std::vector<grpc::Service*> services = {server->service_.get()};
  if (options.bench_echo) {
    server->echo_service_ = std::make_unique<EchoServiceImpl>();
    services.push_back(server->echo_service_.get());
  }
  server->registry_gauges_ = ExportRegistryGauges(server->registry_.get());
  GC_ASSIGN_OR_RETURN(server->grpc_server_,
                      GrpcServer::Start(grpc_options, services));

  LogInfo("inference_listening")
      .Field("address", options.listen_address)
      .Field("port", server->port())
      .Field("store", options.store_root)
      .Field("poll_interval_ms",
             absl::ToInt64Milliseconds(options.watcher.poll_interval))
      .Field("metrics_port", server->metrics_port())
      .Field("bench_echo", options.bench_echo)
      .Field("load_mode",
             options.registry.load_mode == LoadMode::kLazy ? "lazy" : "eager")
      .Field("memory_budget_bytes", options.registry.memory_budget_bytes)
      .Field("max_loaded_versions", options.registry.max_loaded_versions)
      .Field("batch_max_size", options.batching.max_batch_size)
      .Field("batch_max_delay_us",
             absl::ToInt64Microseconds(options.batching.max_delay));

  // The watcher starts last so that its first load logs after "listening".
  InferenceServer* replica = server.get();
  server->watcher_ = std::make_unique<StoreWatcher>(
      server->store_.get(), server->registry_.get(), options.watcher,
      [replica, started](const StoreSync& sync) {
        replica->BecomeReady(sync, started);
      });
  return server;
}

void InferenceServer::BecomeReady(const StoreSync& sync, absl::Time started) {
  // A replica that began draining stays NOT_SERVING and says nothing.
  if (!grpc_server_->MarkServicesReady()) return;
  LogInfo("inference_ready")
      .Field("models", sync.models)
      .Field("unreadable_models", sync.unreadable_models)
      .Field("loads", sync.loads)
      .Field("loaded_versions", registry_->LoadedVersions())
      .Field("failed_versions", CountFailedVersions(*registry_))
      .Field("load_ms", absl::ToInt64Milliseconds(sync.duration))
      .Field("startup_ms", absl::ToInt64Milliseconds(absl::Now() - started));
}

InferenceServer::~InferenceServer() { Shutdown(absl::ZeroDuration()); }

void InferenceServer::Shutdown(absl::Duration grace) {
  if (grpc_server_ != nullptr) grpc_server_->Shutdown(grace);
  watcher_.reset();
}

}  // namespace gridcast
