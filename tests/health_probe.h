// grpc.health.v1.Health/Check on raw bytes, as a Kubernetes probe asks it,
// without the generated stub.
#ifndef GRIDCAST_TESTS_HEALTH_PROBE_H_
#define GRIDCAST_TESTS_HEALTH_PROBE_H_

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

namespace gridcast::testing {

// The values of grpc.health.v1.HealthCheckResponse.ServingStatus.
inline constexpr int kHealthServing = 1;
inline constexpr int kHealthNotServing = 2;

// The status `channel`'s server reports for `service` ("" for the whole
// server): kHealthServing, kHealthNotServing, 0 for UNKNOWN, or minus the
// gRPC code when the call fails (NOT_FOUND for a service it does not know).
int HealthStatus(const std::shared_ptr<grpc::Channel>& channel,
                 const std::string& service);

}  // namespace gridcast::testing

#endif  // GRIDCAST_TESTS_HEALTH_PROBE_H_
