// A protobuf DescriptorDatabase that asks a server's reflection service
// (grpc.reflection.v1alpha, which gRPC 1.51 serves) for the .proto files
// that define a symbol, so that a client needs no .proto file and no
// generated code for the services it calls.
#ifndef GRIDCAST_TOOLS_GRPCJSON_REFLECTION_DATABASE_H_
#define GRIDCAST_TOOLS_GRPCJSON_REFLECTION_DATABASE_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <grpcpp/grpcpp.h>

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace gridcast::grpcjson {

// Headers sent with every call, such as {"authorization", "Bearer ..."}:
// lower-case names, as HTTP/2 wants them.
using Metadata = std::vector<std::pair<std::string, std::string>>;

class ReflectionDatabase : public google::protobuf::DescriptorDatabase {
 public:
  // Asks through `channel`, sending `metadata` with each request (a server
  // with tokens wants one for reflection too).
  ReflectionDatabase(std::shared_ptr<grpc::Channel> channel, Metadata metadata);

  bool FindFileByName(const std::string& filename,
                      google::protobuf::FileDescriptorProto* output) override;
  bool FindFileContainingSymbol(
      const std::string& symbol_name,
      google::protobuf::FileDescriptorProto* output) override;
  // Extensions are not used by the services this client calls.
  bool FindFileContainingExtension(
      const std::string& containing_type, int field_number,
      google::protobuf::FileDescriptorProto* output) override;

  // The fully qualified names of the services the server offers; a failed
  // call leaves *services empty and returns its status.
  grpc::Status ListServices(std::vector<std::string>* services);

  // The status of the last reflection call that failed, for messages.
  const grpc::Status& last_error() const { return last_error_; }

 private:
  // Sends one request on a stream of its own and reads its one answer.
  bool Ask(const grpc::reflection::v1alpha::ServerReflectionRequest& request,
           grpc::reflection::v1alpha::ServerReflectionResponse* response);
  // Keeps every file of a file_descriptor_response; returns the first.
  bool Remember(
      const grpc::reflection::v1alpha::ServerReflectionResponse& response,
      google::protobuf::FileDescriptorProto* first);

  std::unique_ptr<grpc::reflection::v1alpha::ServerReflection::Stub> stub_;
  Metadata metadata_;
  std::map<std::string, google::protobuf::FileDescriptorProto> files_;
  grpc::Status last_error_;
};

}  // namespace gridcast::grpcjson

#endif  // GRIDCAST_TOOLS_GRPCJSON_REFLECTION_DATABASE_H_
