// The whole inference replica in one object: read-only store, registry,
// watcher, gRPC service and server. main() starts one; tests start
// several over one store folder.
#ifndef GRIDCAST_INFERENCE_INFERENCE_SERVER_H_
#define GRIDCAST_INFERENCE_INFERENCE_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "common/server/server_runner.h"
#include "common/store/model_store.h"
#include "inference/dynamic_batcher.h"
#include "inference/echo_service.h"
#include "inference/forecaster_service.h"
#include "inference/model_registry.h"
#include "inference/store_watcher.h"

namespace gridcast {

struct InferenceServerOptions {
  // Root of the model store, opened read-only.
  std::string store_root = "./store";
  // host:port; port 0 picks a free port.
  std::string listen_address = "127.0.0.1:50052";
  StoreWatcherOptions watcher;
  ModelRegistryOptions registry;
  DynamicBatcherOptions batching;
  ForecasterServiceOptions service;
  int max_message_bytes = 64 << 20;
  // host:port of GET /metrics (port 0 picks one); "" for none.
  std::string metrics_listen_address;
  // Also serve gridcast.bench.v1.EchoService, the load benchmark's ceiling.
  bool bench_echo = false;
  // host:port of the plaintext health-only port; empty for none.
  std::string health_listen_address;
  // Connections older than this get a GOAWAY so that clients rebalance
  // onto new replicas; 0 keeps them forever. Calls in flight then have
  // max_connection_age_grace_ms to finish.
  int max_connection_age_ms = 0;
  int max_connection_age_grace_ms = 0;
  ServerSecurityOptions security;
  // See GrpcServerOptions::drain_delay.
  absl::Duration drain_delay = absl::ZeroDuration();
  // Test hook: runs on the load pool before each version is read, so that
  // a test can hold a load. Null in production.
  std::function<void(const std::string& model, int64_t version)> before_load;
};

class InferenceServer {
 public:
  static absl::StatusOr<std::unique_ptr<InferenceServer>> Start(
      const InferenceServerOptions& options);
  ~InferenceServer();

  int port() const { return grpc_server_->port(); }
  std::string address() const { return grpc_server_->LocalAddress(); }
  // 0 when there is no /metrics endpoint.
  int metrics_port() const { return grpc_server_->metrics_port(); }
  // The plaintext health-only port; 0 when there is none.
  int health_port() const { return grpc_server_->health_port(); }
  ModelRegistry* registry() { return registry_.get(); }
  StoreWatcher* watcher() { return watcher_.get(); }
  ForecasterServiceImpl* service() { return service_.get(); }
  DynamicBatcher* batcher() { return batcher_.get(); }

  // Reports NOT_SERVING and lets calls in flight finish for up to `grace`.
  void Shutdown(absl::Duration grace);

 private:
  InferenceServer() = default;

  // Health reports "" SERVING from the start (the process is up) but
  // ForecasterService only from here on, once the watcher's first pass
  // has listed every model and ended the loads it called for: until then
  // a replica would answer UNAVAILABLE ("not loaded yet").
  void BecomeReady(const StoreSync& sync, absl::Time started);

  std::unique_ptr<ModelStore> store_;
  std::unique_ptr<ModelRegistry> registry_;
  std::unique_ptr<DynamicBatcher> batcher_;
  std::unique_ptr<StoreWatcher> watcher_;
  std::unique_ptr<ForecasterServiceImpl> service_;
  std::unique_ptr<EchoServiceImpl> echo_service_;
  std::vector<metrics::CallbackRegistration> registry_gauges_;
  // Destroyed first: calls still waiting for a load or a batch finish
  // while the registry and the batcher are whole.
  std::unique_ptr<GrpcServer> grpc_server_;
};

}  // namespace gridcast

#endif  // GRIDCAST_INFERENCE_INFERENCE_SERVER_H_
