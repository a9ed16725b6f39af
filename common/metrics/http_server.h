// A minimal HTTP/1.1 server for Prometheus scrapes: one thread, plain
// sockets, `GET /metrics` answered with the text exposition format, 404
// for any other path, 405 for any other method, 400 for anything that is
// not an HTTP request. One request per connection (Connection: close).
//
// It serves one scraper every few seconds, not the public: a client that
// sends nothing is dropped after a timeout so that it cannot stall the
// next scrape for long, and a request head larger than 8 KiB is refused.
#ifndef GRIDCAST_COMMON_METRICS_HTTP_SERVER_H_
#define GRIDCAST_COMMON_METRICS_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace gridcast::metrics {

struct MetricsHttpServerOptions {
  // host:port; port 0 picks a free one. "0.0.0.0:9090" for every
  // interface (a Prometheus in another pod).
  std::string listen_address = "127.0.0.1:0";
  // How long a connection may take to send its request head.
  absl::Duration read_timeout = absl::Seconds(2);
  // The body of /metrics; DefaultRegistry().RenderText() when empty.
  std::function<std::string()> render;
};

class MetricsHttpServer {
 public:
  // Binds and starts the serving thread. UNAVAILABLE when the address
  // cannot be bound, INVALID_ARGUMENT when it does not parse.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      MetricsHttpServerOptions options);
  // Stops the thread and closes the socket.
  ~MetricsHttpServer();

  int port() const { return port_; }

 private:
  MetricsHttpServer(MetricsHttpServerOptions options, int listen_fd,
                    int wake_fd, int port);
  void Loop();
  void HandleConnection(int fd);

  const MetricsHttpServerOptions options_;
  const int listen_fd_;
  // An eventfd written by the destructor to wake the loop.
  const int wake_fd_;
  const int port_;
  std::thread thread_;
};

// The largest request head (up to and including its blank line) served.
inline constexpr size_t kMaxRequestHeadBytes = 8 << 10;

// Collects the head of one request from a connection's bytes as they
// arrive, in reads of any size: the blank line that ends it may be split
// across two reads, and bytes after it (a body) are left out. A head over
// kMaxRequestHeadBytes, ended or not, is too large. Exposed for tests and
// the fuzz target.
class RequestHeadReader {
 public:
  enum class State { kIncomplete, kComplete, kTooLarge };

  // Takes the next bytes read; ignored once the state is not kIncomplete.
  State Add(absl::string_view received);
  State state() const { return state_; }
  // The head so far; once kComplete, exactly up to its blank line.
  const std::string& head() const { return head_; }

 private:
  std::string head_;
  State state_ = State::kIncomplete;
};

// The reply to one request head (everything up to the blank line): the
// status line, headers and body. Exposed for tests.
std::string HttpResponseFor(const std::string& request_head,
                            const std::function<std::string()>& render);

// "host:port" from the host of a gRPC listen address ("0.0.0.0:50052",
// "[::]:50052", "localhost:50052") and a metrics port; "" when port <= 0.
std::string MetricsAddressFor(const std::string& grpc_listen_address,
                              int metrics_port);

}  // namespace gridcast::metrics

#endif  // GRIDCAST_COMMON_METRICS_HTTP_SERVER_H_
