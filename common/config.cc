#include "common/config.h"

#include <cstdio>
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(int, max_message_bytes, 64 << 20, "largest gRPC message, bytes");
ABSL_FLAG(int, shutdown_grace_ms, 10'000,
          "how long calls in flight may finish after SIGTERM");
ABSL_FLAG(int, metrics_port, 0,
          "port of the Prometheus endpoint GET /metrics, on the host of "
          "--listen; 0 turns it off");
ABSL_FLAG(int, health_port, 0,
          "plaintext port on every interface that serves only "
          "grpc.health.v1.Health, for Kubernetes probes when the gRPC port "
          "uses TLS; 0 for none");

namespace gridcast {

std::string EnvironmentNameOf(absl::string_view flag_name) {
  return absl::StrCat("GRIDCAST_", absl::AsciiStrToUpper(flag_name));
}

std::vector<char*> ParseFlagsWithEnvironment(int argc, char** argv,
                                             absl::string_view usage) {
  absl::SetProgramUsageMessage(usage);

  for (const auto& [name, flag] : absl::GetAllFlags()) {
    const std::string variable = EnvironmentNameOf(name);
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) continue;

    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      std::fprintf(stderr, "%s=\"%s\": %s\n", variable.c_str(), value,
                   error.c_str());
      std::exit(2);
    }
  }
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);

  LogLevel level;
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::fprintf(stderr, "--log_level=%s: use debug, info, warning or error\n",
                 absl::GetFlag(FLAGS_log_level).c_str());
    std::exit(2);
  }
  SetMinLogLevel(level);
  return positional;
}

int MaxMessageBytesFlag() { return absl::GetFlag(FLAGS_max_message_bytes); }

absl::Duration ShutdownGraceFlag() {
  return absl::Milliseconds(absl::GetFlag(FLAGS_shutdown_grace_ms));
}

int MetricsPortFlag() { return absl::GetFlag(FLAGS_metrics_port); }
std::string HealthListenAddressFlag() {
  const int port = absl::GetFlag(FLAGS_health_port);
  return port == 0 ? "" : absl::StrCat("0.0.0.0:", port);
}

}  // namespace gridcast
