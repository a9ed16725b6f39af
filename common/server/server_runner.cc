#include "common/server/server_runner.h"

#include <signal.h>

#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace gridcast {

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const GrpcServerOptions& options,
    const std::vector<grpc::Service*>& services) {
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      BuildServerCredentials(options.security);
  if (!credentials.ok()) return credentials.status();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen_address, *credentials, &port);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  if (options.max_connection_age_ms > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               options.max_connection_age_ms);
  }
  if (options.max_connection_age_grace_ms > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               options.max_connection_age_grace_ms);
  }
  for (grpc::Service* service : services) builder.RegisterService(service);

  // Ours instead of gRPC's default health service, whose watches would
  // hold Shutdown() (see HealthService). Everything NOT_SERVING until
  // SetServing(true) below.
  auto health = std::make_unique<HealthService>();
  health->SetServingStatus("", false);
  for (const std::string& name : options.health_service_names) {
    health->SetServingStatus(name, false);
  }
  builder.SetOption(
      std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
  builder.RegisterService(health.get());
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(metrics::MakeServerMetricsInterceptorFactory(
      options.metrics_model_labels));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));

  std::unique_ptr<metrics::MetricsHttpServer> metrics_server;
  if (!options.metrics_listen_address.empty()) {
    metrics::MetricsHttpServerOptions metrics_options;
    metrics_options.listen_address = options.metrics_listen_address;
    auto started = metrics::MetricsHttpServer::Start(metrics_options);
    if (!started.ok()) return started.status();
    metrics_server = *std::move(started);
  }

  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address,
                     " (address in use or not local?)"));
  }

  auto result = std::unique_ptr<GrpcServer>(new GrpcServer(
      std::move(health), std::move(server), port, options.health_service_names,
      options.drain_delay, !options.services_wait_until_ready));
  result->metrics_server_ = std::move(metrics_server);
  if (!options.health_listen_address.empty()) {
    absl::StatusOr<std::unique_ptr<HealthPort>> health_port =
        HealthPort::Start(options.health_listen_address);
    if (!health_port.ok()) return health_port.status();
    result->health_port_ = *std::move(health_port);
    LogInfo("health_port_listening")
        .Field("address", options.health_listen_address)
        .Field("port", result->health_port_->port());
  }
  result->SetServing(true);
  return result;
}

GrpcServer::GrpcServer(std::unique_ptr<HealthService> health,
                       std::unique_ptr<grpc::Server> server, int port,
                       std::vector<std::string> health_names,
                       absl::Duration drain_delay, bool services_ready)
    : health_(std::move(health)),
      server_(std::move(server)),
      port_(port),
      health_names_(std::move(health_names)),
      drain_delay_(drain_delay),
      services_ready_(services_ready) {}

GrpcServer::~GrpcServer() { Shutdown(absl::ZeroDuration()); }

std::string GrpcServer::LocalAddress() const {
  return absl::StrCat("127.0.0.1:", port_);
}

int GrpcServer::metrics_port() const {
  return metrics_server_ == nullptr ? 0 : metrics_server_->port();
}

void GrpcServer::SetServing(bool serving) {
  absl::MutexLock lock(&health_mu_);
  serving_ = serving;
  PublishHealthLocked();
}

bool GrpcServer::MarkServicesReady() {
  absl::MutexLock lock(&health_mu_);
  if (draining_) return false;
  services_ready_ = true;
  PublishHealthLocked();
  return serving_;
}

void GrpcServer::PublishHealthLocked() {
  const bool serving = serving_ && !draining_;
  ReportHealth("", serving);
  for (const std::string& name : health_names_) {
    ReportHealth(name, serving && services_ready_);
  }
}

void GrpcServer::ReportHealth(const std::string& service, bool serving) {
  health_->SetServingStatus(service, serving);
  if (health_port_ != nullptr) health_port_->SetServingStatus(service, serving);
}

void GrpcServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;

  {
    // For good: a service that becomes ready during the drain must not
    // report SERVING again.
    absl::MutexLock lock(&health_mu_);
    draining_ = true;
    PublishHealthLocked();
  }
  if (grace > absl::ZeroDuration() && drain_delay_ > absl::ZeroDuration()) {
    // Not a synchronisation: the time that clients need to hear of
    // NOT_SERVING, which this process cannot observe.
    absl::SleepFor(drain_delay_);
  }
  // An open Health/Watch stream would hold the shutdown until `grace`
  // ends; the watches end now, after their final NOT_SERVING. Not earlier:
  // gRPC's client-side health checking starts a new watch at once when one
  // ends after a message, so ending them when the drain begins would have
  // such clients call Watch in a loop for the whole delay.
  health_->Shutdown();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  // Probes keep getting NOT_SERVING until the drain is over.
  if (health_port_ != nullptr) health_port_->Shutdown();
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
