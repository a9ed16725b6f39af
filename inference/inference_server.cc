#include "inference/inference_server.h"

#include "common/log.h"
#include "common/status_macros.h"

namespace gridcast {

absl::StatusOr<std::unique_ptr<InferenceServer>> InferenceServer::Start(
    const InferenceServerOptions& options) {
  auto server = std::unique_ptr<InferenceServer>(new InferenceServer());
  GC_ASSIGN_OR_RETURN(server->store_,
                      ModelStore::Open(options.store_root, /*read_only=*/true));
  server->registry_ = std::make_unique<ModelRegistry>();
  server->service_ = std::make_unique<ForecasterServiceImpl>(
      server->store_.get(), server->registry_.get(), options.limits);

  GrpcServerOptions grpc_options;
  grpc_options.listen_address = options.listen_address;
  grpc_options.max_message_bytes = options.max_message_bytes;
  grpc_options.security = options.security;
  grpc_options.drain_delay = options.drain_delay;
  grpc_options.health_service_names = {
      std::string(v1::ForecasterService::service_full_name())};
  GC_ASSIGN_OR_RETURN(
      server->grpc_server_,
      GrpcServer::Start(grpc_options, {server->service_.get()}));

  // The watcher starts last so that its first load logs after "listening".
  server->watcher_ = std::make_unique<StoreWatcher>(
      server->store_.get(), server->registry_.get(), options.watcher);

  LogInfo("inference_listening")
      .Field("address", options.listen_address)
      .Field("port", server->port())
      .Field("store", options.store_root)
      .Field("poll_interval_ms",
             absl::ToInt64Milliseconds(options.watcher.poll_interval));
  return server;
}

InferenceServer::~InferenceServer() { Shutdown(absl::ZeroDuration()); }

void InferenceServer::Shutdown(absl::Duration grace) {
  if (grpc_server_ != nullptr) grpc_server_->Shutdown(grace);
  watcher_.reset();
}

}  // namespace gridcast
