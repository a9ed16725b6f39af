// The load generator against real in-process servers, briefly: it must
// measure calls, not count failures as throughput.
#include <catch2/catch.hpp>

#include "tests/cluster.h"
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
