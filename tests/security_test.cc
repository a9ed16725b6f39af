// TLS, mutual TLS and bearer tokens through real servers, with
// certificates that Debian's openssl makes for each test
// (tests/make_test_certs.sh).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/server/security.h"
#include "common/server/token_auth.h"
#include "common/store/files.h"
#include "tests/cluster.h"
#include "tests/test_support.h"

namespace gridcast::testing {
namespace {

using Catch::Matchers::Contains;

constexpr char kUploadToken[] = "upload-token-6b1f0c9e27d4";
constexpr char kTrainToken[] = "train-token-0d83c5aa41b7";
constexpr char kForecastToken[] = "forecast-token-93e7f2d150c8";
constexpr char kAdminToken[] = "admin-token-4c2a9be81f63";
constexpr char kUnknownToken[] = "unknown-token-77ad0e35b9f1";

// A CA, a server and a client certificate, and one from a stranger.
class TestCertificates {
 public:
  TestCertificates() {
    const std::string command = absl::StrCat(
        "sh '", GRIDCAST_SOURCE_DIR, "/tests/make_test_certs.sh' '",
        dir_.path(), "' > '", dir_.path(), "/openssl.log' 2>&1");
    if (std::system(command.c_str()) != 0) {
      FAIL("openssl failed: "
           << *ReadFileToString(dir_.path() + "/openssl.log"));
    }
  }

  std::string operator[](const char* file) const {
    return absl::StrCat(dir_.path(), "/", file);
  }
  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
};

ServerSecurityOptions Tls(const TestCertificates& certs) {
  ServerSecurityOptions security;
  security.tls_cert_file = certs["server.pem"];
  security.tls_key_file = certs["server.key"];
  return security;
}

// A cluster whose two servers share `security`.
std::unique_ptr<Cluster> SecureCluster(const ServerSecurityOptions& security) {
  ClusterOptions options;
  options.configure_trainer = [security](TrainerServerOptions* trainer) {
    trainer->security = security;
  };
  options.configure_inference = [security](InferenceServerOptions* inference) {
    inference->security = security;
  };
  return std::make_unique<Cluster>(options);
}

std::shared_ptr<grpc::Channel> Channel(int port,
                                       const ClientSecurityOptions& client) {
  auto credentials = BuildChannelCredentials(client);
  REQUIRE(credentials.ok());
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), *credentials);
}

void SetShortDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(10));
}

grpc::Status ListModels(const std::shared_ptr<grpc::Channel>& channel,
                        const std::string& authorization = "") {
  grpc::ClientContext context;
  SetShortDeadline(&context);
  if (!authorization.empty())
    context.AddMetadata("authorization", authorization);
  v1::ListModelsResponse response;
  return v1::ForecasterService::NewStub(channel)->ListModels(
      &context, v1::ListModelsRequest(), &response);
}

grpc::Status ListDatasets(const std::shared_ptr<grpc::Channel>& channel,
                          const std::string& authorization = "") {
  grpc::ClientContext context;
  SetShortDeadline(&context);
  if (!authorization.empty())
    context.AddMetadata("authorization", authorization);
  v1::ListDatasetsResponse response;
  return v1::TrainerService::NewStub(channel)->ListDatasets(
      &context, v1::ListDatasetsRequest(), &response);
}

// A unary call on raw bytes, for health and reflection, whose stubs Debian
// does not ship.
grpc::Status RawCall(const std::shared_ptr<grpc::Channel>& channel,
                     const char* method_name, const std::string& request,
                     const std::string& authorization = "") {
  const grpc::internal::RpcMethod method(method_name,
                                         grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::ClientContext context;
  SetShortDeadline(&context);
  if (!authorization.empty())
    context.AddMetadata("authorization", authorization);
  grpc::Slice slice(request);
  grpc::ByteBuffer reply;
  return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel.get(), method, &context, grpc::ByteBuffer(&slice, 1), &reply);
}

grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& authorization = "") {
  return RawCall(channel, "/grpc.health.v1.Health/Check", "", authorization);
}

grpc::Status ListServicesByReflection(
    const std::shared_ptr<grpc::Channel>& channel,
    const std::string& authorization = "") {
  // ServerReflectionRequest{list_services: ""}.
  return RawCall(channel,
                 "/grpc.reflection.v1alpha.ServerReflection/"
                 "ServerReflectionInfo",
                 std::string("\x3a\x00", 2), authorization);
}

std::string Bearer(const char* token) { return absl::StrCat("Bearer ", token); }

void WriteTokens(const std::string& path, const std::string& text) {
  std::ofstream(path + ".new") << text;
  REQUIRE(std::rename((path + ".new").c_str(), path.c_str()) == 0);
}

std::string StandardTokens() {
  return absl::StrCat("# token roles client\n",                    //
                      kUploadToken, " upload scada-east\n",        //
                      kTrainToken, " train,upload trainer-bot\n",  //
                      "\n",                                        //
                      kForecastToken, "\tforecast\n",              //
                      kAdminToken, " admin operator\n");
}

TEST_CASE("TLS: a client trusting the CA is served, a plaintext one is not",
          "[security]") {
  TestCertificates certs;
  auto cluster = SecureCluster(Tls(certs));
  ClientSecurityOptions trusting;
  trusting.ca_file = certs["ca.pem"];

  CHECK(ListModels(Channel(cluster->inference().port(), trusting)).ok());
  CHECK(ListDatasets(Channel(cluster->trainer().port(), trusting)).ok());

  const grpc::Status plaintext =
      ListModels(Channel(cluster->inference().port(), {}));
  CHECK(plaintext.error_code() == grpc::StatusCode::UNAVAILABLE);

  // A client that does not trust the server's CA refuses it.
  ClientSecurityOptions system_roots;
  system_roots.cert_file = certs["client.pem"];
  system_roots.key_file = certs["client.key"];
  CHECK(ListModels(Channel(cluster->inference().port(), system_roots))
            .error_code() == grpc::StatusCode::UNAVAILABLE);
}

TEST_CASE("mutual TLS: only a client certificate the CA signed gets in",
          "[security]") {
  TestCertificates certs;
  ServerSecurityOptions security = Tls(certs);
  security.tls_client_ca_file = certs["ca.pem"];
  auto cluster = SecureCluster(security);
  const int port = cluster->inference().port();

  ClientSecurityOptions anonymous;
  anonymous.ca_file = certs["ca.pem"];
  CHECK(ListModels(Channel(port, anonymous)).error_code() ==
        grpc::StatusCode::UNAVAILABLE);

  ClientSecurityOptions stranger = anonymous;
  stranger.cert_file = certs["stranger.pem"];
  stranger.key_file = certs["stranger.key"];
  CHECK(ListModels(Channel(port, stranger)).error_code() ==
        grpc::StatusCode::UNAVAILABLE);

  ClientSecurityOptions known = anonymous;
  known.cert_file = certs["client.pem"];
  known.key_file = certs["client.key"];
  CHECK(ListModels(Channel(port, known)).ok());
  CHECK(ListDatasets(Channel(cluster->trainer().port(), known)).ok());
}

TEST_CASE(
    "tokens: unknown or missing is UNAUTHENTICATED, a missing role is "
    "PERMISSION_DENIED, and no token reaches the log",
    "[security]") {
  TestCertificates certs;
  const std::string tokens_file = certs["tokens"];
  WriteTokens(tokens_file, StandardTokens());
  ServerSecurityOptions security = Tls(certs);
  security.tokens_file = tokens_file;

  StderrCapture log;
  auto cluster = SecureCluster(security);
  ClientSecurityOptions client;
  client.ca_file = certs["ca.pem"];
  const auto trainer = Channel(cluster->trainer().port(), client);
  const auto inference = Channel(cluster->inference().port(), client);

  SECTION("no token, an unknown one or another scheme") {
    for (const std::string& header :
         {std::string(), Bearer(kUnknownToken),
          absl::StrCat("Basic ", kAdminToken), std::string("Bearer ")}) {
      INFO("authorization: " << header);
      CHECK(ListModels(inference, header).error_code() ==
            grpc::StatusCode::UNAUTHENTICATED);
      CHECK(ListDatasets(trainer, header).error_code() ==
            grpc::StatusCode::UNAUTHENTICATED);
    }
    CHECK_THAT(ListModels(inference).error_message(),
               Contains("needs a bearer token"));
  }

  SECTION("each role opens its RPCs and no others") {
    CHECK(ListModels(inference, Bearer(kForecastToken)).ok());
    CHECK(ListDatasets(trainer, Bearer(kUploadToken)).ok());
    CHECK(ListDatasets(trainer, Bearer(kTrainToken)).ok());

    const grpc::Status denied = ListDatasets(trainer, Bearer(kForecastToken));
    CHECK(denied.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(denied.error_message() ==
          "the token of client line-5 lacks role upload, which "
          "/gridcast.v1.TrainerService/ListDatasets needs");
    CHECK(ListModels(inference, Bearer(kUploadToken)).error_code() ==
          grpc::StatusCode::PERMISSION_DENIED);

    grpc::ClientContext context;
    context.AddMetadata("authorization", Bearer(kTrainToken));
    v1::DeleteDatasetRequest doomed;
    doomed.set_dataset_id("ds-0000000000000000");
    v1::DeleteDatasetResponse deleted;
    CHECK(v1::TrainerService::NewStub(trainer)
              ->DeleteDataset(&context, doomed, &deleted)
              .error_code() == grpc::StatusCode::PERMISSION_DENIED);

    // Admin may do everything; the dataset does not exist, which only a
    // call that got past the check can find out.
    grpc::ClientContext admin_context;
    admin_context.AddMetadata("authorization", Bearer(kAdminToken));
    CHECK(v1::TrainerService::NewStub(trainer)
              ->DeleteDataset(&admin_context, doomed, &deleted)
              .error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(ListModels(inference, Bearer(kAdminToken)).ok());
  }

  SECTION("health is open, reflection needs a token") {
    CHECK(HealthCheck(inference).ok());
    CHECK(HealthCheck(trainer).ok());
    CHECK(ListServicesByReflection(inference).error_code() ==
          grpc::StatusCode::UNAUTHENTICATED);
    CHECK(ListServicesByReflection(inference, Bearer(kForecastToken)).ok());
  }

  SECTION("the token credentials of a client channel are accepted") {
    ClientSecurityOptions with_token = client;
    with_token.token = kForecastToken;
    CHECK(ListModels(Channel(cluster->inference().port(), with_token)).ok());
    with_token.token = kUnknownToken;
    CHECK(ListModels(Channel(cluster->inference().port(), with_token))
              .error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }

  // Refusals are logged, with the method but without any token.
  cluster.reset();
  const std::string logged = log.Text();
  CHECK_THAT(logged, Contains("event=tokens_loaded"));
  CHECK_THAT(logged, Contains("event=call_refused"));
  for (const char* token : {kUploadToken, kTrainToken, kForecastToken,
                            kAdminToken, kUnknownToken}) {
    INFO(token);
    CHECK_FALSE(absl::StrContains(logged, token));
  }
}

TEST_CASE("tokens: health and reflection are closed or open by configuration",
          "[security]") {
  TestCertificates certs;
  WriteTokens(certs["tokens"], StandardTokens());
  ServerSecurityOptions security = Tls(certs);
  security.tokens_file = certs["tokens"];
  security.open_health = false;
  security.open_reflection = true;
  auto cluster = SecureCluster(security);
  ClientSecurityOptions client;
  client.ca_file = certs["ca.pem"];
  const auto inference = Channel(cluster->inference().port(), client);

  CHECK(HealthCheck(inference).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  CHECK(HealthCheck(inference, Bearer(kUploadToken)).ok());
  CHECK(ListServicesByReflection(inference).ok());
}

TEST_CASE("tokens: a changed tokens file takes effect without a restart",
          "[security]") {
  TestCertificates certs;
  const std::string tokens_file = certs["tokens"];
  WriteTokens(tokens_file, StandardTokens());
  ServerSecurityOptions security = Tls(certs);
  security.tokens_file = tokens_file;
  security.tokens_reload_interval = absl::Milliseconds(10);
  auto cluster = SecureCluster(security);
  ClientSecurityOptions client;
  client.ca_file = certs["ca.pem"];
  const auto inference = Channel(cluster->inference().port(), client);
  REQUIRE(ListModels(inference, Bearer(kForecastToken)).ok());

  // The forecast token is revoked and a new one added.
  WriteTokens(tokens_file, absl::StrCat(kUnknownToken, " forecast\n"));
  CHECK(
      WaitFor([&] { return ListModels(inference, Bearer(kUnknownToken)).ok(); },
              std::chrono::seconds(10)));
  CHECK(ListModels(inference, Bearer(kForecastToken)).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);

  // A broken file keeps the tokens that were in force.
  StderrCapture log;
  WriteTokens(tokens_file, "half-written-file\n");
  CHECK(WaitFor(
      [&] {
        ListModels(inference, Bearer(kUnknownToken));
        return absl::StrContains(log.Text(), "event=tokens_reload_failed");
      },
      std::chrono::seconds(10)));
  CHECK(ListModels(inference, Bearer(kUnknownToken)).ok());
}

TEST_CASE("every RPC of both services has a role", "[security]") {
  const google::protobuf::DescriptorPool* pool =
      google::protobuf::DescriptorPool::generated_pool();
  for (const char* name :
       {"gridcast.v1.TrainerService", "gridcast.v1.ForecasterService"}) {
    const google::protobuf::ServiceDescriptor* service =
        pool->FindServiceByName(name);
    REQUIRE(service != nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string method =
          absl::StrCat("/", name, "/", service->method(i)->name());
      INFO(method);
      CHECK(RoleOfMethod(method).has_value());
    }
  }
  // A method nobody listed needs admin.
  const Access unknown =
      RequiredAccess("/gridcast.v1.ForecasterService/Unlisted", true, true);
  CHECK(unknown.kind == Access::Kind::kRole);
  CHECK(unknown.role == Role::kAdmin);
}

TEST_CASE("a bad tokens file is refused naming the line, never the token",
          "[security]") {
  const auto check = [](const std::string& text, const char* message) {
    INFO(text);
    const auto parsed = ParseTokens(text);
    REQUIRE(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(parsed.status().message()), Contains(message));
    CHECK_FALSE(absl::StrContains(parsed.status().message(), kAdminToken));
  };
  check(absl::StrCat("# ok\n", kAdminToken, "\n"), "line 2 has 1 fields");
  check(absl::StrCat(kAdminToken, " root\n"), "line 1: unknown role \"root\"");
  check(absl::StrCat(kAdminToken, " admin\n", kAdminToken, " upload\n"),
        "line 2 repeats the token of client line-1");
  check("short admin\n", "line 1: the token has 5 characters");

  const auto empty = ParseTokens("# nobody yet\n");
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("bad security options stop the server with a reason", "[security]") {
  TestCertificates certs;
  const auto start = [](const ServerSecurityOptions& security) {
    InferenceServerOptions options;
    TempDir store;
    options.store_root = store.path();
    options.listen_address = "127.0.0.1:0";
    options.security = security;
    return InferenceServer::Start(options).status();
  };

  ServerSecurityOptions tokens_without_tls;
  tokens_without_tls.tokens_file = certs["tokens"];
  CHECK_THAT(std::string(start(tokens_without_tls).message()),
             Contains("--tokens_file needs --tls_cert_file"));

  ServerSecurityOptions wrong_key = Tls(certs);
  wrong_key.tls_key_file = certs["client.key"];
  const absl::Status mismatch = start(wrong_key);
  CHECK(mismatch.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(mismatch.message()),
             Contains("is not the key of --tls_cert_file"));

  ServerSecurityOptions missing = Tls(certs);
  missing.tls_cert_file = certs["absent.pem"];
  CHECK_THAT(std::string(start(missing).message()),
             Contains("--tls_cert_file="));

  ServerSecurityOptions no_tokens_file = Tls(certs);
  no_tokens_file.tokens_file = certs["absent-tokens"];
  CHECK(start(no_tokens_file).code() == absl::StatusCode::kNotFound);
}

TEST_CASE("gridcastctl reaches a TLS server with a CA file and a token",
          "[security]") {
  TestCertificates certs;
  WriteTokens(certs["tokens"], StandardTokens());
  ServerSecurityOptions security = Tls(certs);
  security.tokens_file = certs["tokens"];
  auto cluster = SecureCluster(security);
  { std::ofstream(certs["my-token"]) << kForecastToken << "\n"; }

  const auto run = [&](const std::string& options) {
    const std::string command = absl::StrCat(
        GRIDCAST_BINARY_DIR, "/tools/gridcastctl --forecaster 127.0.0.1:",
        cluster->inference().port(), " ", options, " models list > '",
        certs.dir(), "/ctl.out' 2>&1");
    const int status = std::system(command.c_str());
    INFO(ReadFileToString(certs.dir() + "/ctl.out").value_or(""));
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  const std::string ca = absl::StrCat("--tls-ca-file ", certs["ca.pem"]);
  CHECK(run(absl::StrCat(ca, " --token-file ", certs["my-token"])) == 0);
  CHECK(run(absl::StrCat(ca, " --token ", kForecastToken)) == 0);
  // Refused by the server (PERMISSION_DENIED, UNAUTHENTICATED): exit 3.
  CHECK(run(absl::StrCat(ca, " --token ", kUploadToken)) == 3);
  CHECK(run(ca) == 3);

  // Through a port-forward the host dialled is not the certificate's:
  // --tls-server-name names the one to check.
  const std::string token = absl::StrCat(" --token ", kForecastToken);
  CHECK(run(absl::StrCat(ca, token, " --tls-server-name localhost")) == 0);
  CHECK(run(absl::StrCat(ca, token, " --tls-server-name gridcast.example")) ==
        3);
}

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs build/tools/grpcjson with `arguments`, shell words as an operator
// types them, with stdout and stderr to files.
CommandResult RunGrpcjson(const TestCertificates& certs,
                          const std::string& arguments) {
  const std::string out = certs.dir() + "/grpcjson.out";
  const std::string err = certs.dir() + "/grpcjson.err";
  const std::string command =
      absl::StrCat(GRIDCAST_BINARY_DIR, "/tools/grpcjson ", arguments, " > '",
                   out, "' 2> '", err, "'");
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1,
          ReadFileToString(out).value_or(""),
          ReadFileToString(err).value_or("")};
}

// grpcjson's exit status for a call the server failed, as grpcurl's.
int ExitFor(grpc::StatusCode code) { return 64 + static_cast<int>(code); }

std::string BearerHeader(const char* token) {
  return absl::StrCat("-H 'authorization: Bearer ", token, "'");
}

TEST_CASE("grpcjson calls a TLS server with a CA file and a bearer token",
          "[security][grpcjson]") {
  TestCertificates certs;
  WriteTokens(certs["tokens"], StandardTokens());
  ServerSecurityOptions security = Tls(certs);
  security.tokens_file = certs["tokens"];
  auto cluster = SecureCluster(security);
  const std::string trainer =
      absl::StrCat("127.0.0.1:", cluster->trainer().port());
  const std::string inference =
      absl::StrCat("127.0.0.1:", cluster->inference().port());
  const std::string ca = absl::StrCat("-cacert '", certs["ca.pem"], "'");

  SECTION("a streamed upload with the upload role") {
    const CommandResult upload = RunGrpcjson(
        certs, absl::StrCat(
                   ca, " ", BearerHeader(kUploadToken), " -d @ ", trainer,
                   " gridcast.v1.TrainerService/UploadHistory < '",
                   GRIDCAST_SOURCE_DIR, "/docs/examples/UploadHistory.json'"));
    INFO(upload.err);
    REQUIRE(upload.exit_code == 0);
    CHECK_THAT(upload.out, Contains("\"id\": \"ds-b98d3a1d03e7d535\""));
    CHECK_THAT(upload.out, Contains("\"points\": \"240\""));
  }
  SECTION("the operator guide's GetModel: -authority and a token file") {
    // As docs/operator-guide.md writes it, with the name in the test's
    // certificate and a forecast token in a file.
    { std::ofstream(certs["token"]) << kForecastToken << "\n"; }
    const CommandResult model = RunGrpcjson(
        certs,
        absl::StrCat(ca,
                     " -authority localhost -H \"authorization: "
                     "Bearer $(cat '",
                     certs["token"], "')\" -d '{\"model\": \"feeder-17\"}' ",
                     inference, " gridcast.v1.ForecasterService/GetModel"));
    // Through TLS and the token check: the server looked the model up.
    CHECK(model.exit_code == ExitFor(grpc::StatusCode::NOT_FOUND));
    CHECK_THAT(model.err, Contains("Message: model feeder-17 not found"));

    const CommandResult models = RunGrpcjson(
        certs,
        absl::StrCat(ca, " ", BearerHeader(kForecastToken), " ", inference,
                     " gridcast.v1.ForecasterService/ListModels"));
    INFO(models.err);
    CHECK(models.exit_code == 0);
    CHECK(models.out == "{}\n");
  }
  SECTION("without a token even reflection is refused") {
    const CommandResult listed =
        RunGrpcjson(certs, absl::StrCat(ca, " ", inference, " list"));
    CHECK(listed.exit_code == ExitFor(grpc::StatusCode::UNAUTHENTICATED));
    CHECK_THAT(listed.err, Contains("needs a bearer token"));
  }
  SECTION("a token without the RPC's role is refused by the RPC") {
    const CommandResult denied = RunGrpcjson(
        certs, absl::StrCat(ca, " ", BearerHeader(kUploadToken), " ", inference,
                            " gridcast.v1.ForecasterService/ListModels"));
    CHECK(denied.exit_code == ExitFor(grpc::StatusCode::PERMISSION_DENIED));
    CHECK_THAT(denied.err, Contains("lacks role forecast"));
  }
  SECTION("another name, plaintext or an untrusted CA do not connect") {
    const std::string call =
        absl::StrCat(BearerHeader(kForecastToken), " ", inference, " list");
    for (const std::string& connection :
         {absl::StrCat(ca, " -authority gridcast.example"),
          std::string("-plaintext"), std::string()}) {
      INFO("connection: " << connection);
      const CommandResult refused =
          RunGrpcjson(certs, absl::StrCat(connection, " ", call));
      CHECK(refused.exit_code == ExitFor(grpc::StatusCode::UNAVAILABLE));
    }
  }
}

TEST_CASE("grpcjson presents a client certificate to a mutual TLS server",
          "[security][grpcjson]") {
  TestCertificates certs;
  ServerSecurityOptions security = Tls(certs);
  security.tls_client_ca_file = certs["ca.pem"];
  auto cluster = SecureCluster(security);
  // Lists the services, presenting `client_certificate` (grpcjson's flags).
  const auto run = [&](const std::string& client_certificate) {
    return RunGrpcjson(
        certs,
        absl::StrCat("-cacert '", certs["ca.pem"], "' ", client_certificate,
                     " 127.0.0.1:", cluster->inference().port(), " list"));
  };

  const CommandResult known = run(absl::StrCat(
      "-cert '", certs["client.pem"], "' -key '", certs["client.key"], "'"));
  INFO(known.err);
  CHECK(known.exit_code == 0);
  CHECK_THAT(known.out, Contains("gridcast.v1.ForecasterService\n"));

  CHECK(run("").exit_code == ExitFor(grpc::StatusCode::UNAVAILABLE));
  CHECK(run(absl::StrCat("-cert '", certs["stranger.pem"], "' -key '",
                         certs["stranger.key"], "'"))
            .exit_code == ExitFor(grpc::StatusCode::UNAVAILABLE));
  // A certificate without its key is a usage error, before any call.
  const CommandResult half =
      run(absl::StrCat("-cert '", certs["client.pem"], "'"));
  CHECK(half.exit_code == 1);
  CHECK(half.err == "grpcjson: -cert and -key go together\n");
}

}  // namespace
}  // namespace gridcast::testing
