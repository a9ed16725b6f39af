#include "common/server/health_port.h"

#include <grpcpp/ext/health_check_service_server_builder_option.h>

#include "absl/strings/str_cat.h"

namespace gridcast {

absl::StatusOr<std::unique_ptr<HealthPort>> HealthPort::Start(
    const std::string& listen_address) {
  // Health (and reflection, when its plugin is on) and nothing else.
  auto health = std::make_unique<HealthService>();
  health->SetServingStatus("", false);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen_address, grpc::InsecureServerCredentials(),
                           &port);
  builder.SetOption(
      std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
  builder.RegisterService(health.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for health checks on ", listen_address,
                     " (address in use or not local?)"));
  }
  return std::unique_ptr<HealthPort>(
      new HealthPort(std::move(health), std::move(server), port));
}

HealthPort::HealthPort(std::unique_ptr<HealthService> health,
                       std::unique_ptr<grpc::Server> server, int port)
    : health_(std::move(health)), server_(std::move(server)), port_(port) {}

HealthPort::~HealthPort() { Shutdown(); }

void HealthPort::SetServingStatus(const std::string& service, bool serving) {
  health_->SetServingStatus(service, serving);
}

void HealthPort::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  // Watches end with UNAVAILABLE rather than being cut off.
  health_->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
}

}  // namespace gridcast
