#include "tests/health_probe.h"

#include <chrono>
#include <vector>

#include <grpcpp/impl/codegen/client_unary_call.h>

namespace gridcast::testing {

int HealthStatus(const std::shared_ptr<grpc::Channel>& channel,
                 const std::string& service) {
  const grpc::internal::RpcMethod method("/grpc.health.v1.Health/Check",
                                         grpc::internal::RpcMethod::NORMAL_RPC);
  // HealthCheckRequest: field 1, the service name (absent for "").
  std::string request;
  if (!service.empty()) {
    request.push_back('\x0a');
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  grpc::Slice slice(request);
  grpc::ClientContext context;
  // A probe has a timeout too; a hung server must not hang the test.
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  grpc::ByteBuffer reply;
  const grpc::Status status =
      grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
          channel.get(), method, &context, grpc::ByteBuffer(&slice, 1), &reply);
  if (!status.ok()) return -static_cast<int>(status.error_code());

  std::vector<grpc::Slice> slices;
  reply.Dump(&slices).IgnoreError();
  std::string bytes;
  for (const grpc::Slice& part : slices) {
    bytes.append(reinterpret_cast<const char*>(part.begin()), part.size());
  }
  // Field 1, varint: 0x08 then the value; absent means UNKNOWN (0).
  return bytes.size() >= 2 && bytes[0] == 0x08 ? bytes[1] : 0;
}

}  // namespace gridcast::testing
