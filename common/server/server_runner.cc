#include "common/server/server_runner.h"

#include <signal.h>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace gridcast {

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const GrpcServerOptions& options,
    const std::vector<grpc::Service*>& services) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      BuildServerCredentials(options.security);
  if (!credentials.ok()) return credentials.status();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen_address, *credentials, &port);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  for (grpc::Service* service : services) builder.RegisterService(service);

  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address,
                     " (address in use or not local?)"));
  }

  auto result = std::unique_ptr<GrpcServer>(
      new GrpcServer(std::move(server), port, options.health_service_names,
                     options.drain_delay));
  result->SetServing(true);
  return result;
}

GrpcServer::GrpcServer(std::unique_ptr<grpc::Server> server, int port,
                       std::vector<std::string> health_names,
                       absl::Duration drain_delay)
    : server_(std::move(server)),
      port_(port),
      health_names_(std::move(health_names)),
      drain_delay_(drain_delay) {}

GrpcServer::~GrpcServer() { Shutdown(absl::ZeroDuration()); }

std::string GrpcServer::LocalAddress() const {
  return absl::StrCat("127.0.0.1:", port_);
}

void GrpcServer::SetServing(bool serving) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus(serving);
  for (const std::string& name : health_names_) {
    health->SetServingStatus(name, serving);
  }
}

void GrpcServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;

  SetServing(false);
  if (grace > absl::ZeroDuration() && drain_delay_ > absl::ZeroDuration()) {
    // Not a synchronisation: the time that clients need to hear of
    // NOT_SERVING, which this process cannot observe.
    absl::SleepFor(drain_delay_);
  }
  // TODO(issue 5): an open grpc.health.v1.Health/Watch stream (clients
  // that check health keep one) holds this until `grace` ends, because
  // gRPC's default health service never ends its watches; ending them
  // needs a health service of our own.
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

void BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LogInfo("signal_received").Field("signal", signal_number);
  return signal_number;
}

void ServeUntilTerminated(absl::string_view server,
                          const std::function<void(absl::Duration)>& shutdown,
                          absl::Duration grace) {
  WaitForTerminationSignal();
  LogInfo(absl::StrCat(server, "_draining"))
      .Field("grace_ms", absl::ToInt64Milliseconds(grace));
  shutdown(grace);
  LogInfo(absl::StrCat(server, "_stopped"));
}

}  // namespace gridcast
