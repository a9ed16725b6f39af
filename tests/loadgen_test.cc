// The load generator against real in-process servers, briefly: it must
// measure calls, not count failures as throughput.
#include <cstdlib>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "tests/cluster.h"
#include "tests/serving_fixtures.h"
#include "tests/test_support.h"
#include "tools/loadgen/loadgen.h"

namespace gridcast::testing {
namespace {

using loadgen::LoadOptions;
using loadgen::RunLoad;

LoadOptions ShortRun(const std::string& target, const std::string& method) {
  LoadOptions options;
  options.target = target;
  options.method = method;
  options.concurrency = 4;
  options.duration = absl::Seconds(1);
  options.warmup = absl::Milliseconds(200);
  return options;
}

TEST_CASE("the load generator drives echo and forecast without errors",
          "[loadgen][e2e]") {
  ClusterOptions cluster_options;
  cluster_options.bench_echo = true;
  Cluster cluster(cluster_options);

  const auto echo = RunLoad(ShortRun(cluster.inference().address(), "echo"));
  REQUIRE(echo.ok());
  CHECK(echo->ok_calls > 0);
  CHECK(echo->qps > 0);
  CHECK(echo->error_calls() == 0);
  CHECK(echo->p50_ms > 0);
  CHECK(echo->p50_ms <= echo->p99_ms);
  CHECK(echo->p99_ms <= echo->p999_ms);

  v1::UploadHistoryResponse uploaded;
  REQUIRE(cluster
              .Upload("bench-feeder", kSyntheticStartTime,
                      SyntheticHourlyLoad(10 * 7 * 24), &uploaded)
              .ok());
  v1::CreateTrainingJobRequest job =
      QuickJob("bench-feeder", uploaded.dataset().id());
  job.mutable_options()->set_max_epochs(2);
  REQUIRE(cluster.TrainAndWait(job).state() == v1::JOB_STATE_SUCCEEDED);
  REQUIRE(cluster.WaitForServedVersion("bench-feeder", 1));

  LoadOptions forecast_options =
      ShortRun(cluster.inference().address(), "forecast");
  forecast_options.model = "bench-feeder";
  const auto forecast = RunLoad(forecast_options);
  REQUIRE(forecast.ok());
  CHECK(forecast->ok_calls > 0);
  CHECK(forecast->error_calls() == 0);

  LoadOptions batch_options = ShortRun(cluster.inference().address(), "batch");
  batch_options.model = "bench-feeder";
  batch_options.batch_items = 20;
  const auto batch = RunLoad(batch_options);
  REQUIRE(batch.ok());
  CHECK(batch->ok_calls > 0);
  CHECK(batch->error_calls() == 0);
}

TEST_CASE("the load generator reports a target it cannot use",
          "[loadgen][e2e]") {
  Cluster cluster(ClusterOptions{/*inference_polls=*/false});
  SECTION("an unloaded model fails the first call, not the run") {
    LoadOptions options = ShortRun(cluster.inference().address(), "forecast");
    options.model = "no-such-model";
    const auto result = RunLoad(options);
    CHECK(result.status().code() == absl::StatusCode::kUnavailable);
    CHECK_THAT(std::string(result.status().message()),
               Catch::Matchers::Contains("NOT_FOUND"));
  }
  SECTION("a batch with an item that fails is a failed call") {
    LoadOptions options = ShortRun(cluster.inference().address(), "batch");
    options.model = "no-such-model";
    options.batch_items = 3;
    const auto result = RunLoad(options);
    CHECK(result.status().code() == absl::StatusCode::kUnavailable);
    CHECK_THAT(std::string(result.status().message()),
               Catch::Matchers::Contains("NOT_FOUND"));
  }
  SECTION("echo is off unless the server was started with it") {
    const auto result =
        RunLoad(ShortRun(cluster.inference().address(), "echo"));
    CHECK_THAT(std::string(result.status().message()),
               Catch::Matchers::Contains("UNIMPLEMENTED"));
  }
  SECTION("an unknown method is refused") {
    CHECK(RunLoad(ShortRun(cluster.inference().address(), "nope"))
              .status()
              .code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("failed calls are counted by status code, not as throughput",
          "[loadgen][e2e]") {
  Cluster cluster;
  // Two models in turn: the first is served, the second does not exist.
  REQUIRE(
      PublishTinyVersion(*cluster.trainer().store(), "load-m-0000", 1).ok());
  REQUIRE(cluster.WaitForServedVersion("load-m-0000", 1));

  LoadOptions options = ShortRun(cluster.inference().address(), "forecast");
  options.model_prefix = "load-m-";
  options.model_count = 2;
  options.history_points = kTinyWindow;
  options.horizon = kTinyHorizon;
  const auto result = RunLoad(options);
  REQUIRE(result.ok());
  REQUIRE(result->errors.size() == 1);
  REQUIRE(result->errors.count("NOT_FOUND") == 1);
  const int64_t not_found = result->errors.at("NOT_FOUND");
  CHECK(not_found > 0);
  CHECK(result->error_calls() == not_found);
  CHECK(result->ok_calls > 0);
  // Calls alternate between the models; only those in flight at either
  // end of the window can tip the balance.
  CHECK(std::abs(result->ok_calls - not_found) <= 2 * options.concurrency + 1);
  // QPS counts the successful calls only.
  CHECK(result->qps == Approx(result->ok_calls / result->measured_seconds));
  CHECK_THAT(loadgen::FormatTable({*result}),
             Catch::Matchers::Contains(absl::StrCat("NOT_FOUND=", not_found)));
}

TEST_CASE("a concurrency sweep runs every level in order", "[loadgen][e2e]") {
  ClusterOptions cluster_options;
  cluster_options.bench_echo = true;
  Cluster cluster(cluster_options);
  LoadOptions options = ShortRun(cluster.inference().address(), "echo");
  options.duration = absl::Milliseconds(300);
  options.warmup = absl::Milliseconds(100);

  std::vector<int> seen;
  const auto results = loadgen::RunSweep(
      options, {1, 3, 8}, {}, [&](const loadgen::LoadResult& result) {
        seen.push_back(result.concurrency);
      });
  REQUIRE(results.ok());
  CHECK(seen == std::vector<int>{1, 3, 8});
  REQUIRE(results->size() == 3);
  for (size_t i = 0; i < results->size(); ++i) {
    const loadgen::LoadResult& level = (*results)[i];
    INFO("level " << i);
    CHECK(level.concurrency == seen[i]);
    CHECK(level.method == "echo");
    CHECK(level.ok_calls > 0);
    CHECK(level.error_calls() == 0);
    CHECK(level.offered_qps == 0);
  }

  SECTION("with rates: one open loop per rate, capped by the first level") {
    const auto open = loadgen::RunSweep(options, {16, 99}, {50, 100});
    REQUIRE(open.ok());
    REQUIRE(open->size() == 2);
    CHECK((*open)[0].offered_qps == 50);
    CHECK((*open)[1].offered_qps == 100);
    CHECK((*open)[0].concurrency == 16);
    CHECK((*open)[1].concurrency == 16);
  }
  SECTION("a sweep that cannot start a level ends with its reason") {
    options.method = "forecast";
    options.model = "no-such-model";
    const auto failed = loadgen::RunSweep(options, {1, 2}, {});
    CHECK(failed.status().code() == absl::StatusCode::kUnavailable);
    CHECK(loadgen::RunSweep(options, {}, {}).status().code() ==
          absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("the open loop sends its schedule, not what the server allows",
          "[loadgen][e2e]") {
  ClusterOptions cluster_options;
  cluster_options.bench_echo = true;
  Cluster cluster(cluster_options);

  SECTION("a rate the server keeps up with: every scheduled call, on time") {
    LoadOptions options = ShortRun(cluster.inference().address(), "echo");
    options.concurrency = 64;
    options.rate_qps = 200;
    const auto result = RunLoad(options);
    REQUIRE(result.ok());
    // Due every 5 ms through the 1 s window: 200 calls, however fast the
    // machine is, counted by when they were due.
    CHECK(result->ok_calls >= 199);
    CHECK(result->ok_calls <= 201);
    CHECK(result->error_calls() == 0);
    CHECK(result->offered_qps == 200);
  }

  SECTION("a rate beyond one slot: calls are late and counted so") {
    LoadOptions options = ShortRun(cluster.inference().address(), "echo");
    options.concurrency = 1;
    options.rate_qps = 100000;  // a call every 10 us, one at a time
    const auto result = RunLoad(options);
    REQUIRE(result.ok());
    CHECK(result->late_calls > 0);
    CHECK(result->ok_calls + result->late_calls >= 50000);
    CHECK(result->ok_calls < 100000);
  }

  SECTION("a negative rate is refused") {
    LoadOptions options = ShortRun(cluster.inference().address(), "echo");
    options.rate_qps = -5;
    CHECK(RunLoad(options).status().code() ==
          absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("percentiles follow the nearest-rank rule", "[loadgen]") {
  std::vector<double> values;
  for (int i = 1; i <= 1000; ++i) values.push_back(i);
  CHECK(loadgen::Percentile(values, 0.5) == 500);
  CHECK(loadgen::Percentile(values, 0.99) == 990);
  CHECK(loadgen::Percentile(values, 0.999) == 999);
  CHECK(loadgen::Percentile(values, 1.0) == 1000);
  CHECK(loadgen::Percentile({7}, 0.999) == 7);
  CHECK(loadgen::Percentile({}, 0.5) == 0);
}

}  // namespace
}  // namespace gridcast::testing
