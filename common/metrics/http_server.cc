#include "common/metrics/http_server.h"

#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "common/metrics/metrics.h"

namespace gridcast::metrics {
namespace {

std::string Reply(absl::string_view status, absl::string_view content_type,
                  absl::string_view body) {
  return absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", content_type,
                      "\r\nContent-Length: ", body.size(),
                      "\r\nConnection: close\r\n\r\n", body);
}

std::string PlainReply(absl::string_view status, absl::string_view text) {
  return Reply(status, "text/plain; charset=utf-8", absl::StrCat(text, "\n"));
}

// Splits "host:port" or "[v6]:port".
bool SplitHostPort(const std::string& address, std::string* host,
                   std::string* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
  if (absl::StartsWith(*host, "[") && absl::EndsWith(*host, "]")) {
    *host = host->substr(1, host->size() - 2);
  }
  return !port->empty();
}

absl::StatusOr<int> BindListener(const std::string& address, int* port) {
  std::string host, service;
  if (!SplitHostPort(address, &host, &service)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address \"", address, "\" is not host:port"));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int error = getaddrinfo(host.empty() ? nullptr : host.c_str(),
                                service.c_str(), &hints, &found);
  if (error != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics address \"", address, "\": ", gai_strerror(error)));
  }

  std::string last_error = "no address";
  int fd = -1;
  for (addrinfo* candidate = found; candidate != nullptr;
       candidate = candidate->ai_next) {
    fd = socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC,
                candidate->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, candidate->ai_addr, candidate->ai_addrlen) == 0 &&
        listen(fd, 16) == 0) {
      break;
    }
    last_error = std::strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for metrics on ",
                                               address, ": ", last_error));
  }

  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  *port = bound.ss_family == AF_INET6
              ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
              : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

// Where the head in `bytes` ends, just past its blank line ("\r\n\r\n" or
// a bare "\n\n"), looking from `from` on; npos when it has not ended.
size_t HeadEnd(const std::string& bytes, size_t from) {
  const size_t crlf = bytes.find("\r\n\r\n", from);
  const size_t lf = bytes.find("\n\n", from);
  if (crlf == std::string::npos && lf == std::string::npos) {
    return std::string::npos;
  }
  if (lf == std::string::npos || (crlf != std::string::npos && crlf < lf)) {
    return crlf + 4;
  }
  return lf + 2;
}

// Feeds `reader` what the connection sends until the head is complete or
// too large. False on timeout or a closed connection.
bool ReadRequestHead(int fd, absl::Duration timeout,
                     RequestHeadReader* reader) {
  const absl::Time deadline = absl::Now() + timeout;
  char buffer[2048];
  while (reader->state() == RequestHeadReader::State::kIncomplete) {
    const int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (wait_ms <= 0) return false;
    pollfd readable{fd, POLLIN, 0};
    const int ready = poll(&readable, 1, static_cast<int>(wait_ms));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    reader->Add(absl::string_view(buffer, static_cast<size_t>(got)));
  }
  return true;
}

void SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n =
        send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

}  // namespace

RequestHeadReader::State RequestHeadReader::Add(absl::string_view received) {
  if (state_ != State::kIncomplete) return state_;
  // The blank line may have begun in the bytes before these: look again
  // from three bytes back.
  const size_t from = head_.size() < 3 ? 0 : head_.size() - 3;
  head_.append(received.data(), received.size());
  const size_t end = HeadEnd(head_, from);
  if (end != std::string::npos) {
    head_.resize(end);
    state_ = end > kMaxRequestHeadBytes ? State::kTooLarge : State::kComplete;
  } else if (head_.size() > kMaxRequestHeadBytes) {
    state_ = State::kTooLarge;
  }
  return state_;
}

std::string HttpResponseFor(const std::string& request_head,
                            const std::function<std::string()>& render) {
  const absl::string_view first_line = absl::StripTrailingAsciiWhitespace(
      absl::string_view(request_head).substr(0, request_head.find('\n')));
  const std::vector<absl::string_view> parts = absl::StrSplit(first_line, ' ');
  if (parts.size() != 3 || !absl::StartsWith(parts[2], "HTTP/1.") ||
      parts[1].empty() || parts[1][0] != '/') {
    return PlainReply("400 Bad Request", "not an HTTP/1.x request");
  }

  const absl::string_view method = parts[0];
  absl::string_view path = parts[1];
  path = path.substr(0, path.find('?'));
  if (path != "/metrics") {
    return PlainReply("404 Not Found", "only /metrics is served here");
  }
  if (method != "GET" && method != "HEAD") {
    return absl::StrCat(
        "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n");
  }
  const std::string body = render();
  std::string reply =
      Reply("200 OK", "text/plain; version=0.0.4; charset=utf-8", body);
  // HEAD: the same headers, no body.
  if (method == "HEAD") reply.resize(reply.size() - body.size());
  return reply;
}

std::string MetricsAddressFor(const std::string& grpc_listen_address,
                              int metrics_port) {
  if (metrics_port <= 0) return "";
  std::string host, port;
  if (!SplitHostPort(grpc_listen_address, &host, &port)) host = "0.0.0.0";
  if (absl::StrContains(host, ':')) host = absl::StrCat("[", host, "]");
  return absl::StrCat(host, ":", metrics_port);
}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    MetricsHttpServerOptions options) {
  if (!options.render) {
    options.render = [] { return DefaultRegistry().RenderText(); };
  }
  int port = 0;
  absl::StatusOr<int> listen_fd = BindListener(options.listen_address, &port);
  if (!listen_fd.ok()) return listen_fd.status();
  const int wake_fd = eventfd(0, EFD_CLOEXEC);
  if (wake_fd < 0) {
    close(*listen_fd);
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  auto server = std::unique_ptr<MetricsHttpServer>(
      new MetricsHttpServer(std::move(options), *listen_fd, wake_fd, port));
  server->thread_ = std::thread([raw = server.get()] { raw->Loop(); });
  LogInfo("metrics_listening")
      .Field("address", server->options_.listen_address)
      .Field("port", port);
  return server;
}

MetricsHttpServer::MetricsHttpServer(MetricsHttpServerOptions options,
                                     int listen_fd, int wake_fd, int port)
    : options_(std::move(options)),
      listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      port_(port) {}

MetricsHttpServer::~MetricsHttpServer() {
  const uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof(one)) < 0) {
    LogError("metrics_stop_failed").Field("reason", std::strerror(errno));
  }
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  close(wake_fd_);
}

void MetricsHttpServer::Loop() {
  while (true) {
    pollfd watched[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int ready = poll(watched, 2, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      LogError("metrics_poll_failed").Field("reason", std::strerror(errno));
      return;
    }
    if (watched[1].revents != 0) return;
    if ((watched[0].revents & POLLIN) == 0) continue;

    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // The peer gave up already, or fds ran out.
    HandleConnection(fd);
    close(fd);
  }
}

void MetricsHttpServer::HandleConnection(int fd) {
  RequestHeadReader reader;
  // A head never finished: hang up.
  if (!ReadRequestHead(fd, options_.read_timeout, &reader)) return;
  if (reader.state() == RequestHeadReader::State::kTooLarge) {
    // Say so if the peer still listens, then hang up.
    SendAll(fd, PlainReply("431 Request Header Fields Too Large",
                           "request head over 8 KiB"));
    return;
  }
  SendAll(fd, HttpResponseFor(reader.head(), options_.render));
  shutdown(fd, SHUT_WR);

  // Closing with unread bytes (a POST body) would reset the connection
  // and could lose the reply: read what is left, briefly.
  char discard[1024];
  pollfd readable{fd, POLLIN, 0};
  while (poll(&readable, 1, /*timeout_ms=*/100) > 0 &&
         recv(fd, discard, sizeof(discard), 0) > 0) {
  }
}

}  // namespace gridcast::metrics
