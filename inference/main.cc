// gridcast-inference: serves forecasts from the models in the store and
// hot-reloads new versions as the trainer publishes them.
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
ABSL_FLAG(int, torch_threads, 1,
          "LibTorch intra-op threads; 1 suits many small concurrent calls");

int main(int argc, char** argv) {
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
  options.limits = gridcast::ServiceLimitsFlags();
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
