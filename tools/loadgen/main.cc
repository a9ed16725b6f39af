// gridcast-loadgen: a load generator for the inference server.
//
//   gridcast-loadgen --target=127.0.0.1:50052 --method=forecast
//       --model=bench-feeder --concurrency=1,4,16,64 --duration_s=5
//   gridcast-loadgen --method=forecast --rate_qps=1000,3000 --concurrency=256
//
// Runs one closed loop per concurrency level, or with --rate_qps one open
// loop per rate (at most the first --concurrency calls outstanding), and
// prints QPS, latency percentiles and errors by status code. Exit code 1
// when a level saw any failed call (or could not start), so that scripts
// and tests notice.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "tools/loadgen/loadgen.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50052", "host:port of the server");
ABSL_FLAG(std::string, method, "forecast",
          "echo (needs gridcast-inference --bench_echo), forecast or batch");
ABSL_FLAG(std::string, model, "bench-feeder", "model that forecast asks for");
ABSL_FLAG(int, model_count, 0,
          "above 0: go round the models <model_prefix>0000 ... instead");
ABSL_FLAG(std::string, model_prefix, "bench-m-",
          "name prefix of the --model_count models");
ABSL_FLAG(int, batch_items, 1000, "batch: forecasts in one ForecastBatch");
ABSL_FLAG(std::string, concurrency, "1,4,16,64",
          "calls kept outstanding; a comma list sweeps");
ABSL_FLAG(double, duration_s, 5, "measured seconds per concurrency level");
ABSL_FLAG(double, warmup_s, 1, "unmeasured seconds before each level");
ABSL_FLAG(int, channels, 1, "HTTP/2 connections to spread calls over");
ABSL_FLAG(int, history_points, 168, "history points per request");
ABSL_FLAG(int, horizon, 24, "points asked for");
ABSL_FLAG(std::string, format, "table", "table or tsv");
ABSL_FLAG(std::string, rate_qps, "",
          "open loop: calls per second, on a fixed schedule; a comma list "
          "sweeps; latency counts from each call's scheduled start");

namespace {

bool ParseNumber(absl::string_view text, int* value) {
  return absl::SimpleAtoi(text, value);
}
bool ParseNumber(absl::string_view text, double* value) {
  return absl::SimpleAtod(text, value);
}

// A comma list of positive numbers, or an error naming the flag.
template <typename Number>
bool ParseList(const std::string& flag, const std::string& text,
               std::vector<Number>* out) {
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    Number value = 0;
    if (!ParseNumber(item, &value) || !(value > 0)) {
      std::fprintf(stderr, "--%s: \"%s\" is not a positive number\n",
                   flag.c_str(), std::string(item).c_str());
      return false;
    }
    out->push_back(value);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "gridcast-loadgen: closed- or open-loop gRPC load against "
      "gridcast-inference");
  absl::ParseCommandLine(argc, argv);

  std::vector<int> levels;
  if (!ParseList("concurrency", absl::GetFlag(FLAGS_concurrency), &levels)) {
    return 2;
  }
  // With rates, each run is one rate under the first concurrency as cap.
  std::vector<double> rates;
  const std::string rate_text = absl::GetFlag(FLAGS_rate_qps);
  if (!rate_text.empty() && !ParseList("rate_qps", rate_text, &rates)) {
    return 2;
  }
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "table" && format != "tsv") {
    std::fprintf(stderr, "--format: use table or tsv\n");
    return 2;
  }

  gridcast::loadgen::LoadOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  options.method = absl::GetFlag(FLAGS_method);
  options.model = absl::GetFlag(FLAGS_model);
  options.model_count = absl::GetFlag(FLAGS_model_count);
  options.model_prefix = absl::GetFlag(FLAGS_model_prefix);
  options.batch_items = absl::GetFlag(FLAGS_batch_items);
  options.duration = absl::Seconds(absl::GetFlag(FLAGS_duration_s));
  options.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup_s));
  options.channels = absl::GetFlag(FLAGS_channels);
  options.history_points = absl::GetFlag(FLAGS_history_points);
  options.horizon = absl::GetFlag(FLAGS_horizon);

  // A row as soon as it is known: a sweep takes a while.
  const auto results = gridcast::loadgen::RunSweep(
      options, levels, rates,
      [&format](const gridcast::loadgen::LoadResult& result) {
        if (format == "table") {
          std::fprintf(stderr, "%s",
                       gridcast::loadgen::FormatTable({result}).c_str());
        }
      });
  if (!results.ok()) {
    std::fprintf(stderr, "loadgen: %s\n", results.status().ToString().c_str());
    return 1;
  }
  bool failed = false;
  for (const gridcast::loadgen::LoadResult& result : *results) {
    failed |= result.error_calls() > 0 || result.ok_calls == 0;
  }
  const std::string out = format == "tsv"
                              ? gridcast::loadgen::FormatTsv(*results)
                              : gridcast::loadgen::FormatTable(*results);
  std::fputs(out.c_str(), stdout);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
