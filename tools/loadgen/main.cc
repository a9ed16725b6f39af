// gridcast-loadgen: a closed-loop load generator for the inference server.
//
//   gridcast-loadgen --target=127.0.0.1:50052 --method=forecast
//       --model=bench-feeder --concurrency=1,4,16,64 --duration_s=5
//
// Runs one loop per concurrency level and prints QPS, latency percentiles
// and errors by status code. Exit code 1 when a level saw any failed call
// (or could not start), so that scripts and tests notice.
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

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "gridcast-loadgen: closed-loop gRPC load against gridcast-inference");
  absl::ParseCommandLine(argc, argv);

  std::vector<int> levels;
  for (absl::string_view level :
       absl::StrSplit(absl::GetFlag(FLAGS_concurrency), ',')) {
    int value = 0;
    if (!absl::SimpleAtoi(level, &value) || value < 1) {
      std::fprintf(stderr, "--concurrency: \"%s\" is not a positive number\n",
                   std::string(level).c_str());
      return 2;
    }
    levels.push_back(value);
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

  std::vector<gridcast::loadgen::LoadResult> results;
  bool failed = false;
  for (int level : levels) {
    options.concurrency = level;
    auto result = gridcast::loadgen::RunClosedLoop(options);
    if (!result.ok()) {
      std::fprintf(stderr, "loadgen: %s\n", result.status().ToString().c_str());
      return 1;
    }
    failed |= result->error_calls() > 0 || result->ok_calls == 0;
    results.push_back(*result);
    // A row as soon as it is known: a sweep takes a while.
    if (format == "table") {
      std::fprintf(stderr, "%s",
                   gridcast::loadgen::FormatTable({*result}).c_str());
    }
  }
  const std::string out = format == "tsv"
                              ? gridcast::loadgen::FormatTsv(results)
                              : gridcast::loadgen::FormatTable(results);
  std::fputs(out.c_str(), stdout);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
