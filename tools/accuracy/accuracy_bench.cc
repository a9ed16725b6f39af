// The accuracy benchmark: ETTh1 through the real servers (upload, training
// job, Forecast and DetectAnomalies calls), scored with the protocol of the
// forecasting literature and printed beside the published numbers as
// Markdown tables. docs/accuracy.md holds a run's output and the command.
//
//   gridcast-accuracy-bench --data ../shared/data/ETTh1.csv
//
// Exits 0 without running anything when the data file is absent, so that
// a machine without ../shared/data skips cleanly.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/model/forecast_model.h"
#include "gridcast/v1/forecaster.grpc.pb.h"
#include "gridcast/v1/trainer.grpc.pb.h"
#include "inference/inference_server.h"
#include "tools/accuracy/etth1.h"
#include "tools/gridcastctl/svg_plot.h"
#include "trainer/trainer_server.h"

ABSL_FLAG(std::string, data, "../shared/data/ETTh1.csv",
          "Path of ETTh1.csv; absent means skip");
ABSL_FLAG(std::string, experiments,
          "univariate,multivariate,finetune,intervals,anomalies,plot",
          "Comma-separated experiments to run");
ABSL_FLAG(std::string, horizons, "96,192,336,720",
          "Horizons of the univariate and multivariate tables");
ABSL_FLAG(int, threads, 2, "LibTorch intra-op threads");
ABSL_FLAG(std::string, plot_csv, "",
          "Where to write the test week of the plot experiment (CSV)");
ABSL_FLAG(std::string, plot_svg, "",
          "Where to draw the test week of the plot experiment (SVG)");
ABSL_FLAG(int64_t, seed, 42, "Seed of training and of injected anomalies");
// Table 1 follows the published NLinear recipe by default: no calendar,
// no window scaling, Adam at 0.005 halved every epoch, at most 10 epochs.
// The band and anomaly experiments use gridcast's own recipe (LinearJob).
ABSL_FLAG(std::string, window_scaling, "none",
          "Window scaling of the table 1 models: instance or none");
ABSL_FLAG(double, learning_rate, 0.005, "Learning rate of the table 1 models");
ABSL_FLAG(double, learning_rate_decay, 0.5,
          "Per-epoch learning rate factor of the table 1 models");
ABSL_FLAG(int, max_epochs, 10, "Epoch budget of the table 1 models");
ABSL_FLAG(bool, calendar, false,
          "Whether the table 1 models read the calendar inputs");
ABSL_FLAG(std::string, lookback_members, "1,7",
          "Comma-separated spec.linear.lookback_members of the table 1 "
          "models: a row each, side by side");

namespace gridcast::accuracy {
namespace {

constexpr int kInputWindow = 336;
constexpr char kTarget[] = "OT";
const char* const kLoadColumns[] = {"HUFL", "HULL", "MUFL",
                                    "MULL", "LUFL", "LULL"};

// Published univariate (S) results from the data set's README: NLinear,
// the best at every horizon, and PatchTST/42.
struct Published {
  int horizon;
  double nlinear_mse, nlinear_mae, patchtst_mse, patchtst_mae;
};
const Published kPublished[] = {{96, .053, .177, .055, .179},
                                {192, .069, .204, .071, .205},
                                {336, .081, .226, .081, .225},
                                {720, .080, .226, .087, .232}};

// A trainer and an inference server in this process over a scratch store.
class Servers {
 public:
  Servers() {
    root_ = std::filesystem::temp_directory_path() /
            absl::StrCat("gridcast-accuracy-", getpid());
    std::filesystem::create_directories(root_);
    TrainerServerOptions trainer;
    trainer.store_root = root_.string();
    trainer.listen_address = "127.0.0.1:0";
    trainer_ = *TrainerServer::Start(trainer);
    InferenceServerOptions inference;
    inference.store_root = root_.string();
    inference.listen_address = "127.0.0.1:0";
    inference.watcher.poll_interval = absl::Milliseconds(100);
    inference_ = *InferenceServer::Start(inference);

    grpc::ChannelArguments arguments;
    arguments.SetMaxReceiveMessageSize(64 << 20);
    trainer_stub_ = v1::TrainerService::NewStub(grpc::CreateCustomChannel(
        trainer_->address(), grpc::InsecureChannelCredentials(), arguments));
    forecaster_stub_ = v1::ForecasterService::NewStub(grpc::CreateCustomChannel(
        inference_->address(), grpc::InsecureChannelCredentials(), arguments));
  }

  ~Servers() {
    inference_.reset();
    trainer_.reset();
    std::filesystem::remove_all(root_);
  }

  // Uploads rows [begin, end) of `values` with covariates over the same
  // rows; returns the dataset id.
  std::string Upload(const std::string& series_id, const Etth1& data,
                     const std::vector<double>& values, int begin, int end,
                     const std::vector<std::string>& covariates = {}) {
    v1::UploadHistoryRequest chunk;
    chunk.mutable_header()->set_series_id(series_id);
    chunk.mutable_header()->set_resolution_seconds(3600);
    for (const std::string& name : covariates) {
      chunk.mutable_header()->add_covariate_names(name);
      v1::Covariate* covariate = chunk.add_covariates();
      covariate->set_name(name);
      const auto& column = data.columns.at(name);
      covariate->mutable_values()->Add(column.begin() + begin,
                                       column.begin() + end);
    }
    chunk.mutable_timestamps()->Add(data.times.begin() + begin,
                                    data.times.begin() + end);
    chunk.mutable_values()->Add(values.begin() + begin, values.begin() + end);

    grpc::ClientContext context;
    v1::UploadHistoryResponse response;
    auto writer = trainer_stub_->UploadHistory(&context, &response);
    writer->Write(chunk);
    writer->WritesDone();
    Check(writer->Finish(), "UploadHistory");
    return response.dataset().id();
  }

  // Creates the job, follows it to its end and waits until inference
  // serves the version.
  v1::TrainingJob Train(const v1::CreateTrainingJobRequest& request) {
    const auto started = std::chrono::steady_clock::now();
    v1::CreateTrainingJobResponse created;
    {
      grpc::ClientContext context;
      Check(trainer_stub_->CreateTrainingJob(&context, request, &created),
            "CreateTrainingJob");
    }
    grpc::ClientContext context;
    v1::WatchTrainingJobRequest watch;
    watch.set_job_id(created.job().id());
    auto reader = trainer_stub_->WatchTrainingJob(&context, watch);
    v1::WatchTrainingJobResponse update;
    v1::TrainingJob job;
    last_epochs_.clear();
    while (reader->Read(&update)) {
      job = update.job();
      if (update.has_epoch()) last_epochs_.push_back(update.epoch());
    }
    Check(reader->Finish(), "WatchTrainingJob");
    if (job.state() != v1::JOB_STATE_SUCCEEDED) {
      std::cerr << "job " << job.id() << " ended " << job.state() << ": "
                << job.error() << "\n";
      std::exit(1);
    }
    while (inference_->registry()->ServedVersion(request.model()) <
           job.published_version()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    last_train_seconds_ = std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - started)
                              .count();
    return job;
  }

  v1::ForecastResponse Forecast(const v1::ForecastRequest& request) {
    grpc::ClientContext context;
    v1::ForecastResponse response;
    Check(forecaster_stub_->Forecast(&context, request, &response), "Forecast");
    return response;
  }

  v1::DetectAnomaliesResponse DetectAnomalies(
      const v1::DetectAnomaliesRequest& request) {
    grpc::ClientContext context;
    v1::DetectAnomaliesResponse response;
    Check(forecaster_stub_->DetectAnomalies(&context, request, &response),
          "DetectAnomalies");
    return response;
  }

  double last_train_seconds() const { return last_train_seconds_; }
  const std::vector<v1::EpochProgress>& last_epochs() const {
    return last_epochs_;
  }

 private:
  static void Check(const grpc::Status& status, const char* what) {
    if (status.ok()) return;
    std::cerr << what << " failed: " << status.error_message() << "\n";
    std::exit(1);
  }

  std::filesystem::path root_;
  std::unique_ptr<TrainerServer> trainer_;
  std::unique_ptr<InferenceServer> inference_;
  std::unique_ptr<v1::TrainerService::Stub> trainer_stub_;
  std::unique_ptr<v1::ForecasterService::Stub> forecaster_stub_;
  std::vector<v1::EpochProgress> last_epochs_;
  double last_train_seconds_ = 0;
};

// The protocol's split: the series is cut at 60 % and 80 %.
void UseProtocolSplit(v1::TrainingOptions* options) {
  options->set_validation_fraction(static_cast<double>(kValidationRows) /
                                   kUsedRows);
  options->set_test_fraction(static_cast<double>(kTestRows) / kUsedRows);
}

// NLinear with gridcast's own recipe: instance scaling and the calendar,
// Adam at 0.003, at most 20 epochs, batch 32, patience 3.
v1::CreateTrainingJobRequest LinearJob(const std::string& model,
                                       const std::string& dataset,
                                       int horizon) {
  v1::CreateTrainingJobRequest job;
  job.set_model(model);
  job.add_dataset_ids(dataset);
  job.mutable_spec()->set_input_window(kInputWindow);
  job.mutable_spec()->set_horizon(horizon);
  job.mutable_spec()->mutable_linear()->set_variant(
      v1::LinearSpec::VARIANT_LAST_VALUE);
  v1::TrainingOptions* options = job.mutable_options();
  options->set_batch_size(32);
  options->set_learning_rate(0.003);
  options->set_max_epochs(20);
  options->set_early_stopping_patience(3);
  options->set_seed(absl::GetFlag(FLAGS_seed));
  // The benchmark scores every model itself; the gate is reported, not
  // enforced.
  options->set_skip_quality_gate(true);
  UseProtocolSplit(options);
  return job;
}

// LinearJob with the recipe of table 1, from the flags.
v1::CreateTrainingJobRequest TableOneJob(const std::string& model,
                                         const std::string& dataset,
                                         int horizon) {
  v1::CreateTrainingJobRequest job = LinearJob(model, dataset, horizon);
  job.mutable_spec()->set_skip_calendar(!absl::GetFlag(FLAGS_calendar));
  if (absl::GetFlag(FLAGS_window_scaling) == "none") {
    job.mutable_spec()->set_window_scaling(v1::WINDOW_SCALING_NONE);
  }
  v1::TrainingOptions* options = job.mutable_options();
  options->set_learning_rate(absl::GetFlag(FLAGS_learning_rate));
  options->set_learning_rate_decay(absl::GetFlag(FLAGS_learning_rate_decay));
  options->set_max_epochs(absl::GetFlag(FLAGS_max_epochs));
  return job;
}

// A forecast request for the window ending just before row `origin`.
v1::ForecastRequest WindowRequest(const std::string& model, const Etth1& data,
                                  const std::vector<double>& values, int origin,
                                  int window,
                                  const std::vector<std::string>& covariates) {
  v1::ForecastRequest request;
  request.set_model(model);
  auto* history = request.mutable_history();
  history->mutable_timestamps()->Add(data.times.begin() + origin - window,
                                     data.times.begin() + origin);
  history->mutable_values()->Add(values.begin() + origin - window,
                                 values.begin() + origin);
  for (const std::string& name : covariates) {
    v1::Covariate* covariate = request.add_covariates();
    covariate->set_name(name);
    const auto& column = data.columns.at(name);
    covariate->mutable_values()->Add(column.begin() + origin - window,
                                     column.begin() + origin);
  }
  return request;
}

struct Scores {
  double mse = 0, mae = 0;
  // Share of actuals inside the outermost band, when there are bands.
  double coverage = 0;
  int64_t windows = 0, points = 0;
};

// Every test window of the protocol (stride 1), on the z-scored scale.
Scores ScoreTestWindows(Servers& servers, const std::string& model,
                        const Etth1& data, const std::vector<double>& values,
                        int window, int horizon,
                        const std::vector<std::string>& covariates) {
  const ZScore z = TrainingZScore(values);
  Scores scores;
  int64_t inside = 0;
  for (int origin = kTestStart; origin + horizon <= kUsedRows; ++origin) {
    const v1::ForecastResponse response = servers.Forecast(
        WindowRequest(model, data, values, origin, window, covariates));
    const int bands = response.quantiles_size();
    for (int h = 0; h < horizon; ++h) {
      const double actual = values[origin + h];
      const double error = z(response.values(h)) - z(actual);
      scores.mse += error * error;
      scores.mae += std::abs(error);
      if (bands >= 2 && actual >= response.quantiles(0).values(h) &&
          actual <= response.quantiles(bands - 1).values(h)) {
        ++inside;
      }
    }
    ++scores.windows;
    scores.points += horizon;
  }
  scores.mse /= scores.points;
  scores.mae /= scores.points;
  scores.coverage = static_cast<double>(inside) / scores.points;
  return scores;
}

std::vector<int> IntList(const std::string& text) {
  std::vector<int> numbers;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int number;
    if (absl::SimpleAtoi(part, &number)) numbers.push_back(number);
  }
  return numbers;
}

std::vector<int> Horizons() { return IntList(absl::GetFlag(FLAGS_horizons)); }

const Published* PublishedFor(int horizon) {
  for (const Published& row : kPublished) {
    if (row.horizon == horizon) return &row;
  }
  return nullptr;
}

// One row of tables 1 and 2: train, then score every test window.
void RunProtocolRow(Servers& servers, const Etth1& data,
                    const std::string& dataset,
                    const std::vector<std::string>& covariates, int horizon,
                    int members) {
  const std::vector<double>& target = data.columns.at(kTarget);
  const std::string model = absl::StrCat(
      covariates.empty() ? "etth1-s-" : "etth1-ms-", horizon, "-", members);
  v1::CreateTrainingJobRequest job = TableOneJob(model, dataset, horizon);
  job.mutable_spec()->mutable_linear()->set_lookback_members(members);
  for (const std::string& name : covariates) {
    job.mutable_spec()->add_covariates()->set_name(name);
  }
  servers.Train(job);
  const Scores scores = ScoreTestWindows(servers, model, data, target,
                                         kInputWindow, horizon, covariates);
  const Published* published = PublishedFor(horizon);
  const double best =
      published ? std::min(published->nlinear_mse, published->patchtst_mse) : 0;
  std::cout
      << absl::StrFormat(
             "| %d | %d | %.4f | %.4f | %s | %s | %s | %s | %d | %.0f "
             "|",
             horizon, members, scores.mse, scores.mae,
             published ? absl::StrFormat("%.3f", published->nlinear_mse) : "-",
             published ? absl::StrFormat("%.3f", published->nlinear_mae) : "-",
             published ? absl::StrFormat("%.3f", published->patchtst_mse) : "-",
             published ? (scores.mse < best ? "yes" : "no") : "-",
             scores.windows, servers.last_train_seconds())
      << std::endl;
}

// Tables 1 and 2: S (OT alone) and MS (all seven columns in, OT out).
void RunProtocolTable(Servers& servers, const Etth1& data, bool multivariate) {
  const std::vector<double>& target = data.columns.at(kTarget);
  std::vector<std::string> covariates;
  if (multivariate) {
    for (const char* name : kLoadColumns) covariates.push_back(name);
  }
  const std::string dataset =
      servers.Upload(multivariate ? "etth1-ms" : "etth1-s", data, target, 0,
                     kUsedRows, covariates);

  std::cout << "\n### ETTh1 " << (multivariate ? "MS" : "S")
            << " (input 336, z-scored, " << kTestRows
            << " test rows, stride 1)\n\n"
            << "| horizon | lookback members | gridcast MSE | gridcast MAE "
               "| NLinear MSE | NLinear MAE | PatchTST/42 MSE | beats best "
               "MSE | test windows | train s |\n"
            << "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
               "|\n";
  for (int horizon : Horizons()) {
    for (int members : IntList(absl::GetFlag(FLAGS_lookback_members))) {
      RunProtocolRow(servers, data, dataset, covariates, horizon, members);
    }
  }
}

// Table 3: a global model on the six load columns, fine-tuned on one
// column's last 8 weeks, against the same network trained from scratch on
// those 8 weeks. Day-ahead: input one week, horizon one day.
void RunFineTuning(Servers& servers, const Etth1& data) {
  constexpr int kWindow = 168, kHorizon = 24, kWeeks = 8;
  constexpr char kFeeder[] = "HUFL";
  const int recent_begin = kTestStart - kWeeks * 168;

  v1::CreateTrainingJobRequest global;
  global.set_model("etth1-global");
  for (const char* name : kLoadColumns) {
    global.add_dataset_ids(servers.Upload(absl::StrCat("etth1-", name), data,
                                          data.columns.at(name), 0,
                                          kTestStart));
  }
  v1::ArchitectureSpec spec;
  spec.set_input_window(kWindow);
  spec.set_horizon(kHorizon);
  spec.mutable_residual_stack()->set_blocks(3);
  spec.mutable_residual_stack()->set_hidden_size(256);
  *global.mutable_spec() = spec;
  v1::TrainingOptions* options = global.mutable_options();
  options->set_max_epochs(15);
  options->set_batch_size(64);
  options->set_learning_rate(1e-3);
  options->set_early_stopping_patience(3);
  options->set_seed(absl::GetFlag(FLAGS_seed));
  options->set_skip_quality_gate(true);
  options->set_test_fraction(0.05);
  options->set_validation_fraction(0.1);
  servers.Train(global);
  const double global_seconds = servers.last_train_seconds();

  const std::vector<double>& feeder = data.columns.at(kFeeder);
  const std::string recent = servers.Upload("etth1-hufl-recent", data, feeder,
                                            recent_begin, kTestStart);
  v1::CreateTrainingJobRequest tune;
  tune.set_model("etth1-global");
  tune.add_dataset_ids(recent);
  tune.mutable_base()->set_name("etth1-global");
  *tune.mutable_options() = global.options();
  tune.mutable_options()->set_learning_rate(2e-4);
  tune.mutable_options()->set_max_epochs(10);
  tune.mutable_options()->set_test_fraction(0.1);
  tune.mutable_options()->set_validation_fraction(0.1);
  const v1::TrainingJob tuned = servers.Train(tune);
  const double tune_seconds = servers.last_train_seconds();

  v1::CreateTrainingJobRequest scratch = tune;
  scratch.set_model("etth1-scratch");
  scratch.clear_base();
  *scratch.mutable_spec() = spec;
  scratch.mutable_options()->set_learning_rate(1e-3);
  scratch.mutable_options()->set_max_epochs(30);
  servers.Train(scratch);
  const double scratch_seconds = servers.last_train_seconds();

  const Scores from_global = ScoreTestWindows(servers, "etth1-global", data,
                                              feeder, kWindow, kHorizon, {});
  const Scores from_scratch = ScoreTestWindows(servers, "etth1-scratch", data,
                                               feeder, kWindow, kHorizon, {});
  std::cout << "\n### Fine-tuning (" << kFeeder << ", last " << kWeeks
            << " weeks of training history, input 168, horizon 24, "
               "z-scored test rows)\n\n"
            << "| model | MAE | MSE | train s |\n| --- | --- | --- | --- |\n"
            << absl::StrFormat(
                   "| global on six columns, fine-tuned (version %d) | "
                   "%.4f | %.4f | %.0f + %.0f |\n",
                   tuned.published_version(), from_global.mae, from_global.mse,
                   global_seconds, tune_seconds)
            << absl::StrFormat(
                   "| from scratch on the 8 weeks | %.4f | %.4f | %.0f |\n",
                   from_scratch.mae, from_scratch.mse, scratch_seconds)
            << absl::StrFormat(
                   "\nFine-tuned MAE is %.1f %% lower (target: at least "
                   "10 %%).\n",
                   100 * (1 - from_global.mae / from_scratch.mae))
            << std::flush;
}

v1::CreateTrainingJobRequest BandJob(const std::string& model,
                                     const std::string& dataset, int horizon,
                                     std::vector<double> levels) {
  v1::CreateTrainingJobRequest job = LinearJob(model, dataset, horizon);
  for (double level : levels) job.mutable_spec()->add_quantiles(level);
  return job;
}

// Table 4: coverage of the 80 % band on the test windows, with the
// levels calibrated on the validation split and as the network gives
// them (the same weights: one seed, one data set).
void RunIntervals(Servers& servers, const Etth1& data) {
  const std::vector<double>& target = data.columns.at(kTarget);
  const std::string dataset =
      servers.Upload("etth1-bands", data, target, 0, kUsedRows);
  std::cout << "\n### Intervals (OT, input 336, 10 %-90 % band)\n\n"
            << "| horizon | levels | observed coverage (test) | coverage on "
               "the job's own tail | factors 0.1 / 0.9 | point MSE |\n"
               "| --- | --- | --- | --- | --- | --- |\n";
  for (int horizon : {24, 96}) {
    for (const bool calibrated : {true, false}) {
      const std::string model = absl::StrCat("etth1-bands-", horizon,
                                             calibrated ? "" : "-as-trained");
      v1::CreateTrainingJobRequest request =
          BandJob(model, dataset, horizon, {0.1, 0.5, 0.9});
      request.mutable_options()->set_skip_interval_calibration(!calibrated);
      const v1::TrainingJob job = servers.Train(request);
      const Scores scores = ScoreTestWindows(servers, model, data, target,
                                             kInputWindow, horizon, {});
      const v1::Evaluation& evaluation = job.evaluation();
      const double tail_coverage =
          evaluation.intervals_size() > 0
              ? evaluation.intervals(0).observed_coverage()
              : 0;
      const std::string factors =
          evaluation.quantiles_size() == 3
              ? absl::StrFormat("%.3f / %.3f",
                                evaluation.quantiles(0).calibration_scale(),
                                evaluation.quantiles(2).calibration_scale())
              : "-";
      std::cout << absl::StrFormat(
                       "| %d | %s | %.1f %% | %.1f %% | %s | %.4f |\n", horizon,
                       calibrated ? "calibrated" : "as trained",
                       100 * scores.coverage, 100 * tail_coverage, factors,
                       scores.mse)
                << std::flush;
    }
  }
}

// Table 5: anomalies injected into the test rows, scored point by point.
void RunAnomalies(Servers& servers, const Etth1& data) {
  constexpr int kHorizon = 24;
  std::vector<double> target = data.columns.at(kTarget);
  const std::string dataset =
      servers.Upload("etth1-watch", data, target, 0, kUsedRows);
  servers.Train(BandJob("etth1-watch", dataset, kHorizon, {0.01, 0.5, 0.99}));

  // Injected into the test rows: spikes and drops of 1 to 3 training
  // standard deviations, stuck meters of 6 to 12 hours, single gaps.
  const ZScore z = TrainingZScore(target);
  std::mt19937 random(static_cast<uint32_t>(absl::GetFlag(FLAGS_seed)));
  std::uniform_int_distribution<int> where(kTestStart + 24, kUsedRows - 24);
  std::uniform_real_distribution<double> size(1.0, 3.0);
  std::uniform_int_distribution<int> length(6, 12);
  std::vector<int> truth(kUsedRows, v1::ANOMALY_KIND_NONE);
  const auto free_at = [&](int begin, int end) {
    for (int i = begin - 2; i < end + 2; ++i) {
      if (truth[i] != v1::ANOMALY_KIND_NONE) return false;
    }
    return true;
  };
  std::map<int, int> injected;
  for (int kind : {v1::ANOMALY_KIND_SPIKE, v1::ANOMALY_KIND_DROP,
                   v1::ANOMALY_KIND_FLAT_LINE, v1::ANOMALY_KIND_MISSING_DATA}) {
    for (int n = 0; n < 15;) {
      const int at = where(random);
      const int points =
          kind == v1::ANOMALY_KIND_FLAT_LINE ? length(random) : 1;
      if (!free_at(at, at + points)) continue;
      for (int i = at; i < at + points; ++i) {
        truth[i] = kind;
        if (kind == v1::ANOMALY_KIND_SPIKE)
          target[i] += size(random) * z.stddev;
        if (kind == v1::ANOMALY_KIND_DROP) target[i] -= size(random) * z.stddev;
        if (kind == v1::ANOMALY_KIND_FLAT_LINE) target[i] = target[at - 1];
        if (kind == v1::ANOMALY_KIND_MISSING_DATA) target[i] = std::nan("");
      }
      ++injected[kind];
      ++n;
    }
  }
  // A stuck meter repeats the value before it, which the run includes.
  for (int i = kTestStart; i < kUsedRows; ++i) {
    if (truth[i] == v1::ANOMALY_KIND_FLAT_LINE &&
        truth[i - 1] == v1::ANOMALY_KIND_NONE) {
      truth[i - 1] = v1::ANOMALY_KIND_FLAT_LINE;
    }
  }

  v1::DetectAnomaliesRequest request;
  request.set_model("etth1-watch");
  request.set_score_points(kTestRows);
  request.mutable_history()->mutable_timestamps()->Add(
      data.times.begin() + kTestStart - kInputWindow, data.times.end());
  request.mutable_history()->mutable_values()->Add(
      target.begin() + kTestStart - kInputWindow, target.end());
  const v1::DetectAnomaliesResponse response = servers.DetectAnomalies(request);

  std::map<int, int> true_positive, flagged, present;
  for (int i = 0; i < kTestRows; ++i) {
    const int actual = truth[kTestStart + i];
    const int found = response.kinds(i);
    if (actual != v1::ANOMALY_KIND_NONE) ++present[actual];
    if (found != v1::ANOMALY_KIND_NONE) ++flagged[found];
    if (found != v1::ANOMALY_KIND_NONE && found == actual) {
      ++true_positive[actual];
    }
  }
  std::cout << "\n### Anomalies (OT test rows, 1 %-99 % band, day-ahead "
               "blocks, points)\n\n"
            << "| kind | injected events | anomalous points | flagged | "
               "precision | recall |\n| --- | --- | --- | --- | --- | --- |\n";
  for (int kind : {v1::ANOMALY_KIND_SPIKE, v1::ANOMALY_KIND_DROP,
                   v1::ANOMALY_KIND_FLAT_LINE, v1::ANOMALY_KIND_MISSING_DATA}) {
    const double precision =
        flagged[kind] ? static_cast<double>(true_positive[kind]) / flagged[kind]
                      : 0;
    const double recall =
        present[kind] ? static_cast<double>(true_positive[kind]) / present[kind]
                      : 0;
    std::cout << absl::StrFormat(
        "| %s | %d | %d | %d | %.2f | %.2f |\n",
        v1::AnomalyKind_Name(static_cast<v1::AnomalyKind>(kind)).substr(13),
        injected[kind], present[kind], flagged[kind], precision, recall);
  }
  std::cout << std::flush;
}

// Three days of history, then seven day-ahead forecasts with their 80 %
// band over the last full week of the test split, each from the actuals
// before its midnight, beside those actuals.
void RunPlotData(Servers& servers, const Etth1& data) {
  const std::string csv_path = absl::GetFlag(FLAGS_plot_csv);
  const std::string svg_path = absl::GetFlag(FLAGS_plot_svg);
  if (csv_path.empty() && svg_path.empty()) return;
  const std::vector<double>& target = data.columns.at(kTarget);
  const std::string dataset =
      servers.Upload("etth1-plot", data, target, 0, kUsedRows);
  servers.Train(BandJob("etth1-plot", dataset, 24, {0.1, 0.5, 0.9}));

  // The last midnight that leaves a week of test rows.
  int week_start = kUsedRows - 7 * 24;
  while ((data.times[week_start] % 86400) != 0) --week_start;

  ctl::ForecastPlot plot;
  plot.title =
      "ETTh1 oil temperature (OT): a test week of day-ahead "
      "forecasts with their 10-90 % band";
  plot.value_label = "OT";
  ctl::PlotBand band;
  band.lower_quantile = 0.1;
  band.upper_quantile = 0.9;
  for (int i = week_start - 72; i < week_start; ++i) {
    plot.history.timestamps.push_back(data.times[i]);
    plot.history.values.push_back(target[i]);
  }
  for (int day = 0; day < 7; ++day) {
    const int origin = week_start + 24 * day;
    const v1::ForecastResponse response = servers.Forecast(
        WindowRequest("etth1-plot", data, target, origin, kInputWindow, {}));
    for (int h = 0; h < 24 && origin + h < kUsedRows; ++h) {
      plot.forecast.timestamps.push_back(data.times[origin + h]);
      plot.forecast.values.push_back(response.values(h));
      plot.actuals.timestamps.push_back(data.times[origin + h]);
      plot.actuals.values.push_back(target[origin + h]);
      band.lower.push_back(response.quantiles(0).values(h));
      band.upper.push_back(response.quantiles(2).values(h));
    }
  }
  plot.bands.push_back(band);

  if (!csv_path.empty()) {
    std::ofstream out(csv_path);
    out << "time,actual,forecast,lower,upper\n";
    for (size_t i = 0; i < plot.history.values.size(); ++i) {
      out << plot.history.timestamps[i] << "," << plot.history.values[i]
          << ",,,\n";
    }
    for (size_t i = 0; i < plot.forecast.values.size(); ++i) {
      out << plot.forecast.timestamps[i] << "," << plot.actuals.values[i] << ","
          << plot.forecast.values[i] << "," << band.lower[i] << ","
          << band.upper[i] << "\n";
    }
    std::cout << "\nwrote the plot's data to " << csv_path << "\n";
  }
  if (!svg_path.empty()) {
    std::ofstream(svg_path) << ctl::RenderForecastSvg(plot);
    std::cout << "\ndrew the plot to " << svg_path << "\n";
  }
}

// The trainer's half of the training-speed comparison: the perceptron of
// tools/accuracy/train_speed.py (input 336, horizon 96, hidden 256-256,
// batch 64) for three epochs. Prints samples per second of the epochs as
// the trainer timed them (training pass plus validation forward).
void RunSpeed(Servers& servers, const Etth1& data) {
  constexpr int kHorizon = 96, kEpochs = 3;
  const std::string dataset = servers.Upload(
      "etth1-speed", data, data.columns.at(kTarget), 0, kUsedRows);
  v1::CreateTrainingJobRequest job;
  job.set_model("etth1-speed");
  job.add_dataset_ids(dataset);
  job.mutable_spec()->set_input_window(kInputWindow);
  job.mutable_spec()->set_horizon(kHorizon);
  job.mutable_spec()->mutable_mlp()->add_hidden_sizes(256);
  job.mutable_spec()->mutable_mlp()->add_hidden_sizes(256);
  v1::TrainingOptions* options = job.mutable_options();
  options->set_max_epochs(kEpochs);
  options->set_early_stopping_patience(kEpochs);
  options->set_batch_size(64);
  options->set_skip_quality_gate(true);
  UseProtocolSplit(options);
  servers.Train(job);

  double seconds = 0;
  for (const auto& epoch : servers.last_epochs()) seconds += epoch.seconds();
  const int train_windows = kTrainRows - kInputWindow - kHorizon + 1;
  std::cout << absl::StrFormat(
      "gridcast-trainer threads=%d samples_per_second=%.0f\n",
      absl::GetFlag(FLAGS_threads),
      train_windows * servers.last_epochs().size() / seconds);
}

int Main(int argc, char** argv) {
  UsePassiveOpenMpWaits(argv);
  absl::ParseCommandLine(argc, argv);
  SetMinLogLevel(LogLevel::kWarning);
  ConfigureTorchThreads(absl::GetFlag(FLAGS_threads));
  const absl::StatusOr<Etth1> data = ReadEtth1(absl::GetFlag(FLAGS_data));
  if (absl::IsNotFound(data.status())) {
    std::cout << "skipped: " << data.status().message() << "\n";
    return 0;
  }
  if (!data.ok()) {
    std::cerr << data.status() << "\n";
    return 1;
  }

  const std::vector<std::string> experiments =
      absl::StrSplit(absl::GetFlag(FLAGS_experiments), ',');
  const auto wanted = [&](const char* name) {
    return std::find(experiments.begin(), experiments.end(), name) !=
           experiments.end();
  };
  Servers servers;
  const auto started = std::chrono::steady_clock::now();
  if (wanted("univariate")) RunProtocolTable(servers, *data, false);
  if (wanted("multivariate")) RunProtocolTable(servers, *data, true);
  if (wanted("finetune")) RunFineTuning(servers, *data);
  if (wanted("intervals")) RunIntervals(servers, *data);
  if (wanted("anomalies")) RunAnomalies(servers, *data);
  if (wanted("plot")) RunPlotData(servers, *data);
  if (wanted("speed")) RunSpeed(servers, *data);
  std::cout << absl::StrFormat(
      "\n(%.0f s in all, %d LibTorch threads)\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count(),
      absl::GetFlag(FLAGS_threads));
  return 0;
}

}  // namespace
}  // namespace gridcast::accuracy

int main(int argc, char** argv) { return gridcast::accuracy::Main(argc, argv); }
