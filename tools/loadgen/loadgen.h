// A gRPC load generator for a fixed duration. Closed loop (the default):
// `concurrency` calls are always outstanding; each completion records its
// latency and starts the next call. Open loop (`rate_qps` above 0): calls
// start on a fixed schedule whether or not earlier ones have finished, so
// that latency can be read at a chosen fraction of the peak load. Uses
// gRPC's callback client so that a handful of threads keep thousands of
// calls in flight.
//
// Methods: "echo" (gridcast.bench.v1.EchoService/Echo, the ceiling),
// "forecast" (ForecasterService/Forecast with a 168-point hourly history
// and a 24-step horizon) and "batch" (ForecastBatch with `batch_items`
// such forecasts in one call; a call counts as failed when any item does).
#ifndef GRIDCAST_TOOLS_LOADGEN_LOADGEN_H_
#define GRIDCAST_TOOLS_LOADGEN_LOADGEN_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gridcast::loadgen {

struct LoadOptions {
  // host:port of the server.
  std::string target = "127.0.0.1:50052";
  // "echo", "forecast" or "batch".
  std::string method = "echo";
  // The model Forecast asks for.
  std::string model = "bench-feeder";
  // When above 0, calls (forecast) or items (batch) go round the models
  // printf("%s%04d", model_prefix, i) for i in [0, model_count) instead:
  // many feeders, each with its own model.
  std::string model_prefix = "bench-m-";
  int model_count = 0;
  // Items of one ForecastBatch call.
  int batch_items = 1000;
  int concurrency = 1;
  absl::Duration duration = absl::Seconds(5);
  // Calls that end within this time after the start are not measured
  // (connection set-up, first-call costs).
  absl::Duration warmup = absl::Seconds(1);
  // Separate HTTP/2 connections the calls are spread over.
  int channels = 1;
  // History points sent and points asked for.
  int history_points = 168;
  int horizon = 24;
  // Deadline of each call.
  absl::Duration call_timeout = absl::Seconds(10);
  // Above 0: the open loop, a call every 1/rate_qps seconds, at most
  // `concurrency` outstanding. Each latency is measured from the call's
  // scheduled start, so time spent waiting for a free slot counts: a
  // server that falls behind shows it instead of slowing the schedule.
  double rate_qps = 0;
};

struct LoadResult {
  std::string method;
  int concurrency = 0;
  // Calls that ended inside the measured window, by outcome.
  int64_t ok_calls = 0;
  std::map<std::string, int64_t> errors;  // status code name -> calls
  double measured_seconds = 0;
  double qps = 0;  // successful calls per second
  // The open loop's schedule (0 for a closed loop), and how many of the
  // measured window's calls started late, or were never sent by the end,
  // because all `concurrency` slots were busy.
  double offered_qps = 0;
  int64_t late_calls = 0;
  // Latency percentiles of the successful calls, milliseconds.
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;

  int64_t error_calls() const;
};

// Runs one loop, closed or open as `options.rate_qps` says.
// INVALID_ARGUMENT for an unknown method, a concurrency below 1 or a
// negative rate, UNAVAILABLE when the target does not answer a first call
// within the call timeout.
absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options);

// A sweep: one closed loop per level of `levels`, in order, or when
// `rates` is not empty one open loop per rate, each capped at
// levels.front() outstanding calls. `on_result` (may be null) sees each
// result as soon as its run ends. The first run that fails to start ends
// the sweep with its status; INVALID_ARGUMENT when `levels` is empty.
absl::StatusOr<std::vector<LoadResult>> RunSweep(
    LoadOptions options, const std::vector<int>& levels,
    const std::vector<double>& rates,
    const std::function<void(const LoadResult&)>& on_result = nullptr);

// The value at quantile `q` (0..1) of `sorted` (ascending), by the
// nearest-rank rule; 0 for an empty input.
double Percentile(const std::vector<double>& sorted, double q);

// A fixed-width table with a header, one row per result.
std::string FormatTable(const std::vector<LoadResult>& results);
// Tab-separated, with a header line, for scripts.
std::string FormatTsv(const std::vector<LoadResult>& results);

}  // namespace gridcast::loadgen

#endif  // GRIDCAST_TOOLS_LOADGEN_LOADGEN_H_
