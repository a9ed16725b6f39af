#include "tools/grpcjson/reflection_database.h"

#include <utility>

namespace gridcast::grpcjson {

using grpc::reflection::v1alpha::ServerReflection;
using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

ReflectionDatabase::ReflectionDatabase(std::shared_ptr<grpc::Channel> channel,
                                       Metadata metadata)
    : stub_(ServerReflection::NewStub(std::move(channel))),
      metadata_(std::move(metadata)) {}

bool ReflectionDatabase::FindFileByName(
    const std::string& filename,
    google::protobuf::FileDescriptorProto* output) {
  const auto known = files_.find(filename);
  if (known != files_.end()) {
    *output = known->second;
    return true;
  }
  ServerReflectionRequest request;
  request.set_file_by_filename(filename);
  ServerReflectionResponse response;
  return Ask(request, &response) && Remember(response, output);
}

bool ReflectionDatabase::FindFileContainingSymbol(
    const std::string& symbol_name,
    google::protobuf::FileDescriptorProto* output) {
  ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol_name);
  ServerReflectionResponse response;
  return Ask(request, &response) && Remember(response, output);
}

bool ReflectionDatabase::FindFileContainingExtension(
    const std::string&, int, google::protobuf::FileDescriptorProto*) {
  return false;
}

grpc::Status ReflectionDatabase::ListServices(
    std::vector<std::string>* services) {
  services->clear();
  ServerReflectionRequest request;
  request.set_list_services("");
  ServerReflectionResponse response;
  if (!Ask(request, &response)) return last_error_;
  for (const auto& service : response.list_services_response().service()) {
    services->push_back(service.name());
  }
  return grpc::Status::OK;
}

bool ReflectionDatabase::Ask(const ServerReflectionRequest& request,
                             ServerReflectionResponse* response) {
  grpc::ClientContext context;
  for (const auto& [name, value] : metadata_) context.AddMetadata(name, value);
  auto stream = stub_->ServerReflectionInfo(&context);
  const bool answered =
      stream->Write(request) && stream->WritesDone() && stream->Read(response);
  // Drain, so that Finish() sees the end of the stream.
  ServerReflectionResponse extra;
  while (answered && stream->Read(&extra)) {
  }
  const grpc::Status status = stream->Finish();
  if (!status.ok()) {
    last_error_ = status;
    return false;
  }
  if (!answered) {
    last_error_ = grpc::Status(grpc::StatusCode::UNKNOWN,
                               "the reflection service sent no answer");
    return false;
  }
  if (response->has_error_response()) {
    last_error_ = grpc::Status(
        static_cast<grpc::StatusCode>(response->error_response().error_code()),
        response->error_response().error_message());
    return false;
  }
  return true;
}

bool ReflectionDatabase::Remember(
    const ServerReflectionResponse& response,
    google::protobuf::FileDescriptorProto* first) {
  const auto& files =
      response.file_descriptor_response().file_descriptor_proto();
  if (files.empty()) return false;
  for (int i = 0; i < files.size(); ++i) {
    google::protobuf::FileDescriptorProto file;
    if (!file.ParseFromString(files[i])) return false;
    if (i == 0) *first = file;
    files_.emplace(file.name(), std::move(file));
  }
  return true;
}

}  // namespace gridcast::grpcjson
