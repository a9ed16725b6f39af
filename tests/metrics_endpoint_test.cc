// /metrics of real servers: a trainer and an inference server in this
// process (tests/cluster.h), driven through their gRPC APIs and scraped
// over HTTP. The registry is process-wide, so the tests compare a scrape
// before and after each step rather than absolute values.
#include <grpcpp/grpcpp.h>

#include <regex>

#include <catch2/catch.hpp>

#include "common/store/files.h"
#include "gridcast/bench/v1/echo.grpc.pb.h"
#include "tests/cluster.h"
#include "tests/prometheus_text.h"
#include "tests/test_support.h"

namespace gridcast::testing {
namespace {

using Labels = std::map<std::string, std::string>;

constexpr char kHandled[] = "gridcast_grpc_server_handled_total";
constexpr char kLatencyCount[] = "gridcast_grpc_server_handling_seconds_count";

std::vector<PromSample> MustScrape(int port) {
  const auto samples = ScrapeAndParse(port);
  INFO(samples.status().ToString());
  REQUIRE(samples.ok());
  return *samples;
}

// How much the sum of `name{labels}` grew between two scrapes.
double Grew(const std::vector<PromSample>& before,
            const std::vector<PromSample>& after, const std::string& name,
            const Labels& labels = {}) {
  return SumOf(after, name, labels) - SumOf(before, name, labels);
}

grpc::Status CallForecast(Cluster& cluster, const v1::ForecastRequest& request,
                          v1::ForecastResponse* response) {
  grpc::ClientContext context;
  return cluster.forecaster_stub().Forecast(&context, request, response);
}

std::string UploadAndTrain(Cluster& cluster, const std::string& model,
                           const std::vector<double>& load) {
  v1::UploadHistoryResponse uploaded;
  REQUIRE(cluster.Upload(model, kSyntheticStartTime, load, &uploaded).ok());
  v1::CreateTrainingJobRequest job = QuickJob(model, uploaded.dataset().id());
  job.mutable_options()->set_max_epochs(2);
  REQUIRE(cluster.TrainAndWait(job).state() == v1::JOB_STATE_SUCCEEDED);
  return uploaded.dataset().id();
}

TEST_CASE("both servers serve valid metrics from the start", "[metrics][e2e]") {
  Cluster cluster(ClusterOptions{/*inference_polls=*/false});
  REQUIRE(cluster.trainer().metrics_port() > 0);
  REQUIRE(cluster.inference().metrics_port() > 0);

  const auto trainer = MustScrape(cluster.trainer().metrics_port());
  CHECK(Has(trainer, "gridcast_trainer_jobs"));
  CHECK(Has(trainer, "gridcast_trainer_epochs_total"));
  CHECK(SumOf(trainer, "gridcast_trainer_jobs", {{"state", "running"}}) == 0);

  const auto inference = MustScrape(cluster.inference().metrics_port());
  CHECK(Has(inference, "gridcast_inference_versions"));
  CHECK(Has(inference, "gridcast_inference_models"));
  CHECK(Has(inference, "gridcast_inference_load_seconds_count"));
  CHECK(Has(inference, "gridcast_inference_reload_lag_seconds_count"));
  CHECK(Has(inference, "gridcast_inference_batch_size_count"));
  CHECK(SumOf(inference, "gridcast_inference_versions", {{"state", "ready"}}) ==
        0);
}

TEST_CASE("training, loading and forecasting move their metrics",
          "[metrics][e2e]") {
  Cluster cluster(ClusterOptions{/*inference_polls=*/false});
  const int trainer_port = cluster.trainer().metrics_port();
  const int inference_port = cluster.inference().metrics_port();
  const std::vector<double> load = SyntheticHourlyLoad(10 * 7 * 24);

  // Training: calls by method and model, epochs, job durations and states.
  const auto trainer_before = MustScrape(trainer_port);
  UploadAndTrain(cluster, "feeder-m", load);
  const auto trainer_after = MustScrape(trainer_port);
  CHECK(Grew(trainer_before, trainer_after, kHandled,
             {{"service", "gridcast.v1.TrainerService"},
              {"method", "UploadHistory"},
              {"code", "OK"}}) == 1);
  CHECK(Grew(trainer_before, trainer_after, kHandled,
             {{"method", "CreateTrainingJob"},
              {"model", "feeder-m"},
              {"code", "OK"}}) == 1);
  CHECK(Grew(trainer_before, trainer_after, kLatencyCount,
             {{"method", "CreateTrainingJob"}, {"model", "feeder-m"}}) == 1);
  CHECK(Grew(trainer_before, trainer_after, "gridcast_trainer_epochs_total") >=
        1);
  CHECK(Grew(trainer_before, trainer_after,
             "gridcast_trainer_job_duration_seconds_count",
             {{"state", "succeeded"}}) == 1);
  CHECK(SumOf(trainer_after, "gridcast_trainer_jobs",
              {{"state", "succeeded"}}) == 1);

  // Loading: the new version is ready, its load and reload lag observed.
  const auto loading_before = MustScrape(inference_port);
  cluster.inference().watcher()->PollOnce();
  REQUIRE(cluster.inference().registry()->ServedVersion("feeder-m") == 1);
  const auto loading_after = MustScrape(inference_port);
  CHECK(SumOf(loading_after, "gridcast_inference_versions",
              {{"state", "ready"}}) == 1);
  CHECK(SumOf(loading_after, "gridcast_inference_models") == 1);
  CHECK(Grew(loading_before, loading_after,
             "gridcast_inference_load_seconds_count") == 1);
  CHECK(Grew(loading_before, loading_after,
             "gridcast_inference_reload_lag_seconds_count") == 1);

  // Forecasts: by model and status code, with a batch of one window each.
  v1::ForecastResponse response;
  REQUIRE(CallForecast(cluster,
                       Cluster::MakeForecastRequest(
                           "feeder-m", kSyntheticStartTime, load, 168),
                       &response)
              .ok());
  REQUIRE(CallForecast(cluster,
                       Cluster::MakeForecastRequest(
                           "feeder-m", kSyntheticStartTime, load, 168),
                       &response)
              .ok());
  v1::ForecastRequest unknown = Cluster::MakeForecastRequest(
      "feeder-nope", kSyntheticStartTime, load, 168);
  CHECK(CallForecast(cluster, unknown, &response).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  const auto forecast_after = MustScrape(inference_port);
  const Labels forecast_ok = {{"service", "gridcast.v1.ForecasterService"},
                              {"method", "Forecast"},
                              {"model", "feeder-m"},
                              {"code", "OK"}};
  CHECK(Grew(loading_after, forecast_after, kHandled, forecast_ok) == 2);
  CHECK(Grew(loading_after, forecast_after, kLatencyCount, forecast_ok) == 2);
  CHECK(Grew(loading_after, forecast_after,
             "gridcast_grpc_server_handling_seconds_sum", forecast_ok) > 0);
  CHECK(Grew(loading_after, forecast_after, kHandled,
             {{"method", "Forecast"},
              {"model", "feeder-nope"},
              {"code", "NOT_FOUND"}}) == 1);
  CHECK(Grew(loading_after, forecast_after,
             "gridcast_inference_batch_size_count") == 2);
  CHECK(Grew(loading_after, forecast_after,
             "gridcast_inference_batch_size_bucket", {{"le", "1"}}) == 2);

  // Anomaly scoring is counted by model too, whatever its answer.
  v1::DetectAnomaliesRequest anomalies;
  anomalies.set_model("feeder-m");
  *anomalies.mutable_history() =
      Cluster::MakeForecastRequest("feeder-m", kSyntheticStartTime, load, 168)
          .history();
  v1::DetectAnomaliesResponse scored;
  grpc::ClientContext context;
  cluster.forecaster_stub().DetectAnomalies(&context, anomalies, &scored);
  const auto anomalies_after = MustScrape(inference_port);
  CHECK(Grew(forecast_after, anomalies_after, kHandled,
             {{"method", "DetectAnomalies"}, {"model", "feeder-m"}}) == 1);
}

TEST_CASE("a refused version is counted by its reason", "[metrics][e2e]") {
  Cluster cluster(ClusterOptions{/*inference_polls=*/false});
  const int inference_port = cluster.inference().metrics_port();
  UploadAndTrain(cluster, "feeder-c", SyntheticHourlyLoad(10 * 7 * 24));
  cluster.inference().watcher()->PollOnce();
  REQUIRE(cluster.inference().registry()->ServedVersion("feeder-c") == 1);

  // Version 2 is version 1 with one part damaged on disk.
  const std::string model_dir = cluster.store_root() + "/models/feeder-c";
  const std::string manifest =
      *ReadFileToString(model_dir + "/1/manifest.json");
  std::string weights = *ReadFileToString(model_dir + "/1/weights.pt");
  std::string reason;
  SECTION("weights that lost a byte fail their checksum") {
    weights[weights.size() / 2] ^= 0x40;
    REQUIRE(CreateDirectories(model_dir + "/2").ok());
    REQUIRE(WriteFileDurably(model_dir + "/2/manifest.json", manifest).ok());
    reason = "checksum";
  }
  SECTION("a manifest whose spec does not fit the weights fails on shapes") {
    // QuickJob trains one hidden layer of 64; the manifest now says 32.
    const std::string narrower = std::regex_replace(
        manifest, std::regex(R"("hidden_sizes": \[\s*64\s*\])"),
        R"("hidden_sizes": [32])");
    REQUIRE(narrower != manifest);
    REQUIRE(CreateDirectories(model_dir + "/2").ok());
    REQUIRE(WriteFileDurably(model_dir + "/2/manifest.json", narrower).ok());
    reason = "shapes";
  }
  SECTION("a manifest that is not JSON fails as a manifest") {
    REQUIRE(CreateDirectories(model_dir + "/2").ok());
    REQUIRE(
        WriteFileDurably(model_dir + "/2/manifest.json", "{ not json").ok());
    reason = "manifest";
  }
  REQUIRE(WriteFileDurably(model_dir + "/2/weights.pt", weights).ok());

  const auto before = MustScrape(inference_port);
  cluster.inference().watcher()->PollOnce();
  const auto after = MustScrape(inference_port);
  INFO("reason " << reason);
  CHECK(Grew(before, after, "gridcast_inference_load_failures_total",
             {{"reason", reason}}) == 1);
  CHECK(Grew(before, after, "gridcast_inference_load_failures_total") == 1);
  CHECK(SumOf(after, "gridcast_inference_versions", {{"state", "failed"}}) ==
        1);
  CHECK(SumOf(after, "gridcast_inference_versions", {{"state", "ready"}}) == 1);
}

TEST_CASE("the bench echo method answers forecast-sized and is counted",
          "[metrics][e2e]") {
  ClusterOptions options;
  options.inference_polls = false;
  options.bench_echo = true;
  Cluster cluster(options);
  auto echo = bench::v1::EchoService::NewStub(cluster.inference_channel());

  bench::v1::EchoRequest request;
  for (int i = 0; i < 168; ++i) {
    request.add_timestamps(kSyntheticStartTime + i * 3600);
    request.add_values(100 + i);
  }
  request.set_reply_points(24);
  request.set_model("feeder-e");

  const auto before = MustScrape(cluster.inference().metrics_port());
  grpc::ClientContext context;
  bench::v1::EchoResponse response;
  REQUIRE(echo->Echo(&context, request, &response).ok());
  REQUIRE(response.values_size() == 24);
  CHECK(response.values(23) == 100 + 167);
  CHECK(response.timestamps(0) == kSyntheticStartTime + 144 * 3600);
  const auto after = MustScrape(cluster.inference().metrics_port());
  CHECK(Grew(before, after, kHandled,
             {{"service", "gridcast.bench.v1.EchoService"},
              {"method", "Echo"},
              {"code", "OK"}}) == 1);
}

TEST_CASE("the bench echo method is off unless asked for", "[metrics][e2e]") {
  Cluster cluster(ClusterOptions{/*inference_polls=*/false});
  auto echo = bench::v1::EchoService::NewStub(cluster.inference_channel());
  grpc::ClientContext context;
  bench::v1::EchoResponse response;
  CHECK(
      echo->Echo(&context, bench::v1::EchoRequest(), &response).error_code() ==
      grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace gridcast::testing
