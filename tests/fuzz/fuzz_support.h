// What the fuzz targets share: turning fuzzer bytes into inputs, and the
// properties every parser of untrusted bytes keeps whatever it is fed.
#ifndef GRIDCAST_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define GRIDCAST_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <google/protobuf/stubs/common.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace gridcast::fuzz {

// Aborts, which libFuzzer reports as a crash, when `holds` is false.
inline void Require(bool holds, absl::string_view property,
                    absl::string_view detail = "") {
  if (holds) return;
  std::fprintf(stderr, "fuzz property broken: %.*s\n%.*s\n",
               static_cast<int>(property.size()), property.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// An error that crosses the API ends up in a proto string field or a log
// line: protobuf refuses to serialise one that is not valid UTF-8.
inline void RequireUtf8Message(const absl::Status& status) {
  const absl::string_view message = status.message();
  Require(google::protobuf::internal::IsStructurallyValidUTF8(
              message.data(), static_cast<int>(message.size())),
          "an error message is valid UTF-8", message);
}

// Splits fuzzer bytes into records, each a 2-byte little-endian length and
// that many bytes (the last one may be short), so that one input can be
// several messages, such as the chunks of an upload.
inline std::vector<absl::string_view> SplitRecords(const uint8_t* data,
                                                   size_t size) {
  std::vector<absl::string_view> records;
  const char* bytes = reinterpret_cast<const char*>(data);
  size_t position = 0;
  while (position + 2 <= size) {
    const size_t length = data[position] | (data[position + 1] << 8);
    position += 2;
    const size_t available = std::min(length, size - position);
    records.emplace_back(bytes + position, available);
    position += available;
  }
  return records;
}

// Parses a request from fuzzer bytes and runs it; then `check`s the answer,
// or that the refusal is the client's: whatever a client sends is its
// fault or a refusal, never INTERNAL (that would page the on-call engineer
// for it), and its message is UTF-8.
template <typename Request, typename Response, typename Run, typename Check>
void FuzzRequest(const uint8_t* data, size_t size, Run run, Check check) {
  Request request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return;
  Response response;
  const absl::Status status = run(request, &response);
  if (!status.ok()) {
    Require(status.code() != absl::StatusCode::kInternal,
            "a request is never an INTERNAL error", status.ToString());
    RequireUtf8Message(status);
    return;
  }
  check(request, response);
}

}  // namespace gridcast::fuzz

#endif  // GRIDCAST_TESTS_FUZZ_FUZZ_SUPPORT_H_
