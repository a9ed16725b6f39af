// One config surface for every gridcast binary: absl flags, each of which
// can also be set through the environment as GRIDCAST_<FLAG_IN_CAPITALS>
// (for Kubernetes ConfigMaps). A flag on the command line wins over the
// environment.
#ifndef GRIDCAST_COMMON_CONFIG_H_
#define GRIDCAST_COMMON_CONFIG_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/limits.h"
#include "common/server/security.h"

namespace gridcast {

// "poll_interval_ms" -> "GRIDCAST_POLL_INTERVAL_MS".
std::string EnvironmentNameOf(absl::string_view flag_name);

// Applies environment overrides, then parses argv, then applies
// --log_level. Exits with a message naming the variable or flag when a
// value does not parse, as absl does for a bad command-line value.
// Returns the positional arguments.
std::vector<char*> ParseFlagsWithEnvironment(int argc, char** argv,
                                             absl::string_view usage);

// Flags every server shares (--max_message_bytes, --shutdown_grace_ms).
int MaxMessageBytesFlag();
absl::Duration ShutdownGraceFlag();
// --metrics_port: the port of the Prometheus endpoint, 0 for none.
int MetricsPortFlag();
// --health_port: "0.0.0.0:<port>" for GrpcServerOptions'
// health_listen_address, or "" when the flag is 0 (no health-only port).
std::string HealthListenAddressFlag();
// --drain_delay_ms.
absl::Duration DrainDelayFlag();

// The limits (--max_dataset_bytes, --max_active_jobs, --max_horizon,
// --max_history_points); each server applies those
// that concern it.
ServiceLimits ServiceLimitsFlags();

// --tls_cert_file, --tls_key_file, --tls_client_ca_file, --tokens_file,
// --open_health, --open_reflection.
ServerSecurityOptions ServerSecurityFlags();

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_CONFIG_H_
