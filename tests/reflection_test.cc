// What grpcurl and Kubernetes probes see without any .proto file: server
// reflection lists and describes the services and grpc.health.v1 answers
// SERVING. The calls are made on raw bytes, as a generic client would,
// without generated stubs.
#include <string>
#include <vector>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <grpcpp/impl/codegen/sync_stream.h>
#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "common/server/server_runner.h"
#include "gridcast/v1/forecaster.grpc.pb.h"
#include "tests/cluster.h"
#include "tests/health_probe.h"
#include "tests/test_support.h"

namespace gridcast::testing {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  buffer.Dump(&slices).IgnoreError();
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// Returns the length-delimited fields numbered `field` of a message.
std::vector<std::string> Submessages(const std::string& bytes, int field) {
  std::vector<std::string> found;
  CodedInputStream input(reinterpret_cast<const uint8_t*>(bytes.data()),
                         static_cast<int>(bytes.size()));
  while (const uint32_t tag = input.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == field &&
        WireFormatLite::GetTagWireType(tag) ==
            WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::string value;
      uint32_t length = 0;
      input.ReadVarint32(&length);
      input.ReadString(&value, static_cast<int>(length));
      found.push_back(value);
    } else if (!WireFormatLite::SkipField(&input, tag)) {
      break;
    }
  }
  return found;
}

// The answers of ServerReflectionInfo to one request, as bytes.
std::vector<std::string> AskReflection(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& request) {
  const grpc::internal::RpcMethod method(
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      grpc::internal::RpcMethod::BIDI_STREAMING);
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>>
      stream(grpc::internal::ClientReaderWriterFactory<
             grpc::ByteBuffer, grpc::ByteBuffer>::Create(channel.get(), method,
                                                         &context));
  REQUIRE(stream->Write(ToBuffer(request)));
  stream->WritesDone();

  grpc::ByteBuffer reply;
  std::vector<std::string> answers;
  while (stream->Read(&reply)) answers.push_back(ToString(reply));
  REQUIRE(stream->Finish().ok());
  return answers;
}

// ServerReflectionInfo with list_services (field 7); the answer's
// list_services_response (6) holds service entries (1) with a name (1).
std::vector<std::string> ListServicesByReflection(
    const std::shared_ptr<grpc::Channel>& channel) {
  std::vector<std::string> names;
  for (const auto& answer :
       AskReflection(channel, std::string("\x3a\x00", 2))) {
    for (const auto& listing : Submessages(answer, 6)) {
      for (const auto& service : Submessages(listing, 1)) {
        for (const auto& name : Submessages(service, 1)) names.push_back(name);
      }
    }
  }
  return names;
}

// ServerReflectionInfo with file_containing_symbol (field 4); the answer's
// file_descriptor_response (4) holds FileDescriptorProtos (1).
std::vector<google::protobuf::FileDescriptorProto> FilesBySymbol(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& symbol) {
  REQUIRE(symbol.size() < 128);  // a one-byte length
  const std::string request =
      std::string("\x22") + static_cast<char>(symbol.size()) + symbol;
  std::vector<google::protobuf::FileDescriptorProto> files;
  for (const auto& answer : AskReflection(channel, request)) {
    for (const auto& response : Submessages(answer, 4)) {
      for (const auto& bytes : Submessages(response, 1)) {
        files.emplace_back();
        REQUIRE(files.back().ParseFromString(bytes));
      }
    }
  }
  return files;
}

TEST_CASE("both servers list their services through reflection",
          "[e2e][reflection]") {
  Cluster cluster;
  const std::vector<std::string> trainer =
      ListServicesByReflection(cluster.trainer_channel());
  CHECK_THAT(trainer, Catch::Matchers::VectorContains(
                          std::string("gridcast.v1.TrainerService")));
  CHECK_THAT(trainer, Catch::Matchers::VectorContains(
                          std::string("grpc.health.v1.Health")));

  const std::vector<std::string> inference =
      ListServicesByReflection(cluster.inference_channel());
  CHECK_THAT(inference, Catch::Matchers::VectorContains(
                            std::string("gridcast.v1.ForecasterService")));
}

TEST_CASE(
    "reflection describes grpc.health.v1.Health, so that grpcurl calls it "
    "without its .proto",
    "[reflection][health]") {
  auto server = GrpcServer::Start(GrpcServerOptions(), {});
  REQUIRE(server.ok());
  auto channel = grpc::CreateChannel((*server)->LocalAddress(),
                                     grpc::InsecureChannelCredentials());
  CHECK_THAT(
      ListServicesByReflection(channel),
      Catch::Matchers::VectorContains(std::string("grpc.health.v1.Health")));

  const std::vector<google::protobuf::FileDescriptorProto> files =
      FilesBySymbol(channel, "grpc.health.v1.Health");
  REQUIRE_FALSE(files.empty());
  CHECK(files[0].name() == "grpc/health/v1/health.proto");
  REQUIRE(files[0].service_size() == 1);
  const google::protobuf::ServiceDescriptorProto& health = files[0].service(0);
  CHECK(health.name() == "Health");
  REQUIRE(health.method_size() == 2);
  CHECK(health.method(0).name() == "Check");
  CHECK(health.method(1).name() == "Watch");
  CHECK(health.method(1).server_streaming());
}

TEST_CASE("health reports SERVING for the server and its service",
          "[e2e][health]") {
  Cluster cluster;
  CHECK(HealthStatus(cluster.trainer_channel(), "") == kHealthServing);
  CHECK(HealthStatus(cluster.trainer_channel(), "gridcast.v1.TrainerService") ==
        kHealthServing);
  CHECK(HealthStatus(cluster.inference_channel(), "") == kHealthServing);
  // Inference's service only once its first pass over the store has ended
  // (tests/readiness_test.cc).
  CHECK(WaitFor(
      [&] {
        return HealthStatus(cluster.inference_channel(),
                            "gridcast.v1.ForecasterService") == kHealthServing;
      },
      std::chrono::seconds(30)));
}

}  // namespace
}  // namespace gridcast::testing

namespace gridcast::testing {
namespace {

// The status of a Forecast call on raw bytes: UNIMPLEMENTED when the
// server does not serve ForecasterService.
grpc::StatusCode ForecastCallCode(
    const std::shared_ptr<grpc::Channel>& channel) {
  const grpc::internal::RpcMethod method(
      "/gridcast.v1.ForecasterService/Forecast",
      grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::ClientContext context;
  grpc::ByteBuffer reply;
  return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
             channel.get(), method, &context, ToBuffer(""), &reply)
      .error_code();
}

TEST_CASE("the health-only port mirrors health and serves nothing else",
          "[health_port]") {
  // Every method unimplemented: only health matters here.
  v1::ForecasterService::Service forecaster;
  GrpcServerOptions options;
  options.health_service_names = {"gridcast.v1.ForecasterService"};
  options.health_listen_address = "127.0.0.1:0";
  auto server = GrpcServer::Start(options, {&forecaster});
  REQUIRE(server.ok());
  REQUIRE((*server)->health_port() != 0);
  REQUIRE((*server)->health_port() != (*server)->port());

  auto probe =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->health_port()),
                          grpc::InsecureChannelCredentials());
  CHECK(HealthStatus(probe, "") == kHealthServing);
  CHECK(HealthStatus(probe, "gridcast.v1.ForecasterService") == kHealthServing);
  CHECK(ForecastCallCode(probe) == grpc::StatusCode::UNIMPLEMENTED);

  (*server)->SetServing(false);
  CHECK(HealthStatus(probe, "") == kHealthNotServing);
  CHECK(HealthStatus(probe, "gridcast.v1.ForecasterService") ==
        kHealthNotServing);
}

TEST_CASE("a health port that cannot be bound fails the start",
          "[health_port]") {
  // 192.0.2.1 (TEST-NET-1) is on no interface here: binding it fails
  // without any packet sent. (A port in use would not do: gRPC listens
  // with SO_REUSEPORT.)
  GrpcServerOptions options;
  options.health_listen_address = "192.0.2.1:0";
  auto server = GrpcServer::Start(options, {});
  REQUIRE_FALSE(server.ok());
  CHECK(server.status().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(server.status().message()),
             Catch::Matchers::Contains("health checks on 192.0.2.1:0"));
}

}  // namespace
}  // namespace gridcast::testing
