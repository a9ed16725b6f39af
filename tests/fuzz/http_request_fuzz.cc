// Fuzzes the metrics endpoint's reading of a request, which anyone who can
// reach the port may send, with no token: the head collected from a
// connection's reads, and the reply to it.
// Input: records (fuzz_support.h), each one read from the socket.
//
// Properties: no crash or undefined behaviour; a head is complete exactly
// when a blank line came within 8 KiB, and it ends at the first one; every
// reply is one HTTP/1.1 response whose Content-Length is its body's (for
// HEAD, the one left out); 200 only for GET or HEAD of /metrics, and the
// metrics are rendered for nothing else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "common/metrics/http_server.h"
#include "tests/fuzz/fuzz_support.h"

namespace gridcast::fuzz {
namespace {

constexpr absl::string_view kBody = "# TYPE up gauge\nup 1\n";

// Where the first blank line of `bytes` ends; npos when there is none.
size_t FirstBlankLineEnd(absl::string_view bytes) {
  for (size_t i = 0; i + 1 < bytes.size(); ++i) {
    if (bytes[i] == '\n' && bytes[i + 1] == '\n') return i + 2;
    if (bytes.substr(i, 4) == "\r\n\r\n") return i + 4;
  }
  return absl::string_view::npos;
}

void CheckHead(absl::string_view sent,
               const metrics::RequestHeadReader& reader) {
  using State = metrics::RequestHeadReader::State;
  const size_t end = FirstBlankLineEnd(sent);
  const bool fits =
      end != absl::string_view::npos && end <= metrics::kMaxRequestHeadBytes;
  if (fits) {
    Require(reader.state() == State::kComplete,
            "a blank line within 8 KiB completes the head");
    Require(reader.head() == sent.substr(0, end),
            "the head ends at its first blank line");
  } else if (sent.size() > metrics::kMaxRequestHeadBytes) {
    Require(reader.state() == State::kTooLarge,
            "more than 8 KiB without a head is too large");
  } else {
    Require(reader.state() == State::kIncomplete,
            "a head without a blank line is incomplete");
  }
}

void CheckReply(const std::string& head) {
  bool rendered = false;
  const std::string reply = metrics::HttpResponseFor(head, [&rendered] {
    rendered = true;
    return std::string(kBody);
  });

  Require(absl::StartsWith(reply, "HTTP/1.1 "), "a reply is HTTP/1.1", reply);
  const absl::string_view status = absl::string_view(reply).substr(9, 3);
  Require(
      status == "200" || status == "400" || status == "404" || status == "405",
      "a reply's status is one the endpoint documents", reply);
  const size_t headers_end = reply.find("\r\n\r\n");
  Require(headers_end != std::string::npos, "a reply's headers end", reply);
  const absl::string_view headers =
      absl::string_view(reply).substr(0, headers_end + 2);
  const absl::string_view body =
      absl::string_view(reply).substr(headers_end + 4);

  const size_t length_at = headers.find("\r\nContent-Length: ");
  Require(length_at != absl::string_view::npos, "a reply has a length", reply);
  const absl::string_view length_text = headers.substr(length_at + 18);
  size_t length = 0;
  Require(
      absl::SimpleAtoi(length_text.substr(0, length_text.find('\r')), &length),
      "the length is a number", reply);

  const bool get = absl::StartsWith(head, "GET /metrics");
  const bool head_method = absl::StartsWith(head, "HEAD /metrics");
  Require(rendered == (status == "200"), "only a 200 renders the metrics",
          head);
  if (status != "200") {
    Require(length == body.size(), "the length is the body's", reply);
    return;
  }
  Require(get || head_method, "200 only for GET or HEAD of /metrics", head);
  Require(length == kBody.size(), "the length is the metrics'", reply);
  Require(body == (head_method ? absl::string_view() : kBody),
          "GET carries the metrics, HEAD nothing", reply);
}

}  // namespace
}  // namespace gridcast::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gridcast;
  metrics::RequestHeadReader reader;
  std::string sent;
  for (absl::string_view read : fuzz::SplitRecords(data, size)) {
    if (reader.state() != metrics::RequestHeadReader::State::kIncomplete) {
      break;
    }
    sent.append(read.data(), read.size());
    reader.Add(read);
  }
  fuzz::CheckHead(sent, reader);
  if (reader.state() == metrics::RequestHeadReader::State::kComplete) {
    fuzz::CheckReply(reader.head());
  }
  // Any bytes at all as a head, beyond what the reader lets through.
  fuzz::CheckReply(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
