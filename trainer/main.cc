// gridcast-trainer: takes load histories, trains networks on them and
// publishes versions to the model store.
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "common/config.h"
#include "common/log.h"
#include "common/model/forecast_model.h"
#include "common/server/server_runner.h"
#include "trainer/trainer_server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "host:port to serve gRPC on; 0.0.0.0:50051 for every interface");
ABSL_FLAG(std::string, store, "./store",
          "root directory of the model store (created if missing)");
ABSL_FLAG(int, workers, 1, "training jobs run at the same time");
ABSL_FLAG(int, torch_threads, 0,
          "LibTorch intra-op threads for training; 0 uses every core");
ABSL_FLAG(int64_t, max_upload_points, 5'000'000,
          "most points one UploadHistory may carry");

int main(int argc, char** argv) {
  gridcast::UsePassiveOpenMpWaits(argv);
  gridcast::BlockTerminationSignals();
  gridcast::ParseFlagsWithEnvironment(
      argc, argv,
      "gridcast-trainer: trains load-forecasting networks.\n"
      "Every flag can also be set as GRIDCAST_<FLAG>, e.g. GRIDCAST_STORE.");
  gridcast::ConfigureTorchThreads(absl::GetFlag(FLAGS_torch_threads));

  gridcast::TrainerServerOptions options;
  options.store_root = absl::GetFlag(FLAGS_store);
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.jobs.workers = absl::GetFlag(FLAGS_workers);
  options.upload_limits.max_points = absl::GetFlag(FLAGS_max_upload_points);
  options.max_message_bytes = gridcast::MaxMessageBytesFlag();
  options.metrics_listen_address = gridcast::metrics::MetricsAddressFor(
      options.listen_address, gridcast::MetricsPortFlag());
  options.health_listen_address = gridcast::HealthListenAddressFlag();
  options.limits = gridcast::ServiceLimitsFlags();
  options.security = gridcast::ServerSecurityFlags();
  options.drain_delay = gridcast::DrainDelayFlag();

  auto server = gridcast::TrainerServer::Start(options);
  if (!server.ok()) {
    gridcast::LogError("trainer_start_failed").Field("reason", server.status());
    return EXIT_FAILURE;
  }
  gridcast::ServeUntilTerminated(
      "trainer", [&](absl::Duration grace) { (*server)->Shutdown(grace); },
      gridcast::ShutdownGraceFlag());
  return EXIT_SUCCESS;
}
