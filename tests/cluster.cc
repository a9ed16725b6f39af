#include "tests/cluster.h"

#include <algorithm>
#include <stdexcept>

namespace gridcast::testing {

Cluster::Cluster(ClusterOptions options) {
  TrainerServerOptions trainer_options;
  trainer_options.store_root = store_.path();
  trainer_options.listen_address = "127.0.0.1:0";
  trainer_options.metrics_listen_address = "127.0.0.1:0";
  if (options.configure_trainer) options.configure_trainer(&trainer_options);
  auto trainer = TrainerServer::Start(trainer_options);
  if (!trainer.ok()) throw std::runtime_error(trainer.status().ToString());
  trainer_ = *std::move(trainer);

  InferenceServerOptions inference_options;
  inference_options.store_root = store_.path();
  inference_options.listen_address = "127.0.0.1:0";
  inference_options.metrics_listen_address = "127.0.0.1:0";
  inference_options.bench_echo = options.bench_echo;
  inference_options.watcher.poll_interval = absl::Milliseconds(50);
  inference_options.watcher.start_thread = options.inference_polls;
  if (options.configure_inference) {
    options.configure_inference(&inference_options);
  }
  auto inference = InferenceServer::Start(inference_options);
  if (!inference.ok()) throw std::runtime_error(inference.status().ToString());
  inference_ = *std::move(inference);

  trainer_channel_ = grpc::CreateChannel(trainer_->address(),
                                         grpc::InsecureChannelCredentials());
  inference_channel_ = grpc::CreateChannel(inference_->address(),
                                           grpc::InsecureChannelCredentials());
  trainer_stub_ = v1::TrainerService::NewStub(trainer_channel_);
  forecaster_stub_ = v1::ForecasterService::NewStub(inference_channel_);
}

grpc::Status Cluster::Upload(const std::string& series_id, int64_t start_time,
                             const std::vector<double>& values,
                             v1::UploadHistoryResponse* response,
                             int chunk_points) {
  std::vector<v1::UploadHistoryRequest> chunks;
  for (size_t begin = 0; begin < values.size(); begin += chunk_points) {
    v1::UploadHistoryRequest chunk;
    if (begin == 0) {
      chunk.mutable_header()->set_series_id(series_id);
      chunk.mutable_header()->set_resolution_seconds(3600);
    }
    const size_t end = std::min(values.size(), begin + chunk_points);
    for (size_t i = begin; i < end; ++i) {
      chunk.add_timestamps(start_time + static_cast<int64_t>(i) * 3600);
      chunk.add_values(values[i]);
    }
    chunks.push_back(std::move(chunk));
  }
  return UploadChunks(chunks, response);
}

grpc::Status Cluster::UploadChunks(
    const std::vector<v1::UploadHistoryRequest>& chunks,
    v1::UploadHistoryResponse* response) {
  grpc::ClientContext context;
  auto writer = trainer_stub_->UploadHistory(&context, response);
  for (const auto& chunk : chunks) {
    if (!writer->Write(chunk)) break;
  }
  writer->WritesDone();
  return writer->Finish();
}

v1::TrainingJob Cluster::TrainAndWait(
    const v1::CreateTrainingJobRequest& request,
    std::vector<v1::EpochProgress>* epochs) {
  v1::CreateTrainingJobResponse created;
  {
    grpc::ClientContext context;
    const grpc::Status status =
        trainer_stub_->CreateTrainingJob(&context, request, &created);
    if (!status.ok()) {
      throw std::runtime_error("CreateTrainingJob: " + status.error_message());
    }
  }

  grpc::ClientContext context;
  v1::WatchTrainingJobRequest watch;
  watch.set_job_id(created.job().id());
  auto reader = trainer_stub_->WatchTrainingJob(&context, watch);
  v1::WatchTrainingJobResponse update;
  v1::TrainingJob last = created.job();
  while (reader->Read(&update)) {
    last = update.job();
    if (update.has_epoch() && epochs != nullptr) {
      epochs->push_back(update.epoch());
    }
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) {
    throw std::runtime_error("WatchTrainingJob: " + status.error_message());
  }
  return last;
}

bool Cluster::WaitForServedVersion(const std::string& model, int64_t version) {
  return WaitFor(
      [&] { return inference_->registry()->ServedVersion(model) >= version; },
      std::chrono::seconds(30));
}

v1::ForecastRequest Cluster::MakeForecastRequest(
    const std::string& model, int64_t start_time,
    const std::vector<double>& values, int window) {
  v1::ForecastRequest request;
  request.set_model(model);
  const int64_t first = static_cast<int64_t>(values.size()) - window;
  for (int64_t i = first; i < static_cast<int64_t>(values.size()); ++i) {
    request.mutable_history()->add_timestamps(start_time + i * 3600);
    request.mutable_history()->add_values(values[i]);
  }
  return request;
}

v1::CreateTrainingJobRequest QuickJob(const std::string& model,
                                      const std::string& dataset_id) {
  v1::CreateTrainingJobRequest request;
  request.set_model(model);
  request.add_dataset_ids(dataset_id);
  request.mutable_spec()->set_input_window(168);
  request.mutable_spec()->set_horizon(24);
  request.mutable_spec()->mutable_mlp()->add_hidden_sizes(64);
  request.mutable_options()->set_max_epochs(30);
  request.mutable_options()->set_learning_rate(3e-3);
  // These tests are about serving whatever was trained, even after two
  // epochs; the quality gate has tests of its own.
  request.mutable_options()->set_skip_quality_gate(true);
  return request;
}

}  // namespace gridcast::testing
