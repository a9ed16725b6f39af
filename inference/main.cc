// gridcast-inference: serves forecasts from the models in the store and
// hot-reloads new versions as the trainer publishes them.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "common/config.h"
#include "common/log.h"
#include "common/model/forecast_model.h"
#include "common/server/server_runner.h"
#include "inference/inference_server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50052",
          "host:port to serve gRPC on; 0.0.0.0:50052 for every interface");
ABSL_FLAG(std::string, store, "./store",
          "root directory of the model store (read only)");
ABSL_FLAG(int, poll_interval_ms, 1000,
          "how often the store is checked for new versions");
ABSL_FLAG(bool, bench_echo, false,
          "also serve gridcast.bench.v1.EchoService/Echo, the load "
          "benchmark's ceiling; off in production");
ABSL_FLAG(int, torch_threads, 1,
          "LibTorch intra-op threads; 1 suits many small concurrent calls");
ABSL_FLAG(std::string, load_mode, "eager",
          "eager: load every version the policy serves as soon as it is "
          "found; lazy: load a version when a request first needs it");
ABSL_FLAG(int64_t, model_memory_budget_bytes, int64_t{2} << 30,
          "estimated parameter bytes of all loaded versions at most; the "
          "least recently used are evicted beyond it (0: no limit)");
ABSL_FLAG(int, max_loaded_versions, 1000,
          "loaded versions at most; the least recently used are evicted "
          "beyond it (0: no limit)");
ABSL_FLAG(int, load_threads, 2,
          "threads that load and warm up versions in the background");
ABSL_FLAG(int, max_batch_items, 5000, "items one ForecastBatch call may carry");
ABSL_FLAG(int, batch_max_size, 32,
          "dynamic batching: concurrent requests for one version run as one "
          "forward pass of at most this many windows (0 or 1: off)");
ABSL_FLAG(int, batch_max_delay_us, 0,
          "dynamic batching: how long a request waits for others (0: "
          "greedy, batch only what queues behind a running pass)");
ABSL_FLAG(int, max_connection_age_ms, 300000,
          "close connections after about this age so that clients spread "
          "onto new replicas (0: never)");
ABSL_FLAG(int, max_connection_age_grace_ms, 30000,
          "how long calls in flight may finish on a connection closed for "
          "its age");

int main(int argc, char** argv) {
  gridcast::UsePassiveOpenMpWaits(argv);
  gridcast::BlockTerminationSignals();
  gridcast::ParseFlagsWithEnvironment(
      argc, argv,
      "gridcast-inference: serves load forecasts over gRPC.\n"
      "Every flag can also be set as GRIDCAST_<FLAG>, e.g. GRIDCAST_STORE.");
  gridcast::ConfigureTorchThreads(absl::GetFlag(FLAGS_torch_threads));

  gridcast::InferenceServerOptions options;
  options.store_root = absl::GetFlag(FLAGS_store);
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.watcher.poll_interval =
      absl::Milliseconds(absl::GetFlag(FLAGS_poll_interval_ms));
  options.max_message_bytes = gridcast::MaxMessageBytesFlag();
  options.metrics_listen_address = gridcast::metrics::MetricsAddressFor(
      options.listen_address, gridcast::MetricsPortFlag());
  options.bench_echo = absl::GetFlag(FLAGS_bench_echo);
  options.health_listen_address = gridcast::HealthListenAddressFlag();
  if (!gridcast::ParseLoadMode(absl::GetFlag(FLAGS_load_mode),
                               &options.registry.load_mode)) {
    gridcast::LogError("inference_start_failed")
        .Field("reason", "--load_mode must be lazy or eager")
        .Field("load_mode", absl::GetFlag(FLAGS_load_mode));
    return EXIT_FAILURE;
  }
  options.registry.memory_budget_bytes =
      absl::GetFlag(FLAGS_model_memory_budget_bytes);
  options.registry.max_loaded_versions =
      absl::GetFlag(FLAGS_max_loaded_versions);
  options.registry.load_threads = absl::GetFlag(FLAGS_load_threads);
  options.service.max_batch_items = absl::GetFlag(FLAGS_max_batch_items);
  options.batching.max_batch_size = absl::GetFlag(FLAGS_batch_max_size);
  options.batching.max_delay =
      absl::Microseconds(absl::GetFlag(FLAGS_batch_max_delay_us));
  options.max_connection_age_ms = absl::GetFlag(FLAGS_max_connection_age_ms);
  options.max_connection_age_grace_ms =
      absl::GetFlag(FLAGS_max_connection_age_grace_ms);
  options.service.limits = gridcast::ServiceLimitsFlags();
  options.security = gridcast::ServerSecurityFlags();
  options.drain_delay = gridcast::DrainDelayFlag();

  auto server = gridcast::InferenceServer::Start(options);
  if (!server.ok()) {
    gridcast::LogError("inference_start_failed")
        .Field("reason", server.status());
    return EXIT_FAILURE;
  }
  gridcast::ServeUntilTerminated(
      "inference", [&](absl::Duration grace) { (*server)->Shutdown(grace); },
      gridcast::ShutdownGraceFlag());
  return EXIT_SUCCESS;
}
