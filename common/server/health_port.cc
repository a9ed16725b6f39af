#include "common/server/health_port.h"

#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"

namespace gridcast {

absl::StatusOr<std::unique_ptr<HealthPort>> HealthPort::Start(
    const std::string& listen_address) {
  // With no service registered, the server holds only the default health
  // service (and reflection, when its plugin is on), nothing to call.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen_address, grpc::InsecureServerCredentials(),
                           &port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for health checks on ", listen_address,
                     " (address in use or not local?)"));
  }
  auto result =
      std::unique_ptr<HealthPort>(new HealthPort(std::move(server), port));
  result->SetServingStatus("", false);
  return result;
}

HealthPort::HealthPort(std::unique_ptr<grpc::Server> server, int port)
    : server_(std::move(server)), port_(port) {}

HealthPort::~HealthPort() { Shutdown(); }

void HealthPort::SetServingStatus(const std::string& service, bool serving) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  if (service.empty()) {
    health->SetServingStatus(serving);
  } else {
    health->SetServingStatus(service, serving);
  }
}

void HealthPort::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
}

}  // namespace gridcast
