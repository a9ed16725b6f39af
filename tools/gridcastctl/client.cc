#include "tools/gridcastctl/client.h"

#include "absl/strings/str_cat.h"

namespace gridcast::ctl {
namespace {

// A refused connection is retried after a second at most: gRPC's default
// backoff grows to two minutes.
constexpr int kMaxReconnectBackoffMs = 1000;

std::shared_ptr<grpc::Channel> NewChannel(const ClientOptions& client,
                                          const std::string& address) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  // Subchannels of the process-wide pool carry their failure and backoff
  // into every new channel; a private pool lets a fresh channel (see
  // `models get --wait-version`) connect at once.
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (!client.tls_server_name.empty()) {
    arguments.SetSslTargetNameOverride(client.tls_server_name);
  }
  return grpc::CreateCustomChannel(address, client.credentials, arguments);
}

}  // namespace

std::unique_ptr<v1::TrainerService::Stub> NewTrainerStub(
    const ClientOptions& client) {
  return v1::TrainerService::NewStub(
      NewChannel(client, client.trainer_address));
}

std::unique_ptr<v1::ForecasterService::Stub> NewForecasterStub(
    const ClientOptions& client) {
  return v1::ForecasterService::NewStub(
      NewChannel(client, client.forecaster_address));
}

void SetDeadline(const ClientOptions& client, grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + client.timeout));
}

absl::Status RpcError(absl::string_view what, const grpc::Status& status) {
  // gRPC's and Abseil's codes share their numbers and names.
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  return absl::Status(
      code, absl::StrCat(what, ": ", absl::StatusCodeToString(code), ": ",
                         status.error_message()));
}

absl::Status CallUnary(
    const ClientOptions& client, absl::string_view what,
    const std::function<grpc::Status(grpc::ClientContext*)>& call) {
  grpc::ClientContext context;
  SetDeadline(client, &context);
  grpc::Status status = call(&context);
  if (status.ok()) return absl::OkStatus();

  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    status =
        grpc::Status(status.error_code(),
                     absl::StrCat(status.error_message(), " (--timeout=",
                                  absl::FormatDuration(client.timeout), ")"));
  }
  return RpcError(what, status);
}

}  // namespace gridcast::ctl
