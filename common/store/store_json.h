// The JSON form of the store's small files (manifest.json, dataset.json,
// job records): proto field names, indented for people, and tolerant of
// fields a newer writer added.
#ifndef GRIDCAST_COMMON_STORE_STORE_JSON_H_
#define GRIDCAST_COMMON_STORE_STORE_JSON_H_

#include <string>

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gridcast {

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message);

// Parses `json`, read from `path`, into `message`: DATA_LOSS naming the
// path and the parser's reason when it is not valid. Unknown fields are
// ignored so that files from a newer writer that only added fields stay
// readable.
absl::Status FromJson(const std::string& json, const std::string& path,
                      google::protobuf::Message* message);

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_STORE_STORE_JSON_H_
