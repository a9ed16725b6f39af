// Fuzzes the JSON files of the model store as a replica or the store check
// reads them back: manifest.json, dataset.json and job records.
// Input: the file's bytes.
//
// Properties: no crash or undefined behaviour; a refusal is DATA_LOSS with
// a valid UTF-8 message (it reaches logs and GetModel's reason); whatever
// parses prints back to JSON that parses again, since the store rewrites
// job records it has read.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/store/store_json.h"
#include "gridcast/store/v1/jobs.pb.h"
#include "gridcast/store/v1/store.pb.h"
#include "gridcast/v1/trainer.pb.h"
#include "tests/fuzz/fuzz_support.h"

namespace gridcast::fuzz {
namespace {

void ReadBack(const std::string& json, google::protobuf::Message* message) {
  const absl::Status status = FromJson(json, "models/feeder-1/3/x", message);
  if (!status.ok()) {
    Require(status.code() == absl::StatusCode::kDataLoss,
            "a damaged file is DATA_LOSS", status.ToString());
    RequireUtf8Message(status);
    return;
  }
  const absl::StatusOr<std::string> printed = ToJson(*message);
  Require(printed.ok(), "what parses prints", printed.status().ToString());
  std::unique_ptr<google::protobuf::Message> again(message->New());
  const absl::Status reread = FromJson(*printed, "again", again.get());
  Require(reread.ok(), "what prints parses again", reread.ToString());
}

}  // namespace
}  // namespace gridcast::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gridcast;
  const std::string json(reinterpret_cast<const char*>(data), size);
  store::v1::Manifest manifest;
  fuzz::ReadBack(json, &manifest);
  v1::Dataset dataset;
  fuzz::ReadBack(json, &dataset);
  store::v1::JobRecord job;
  fuzz::ReadBack(json, &job);
  return 0;
}
