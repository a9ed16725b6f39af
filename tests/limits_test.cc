// Every limit through real servers: a call beyond one is refused with the
// right code and a message naming the flag and its value, and a call
// within it goes through.
#include <catch2/catch.hpp>

#include "common/limits.h"
#include "tests/cluster.h"
#include "tests/test_support.h"

namespace gridcast::testing {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

constexpr int kHistoryHours = 10 * 7 * 24;

v1::ForecastRequest RequestWithHistory(int points, int horizon) {
  v1::ForecastRequest request = Cluster::MakeForecastRequest(
      "feeder-1", kSyntheticStartTime, SyntheticHourlyLoad(points), points);
  request.set_horizon(horizon);
  return request;
}

grpc::Status CallForecast(Cluster& cluster, v1::ForecastRequest request) {
  grpc::ClientContext context;
  v1::ForecastResponse response;
  return cluster.forecaster_stub().Forecast(&context, request, &response);
}

grpc::Status CreateJob(Cluster& cluster,
                       const v1::CreateTrainingJobRequest& request,
                       v1::CreateTrainingJobResponse* response) {
  grpc::ClientContext context;
  return cluster.trainer_stub().CreateTrainingJob(&context, request, response);
}

std::string UploadOrFail(Cluster& cluster, int hours) {
  v1::UploadHistoryResponse uploaded;
  const grpc::Status status = cluster.Upload(
      "feeder-1", kSyntheticStartTime, SyntheticHourlyLoad(hours), &uploaded);
  REQUIRE(status.ok());
  return uploaded.dataset().id();
}

TEST_CASE("an upload over --max_upload_points is refused naming the limit",
          "[limits]") {
  ClusterOptions options;
  options.configure_trainer = [](TrainerServerOptions* trainer) {
    trainer->upload_limits.max_points = 1000;
  };
  Cluster cluster(options);

  v1::UploadHistoryResponse response;
  const grpc::Status over = cluster.Upload(
      "feeder-1", kSyntheticStartTime, SyntheticHourlyLoad(1001), &response);
  CHECK(over.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(over.error_message(),
             Equals("upload has 1001 points; limit --max_upload_points is "
                    "1000"));
  CHECK(cluster.trainer().store()->ListDatasets()->empty());

  CHECK(cluster
            .Upload("feeder-1", kSyntheticStartTime, SyntheticHourlyLoad(1000),
                    &response)
            .ok());
}

TEST_CASE("an upload over --max_dataset_bytes is refused as it arrives",
          "[limits]") {
  ClusterOptions options;
  options.configure_trainer = [](TrainerServerOptions* trainer) {
    trainer->limits.max_dataset_bytes = 16 * 1024;
  };
  Cluster cluster(options);

  // About 16 bytes a point on the wire: 2000 points are twice the limit.
  v1::UploadHistoryResponse response;
  const grpc::Status over = cluster.Upload(
      "feeder-1", kSyntheticStartTime, SyntheticHourlyLoad(2000), &response);
  CHECK(over.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(over.error_message(), Contains("upload has "));
  CHECK_THAT(over.error_message(),
             Contains(" bytes so far; limit --max_dataset_bytes is 16384"));
  CHECK(cluster.trainer().store()->ListDatasets()->empty());

  CHECK(cluster
            .Upload("feeder-1", kSyntheticStartTime, SyntheticHourlyLoad(500),
                    &response)
            .ok());
}

TEST_CASE("jobs beyond --max_active_jobs are refused until one ends",
          "[limits]") {
  ClusterOptions options;
  options.configure_trainer = [](TrainerServerOptions* trainer) {
    trainer->limits.max_active_jobs = 1;
    // Queued jobs stay queued: nothing runs them.
    trainer->jobs.start_workers = false;
  };
  Cluster cluster(options);
  const std::string dataset = UploadOrFail(cluster, kHistoryHours);

  v1::CreateTrainingJobResponse first;
  REQUIRE(CreateJob(cluster, QuickJob("feeder-1", dataset), &first).ok());

  v1::CreateTrainingJobResponse second;
  const grpc::Status refused =
      CreateJob(cluster, QuickJob("feeder-1", dataset), &second);
  CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(refused.error_message(),
             Equals("the trainer has 1 jobs queued or running; limit "
                    "--max_active_jobs is 1"));

  // A job that has ended no longer counts.
  REQUIRE(cluster.trainer().jobs()->Cancel(first.job().id()).ok());
  CHECK(CreateJob(cluster, QuickJob("feeder-1", dataset), &second).ok());
}

TEST_CASE("a training horizon over --max_horizon is refused", "[limits]") {
  ClusterOptions options;
  options.configure_trainer = [](TrainerServerOptions* trainer) {
    trainer->limits.max_horizon = 24;
    trainer->jobs.start_workers = false;
  };
  Cluster cluster(options);
  const std::string dataset = UploadOrFail(cluster, kHistoryHours);

  v1::CreateTrainingJobRequest request = QuickJob("feeder-1", dataset);
  request.mutable_spec()->set_horizon(48);
  v1::CreateTrainingJobResponse response;
  const grpc::Status refused = CreateJob(cluster, request, &response);
  CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(refused.error_message(),
             Equals("spec.horizon=48; limit --max_horizon is 24"));

  request.mutable_spec()->set_horizon(24);
  CHECK(CreateJob(cluster, request, &response).ok());
}

TEST_CASE("a forecast over --max_horizon or --max_history_points is refused",
          "[limits]") {
  ClusterOptions options;
  options.configure_inference = [](InferenceServerOptions* inference) {
    inference->service.limits.max_horizon = 24;
    inference->service.limits.max_history_points = 200;
  };
  Cluster cluster(options);

  const grpc::Status horizon =
      CallForecast(cluster, RequestWithHistory(168, 48));
  CHECK(horizon.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(horizon.error_message(),
             Equals("horizon=48; limit --max_horizon is 24"));

  const grpc::Status history =
      CallForecast(cluster, RequestWithHistory(201, 24));
  CHECK(history.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(history.error_message(),
             Equals("history has 201 points; limit --max_history_points is "
                    "200"));

  // Within both limits the request reaches the model lookup: there is no
  // model, so NOT_FOUND, not a limit.
  CHECK(CallForecast(cluster, RequestWithHistory(200, 24)).error_code() ==
        grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("DetectAnomalies over --max_history_points is refused", "[limits]") {
  ClusterOptions options;
  options.configure_inference = [](InferenceServerOptions* inference) {
    inference->service.limits.max_history_points = 200;
  };
  Cluster cluster(options);

  const auto detect = [&](int points) {
    const v1::ForecastRequest forecast = RequestWithHistory(points, 0);
    v1::DetectAnomaliesRequest request;
    request.set_model(forecast.model());
    *request.mutable_history() = forecast.history();
    grpc::ClientContext context;
    v1::DetectAnomaliesResponse response;
    return cluster.forecaster_stub().DetectAnomalies(&context, request,
                                                     &response);
  };
  const grpc::Status history = detect(201);
  CHECK(history.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(history.error_message(),
             Equals("history has 201 points; limit --max_history_points is "
                    "200"));

  // Within the limit the request reaches the model lookup.
  CHECK(detect(200).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("a message over --max_message_bytes is refused by gRPC", "[limits]") {
  ClusterOptions options;
  options.configure_inference = [](InferenceServerOptions* inference) {
    inference->max_message_bytes = 64 * 1024;
  };
  Cluster cluster(options);

  // 8000 points are about 128 KiB on the wire.
  const grpc::Status refused =
      CallForecast(cluster, RequestWithHistory(8000, 24));
  CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(refused.error_message(), Contains("65536"));

  CHECK(CallForecast(cluster, RequestWithHistory(1000, 24)).error_code() ==
        grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace gridcast::testing
