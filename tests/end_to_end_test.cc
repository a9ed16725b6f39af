// Real servers on loopback ports, real generated stubs: the paths a SCADA
// integration takes, from upload to forecast.
#include <atomic>
#include <cmath>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/cluster.h"
#include "tests/test_support.h"

namespace gridcast::testing {
namespace {

constexpr int kHistoryHours = 10 * 7 * 24;

double MeanAbsoluteError(const std::vector<double>& actual, size_t offset,
                         const google::protobuf::RepeatedField<double>& f) {
  double sum = 0;
  for (int h = 0; h < f.size(); ++h) sum += std::abs(actual[offset + h] - f[h]);
  return sum / f.size();
}

std::string UploadSynthetic(Cluster& cluster, const std::string& series,
                            const std::vector<double>& load) {
  v1::UploadHistoryResponse uploaded;
  const grpc::Status status =
      cluster.Upload(series, kSyntheticStartTime, load, &uploaded);
  REQUIRE(status.ok());
  return uploaded.dataset().id();
}

TEST_CASE("upload, train, hot-reload and forecast end to end", "[e2e]") {
  Cluster cluster;
  // One more day than is uploaded, to score the forecast against.
  const std::vector<double> truth = SyntheticHourlyLoad(kHistoryHours + 24);
  const std::vector<double> history(truth.begin(), truth.end() - 24);
  const std::string dataset = UploadSynthetic(cluster, "feeder-1", history);

  std::vector<v1::EpochProgress> epochs;
  const v1::TrainingJob job =
      cluster.TrainAndWait(QuickJob("feeder-1", dataset), &epochs);
  REQUIRE(job.state() == v1::JOB_STATE_SUCCEEDED);
  CHECK(job.published_version() == 1);
  CHECK_FALSE(epochs.empty());
  CHECK(epochs.front().epoch() == 1);
  CHECK(job.evaluation().model().windows() > 0);
  CHECK(job.evaluation().beats_baseline());

  REQUIRE(cluster.WaitForServedVersion("feeder-1", 1));
  grpc::ClientContext context;
  v1::ForecastResponse forecast;
  const grpc::Status status = cluster.forecaster_stub().Forecast(
      &context,
      Cluster::MakeForecastRequest("feeder-1", kSyntheticStartTime, history,
                                   168),
      &forecast);
  REQUIRE(status.ok());
  CHECK(forecast.version() == 1);
  REQUIRE(forecast.values_size() == 24);
  REQUIRE(forecast.timestamps_size() == 24);
  CHECK(forecast.timestamps(0) == kSyntheticStartTime + kHistoryHours * 3600);
  CHECK(forecast.timestamps(23) - forecast.timestamps(0) == 23 * 3600);
  // The load swings by +-0.3 around 1.0; a useful forecast is far closer.
  CHECK(MeanAbsoluteError(truth, history.size(), forecast.values()) < 0.1);
}

TEST_CASE("fine-tuning publishes version 2 while forecasts never fail",
          "[e2e]") {
  Cluster cluster;
  const std::vector<double> load = SyntheticHourlyLoad(kHistoryHours, 7);
  const std::string dataset = UploadSynthetic(cluster, "feeder-2", load);
  REQUIRE(cluster.TrainAndWait(QuickJob("feeder-2", dataset)).state() ==
          v1::JOB_STATE_SUCCEEDED);
  REQUIRE(cluster.WaitForServedVersion("feeder-2", 1));

  std::atomic<bool> stop{false};
  std::atomic<int> calls{0}, failures{0}, answered_by_v2{0};
  std::thread caller([&] {
    const v1::ForecastRequest request = Cluster::MakeForecastRequest(
        "feeder-2", kSyntheticStartTime, load, 168);
    while (!stop) {
      grpc::ClientContext context;
      v1::ForecastResponse response;
      const grpc::Status status =
          cluster.forecaster_stub().Forecast(&context, request, &response);
      ++calls;
      if (!status.ok()) ++failures;
      if (status.ok() && response.version() == 2) ++answered_by_v2;
    }
  });

  const std::vector<double> recent = SyntheticHourlyLoad(kHistoryHours, 8);
  const std::string newer = UploadSynthetic(cluster, "feeder-2", recent);
  v1::CreateTrainingJobRequest finetune = QuickJob("feeder-2", newer);
  finetune.clear_spec();
  finetune.mutable_base()->set_name("feeder-2");
  finetune.mutable_options()->set_max_epochs(3);
  const v1::TrainingJob job = cluster.TrainAndWait(finetune);
  REQUIRE(job.state() == v1::JOB_STATE_SUCCEEDED);
  CHECK(job.published_version() == 2);
  CHECK(job.base().version() == 1);

  REQUIRE(cluster.WaitForServedVersion("feeder-2", 2));
  REQUIRE(
      WaitFor([&] { return answered_by_v2 > 0; }, std::chrono::seconds(10)));
  stop = true;
  caller.join();
  CHECK(calls > 0);
  CHECK(failures == 0);

  grpc::ClientContext context;
  v1::GetModelRequest get;
  get.set_model("feeder-2");
  v1::GetModelResponse model;
  REQUIRE(cluster.forecaster_stub().GetModel(&context, get, &model).ok());
  CHECK(model.model().served_version() == 2);
  REQUIRE(model.model().versions_size() == 2);
  CHECK(model.model().versions(0).state() == v1::VERSION_STATE_UNLOADED);
  CHECK(model.model().versions(1).state() == v1::VERSION_STATE_READY);
  CHECK(model.model().versions(1).lineage().parent().version() == 1);
  CHECK(model.model().versions(1).lineage().dataset_ids(0) == newer);
}

TEST_CASE("a job can be cancelled and publishes nothing", "[e2e]") {
  Cluster cluster;
  const std::string dataset =
      UploadSynthetic(cluster, "feeder-3", SyntheticHourlyLoad(kHistoryHours));
  v1::CreateTrainingJobRequest request = QuickJob("feeder-3", dataset);
  request.mutable_options()->set_max_epochs(10000);
  request.mutable_options()->set_early_stopping_patience(10000);

  v1::CreateTrainingJobResponse created;
  {
    grpc::ClientContext context;
    REQUIRE(cluster.trainer_stub()
                .CreateTrainingJob(&context, request, &created)
                .ok());
  }
  REQUIRE(WaitFor(
      [&] {
        auto job = cluster.trainer().jobs()->Get(created.job().id());
        return job.ok() && job->epoch() >= 1;
      },
      std::chrono::seconds(60)));

  grpc::ClientContext context;
  v1::CancelTrainingJobRequest cancel;
  cancel.set_job_id(created.job().id());
  v1::CancelTrainingJobResponse cancelled;
  REQUIRE(cluster.trainer_stub()
              .CancelTrainingJob(&context, cancel, &cancelled)
              .ok());
  REQUIRE(WaitFor(
      [&] {
        return cluster.trainer().jobs()->Get(created.job().id())->state() ==
               v1::JOB_STATE_CANCELLED;
      },
      std::chrono::seconds(30)));
  CHECK(cluster.trainer()
            .store()
            ->ListVersions("feeder-3")
            .value_or(std::vector<int64_t>{})
            .empty());
}

}  // namespace
}  // namespace gridcast::testing

namespace gridcast::testing {
namespace {

TEST_CASE("the same job with the same seed publishes identical weights",
          "[e2e]") {
  Cluster cluster;
  const std::vector<double> load = SyntheticHourlyLoad(kHistoryHours);
  const std::string dataset = UploadSynthetic(cluster, "feeder-7", load);

  std::vector<std::string> checksums;
  for (const char* model : {"feeder-7a", "feeder-7b"}) {
    v1::CreateTrainingJobRequest request = QuickJob(model, dataset);
    request.mutable_options()->set_max_epochs(3);
    request.mutable_spec()->mutable_mlp()->set_dropout(0.1);
    REQUIRE(cluster.TrainAndWait(request).state() == v1::JOB_STATE_SUCCEEDED);
    const auto manifest = cluster.trainer().store()->ReadManifest(model, 1);
    REQUIRE(manifest.ok());
    checksums.push_back(manifest->weights_sha256());
  }
  CHECK(checksums[0] == checksums[1]);
}

}  // namespace
}  // namespace gridcast::testing
