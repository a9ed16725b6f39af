#include "common/config.h"

#include <cstdio>
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
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
ABSL_FLAG(int, drain_delay_ms, 0,
          "after SIGTERM, how long to go on serving while health already "
          "reports NOT_SERVING, so that load balancers and health-checking "
          "clients move away before new calls are refused");

ABSL_FLAG(int64_t, max_dataset_bytes, int64_t{256} << 20,
          "trainer: most bytes one UploadHistory stream may carry");
ABSL_FLAG(int, max_active_jobs, 64,
          "trainer: most training jobs queued or running at once");
ABSL_FLAG(int, max_horizon, 2048,
          "most points a model or a forecast may look ahead");
ABSL_FLAG(int64_t, max_history_points, 100'000,
          "inference: most points in the history of one forecast or "
          "anomaly check");

ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain; with --tls_key_file turns TLS on");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle; clients must present a certificate it signed");
ABSL_FLAG(std::string, tokens_file, "",
          "bearer tokens with roles, one 'TOKEN ROLE[,ROLE] [CLIENT]' a "
          "line; every call then needs one (needs TLS)");
ABSL_FLAG(bool, open_health, true,
          "with --tokens_file: health checks need no token");
ABSL_FLAG(bool, open_reflection, false,
          "with --tokens_file: server reflection needs no token");

namespace gridcast {
namespace {

// A limit below one would refuse every call; say so at start.
void CheckLimitFlags() {
  const ServiceLimits limits = ServiceLimitsFlags();
  const struct {
    const char* flag;
    int64_t value;
  } checks[] = {
      {"max_dataset_bytes", limits.max_dataset_bytes},
      {"max_active_jobs", limits.max_active_jobs},
      {"max_horizon", limits.max_horizon},
      {"max_history_points", limits.max_history_points},
  };
  for (const auto& check : checks) {
    if (check.value >= 1) continue;
    std::fprintf(stderr, "--%s=%lld: must be at least 1\n", check.flag,
                 static_cast<long long>(check.value));
    std::exit(2);
  }
}

}  // namespace

std::string EnvironmentNameOf(absl::string_view flag_name) {
  return absl::StrCat("GRIDCAST_", absl::AsciiStrToUpper(flag_name));
}

std::vector<char*> ParseFlagsWithEnvironment(int argc, char** argv,
                                             absl::string_view usage) {
  absl::SetProgramUsageMessage(usage);
  // --help lists the flags of the files that name the program by default;
  // ours are spread over common/, trainer/ and inference/, so it listed
  // none. Every flag but Abseil's own is ours.
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return !absl::StrContains(file, "/absl/");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);

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
  CheckLimitFlags();
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

absl::Duration DrainDelayFlag() {
  return absl::Milliseconds(absl::GetFlag(FLAGS_drain_delay_ms));
}

ServiceLimits ServiceLimitsFlags() {
  ServiceLimits limits;
  limits.max_dataset_bytes = absl::GetFlag(FLAGS_max_dataset_bytes);
  limits.max_active_jobs = absl::GetFlag(FLAGS_max_active_jobs);
  limits.max_horizon = absl::GetFlag(FLAGS_max_horizon);
  limits.max_history_points = absl::GetFlag(FLAGS_max_history_points);
  return limits;
}

ServerSecurityOptions ServerSecurityFlags() {
  ServerSecurityOptions security;
  security.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  security.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  security.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  security.tokens_file = absl::GetFlag(FLAGS_tokens_file);
  security.open_health = absl::GetFlag(FLAGS_open_health);
  security.open_reflection = absl::GetFlag(FLAGS_open_reflection);
  return security;
}

}  // namespace gridcast
