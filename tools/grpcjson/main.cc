// grpcjson: a small grpcurl for gridcast's tests and for machines without
// grpcurl. It calls any method of any gRPC server with JSON in and out,
// learning the message types from the server's reflection service: it
// links no generated code of the services it calls.
//
//   grpcjson CONNECTION ADDRESS list [SERVICE]
//   grpcjson CONNECTION ADDRESS describe SYMBOL
//   grpcjson CONNECTION [-d JSON | -d @] [-emit-defaults] ADDRESS
//   SERVICE/METHOD
//
// where CONNECTION is -plaintext, or TLS: [-cacert FILE] [-cert FILE
// -key FILE] [-authority NAME]; and any number of -H 'NAME: VALUE'
// headers, such as -H "authorization: Bearer $(cat token)", go with every
// call, reflection's included.
//
// The command line is grpcurl's, so that the README's and the operator
// guide's grpcurl calls run unchanged with the program name swapped.
// `-d @` reads the requests from stdin: one JSON object, or several in a
// row for a client stream. Each response is printed as one JSON object.
// Exit status as grpcurl's: 0 success, 1 a local error, 64 + the gRPC code
// when the call failed.
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "tools/grpcjson/reflection_database.h"

namespace gridcast::grpcjson {
namespace {

constexpr int kExitLocalError = 1;
constexpr int kExitStatusBase = 64;

struct Options {
  bool plaintext = false;
  // TLS: the CA to trust instead of the system's, a client certificate
  // and its key for mutual TLS, and the name to check in the server's
  // certificate (and send as :authority) instead of the address's host.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string authority;
  Metadata headers;
  bool emit_defaults = false;
  bool has_data = false;
  std::string data;
  std::string address;
  std::vector<std::string> words;
};

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "grpcjson: " << message << "\n";
  std::exit(kExitLocalError);
}

const char kUsage[] =
    "usage: grpcjson (-plaintext | [-cacert FILE] [-cert FILE -key FILE] "
    "[-authority NAME]) [-H 'NAME: VALUE']... [-d JSON|@] [-emit-defaults] "
    "ADDRESS (list [SERVICE] | describe SYMBOL | SERVICE/METHOD)";

// "authorization: Bearer x" as {"authorization", "Bearer x"}; gRPC sends
// header names in lower case only.
std::pair<std::string, std::string> ParseHeader(const std::string& header) {
  const size_t colon = header.find(':');
  if (colon == std::string::npos || colon == 0) {
    Fail("-H \"" + header + "\" is not NAME: VALUE");
  }
  std::string name = header.substr(0, colon);
  for (char& c : name) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  const size_t value = header.find_first_not_of(' ', colon + 1);
  return {name, value == std::string::npos ? "" : header.substr(value)};
}

// The checks that need every flag read first.
void CheckConnectionFlags(const Options& options) {
  if (options.plaintext &&
      !(options.ca_file + options.cert_file + options.key_file).empty()) {
    Fail("-plaintext does not go with -cacert, -cert or -key");
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    Fail("-cert and -key go together");
  }
}

Options ParseOptions(int argc, char** argv) {
  Options options;
  // The flags that take a value, and where each one keeps it.
  const std::pair<const char*, std::string*> valued[] = {
      {"-cacert", &options.ca_file}, {"-cert", &options.cert_file},
      {"-key", &options.key_file},   {"-authority", &options.authority},
      {"-d", &options.data},
  };
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; ++i) {
    const std::string flag = argv[i];
    std::string* value = nullptr;
    for (const auto& [name, target] : valued) {
      if (flag == name) value = target;
    }
    if (value != nullptr || flag == "-H") {
      if (i + 1 >= argc) Fail(flag + " needs a value\n" + kUsage);
      if (flag == "-H") {
        options.headers.push_back(ParseHeader(argv[++i]));
        continue;
      }
      *value = argv[++i];
      options.has_data |= flag == "-d";
    } else if (flag == "-plaintext") {
      options.plaintext = true;
    } else if (flag == "-emit-defaults") {
      options.emit_defaults = true;
    } else {
      Fail("unknown flag " + flag + "\n" + kUsage);
    }
  }
  if (i >= argc) Fail(kUsage);
  options.address = argv[i++];
  options.words.assign(argv + i, argv + argc);
  if (options.words.empty()) Fail(kUsage);
  CheckConnectionFlags(options);
  return options;
}

std::string ReadPemFile(const std::string& flag, const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  if (!file) Fail(flag + " " + path + ": cannot read the file");
  return text.str();
}

// A plaintext channel, or TLS trusting -cacert (the system's roots
// without it), as grpcurl connects.
std::shared_ptr<grpc::Channel> Connect(const Options& options) {
  grpc::ChannelArguments arguments;
  if (!options.authority.empty()) {
    arguments.SetString(GRPC_ARG_DEFAULT_AUTHORITY, options.authority);
  }
  if (options.plaintext) {
    return grpc::CreateCustomChannel(
        options.address, grpc::InsecureChannelCredentials(), arguments);
  }

  grpc::SslCredentialsOptions tls;
  if (!options.ca_file.empty()) {
    tls.pem_root_certs = ReadPemFile("-cacert", options.ca_file);
  }
  if (!options.cert_file.empty()) {
    tls.pem_cert_chain = ReadPemFile("-cert", options.cert_file);
    tls.pem_private_key = ReadPemFile("-key", options.key_file);
  }
  if (!options.authority.empty()) {
    arguments.SetSslTargetNameOverride(options.authority);
  }
  return grpc::CreateCustomChannel(options.address, grpc::SslCredentials(tls),
                                   arguments);
}

// Splits text into its top-level JSON values (objects or arrays), as
// grpcurl reads a stream of requests.
std::vector<std::string> SplitJsonValues(const std::string& text) {
  std::vector<std::string> values;
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (depth++ == 0) start = i;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) values.push_back(text.substr(start, i + 1 - start));
      if (depth < 0) Fail("unbalanced JSON in the request data");
    } else if (depth == 0 && !std::isspace(static_cast<unsigned char>(c))) {
      Fail(std::string("unexpected '") + c + "' between JSON requests");
    }
  }
  if (depth != 0 || in_string) Fail("the request data ends inside JSON");
  return values;
}

std::vector<std::string> RequestTexts(const Options& options) {
  if (!options.has_data) return {};
  if (options.data != "@") return SplitJsonValues(options.data);
  const std::string input((std::istreambuf_iterator<char>(std::cin)),
                          std::istreambuf_iterator<char>());
  return SplitJsonValues(input);
}

grpc::ByteBuffer ToBuffer(const google::protobuf::Message& message) {
  const std::string bytes = message.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

bool FromBuffer(const grpc::ByteBuffer& buffer,
                google::protobuf::Message* message) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return message->ParseFromString(bytes);
}

// Runs a call of any kind as a stream through the generic stub and a
// completion queue, waiting for each step: write every request, close the
// sending side, print every response, then take the status.
class GenericCall {
 public:
  GenericCall(grpc::GenericStub* stub, const std::string& method,
              const Metadata& headers) {
    for (const auto& [name, value] : headers) context_.AddMetadata(name, value);
    call_ = stub->PrepareCall(&context_, method, &queue_);
  }

  ~GenericCall() {
    queue_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (queue_.Next(&tag, &ok)) {
    }
  }

  bool Start() {
    call_->StartCall(Tag());
    return Await();
  }
  bool Write(const grpc::ByteBuffer& request) {
    call_->Write(request, Tag());
    return Await();
  }
  bool WritesDone() {
    call_->WritesDone(Tag());
    return Await();
  }
  bool Read(grpc::ByteBuffer* response) {
    call_->Read(response, Tag());
    return Await();
  }
  grpc::Status Finish() {
    grpc::Status status;
    call_->Finish(&status, Tag());
    Await();
    return status;
  }

 private:
  void* Tag() { return reinterpret_cast<void*>(++step_); }

  bool Await() {
    void* tag = nullptr;
    bool ok = false;
    if (!queue_.Next(&tag, &ok)) return false;
    return ok && tag == reinterpret_cast<void*>(step_);
  }

  grpc::ClientContext context_;
  grpc::CompletionQueue queue_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  intptr_t step_ = 0;
};

std::string ToJson(const google::protobuf::Message& message,
                   bool emit_defaults) {
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  print.always_print_primitive_fields = emit_defaults;
  std::string json;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &json, print);
  if (!status.ok()) Fail("cannot print the response: " + status.ToString());
  return json;
}

// grpcurl's error report: the code's name and the message.
int ReportStatus(const grpc::Status& status) {
  static const char* const kNames[] = {"OK",
                                       "Canceled",
                                       "Unknown",
                                       "InvalidArgument",
                                       "DeadlineExceeded",
                                       "NotFound",
                                       "AlreadyExists",
                                       "PermissionDenied",
                                       "ResourceExhausted",
                                       "FailedPrecondition",
                                       "Aborted",
                                       "OutOfRange",
                                       "Unimplemented",
                                       "Internal",
                                       "Unavailable",
                                       "DataLoss",
                                       "Unauthenticated"};
  const int code = static_cast<int>(status.error_code());
  std::cerr << "ERROR:\n  Code: "
            << (code >= 0 && code <= 16 ? kNames[code] : "Unknown")
            << "\n  Message: " << status.error_message() << "\n";
  return kExitStatusBase + code;
}

int Invoke(const Options& options, ReflectionDatabase* database,
           std::shared_ptr<grpc::Channel> channel) {
  const std::string& target = options.words[0];
  const size_t slash = target.rfind('/');
  if (slash == std::string::npos)
    Fail("expected SERVICE/METHOD, got " + target);
  const std::string service_name = target.substr(0, slash);
  const std::string full_name = service_name + "." + target.substr(slash + 1);

  google::protobuf::DescriptorPool pool(database);
  const google::protobuf::MethodDescriptor* method =
      pool.FindMethodByName(full_name);
  if (method == nullptr) {
    Fail("the server's reflection does not describe " + target +
         (database->last_error().ok()
              ? std::string()
              : ": " + database->last_error().error_message()));
  }

  google::protobuf::DynamicMessageFactory factory(&pool);
  std::vector<std::unique_ptr<google::protobuf::Message>> requests;
  for (const std::string& text : RequestTexts(options)) {
    requests.emplace_back(factory.GetPrototype(method->input_type())->New());
    const auto parsed = google::protobuf::util::JsonStringToMessage(
        text, requests.back().get());
    if (!parsed.ok()) {
      Fail("request " + std::to_string(requests.size()) + " is not a " +
           method->input_type()->full_name() + ": " + parsed.ToString());
    }
  }
  // A unary call without data sends one empty request, as grpcurl does.
  if (requests.empty() && !method->client_streaming()) {
    requests.emplace_back(factory.GetPrototype(method->input_type())->New());
  }
  if (requests.size() > 1 && !method->client_streaming()) {
    Fail(target + " takes one request, got " + std::to_string(requests.size()));
  }

  grpc::GenericStub stub(channel);
  GenericCall call(&stub, "/" + service_name + "/" + method->name(),
                   options.headers);
  if (call.Start()) {
    for (const auto& request : requests) {
      if (!call.Write(ToBuffer(*request))) break;
    }
    call.WritesDone();
    grpc::ByteBuffer buffer;
    while (call.Read(&buffer)) {
      std::unique_ptr<google::protobuf::Message> response(
          factory.GetPrototype(method->output_type())->New());
      if (!FromBuffer(buffer, response.get())) Fail("unreadable response");
      std::string json = ToJson(*response, options.emit_defaults);
      while (!json.empty() && json.back() == '\n') json.pop_back();
      std::cout << json << std::endl;
    }
  }
  const grpc::Status status = call.Finish();
  return status.ok() ? 0 : ReportStatus(status);
}

int List(const Options& options, ReflectionDatabase* database) {
  if (options.words.size() > 1) {
    google::protobuf::DescriptorPool pool(database);
    const auto* service = pool.FindServiceByName(options.words[1]);
    if (service == nullptr) Fail("no service " + options.words[1]);
    for (int i = 0; i < service->method_count(); ++i) {
      std::cout << service->method(i)->full_name() << "\n";
    }
    return 0;
  }
  std::vector<std::string> services;
  const grpc::Status status = database->ListServices(&services);
  if (!status.ok()) return ReportStatus(status);
  for (const std::string& name : services) std::cout << name << "\n";
  return 0;
}

int Describe(const Options& options, ReflectionDatabase* database) {
  if (options.words.size() != 2) Fail("describe takes one symbol");
  const std::string& symbol = options.words[1];
  google::protobuf::DescriptorPool pool(database);
  if (const auto* service = pool.FindServiceByName(symbol)) {
    std::cout << service->DebugString();
  } else if (const auto* message = pool.FindMessageTypeByName(symbol)) {
    std::cout << message->DebugString();
  } else if (const auto* method = pool.FindMethodByName(symbol)) {
    std::cout << method->DebugString();
  } else {
    Fail("the server's reflection does not describe " + symbol);
  }
  return 0;
}

int Run(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  const std::shared_ptr<grpc::Channel> channel = Connect(options);
  ReflectionDatabase database(channel, options.headers);
  if (options.words[0] == "list") return List(options, &database);
  if (options.words[0] == "describe") return Describe(options, &database);
  return Invoke(options, &database, channel);
}

}  // namespace
}  // namespace gridcast::grpcjson

int main(int argc, char** argv) { return gridcast::grpcjson::Run(argc, argv); }
