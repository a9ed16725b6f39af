// Bad input through the real servers: each mistake gets its own status
// code and a message naming the field and value, and nothing is stored.
#include <cmath>
#include <functional>
#include <limits>
#include <utility>

#include <catch2/catch.hpp>

#include "common/store/files.h"
#include "tests/cluster.h"
#include "tests/test_support.h"

namespace gridcast::testing {
namespace {

using Catch::Matchers::Contains;

v1::UploadHistoryRequest HourlyChunk(const std::vector<int64_t>& hours,
                                     const std::vector<double>& values) {
  v1::UploadHistoryRequest chunk;
  chunk.mutable_header()->set_series_id("feeder-9");
  chunk.mutable_header()->set_resolution_seconds(3600);
  for (int64_t hour : hours) {
    chunk.add_timestamps(kSyntheticStartTime + hour * 3600);
  }
  for (double value : values) chunk.add_values(value);
  return chunk;
}

size_t StoredDatasets(Cluster& cluster) {
  return cluster.trainer().store()->ListDatasets()->size();
}

TEST_CASE("bad uploads are refused naming the problem, and nothing is stored",
          "[e2e][errors]") {
  Cluster cluster;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();

  struct Case {
    const char* name;
    std::vector<v1::UploadHistoryRequest> chunks;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"NaN value", {HourlyChunk({0, 1, 2}, {1, nan, 1})}, "values[1]"},
      {"infinite value", {HourlyChunk({0, 1, 2}, {1, 1, inf})}, "values[2]"},
      {"duplicate timestamp",
       {HourlyChunk({0, 1, 1, 2}, {1, 1, 1, 1})},
       "duplicates"},
      {"unsorted timestamps",
       {HourlyChunk({0, 2, 1}, {1, 1, 1})},
       "timestamps[2]"},
      {"empty upload", {}, "no points"},
      {"values without timestamps", {HourlyChunk({0, 1}, {1})}, "values"},
  };

  for (const Case& c : cases) {
    INFO(c.name);
    v1::UploadHistoryResponse response;
    const grpc::Status status = cluster.UploadChunks(c.chunks, &response);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(), Contains(c.message));
    CHECK(StoredDatasets(cluster) == 0);
  }

  // Nothing half-written either: only the two empty top-level folders.
  auto datasets = ListDirectory(cluster.store_root() + "/datasets");
  REQUIRE(datasets.ok());
  CHECK(datasets->empty());
}

TEST_CASE("an upload cut off mid-stream leaves nothing behind",
          "[e2e][errors]") {
  Cluster cluster;
  grpc::ClientContext context;
  v1::UploadHistoryResponse response;
  auto writer = cluster.trainer_stub().UploadHistory(&context, &response);
  REQUIRE(writer->Write(HourlyChunk({0, 1, 2}, {1, 1, 1})));
  // The client goes away without closing the stream properly.
  context.TryCancel();
  CHECK(writer->Finish().error_code() == grpc::StatusCode::CANCELLED);

  // A complete upload afterwards is the only dataset in the store.
  v1::UploadHistoryResponse complete;
  REQUIRE(cluster.UploadChunks({HourlyChunk({0, 1, 2}, {2, 2, 2})}, &complete)
              .ok());
  const auto stored = cluster.trainer().store()->ListDatasets();
  REQUIRE(stored.ok());
  REQUIRE(stored->size() == 1);
  CHECK(stored->front().id() == complete.dataset().id());
}

TEST_CASE("a training job for a missing dataset or with a bad spec is refused",
          "[e2e][errors]") {
  Cluster cluster;
  v1::CreateTrainingJobResponse response;

  grpc::ClientContext missing_context;
  const grpc::Status missing = cluster.trainer_stub().CreateTrainingJob(
      &missing_context, QuickJob("feeder-4", "ds-0000000000000000"), &response);
  CHECK(missing.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(missing.error_message(), Contains("dataset_ids[0]"));

  v1::UploadHistoryResponse uploaded;
  REQUIRE(cluster
              .Upload("feeder-4", kSyntheticStartTime, SyntheticHourlyLoad(200),
                      &uploaded)
              .ok());
  grpc::ClientContext short_context;
  const grpc::Status too_short = cluster.trainer_stub().CreateTrainingJob(
      &short_context, QuickJob("feeder-4", uploaded.dataset().id()), &response);
  CHECK(too_short.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(too_short.error_message(), Contains("200 points"));

  v1::CreateTrainingJobRequest bad_spec =
      QuickJob("feeder-4", uploaded.dataset().id());
  bad_spec.mutable_spec()->set_horizon(-3);
  grpc::ClientContext spec_context;
  const grpc::Status spec_status = cluster.trainer_stub().CreateTrainingJob(
      &spec_context, bad_spec, &response);
  CHECK(spec_status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(spec_status.error_message(), Contains("spec.horizon=-3"));

  v1::CreateTrainingJobRequest bad_name =
      QuickJob("../etc", uploaded.dataset().id());
  grpc::ClientContext name_context;
  const grpc::Status name_status = cluster.trainer_stub().CreateTrainingJob(
      &name_context, bad_name, &response);
  CHECK(name_status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(name_status.error_message(), Contains("model="));
}

TEST_CASE("training options out of range are refused naming field and value",
          "[e2e][errors]") {
  Cluster cluster;
  v1::UploadHistoryResponse uploaded;
  REQUIRE(cluster
              .Upload("feeder-6", kSyntheticStartTime,
                      SyntheticHourlyLoad(10 * 7 * 24), &uploaded)
              .ok());
  const std::vector<
      std::pair<std::function<void(v1::TrainingOptions*)>, std::string>>
      cases = {
          {[](auto* o) { o->set_learning_rate(2); }, "options.learning_rate=2"},
          {[](auto* o) { o->set_learning_rate_decay(1.5); },
           "options.learning_rate_decay=1.5"},
          {[](auto* o) { o->set_learning_rate_decay(-0.5); },
           "options.learning_rate_decay=-0.5"},
          {[](auto* o) { o->set_batch_size(-4); }, "options.batch_size=-4"},
          {[](auto* o) { o->set_max_epochs(20000); },
           "options.max_epochs=20000"},
          {[](auto* o) { o->set_test_fraction(0.7); },
           "options.test_fraction=0.7"},
      };
  for (const auto& [change, expected] : cases) {
    v1::CreateTrainingJobRequest job =
        QuickJob("feeder-6", uploaded.dataset().id());
    change(job.mutable_options());
    v1::CreateTrainingJobResponse response;
    grpc::ClientContext context;
    const grpc::Status status =
        cluster.trainer_stub().CreateTrainingJob(&context, job, &response);
    INFO(expected);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(), Contains(expected));
  }

  // A decay inside the range trains.
  v1::CreateTrainingJobRequest decaying =
      QuickJob("feeder-6", uploaded.dataset().id());
  decaying.mutable_options()->set_max_epochs(3);
  decaying.mutable_options()->set_learning_rate_decay(0.5);
  CHECK(cluster.TrainAndWait(decaying).state() == v1::JOB_STATE_SUCCEEDED);
}

grpc::Status CallForecast(Cluster& cluster, const v1::ForecastRequest& request,
                          v1::ForecastResponse* response) {
  grpc::ClientContext context;
  return cluster.forecaster_stub().Forecast(&context, request, response);
}

TEST_CASE(
    "forecast errors: unknown model, not loaded, short history, "
    "long horizon, malformed history",
    "[e2e][errors]") {
  Cluster cluster(ClusterOptions{/*inference_polls=*/false});
  const std::vector<double> load = SyntheticHourlyLoad(10 * 7 * 24);
  v1::UploadHistoryResponse uploaded;
  REQUIRE(
      cluster.Upload("feeder-5", kSyntheticStartTime, load, &uploaded).ok());
  v1::CreateTrainingJobRequest job =
      QuickJob("feeder-5", uploaded.dataset().id());
  job.mutable_options()->set_max_epochs(2);
  REQUIRE(cluster.TrainAndWait(job).state() == v1::JOB_STATE_SUCCEEDED);
  v1::ForecastResponse response;
  const v1::ForecastRequest good =
      Cluster::MakeForecastRequest("feeder-5", kSyntheticStartTime, load, 168);

  SECTION("published but not loaded yet is UNAVAILABLE") {
    const grpc::Status status = CallForecast(cluster, good, &response);
    CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
    cluster.inference().watcher()->PollOnce();
    CHECK(CallForecast(cluster, good, &response).ok());
  }

  cluster.inference().watcher()->PollOnce();

  SECTION("an unknown model is NOT_FOUND") {
    v1::ForecastRequest request = good;
    request.set_model("no-such-feeder");
    const grpc::Status status = CallForecast(cluster, request, &response);
    CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK_THAT(status.error_message(), Contains("no-such-feeder"));
  }
  SECTION("a history shorter than the window is FAILED_PRECONDITION") {
    const v1::ForecastRequest request = Cluster::MakeForecastRequest(
        "feeder-5", kSyntheticStartTime, load, 100);
    const grpc::Status status = CallForecast(cluster, request, &response);
    CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK_THAT(status.error_message(), Contains("100 points"));
    CHECK_THAT(status.error_message(), Contains("168"));
  }
  SECTION("a horizon beyond the model's is INVALID_ARGUMENT") {
    v1::ForecastRequest request = good;
    request.set_horizon(48);
    const grpc::Status status = CallForecast(cluster, request, &response);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(), Contains("horizon=48"));
  }
  SECTION("a negative horizon is INVALID_ARGUMENT, not an empty answer") {
    v1::ForecastRequest request = good;
    request.set_horizon(-40688052);
    const grpc::Status status = CallForecast(cluster, request, &response);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(), Contains("horizon=-40688052"));
  }
  SECTION("a shorter horizon returns just that many points") {
    v1::ForecastRequest request = good;
    request.set_horizon(6);
    REQUIRE(CallForecast(cluster, request, &response).ok());
    CHECK(response.values_size() == 6);
  }
  SECTION("a NaN in the history is INVALID_ARGUMENT naming its index") {
    v1::ForecastRequest request = good;
    request.mutable_history()->set_values(
        10, std::numeric_limits<double>::quiet_NaN());
    const grpc::Status status = CallForecast(cluster, request, &response);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(), Contains("history.values[10]"));
  }
  SECTION("a history off the model's resolution is INVALID_ARGUMENT") {
    v1::ForecastRequest request = good;
    request.mutable_history()->set_timestamps(
        5, request.history().timestamps(5) + 60);
    const grpc::Status status = CallForecast(cluster, request, &response);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(), Contains("history.timestamps"));
  }
}

TEST_CASE("a corrupt version is refused and the previous one keeps serving",
          "[e2e][errors]") {
  Cluster cluster(ClusterOptions{/*inference_polls=*/false});
  const std::vector<double> load = SyntheticHourlyLoad(10 * 7 * 24);
  v1::UploadHistoryResponse uploaded;
  REQUIRE(
      cluster.Upload("feeder-6", kSyntheticStartTime, load, &uploaded).ok());
  v1::CreateTrainingJobRequest job =
      QuickJob("feeder-6", uploaded.dataset().id());
  job.mutable_options()->set_max_epochs(2);
  REQUIRE(cluster.TrainAndWait(job).state() == v1::JOB_STATE_SUCCEEDED);
  cluster.inference().watcher()->PollOnce();
  REQUIRE(cluster.inference().registry()->ServedVersion("feeder-6") == 1);

  // Version 2 is a copy of version 1 whose weights lost a byte on disk.
  const std::string model_dir = cluster.store_root() + "/models/feeder-6";
  REQUIRE(CreateDirectories(model_dir + "/2").ok());
  const std::string manifest =
      *ReadFileToString(model_dir + "/1/manifest.json");
  std::string weights = *ReadFileToString(model_dir + "/1/weights.pt");
  weights[weights.size() / 2] ^= 0x40;
  REQUIRE(WriteFileDurably(model_dir + "/2/manifest.json", manifest).ok());
  REQUIRE(WriteFileDurably(model_dir + "/2/weights.pt", weights).ok());

  cluster.inference().watcher()->PollOnce();
  CHECK(cluster.inference().registry()->ServedVersion("feeder-6") == 1);
  const auto model = cluster.inference().registry()->Describe("feeder-6");
  REQUIRE(model.ok());
  REQUIRE(model->versions_size() == 2);
  CHECK(model->versions(1).state() == v1::VERSION_STATE_FAILED);
  CHECK_THAT(model->versions(1).reason(), Contains("sha256"));

  v1::ForecastResponse response;
  const grpc::Status status = CallForecast(
      cluster,
      Cluster::MakeForecastRequest("feeder-6", kSyntheticStartTime, load, 168),
      &response);
  REQUIRE(status.ok());
  CHECK(response.version() == 1);
}

}  // namespace
}  // namespace gridcast::testing
