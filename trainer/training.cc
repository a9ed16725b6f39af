#include "trainer/training.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <torch/torch.h>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/model/architecture.h"
#include "common/model/features.h"
#include "common/model/forecast_model.h"
#include "common/model/networks.h"
#include "common/status_macros.h"
#include "trainer/evaluation.h"
#include "trainer/fit_checkpoint.h"

namespace gridcast {
namespace {

constexpr int kDefaultMaxEpochs = 50;
constexpr int kDefaultBatchSize = 64;
constexpr double kDefaultLearningRate = 1e-3;
constexpr int kDefaultPatience = 5;
constexpr int64_t kDefaultSeed = 42;
constexpr double kDefaultTailFraction = 0.1;
constexpr int64_t kSecondsPerDay = 86400;

// Windows evaluated per forward pass when scoring, to bound memory.
constexpr int64_t kEvaluationBatch = 1024;

absl::Status CheckOption(bool valid, const char* field, double value,
                         const char* rule) {
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("options.%s=%g %s", field, value, rule));
}

// One window of one series: its first forecast point is values[origin].
struct WindowRef {
  int series = 0;
  int64_t origin = 0;
};

// The origins whose targets lie in [begin, end) and whose inputs exist.
void AddWindows(int series, int64_t begin, int64_t end, int input_window,
                int horizon, std::vector<WindowRef>* windows) {
  for (int64_t origin = std::max<int64_t>(begin, input_window);
       origin + horizon <= end; ++origin) {
    windows->push_back({series, origin});
  }
}

struct WindowTensors {
  torch::Tensor features;  // [windows, FeatureCount(input_window)]
  torch::Tensor targets;   // [windows, horizon], normalised
};

WindowTensors MakeTensors(const std::vector<store::v1::StoredSeries>& series,
                          const std::vector<WindowRef>& windows,
                          int input_window, int horizon,
                          const store::v1::Normalisation& normalisation) {
  const int64_t count = static_cast<int64_t>(windows.size());
  const int features = FeatureCount(input_window);
  WindowTensors tensors{torch::empty({count, features}, torch::kFloat32),
                        torch::empty({count, horizon}, torch::kFloat32)};
  float* feature_data = tensors.features.data_ptr<float>();
  float* target_data = tensors.targets.data_ptr<float>();

  for (int64_t i = 0; i < count; ++i) {
    const store::v1::StoredSeries& source = series[windows[i].series];
    const double* values = source.values().data();
    const int64_t origin = windows[i].origin;
    const int64_t first_time = source.dataset().start_time() +
                               origin * source.dataset().resolution_seconds();

    BuildFeatures(values + origin - input_window, input_window, first_time,
                  normalisation, feature_data + i * features);
    for (int h = 0; h < horizon; ++h) {
      target_data[i * horizon + h] = static_cast<float>(
          (values[origin + h] - normalisation.mean()) / normalisation.stddev());
    }
  }
  return tensors;
}

// Mean and standard deviation over the training parts of every series.
absl::StatusOr<store::v1::Normalisation> FitNormalisation(
    const std::vector<store::v1::StoredSeries>& series,
    const std::vector<SeriesSplit>& splits) {
  double sum = 0, squares = 0;
  int64_t count = 0;
  for (size_t s = 0; s < series.size(); ++s) {
    for (int64_t i = 0; i < splits[s].validation_start; ++i) {
      const double value = series[s].values(i);
      sum += value;
      squares += value * value;
      ++count;
    }
  }
  const double mean = sum / count;
  const double variance = std::max(0.0, squares / count - mean * mean);

  store::v1::Normalisation normalisation;
  normalisation.set_mean(mean);
  // A flat history still gets a usable scale; the network then learns
  // offsets from that level.
  normalisation.set_stddev(variance > 1e-12 ? std::sqrt(variance)
                                            : std::max(1.0, std::abs(mean)));
  return normalisation;
}

double MeanLoss(ForecastNetworkImpl& network, const WindowTensors& data) {
  torch::NoGradGuard no_grad;
  network.eval();
  const torch::Tensor loss =
      torch::mse_loss(network.forward(data.features), data.targets);
  return loss.item<double>();
}

// Copies of every parameter, to restore the best epoch at the end.
std::vector<torch::Tensor> Snapshot(ForecastNetworkImpl& network) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> copies;
  for (const torch::Tensor& parameter : network.parameters()) {
    copies.push_back(parameter.detach().clone());
  }
  return copies;
}

void Restore(ForecastNetworkImpl& network,
             const std::vector<torch::Tensor>& copies) {
  torch::NoGradGuard no_grad;
  auto parameters = network.parameters();
  for (size_t i = 0; i < parameters.size(); ++i) {
    parameters[i].copy_(copies[i]);
  }
}

struct FitResult {
  int epochs_run = 0;
  bool cancelled = false;
  // Not OK when the checkpoint to resume from does not load.
  absl::Status status;
};

// Adam on MSE with early stopping on the validation windows; leaves the
// network holding the parameters of its best validation epoch.
FitResult Fit(ForecastNetworkImpl& network, const WindowTensors& train,
              const WindowTensors& validation,
              const v1::TrainingOptions& options, at::Generator& generator,
              const TrainingCallbacks& callbacks,
              const TrainingCheckpoint* resume, const std::string& job_id) {
  torch::optim::Adam optimizer(
      network.parameters(), torch::optim::AdamOptions(options.learning_rate()));
  const int64_t count = train.features.size(0);

  double best_loss = MeanLoss(network, validation);
  std::vector<torch::Tensor> best = Snapshot(network);
  int epochs_since_best = 0;
  FitResult result;
  const FitState state{&network, &optimizer, &generator,
                       &best,    &best_loss, &epochs_since_best};
  if (resume != nullptr) {
    result.status = RestoreFitState(resume->state, state);
    if (!result.status.ok()) return result;
    result.epochs_run = resume->epoch;
  }

  for (int epoch = result.epochs_run + 1; epoch <= options.max_epochs();
       ++epoch) {
    const auto started = std::chrono::steady_clock::now();
    network.train();
    const torch::Tensor order = torch::randperm(count, generator, torch::kLong);
    double loss_sum = 0;

    for (int64_t begin = 0; begin < count; begin += options.batch_size()) {
      if (callbacks.cancelled && callbacks.cancelled()) {
        result.cancelled = true;
        return result;
      }
      const int64_t end = std::min(count, begin + options.batch_size());
      const torch::Tensor batch = order.slice(/*dim=*/0, begin, end);
      optimizer.zero_grad();
      const torch::Tensor loss = torch::mse_loss(
          network.forward(train.features.index_select(0, batch)),
          train.targets.index_select(0, batch));
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>() * (end - begin);
    }

    const double validation_loss = MeanLoss(network, validation);
    const bool improved = validation_loss < best_loss;
    if (improved) {
      best_loss = validation_loss;
      best = Snapshot(network);
      epochs_since_best = 0;
    } else {
      ++epochs_since_best;
    }
    result.epochs_run = epoch;

    v1::EpochProgress progress;
    progress.set_epoch(epoch);
    progress.set_train_loss(loss_sum / count);
    progress.set_validation_loss(validation_loss);
    progress.set_improved(improved);
    progress.set_seconds(std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - started)
                             .count());
    if (callbacks.on_epoch) callbacks.on_epoch(progress);

    if (epochs_since_best >= options.early_stopping_patience()) break;
    OfferCheckpoint(epoch, state, callbacks.on_checkpoint, job_id);
  }
  Restore(network, best);
  return result;
}

// Scores the network and seasonal naive on every test window, in load
// units.
v1::Evaluation Evaluate(ForecastNetworkImpl& network,
                        const std::vector<store::v1::StoredSeries>& series,
                        const std::vector<SeriesSplit>& splits,
                        const v1::ArchitectureSpec& spec,
                        const store::v1::Normalisation& normalisation,
                        int season_points) {
  const int window = spec.input_window();
  const int horizon = spec.horizon();
  ErrorAccumulator model_errors, naive_errors;
  v1::Evaluation evaluation;
  evaluation.set_season_points(season_points);

  for (size_t s = 0; s < series.size(); ++s) {
    std::vector<WindowRef> windows;
    AddWindows(static_cast<int>(s),
               std::max<int64_t>(splits[s].test_start, season_points),
               splits[s].points, window, horizon, &windows);
    const std::vector<double> values(series[s].values().begin(),
                                     series[s].values().end());

    for (size_t begin = 0; begin < windows.size(); begin += kEvaluationBatch) {
      const size_t end = std::min(windows.size(), begin + kEvaluationBatch);
      const std::vector<WindowRef> part(windows.begin() + begin,
                                        windows.begin() + end);
      const WindowTensors tensors =
          MakeTensors(series, part, window, horizon, normalisation);
      torch::Tensor output;
      {
        torch::NoGradGuard no_grad;
        network.eval();
        output = network.forward(tensors.features).contiguous();
      }
      const float* predicted = output.data_ptr<float>();

      for (size_t w = 0; w < part.size(); ++w) {
        const int64_t origin = part[w].origin;
        const std::vector<double> naive =
            SeasonalNaiveForecast(values, origin, horizon, season_points);
        for (int h = 0; h < horizon; ++h) {
          const double actual = values[origin + h];
          model_errors.Add(
              actual, Denormalise(predicted[w * horizon + h], normalisation));
          naive_errors.Add(actual, naive[h]);
        }
        model_errors.EndWindow();
        naive_errors.EndWindow();
      }
    }
    const auto& dataset = series[s].dataset();
    const int64_t tail_start =
        dataset.start_time() +
        splits[s].test_start * dataset.resolution_seconds();
    evaluation.set_tail_start_time(
        s == 0 ? tail_start
               : std::min(evaluation.tail_start_time(), tail_start));
    evaluation.set_tail_end_time(
        std::max(evaluation.tail_end_time(), dataset.end_time()));
  }

  *evaluation.mutable_model() = model_errors.Finish();
  *evaluation.mutable_seasonal_naive() = naive_errors.Finish();
  evaluation.set_beats_baseline(evaluation.model().mae() <
                                evaluation.seasonal_naive().mae());
  return evaluation;
}

// A network with the base's weights when fine-tuning, else fresh weights
// drawn from `generator`, which also drives its dropout.
absl::StatusOr<std::shared_ptr<ForecastNetworkImpl>> PrepareNetwork(
    const TrainingInput& input, const v1::ArchitectureSpec& spec,
    at::Generator& generator) {
  GC_ASSIGN_OR_RETURN(std::shared_ptr<ForecastNetworkImpl> network,
                      BuildNetwork(spec));
  if (input.base != nullptr) {
    GC_RETURN_IF_ERROR(LoadWeights(input.base->weights, network.get()));
  } else {
    network->ResetParameters(generator);
  }
  network->set_generator(generator);
  return network;
}

store::v1::Manifest DescribeResult(const TrainingInput& input,
                                   const v1::ArchitectureSpec& spec,
                                   const store::v1::Normalisation& norm,
                                   const v1::Evaluation& evaluation) {
  store::v1::Manifest manifest;
  manifest.set_format_version(1);
  manifest.set_model(input.model);
  *manifest.mutable_spec() = spec;
  *manifest.mutable_normalisation() = norm;
  for (const std::string& name : FeatureNames(spec.input_window())) {
    manifest.add_features(name);
  }
  manifest.set_resolution_seconds(
      input.series.front().dataset().resolution_seconds());
  *manifest.mutable_evaluation() = evaluation;
  v1::Lineage* lineage = manifest.mutable_lineage();
  for (const auto& series : input.series) {
    lineage->add_dataset_ids(series.dataset().id());
  }
  if (input.base != nullptr) *lineage->mutable_parent() = input.base_ref;
  lineage->set_job_id(input.job_id);
  manifest.set_create_time(absl::ToUnixSeconds(absl::Now()));
  manifest.set_torch_version(TorchVersion());
  return manifest;
}

}  // namespace

absl::Status ResolveTrainingOptions(int64_t resolution_seconds,
                                    v1::TrainingOptions* options) {
  if (options->max_epochs() == 0) options->set_max_epochs(kDefaultMaxEpochs);
  if (options->batch_size() == 0) options->set_batch_size(kDefaultBatchSize);
  if (options->learning_rate() == 0) {
    options->set_learning_rate(kDefaultLearningRate);
  }
  if (options->early_stopping_patience() == 0) {
    options->set_early_stopping_patience(kDefaultPatience);
  }
  if (options->seed() == 0) options->set_seed(kDefaultSeed);
  if (options->test_fraction() == 0) {
    options->set_test_fraction(kDefaultTailFraction);
  }
  if (options->validation_fraction() == 0) {
    options->set_validation_fraction(kDefaultTailFraction);
  }
  if (options->season_points() == 0 && resolution_seconds > 0) {
    options->set_season_points(static_cast<int32_t>(
        std::max<int64_t>(1, kSecondsPerDay / resolution_seconds)));
  }

  const auto& o = *options;
  GC_RETURN_IF_ERROR(CheckOption(o.max_epochs() >= 1 && o.max_epochs() <= 10000,
                                 "max_epochs", o.max_epochs(),
                                 "must be between 1 and 10000"));
  GC_RETURN_IF_ERROR(CheckOption(o.batch_size() >= 1 && o.batch_size() <= 65536,
                                 "batch_size", o.batch_size(),
                                 "must be between 1 and 65536"));
  GC_RETURN_IF_ERROR(
      CheckOption(o.learning_rate() > 0 && o.learning_rate() <= 1,
                  "learning_rate", o.learning_rate(), "must be in (0, 1]"));
  GC_RETURN_IF_ERROR(
      CheckOption(o.early_stopping_patience() >= 1, "early_stopping_patience",
                  o.early_stopping_patience(), "must be at least 1"));
  GC_RETURN_IF_ERROR(
      CheckOption(o.test_fraction() > 0 && o.test_fraction() < 0.5,
                  "test_fraction", o.test_fraction(), "must be in (0, 0.5)"));
  GC_RETURN_IF_ERROR(CheckOption(
      o.validation_fraction() > 0 && o.validation_fraction() < 0.5,
      "validation_fraction", o.validation_fraction(), "must be in (0, 0.5)"));
  GC_RETURN_IF_ERROR(CheckOption(o.season_points() >= 1, "season_points",
                                 o.season_points(), "must be at least 1"));
  return absl::OkStatus();
}

absl::StatusOr<SeriesSplit> SplitSeries(int64_t points, int input_window,
                                        int horizon,
                                        const v1::TrainingOptions& options,
                                        const std::string& dataset_id) {
  const auto part = [&](double fraction) {
    return std::max<int64_t>(
        horizon, static_cast<int64_t>(std::llround(points * fraction)));
  };
  SeriesSplit split;
  split.points = points;
  split.test_start = points - part(options.test_fraction());
  split.validation_start =
      split.test_start - part(options.validation_fraction());

  // The first training window needs input_window points of input and a
  // whole horizon of targets before validation starts.
  const int64_t needed = input_window + horizon +
                         part(options.test_fraction()) +
                         part(options.validation_fraction());
  if (split.validation_start < input_window + horizon) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "dataset %s has %d points; input_window=%d and horizon=%d with the "
        "validation and test tails need at least %d",
        dataset_id, points, input_window, horizon, needed));
  }
  return split;
}

absl::StatusOr<TrainedModel> TrainForecastModel(
    const TrainingInput& input, const TrainingCallbacks& callbacks) {
  if (input.series.empty()) {
    return absl::InvalidArgumentError("dataset_ids is empty");
  }
  const v1::ArchitectureSpec spec =
      input.base != nullptr ? input.base->manifest.spec() : input.spec;
  const v1::TrainingOptions& options = input.options;

  std::vector<SeriesSplit> splits;
  std::vector<WindowRef> train_windows, validation_windows;
  for (size_t s = 0; s < input.series.size(); ++s) {
    const auto& dataset = input.series[s].dataset();
    GC_ASSIGN_OR_RETURN(
        SeriesSplit split,
        SplitSeries(input.series[s].values_size(), spec.input_window(),
                    spec.horizon(), options, dataset.id()));
    splits.push_back(split);
    AddWindows(static_cast<int>(s), 0, split.validation_start,
               spec.input_window(), spec.horizon(), &train_windows);
    AddWindows(static_cast<int>(s), split.validation_start, split.test_start,
               spec.input_window(), spec.horizon(), &validation_windows);
  }

  store::v1::Normalisation normalisation;
  if (input.base != nullptr) {
    // Fine-tuning keeps the scale the base network learned on.
    normalisation = input.base->manifest.normalisation();
  } else {
    GC_ASSIGN_OR_RETURN(normalisation, FitNormalisation(input.series, splits));
  }

  try {
    at::Generator generator =
        MakeGenerator(static_cast<uint64_t>(options.seed()));
    GC_ASSIGN_OR_RETURN(std::shared_ptr<ForecastNetworkImpl> network,
                        PrepareNetwork(input, spec, generator));
    const WindowTensors train =
        MakeTensors(input.series, train_windows, spec.input_window(),
                    spec.horizon(), normalisation);
    const WindowTensors validation =
        MakeTensors(input.series, validation_windows, spec.input_window(),
                    spec.horizon(), normalisation);

    LogInfo("training_started")
        .Field("job", input.job_id)
        .Field("model", input.model)
        .Field("train_windows", static_cast<int64_t>(train_windows.size()))
        .Field("validation_windows",
               static_cast<int64_t>(validation_windows.size()))
        .Field("fine_tune", input.base != nullptr);
    const FitResult fit = Fit(*network, train, validation, options, generator,
                              callbacks, input.resume, input.job_id);
    GC_RETURN_IF_ERROR(fit.status);
    if (fit.cancelled) {
      return absl::CancelledError("the job was cancelled during training");
    }

    if (callbacks.on_evaluating) callbacks.on_evaluating();
    const v1::Evaluation evaluation =
        Evaluate(*network, input.series, splits, spec, normalisation,
                 options.season_points());

    TrainedModel result;
    GC_ASSIGN_OR_RETURN(result.weights, SerializeWeights(*network));
    result.manifest = DescribeResult(input, spec, normalisation, evaluation);
    result.epochs_run = fit.epochs_run;
    return result;
  } catch (const c10::Error& error) {
    return absl::InternalError(absl::StrCat("LibTorch failed during training: ",
                                            error.what_without_backtrace()));
  }
}

}  // namespace gridcast
