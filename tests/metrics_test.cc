// The metrics library and its HTTP endpoint, without any gridcast server:
// values, labels, histograms, the exposition format a Prometheus server
// reads, and an endpoint that survives whatever a socket sends it.
#include <atomic>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "common/metrics/grpc_metrics.h"
#include "common/metrics/http_server.h"
#include "common/metrics/metrics.h"
#include "tests/prometheus_text.h"

namespace gridcast::testing {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using metrics::Counter;
using metrics::Family;
using metrics::Gauge;
using metrics::Histogram;
using metrics::Registry;

// Opens a connection and closes it without a word.
void ConnectAndHangUp(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  close(fd);
}

TEST_CASE("counters, gauges and histograms render as valid exposition text",
          "[metrics]") {
  Registry registry;
  auto& calls = registry.AddCounter("test_calls_total", "Calls.\nTwo lines.",
                                    {"method", "code"});
  calls.WithLabels({"Forecast", "OK"}).Increment();
  calls.WithLabels({"Forecast", "OK"}).Increment(2);
  calls.WithLabels({"quote\"back\\slash\nnewline", "OK"}).Increment();
  auto& loaded = registry.AddGauge("test_loaded", "Loaded.");
  loaded.Get().Set(7);
  loaded.Get().Add(-2.5);
  auto& latency = registry.AddHistogram("test_seconds", "Latency.", {"method"},
                                        {0.1, 0.5, 1});
  for (double v : {0.05, 0.1, 0.3, 0.7, 2.0}) {
    latency.WithLabels({"Forecast"}).Observe(v);
  }

  const std::string text = registry.RenderText();
  const auto samples = ParsePrometheusText(text);
  INFO(text);
  REQUIRE(samples.ok());

  CHECK(SumOf(*samples, "test_calls_total",
              {{"method", "Forecast"}, {"code", "OK"}}) == 3);
  // Escaped on the way out, read back intact.
  CHECK(SumOf(*samples, "test_calls_total",
              {{"method", "quote\"back\\slash\nnewline"}}) == 1);
  CHECK(SumOf(*samples, "test_loaded") == 4.5);
  CHECK_THAT(text, Contains("# HELP test_calls_total Calls.\\nTwo lines.\n"));
  CHECK_THAT(text, Contains("# TYPE test_seconds histogram\n"));

  // A bound counts values equal to it; buckets are cumulative.
  const std::map<std::string, std::string> forecast = {{"method", "Forecast"}};
  auto bucket = [&](const std::string& le) {
    auto labels = forecast;
    labels["le"] = le;
    return SumOf(*samples, "test_seconds_bucket", labels);
  };
  CHECK(bucket("0.1") == 2);
  CHECK(bucket("0.5") == 3);
  CHECK(bucket("1") == 4);
  CHECK(bucket("+Inf") == 5);
  CHECK(SumOf(*samples, "test_seconds_count", forecast) == 5);
  CHECK(SumOf(*samples, "test_seconds_sum", forecast) == Approx(3.15));
}

TEST_CASE("a family without labels shows zero before its first event",
          "[metrics]") {
  Registry registry;
  registry.AddCounter("test_events_total", "Events.");
  registry.AddHistogram("test_sizes", "Sizes.", {}, {1, 2});
  const auto samples = ParsePrometheusText(registry.RenderText());
  REQUIRE(samples.ok());
  CHECK(Has(*samples, "test_events_total"));
  CHECK(SumOf(*samples, "test_sizes_count") == 0);
  CHECK(Has(*samples, "test_sizes_sum"));
}

TEST_CASE("registering a name again returns the same family", "[metrics]") {
  Registry registry;
  auto& first = registry.AddCounter("test_total", "First.", {"a"});
  auto& second = registry.AddCounter("test_total", "Second.", {"a"});
  CHECK(&first == &second);
  first.WithLabels({"x"}).Increment();
  CHECK(second.WithLabels({"x"}).Value() == 1);
}

TEST_CASE("negative counter increments are ignored", "[metrics]") {
  Registry registry;
  Counter& counter = registry.AddCounter("test_total", "T.").Get();
  counter.Increment(5);
  counter.Increment(-3);
  CHECK(counter.Value() == 5);
}

TEST_CASE("label values beyond a family's limit share one overflow child",
          "[metrics]") {
  Registry registry;
  auto& family = registry.AddCounter("test_total", "T.", {"model"},
                                     /*max_children=*/3);
  for (int i = 0; i < 10; ++i) {
    family.WithLabels({"feeder-" + std::to_string(i)}).Increment();
  }
  const auto samples = ParsePrometheusText(registry.RenderText());
  REQUIRE(samples.ok());
  int series = 0;
  for (const auto& s : *samples) series += s.name == "test_total";
  CHECK(series == 3);
  CHECK(SumOf(*samples, "test_total") == 10);
  CHECK(SumOf(*samples, "test_total", {{"model", "_other"}}) == 8);
  // A value seen before the limit keeps its own child.
  family.WithLabels({"feeder-0"}).Increment();
  CHECK(family.WithLabels({"feeder-0"}).Value() == 2);
}

TEST_CASE("callback gauges add up per label set and stop when unregistered",
          "[metrics]") {
  Registry registry;
  auto collect = [](double ready) {
    return [ready] {
      return std::vector<metrics::Sample>{{{"ready"}, ready}, {{"failed"}, 1}};
    };
  };
  auto first =
      registry.AddCallback("test_versions", "V.", {"state"}, collect(2));
  {
    auto second =
        registry.AddCallback("test_versions", "V.", {"state"}, collect(3));
    const auto samples = ParsePrometheusText(registry.RenderText());
    REQUIRE(samples.ok());
    CHECK(SumOf(*samples, "test_versions", {{"state", "ready"}}) == 5);
    CHECK(SumOf(*samples, "test_versions", {{"state", "failed"}}) == 2);
  }
  const auto samples = ParsePrometheusText(registry.RenderText());
  REQUIRE(samples.ok());
  CHECK(SumOf(*samples, "test_versions", {{"state", "ready"}}) == 2);
}

TEST_CASE("concurrent updates are all counted", "[metrics]") {
  Registry registry;
  auto& counter = registry.AddCounter("test_total", "T.", {"thread"});
  auto& histogram = registry.AddHistogram("test_h", "H.", {}, {0.5});
  // Catch2 assertions are not thread-safe: the scraper only takes notes.
  // It starts first and the writers wait for its first scrape, so that on a
  // fast machine the writers cannot all finish before it has rendered once.
  std::atomic<bool> rendering{true};
  std::atomic<int> scrapes{0}, invalid{0};
  std::thread scraper([&] {
    do {
      if (!ParsePrometheusText(registry.RenderText()).ok()) ++invalid;
      ++scrapes;
    } while (rendering);
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      while (scrapes == 0) std::this_thread::yield();
      for (int i = 0; i < 10000; ++i) {
        counter.WithLabels({std::to_string(t % 2)}).Increment();
        histogram.Get().Observe(i % 2);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  rendering = false;
  scraper.join();
  CHECK(invalid == 0);

  CHECK(counter.WithLabels({"0"}).Value() == 20000);
  CHECK(counter.WithLabels({"1"}).Value() == 20000);
  CHECK(histogram.Get().Count() == 40000);
  CHECK(histogram.Get().CumulativeCounts().front() == 20000);
  CHECK(histogram.Get().Sum() == 20000);
}

TEST_CASE("the format reader refuses what Prometheus would refuse",
          "[metrics]") {
  // The reader must be able to fail for the tests that rely on it.
  CHECK_FALSE(ParsePrometheusText("x 1\n").ok());  // no TYPE
  CHECK_FALSE(ParsePrometheusText("# TYPE x counter\nx{a=\"1} 1\n").ok());
  CHECK_FALSE(ParsePrometheusText("# TYPE x counter\nx one\n").ok());
  CHECK_FALSE(ParsePrometheusText("# TYPE x counter\nx 1\nx 2\n").ok());
  CHECK_FALSE(
      ParsePrometheusText("# TYPE h histogram\nh_bucket{le=\"1\"} 3\n"
                          "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n")
          .ok());
  CHECK_FALSE(ParsePrometheusText("# TYPE h histogram\n"
                                  "h_bucket{le=\"+Inf\"} 2\nh_count 2\n")
                  .ok());
  CHECK(ParsePrometheusText("# TYPE h histogram\nh_bucket{le=\"1\"} 1\n"
                            "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n")
            .ok());
}

TEST_CASE("values are written the way the format reads them", "[metrics]") {
  CHECK(metrics::FormatValue(3) == "3");
  CHECK(metrics::FormatValue(0.1) == "0.1");
  CHECK(metrics::FormatValue(0.00025) == "0.00025");
  CHECK(metrics::FormatValue(HUGE_VAL) == "+Inf");
  CHECK(metrics::FormatValue(std::nan("")) == "NaN");
}

TEST_CASE("gRPC method names split into service and method", "[metrics]") {
  using metrics::SplitMethodName;
  CHECK(SplitMethodName("/gridcast.v1.ForecasterService/Forecast") ==
        std::make_pair(std::string("gridcast.v1.ForecasterService"),
                       std::string("Forecast")));
  CHECK(SplitMethodName("weird").first.empty());
}

TEST_CASE("the metrics endpoint answers GET /metrics and refuses the rest",
          "[metrics][http]") {
  metrics::MetricsHttpServerOptions options;
  // Long enough that a test thread descheduled between connect() and
  // send() on a loaded machine is not mistaken for a half request.
  options.read_timeout = absl::Seconds(2);
  std::atomic<int> renders{0};
  options.render = [&renders] {
    ++renders;
    return std::string("# TYPE up gauge\nup 1\n");
  };
  auto server = metrics::MetricsHttpServer::Start(options);
  REQUIRE(server.ok());
  const int port = (*server)->port();
  REQUIRE(port > 0);

  SECTION("GET /metrics is the exposition") {
    const std::string reply = RawHttp(
        port, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
    CHECK_THAT(reply, StartsWith("HTTP/1.1 200 OK\r\n"));
    CHECK_THAT(reply, Contains("Content-Type: text/plain; version=0.0.4"));
    CHECK_THAT(reply, Contains("Content-Length: 21\r\n"));
    CHECK_THAT(reply, Contains("\r\n\r\n# TYPE up gauge\nup 1\n"));
    // A query string (Prometheus sends none, curl users might) is fine.
    CHECK_THAT(RawHttp(port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
               StartsWith("HTTP/1.1 200 OK"));
  }
  SECTION("HEAD has the headers only") {
    const std::string reply = RawHttp(port, "HEAD /metrics HTTP/1.1\r\n\r\n");
    CHECK_THAT(reply, StartsWith("HTTP/1.1 200 OK\r\n"));
    CHECK(reply.substr(reply.size() - 4) == "\r\n\r\n");
  }
  SECTION("another path is 404") {
    CHECK_THAT(RawHttp(port, "GET / HTTP/1.1\r\n\r\n"),
               StartsWith("HTTP/1.1 404 "));
    CHECK_THAT(RawHttp(port, "GET /metricsX HTTP/1.1\r\n\r\n"),
               StartsWith("HTTP/1.1 404 "));
  }
  SECTION("another method is 405") {
    CHECK_THAT(RawHttp(port,
                       "POST /metrics HTTP/1.1\r\n"
                       "Content-Length: 5\r\n\r\nhello"),
               StartsWith("HTTP/1.1 405 "));
  }
  SECTION("garbage is 400, then the server still serves") {
    CHECK_THAT(RawHttp(port, "\x01\x02\x03 hello\r\n\r\n"),
               StartsWith("HTTP/1.1 400 "));
    CHECK_THAT(RawHttp(port, "GET metrics HTTP/1.1\r\n\r\n"),
               StartsWith("HTTP/1.1 400 "));
    CHECK_THAT(RawHttp(port, "GET /metrics SPDY/3\r\n\r\n"),
               StartsWith("HTTP/1.1 400 "));
    CHECK_THAT(RawHttp(port, "GET /metrics HTTP/1.1\r\n\r\n"),
               StartsWith("HTTP/1.1 200 "));
  }
  SECTION("a head over 8 KiB is refused") {
    const std::string huge =
        "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n";
    CHECK_THAT(RawHttp(port, huge), StartsWith("HTTP/1.1 431 "));
    CHECK_THAT(RawHttp(port, "GET /metrics HTTP/1.1\r\n\r\n"),
               StartsWith("HTTP/1.1 200 "));
  }
  SECTION("a client that sends half a request is dropped, not waited for") {
    // Connects and stalls; the next scrape is answered after the timeout.
    std::string stalled_reply = "unset";
    std::thread stalled(
        [port, &stalled_reply] { stalled_reply = RawHttp(port, "GET /metr"); });
    CHECK_THAT(RawHttp(port, "GET /metrics HTTP/1.1\r\n\r\n"),
               StartsWith("HTTP/1.1 200 "));
    stalled.join();
    CHECK(stalled_reply.empty());
  }
  SECTION("a client that hangs up at once does no harm") {
    for (int i = 0; i < 20; ++i) ConnectAndHangUp(port);
    CHECK_THAT(RawHttp(port, "GET /metrics HTTP/1.1\r\n\r\n"),
               StartsWith("HTTP/1.1 200 "));
  }
  server->reset();
  // Stopped: the port no longer answers.
  CHECK(RawHttp(port, "GET /metrics HTTP/1.1\r\n\r\n").empty());
}

TEST_CASE("a request head is read whatever the reads it arrives in",
          "[metrics][http]") {
  using State = metrics::RequestHeadReader::State;
  const std::string head = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";

  SECTION("one byte at a time, the body left out") {
    metrics::RequestHeadReader reader;
    const std::string sent = head + "body";
    for (size_t i = 0; i < sent.size(); ++i) {
      const State state = reader.Add(sent.substr(i, 1));
      CHECK(state ==
            (i + 1 < head.size() ? State::kIncomplete : State::kComplete));
    }
    CHECK(reader.head() == head);
  }
  SECTION("the blank line split between two reads") {
    for (size_t cut = head.size() - 4; cut < head.size(); ++cut) {
      metrics::RequestHeadReader reader;
      CHECK(reader.Add(head.substr(0, cut)) == State::kIncomplete);
      CHECK(reader.Add(head.substr(cut) + "\r\n\r\nmore") == State::kComplete);
      CHECK(reader.head() == head);
    }
  }
  SECTION("a bare LF blank line, the earlier of the two") {
    metrics::RequestHeadReader reader;
    CHECK(reader.Add("GET /metrics HTTP/1.0\n\nX\r\n\r\n") == State::kComplete);
    CHECK(reader.head() == "GET /metrics HTTP/1.0\n\n");
  }
  SECTION("at most 8 KiB, even when the blank line comes in the same read") {
    const std::string start = "GET /metrics HTTP/1.1\r\nX: ";
    const std::string fits =
        start +
        std::string(metrics::kMaxRequestHeadBytes - start.size() - 4, 'a') +
        "\r\n\r\n";
    REQUIRE(fits.size() == metrics::kMaxRequestHeadBytes);
    metrics::RequestHeadReader exact;
    CHECK(exact.Add(fits) == State::kComplete);

    metrics::RequestHeadReader over;
    CHECK(over.Add(start + "a" + fits.substr(start.size())) ==
          State::kTooLarge);

    metrics::RequestHeadReader endless;
    CHECK(endless.Add(std::string(metrics::kMaxRequestHeadBytes, 'a')) ==
          State::kIncomplete);
    CHECK(endless.Add("a") == State::kTooLarge);
    CHECK(endless.Add("\r\n\r\n") == State::kTooLarge);
  }
}

TEST_CASE("the metrics endpoint reports an address it cannot bind",
          "[metrics][http]") {
  metrics::MetricsHttpServerOptions options;
  auto first = metrics::MetricsHttpServer::Start(options);
  REQUIRE(first.ok());
  options.listen_address = "127.0.0.1:" + std::to_string((*first)->port());
  const auto second = metrics::MetricsHttpServer::Start(options);
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);

  options.listen_address = "no-port-here";
  CHECK(metrics::MetricsHttpServer::Start(options).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("the metrics address takes the host of the gRPC address",
          "[metrics]") {
  using metrics::MetricsAddressFor;
  CHECK(MetricsAddressFor("0.0.0.0:50052", 9090) == "0.0.0.0:9090");
  CHECK(MetricsAddressFor("127.0.0.1:50052", 9090) == "127.0.0.1:9090");
  CHECK(MetricsAddressFor("[::]:50052", 9090) == "[::]:9090");
  CHECK(MetricsAddressFor("127.0.0.1:50052", 0).empty());
}

}  // namespace
}  // namespace gridcast::testing
