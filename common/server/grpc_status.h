// absl::Status and grpc::Status share their codes; this converts at the
// edge of every RPC handler, so that the code inside speaks absl only.
#ifndef GRIDCAST_COMMON_SERVER_GRPC_STATUS_H_
#define GRIDCAST_COMMON_SERVER_GRPC_STATUS_H_

#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace gridcast {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_SERVER_GRPC_STATUS_H_
