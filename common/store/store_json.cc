#include "common/store/store_json.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "common/printable.h"

namespace gridcast {
namespace {

// The parser quotes the input it chokes on, which may be any bytes.
std::string ProtobufMessage(const google::protobuf::util::Status& status) {
  return PrintableUtf8(
      absl::string_view(status.message().data(), status.message().size()));
}

}  // namespace

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = true;

  std::string json;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print ", message.GetTypeName(),
                     " as JSON: ", ProtobufMessage(status)));
  }
  return json;
}

absl::Status FromJson(const std::string& json, const std::string& path,
                      google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;

  const auto status =
      google::protobuf::util::JsonStringToMessage(json, message, options);
  if (!status.ok()) {
    return absl::DataLossError(absl::StrCat(path, " is not a valid ",
                                            message->GetTypeName(), ": ",
                                            ProtobufMessage(status)));
  }
  return absl::OkStatus();
}

}  // namespace gridcast
