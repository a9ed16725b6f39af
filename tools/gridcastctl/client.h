// Connections from gridcastctl to the trainer and the forecaster: where
// they are, the deadline of a unary call, and how a failed call becomes
// the one error line that the operator reads.
#ifndef GRIDCAST_TOOLS_GRIDCASTCTL_CLIENT_H_
#define GRIDCAST_TOOLS_GRIDCASTCTL_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gridcast/v1/forecaster.grpc.pb.h"
#include "gridcast/v1/trainer.grpc.pb.h"

namespace gridcast::ctl {

// The global options of every command.
struct ClientOptions {
  // HOST:PORT of TrainerService.
  std::string trainer_address = "127.0.0.1:50051";
  // HOST:PORT of ForecasterService.
  std::string forecaster_address = "127.0.0.1:50052";
  // Deadline of each unary call. Streams have none: an upload lasts as
  // long as its file, a watch as long as its job.
  absl::Duration timeout = absl::Seconds(30);
  // TLS (CA, client certificate) and the bearer token, from
  // BuildChannelCredentials(); plaintext by default.
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  // The name to check in the servers' certificates instead of the host
  // dialled, for a port-forward to localhost; empty: the host.
  std::string tls_server_name;
};

std::unique_ptr<v1::TrainerService::Stub> NewTrainerStub(
    const ClientOptions& client);
std::unique_ptr<v1::ForecasterService::Stub> NewForecasterStub(
    const ClientOptions& client);

// Gives a unary call the deadline of --timeout from now.
void SetDeadline(const ClientOptions& client, grpc::ClientContext* context);

// The error of a failed call, for the line
// `gridcastctl: <what>: <CODE>: <server message>`; it keeps the call's code.
absl::Status RpcError(absl::string_view what, const grpc::Status& status);

// Runs one unary call with the deadline: `call` issues it on the context
// it is given. A failure becomes RpcError(what, ...).
absl::Status CallUnary(
    const ClientOptions& client, absl::string_view what,
    const std::function<grpc::Status(grpc::ClientContext*)>& call);

}  // namespace gridcast::ctl

#endif  // GRIDCAST_TOOLS_GRIDCASTCTL_CLIENT_H_
