#include "trainer/training.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <torch/torch.h>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/model/architecture.h"
#include "common/model/features.h"
#include "common/model/forecast_model.h"
#include "common/model/interval_calibration.h"
#include "common/model/networks.h"
#include "common/status_macros.h"
#include "trainer/evaluation.h"
#include "trainer/fit_checkpoint.h"
#include "trainer/fused_adam.h"

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

// What the feature builder needs to read any window of the job's series.
struct FeatureContext {
  const std::vector<store::v1::StoredSeries>* series = nullptr;
  // covariates[s][c]: the values of spec covariate c in series s.
  std::vector<std::vector<const double*>> covariates;
  FeatureShape shape;
  std::vector<bool> known_future;
  FeatureScaling scaling;
  HolidayCalendar holidays;
};

// Finds each covariate of the spec in every series, by name.
absl::StatusOr<std::vector<std::vector<const double*>>> FindCovariates(
    const std::vector<store::v1::StoredSeries>& series,
    const v1::ArchitectureSpec& spec) {
  std::vector<std::vector<const double*>> found(series.size());
  for (size_t s = 0; s < series.size(); ++s) {
    for (int c = 0; c < spec.covariates_size(); ++c) {
      const std::string& name = spec.covariates(c).name();
      const v1::Covariate* match = nullptr;
      for (const auto& covariate : series[s].covariates()) {
        if (covariate.name() == name) match = &covariate;
      }
      if (match == nullptr) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "spec.covariates[%d].name=\"%s\" is not in dataset %s (it has: "
            "%s)",
            c, name, series[s].dataset().id(),
            absl::StrJoin(series[s].dataset().covariate_names(), ", ")));
      }
      found[s].push_back(match->values().data());
    }
  }
  return found;
}

struct WindowTensors {
  torch::Tensor past;     // [windows, input_window, past channels]
  torch::Tensor future;   // [windows, horizon, future channels]
  torch::Tensor targets;  // [windows, horizon], dataset scale
};

WindowTensors MakeTensors(const FeatureContext& context,
                          const std::vector<WindowRef>& windows) {
  const FeatureShape& shape = context.shape;
  const int64_t count = static_cast<int64_t>(windows.size());
  WindowTensors tensors{
      torch::empty({count, shape.input_window, shape.past_channels()},
                   torch::kFloat32),
      torch::empty({count, shape.horizon, shape.future_channels()},
                   torch::kFloat32),
      torch::empty({count, shape.horizon}, torch::kFloat32)};
  float* past = tensors.past.data_ptr<float>();
  float* future = tensors.future.data_ptr<float>();
  float* targets = tensors.targets.data_ptr<float>();

  for (int64_t i = 0; i < count; ++i) {
    const int s = windows[i].series;
    const store::v1::StoredSeries& source = (*context.series)[s];
    const int64_t origin = windows[i].origin;
    const int64_t start = origin - shape.input_window;

    WindowSource window;
    window.load = source.values().data() + start;
    for (const double* covariate : context.covariates[s]) {
      window.covariates.push_back(covariate + start);
    }
    window.resolution_seconds = source.dataset().resolution_seconds();
    window.first_forecast_time =
        source.dataset().start_time() + origin * window.resolution_seconds;
    BuildWindowFeatures(shape, context.known_future, window, context.scaling,
                        context.holidays, past + i * shape.past_size(),
                        future + i * shape.future_size());

    for (int h = 0; h < shape.horizon; ++h) {
      targets[i * shape.horizon + h] = static_cast<float>(
          (source.values(origin + h) - context.scaling.load.mean()) /
          context.scaling.load.stddev());
    }
  }
  return tensors;
}

// Mean and standard deviation of values[0, end) of every series.
store::v1::Normalisation FitScale(const std::vector<const double*>& values,
                                  const std::vector<SeriesSplit>& splits) {
  double sum = 0, squares = 0;
  int64_t count = 0;
  for (size_t s = 0; s < values.size(); ++s) {
    for (int64_t i = 0; i < splits[s].validation_start; ++i) {
      sum += values[s][i];
      squares += values[s][i] * values[s][i];
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

// Load and covariate scales over the training parts of every series.
FeatureScaling FitScaling(const FeatureContext& context,
                          const std::vector<SeriesSplit>& splits) {
  const auto& series = *context.series;
  std::vector<const double*> loads;
  for (const auto& one : series) loads.push_back(one.values().data());

  FeatureScaling scaling;
  scaling.load = FitScale(loads, splits);
  for (int c = 0; c < context.shape.covariates; ++c) {
    std::vector<const double*> values;
    for (size_t s = 0; s < series.size(); ++s) {
      values.push_back(context.covariates[s][c]);
    }
    scaling.covariates.push_back(FitScale(values, splits));
  }
  return scaling;
}

// MSE of the point forecast plus the pinball loss of every quantile level,
// all on the dataset scale.
torch::Tensor Loss(const torch::Tensor& output, const torch::Tensor& targets,
                   const torch::Tensor& levels) {
  torch::Tensor loss = torch::mse_loss(output.select(2, 0), targets);
  if (!levels.defined()) return loss;
  const torch::Tensor error = targets.unsqueeze(2) - output.slice(2, 1);
  const torch::Tensor pinball =
      torch::max(levels * error, (levels - 1) * error);
  return loss + pinball.mean() * levels.size(0);
}

// The loss a training step descends: each ensemble member is fitted on its
// own, as if trained alone (fitting the members' mean instead would make
// the ensemble one linear map again, and lose what it gains). For the
// other networks this is Loss() of forward().
torch::Tensor TrainingLoss(ForecastNetworkImpl& network,
                           const torch::Tensor& past,
                           const torch::Tensor& future,
                           const torch::Tensor& targets,
                           const torch::Tensor& levels) {
  const std::vector<torch::Tensor> outputs =
      network.MemberOutputs(past, future);
  torch::Tensor loss = Loss(outputs.front(), targets, levels);
  for (size_t i = 1; i < outputs.size(); ++i) {
    loss = loss + Loss(outputs[i], targets, levels);
  }
  return outputs.size() == 1 ? loss
                             : loss / static_cast<double>(outputs.size());
}

double MeanLoss(ForecastNetworkImpl& network, const WindowTensors& data,
                const torch::Tensor& levels) {
  torch::NoGradGuard no_grad;
  network.eval();
  double sum = 0;
  const int64_t count = data.past.size(0);
  for (int64_t begin = 0; begin < count; begin += kEvaluationBatch) {
    const int64_t end = std::min(count, begin + kEvaluationBatch);
    const torch::Tensor output = network.forward(
        data.past.slice(0, begin, end), data.future.slice(0, begin, end));
    sum +=
        Loss(output, data.targets.slice(0, begin, end), levels).item<double>() *
        (end - begin);
  }
  return sum / count;
}

// Drops the gradients rather than zeroing them: backward() then writes
// each one instead of adding it to zeros, one pass over memory fewer.
void ForgetGradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    for (auto& parameter : group.params()) parameter.mutable_grad().reset();
  }
}

void SetLearningRate(torch::optim::Adam& optimizer, double rate) {
  for (auto& group : optimizer.param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(rate);
  }
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

// Adam with early stopping on the validation windows; leaves the network
// holding the parameters of its best validation epoch. Only `trainable`
// parameters move.
//
// The rate of an epoch follows from its number alone, so that a job
// resumed from a checkpoint trains at the rate it would have.
FitResult Fit(ForecastNetworkImpl& network,
              std::vector<torch::Tensor> trainable, const WindowTensors& train,
              const WindowTensors& validation, const torch::Tensor& levels,
              const v1::TrainingOptions& options, at::Generator& generator,
              const TrainingCallbacks& callbacks,
              const TrainingCheckpoint* resume, const std::string& job_id) {
  FusedAdam optimizer(std::move(trainable),
                      torch::optim::AdamOptions(options.learning_rate()));
  const int64_t count = train.past.size(0);

  double best_loss = MeanLoss(network, validation, levels);
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
    SetLearningRate(optimizer,
                    options.learning_rate() *
                        std::pow(options.learning_rate_decay(), epoch - 1));
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
      ForgetGradients(optimizer);
      const torch::Tensor loss =
          TrainingLoss(network, train.past.index_select(0, batch),
                       train.future.index_select(0, batch),
                       train.targets.index_select(0, batch), levels);
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>() * (end - begin);
    }

    const double validation_loss = MeanLoss(network, validation, levels);
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

// Scores of the model and the baselines, gathered window by window.
struct Backtest {
  Backtest(const v1::ArchitectureSpec& spec, std::vector<double> scales)
      : quantiles(std::vector<double>(spec.quantiles().begin(),
                                      spec.quantiles().end())),
        quantile_scales(std::move(scales)) {}
  ErrorAccumulator model, daily, weekly;
  // Scored as inference serves them: rescaled by these (empty: as is).
  std::vector<double> quantile_scales;
  QuantileAccumulator quantiles;
  // MASE's in-sample scales: daily and weekly naive over the training
  // parts.
  SeasonalScale scale, weekly_scale;
  bool weekly_possible = true;
  bool weekly_scale_possible = true;
};

// Scores one batch of test windows of series `s` in load units.
void ScoreWindows(ForecastNetworkImpl& network, const FeatureContext& context,
                  const std::vector<WindowRef>& part,
                  const std::vector<double>& values, int season_points,
                  int weekly_season_points, Backtest* backtest) {
  const int horizon = context.shape.horizon;
  const WindowTensors tensors = MakeTensors(context, part);
  torch::Tensor output;
  {
    torch::NoGradGuard no_grad;
    network.eval();
    output = network.forward(tensors.past, tensors.future).contiguous();
  }
  const int columns = static_cast<int>(output.size(2));
  const float* predicted = output.data_ptr<float>();
  const auto& load_scale = context.scaling.load;
  std::vector<double> levels(columns - 1);

  for (size_t w = 0; w < part.size(); ++w) {
    const int64_t origin = part[w].origin;
    const std::vector<double> daily =
        SeasonalNaiveForecast(values, origin, horizon, season_points);
    std::vector<double> weekly;
    if (backtest->weekly_possible) {
      weekly =
          SeasonalNaiveForecast(values, origin, horizon, weekly_season_points);
    }
    for (int h = 0; h < horizon; ++h) {
      const double actual = values[origin + h];
      const float* row = predicted + (w * horizon + h) * columns;
      const double point = Denormalise(row[0], load_scale);
      backtest->model.Add(actual, point);
      backtest->daily.Add(actual, daily[h]);
      if (!weekly.empty()) backtest->weekly.Add(actual, weekly[h]);
      if (columns > 1) {
        for (int q = 1; q < columns; ++q) {
          levels[q - 1] = Denormalise(row[q], load_scale);
        }
        ApplyQuantileScales(backtest->quantile_scales, point, levels.data());
        backtest->quantiles.Add(actual, levels.data());
      }
    }
    backtest->model.EndWindow();
    backtest->daily.EndWindow();
    if (!weekly.empty()) backtest->weekly.EndWindow();
  }
}

// A rolling-origin backtest over every origin of every test tail, in load
// units: the model, daily and weekly seasonal naive, and the quantiles.
v1::Evaluation Evaluate(ForecastNetworkImpl& network,
                        const v1::ArchitectureSpec& spec,
                        const FeatureContext& context,
                        const std::vector<SeriesSplit>& splits,
                        int season_points,
                        const std::vector<double>& quantile_scales) {
  const auto& series = *context.series;
  const int window = context.shape.input_window;
  const int horizon = context.shape.horizon;
  const int weekly_season_points = 7 * season_points;
  Backtest backtest(spec, quantile_scales);
  v1::Evaluation evaluation;
  evaluation.set_season_points(season_points);
  evaluation.set_weekly_season_points(weekly_season_points);

  // The weekly baseline needs a week of history before every scored
  // window; when some test tail starts earlier, it is left out. Its MASE
  // scale needs more than a week of training part in every series, or
  // some series would be scaled by the others' naive errors.
  for (const auto& split : splits) {
    if (split.test_start < weekly_season_points) {
      backtest.weekly_possible = false;
    }
    if (split.validation_start <= weekly_season_points) {
      backtest.weekly_scale_possible = false;
    }
  }

  for (size_t s = 0; s < series.size(); ++s) {
    backtest.scale.Add(series[s].values().data(), splits[s].validation_start,
                       season_points);
    backtest.weekly_scale.Add(series[s].values().data(),
                              splits[s].validation_start, weekly_season_points);
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
      ScoreWindows(network, context, part, values, season_points,
                   weekly_season_points, &backtest);
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

  const double scale = backtest.scale.Mean();
  const double weekly_scale =
      backtest.weekly_scale_possible ? backtest.weekly_scale.Mean() : 0;
  *evaluation.mutable_model() = backtest.model.Finish(scale, weekly_scale);
  *evaluation.mutable_seasonal_naive() =
      backtest.daily.Finish(scale, weekly_scale);
  if (backtest.weekly_possible) {
    *evaluation.mutable_weekly_naive() =
        backtest.weekly.Finish(scale, weekly_scale);
  }
  backtest.quantiles.Finish(&evaluation);
  for (int q = 0; q < evaluation.quantiles_size(); ++q) {
    evaluation.mutable_quantiles(q)->set_calibration_scale(
        quantile_scales.empty() ? 1.0 : quantile_scales[q]);
  }

  const double model_mae = evaluation.model().mae();
  bool beats = model_mae < evaluation.seasonal_naive().mae();
  if (backtest.weekly_possible) {
    beats = beats && model_mae < evaluation.weekly_naive().mae();
  }
  evaluation.set_beats_baseline(beats);
  return evaluation;
}

// The factors of interval_calibration.h, fitted on the validation windows
// (dataset scale: the factors do not depend on it). Empty when the spec
// has no quantiles, the job skips calibration or the sample is too small.
std::vector<double> CalibrateQuantiles(ForecastNetworkImpl& network,
                                       const v1::ArchitectureSpec& spec,
                                       const v1::TrainingOptions& options,
                                       const WindowTensors& validation,
                                       const std::string& job_id) {
  if (spec.quantiles().empty() || options.skip_interval_calibration()) {
    return {};
  }
  CalibrationSample sample(
      std::vector<double>(spec.quantiles().begin(), spec.quantiles().end()));
  torch::NoGradGuard no_grad;
  network.eval();
  const int64_t count = validation.past.size(0);
  const int levels = spec.quantiles_size();
  std::vector<double> quantiles(levels);
  for (int64_t begin = 0; begin < count; begin += kEvaluationBatch) {
    const int64_t end = std::min(count, begin + kEvaluationBatch);
    const torch::Tensor output =
        network
            .forward(validation.past.slice(0, begin, end),
                     validation.future.slice(0, begin, end))
            .contiguous();
    const torch::Tensor targets =
        validation.targets.slice(0, begin, end).contiguous();
    const float* predicted = output.data_ptr<float>();
    const float* actual = targets.data_ptr<float>();
    for (int64_t i = 0; i < targets.numel(); ++i) {
      const float* row = predicted + i * (levels + 1);
      for (int q = 0; q < levels; ++q) quantiles[q] = row[q + 1];
      sample.Add(actual[i], row[0], quantiles.data());
    }
  }

  std::vector<double> scales = sample.FitScales();
  LogInfo("interval_calibration")
      .Field("job", job_id)
      .Field("validation_points", sample.points())
      .Field("scales", scales.empty() ? std::string("none (too few points)")
                                      : absl::StrJoin(scales, ","));
  return scales;
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

// The quality gate: a version that does not beat seasonal naive is
// published for inspection but never served, unless the job says so.
void ApplyQualityGate(const v1::TrainingOptions& options,
                      store::v1::Manifest* manifest) {
  const v1::Evaluation& evaluation = manifest->evaluation();
  if (evaluation.beats_baseline() || options.skip_quality_gate()) return;
  manifest->set_rejected(true);
  std::string reason = absl::StrFormat(
      "quality gate: MAE %.6g on the test tail does not beat daily seasonal "
      "naive (%.6g)",
      evaluation.model().mae(), evaluation.seasonal_naive().mae());
  if (evaluation.has_weekly_naive()) {
    absl::StrAppendFormat(&reason, " and weekly seasonal naive (%.6g)",
                          evaluation.weekly_naive().mae());
  }
  manifest->set_rejection_reason(reason);
}

store::v1::Manifest DescribeResult(const TrainingInput& input,
                                   const v1::ArchitectureSpec& spec,
                                   const FeatureContext& context,
                                   const v1::Evaluation& evaluation) {
  store::v1::Manifest manifest;
  manifest.set_format_version(1);
  manifest.set_model(input.model);
  *manifest.mutable_spec() = spec;
  *manifest.mutable_normalisation() = context.scaling.load;
  for (const auto& scale : context.scaling.covariates) {
    *manifest.add_covariate_normalisation() = scale;
  }
  for (int64_t day : context.holidays.days()) manifest.add_holidays(day);
  for (const std::string& name : FeatureNames(spec)) {
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
  ApplyQualityGate(input.options, &manifest);
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
  if (options->learning_rate_decay() == 0) {
    options->set_learning_rate_decay(1.0);
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
  GC_RETURN_IF_ERROR(CheckOption(
      o.learning_rate_decay() > 0 && o.learning_rate_decay() <= 1,
      "learning_rate_decay", o.learning_rate_decay(), "must be in (0, 1]"));
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

namespace {

// Everything about the job's series that does not depend on the network's
// weights: covariates found, scales fitted (or the base's kept), holidays.
absl::StatusOr<FeatureContext> PrepareContext(
    const TrainingInput& input, const v1::ArchitectureSpec& spec,
    const std::vector<SeriesSplit>& splits) {
  FeatureContext context;
  context.series = &input.series;
  context.shape = ShapeOf(spec);
  for (const auto& covariate : spec.covariates()) {
    context.known_future.push_back(covariate.known_future());
  }
  GC_ASSIGN_OR_RETURN(context.covariates, FindCovariates(input.series, spec));

  if (input.base != nullptr) {
    // Fine-tuning keeps the scale the base network learned on, and the
    // base's holidays.
    context.scaling = ScalingOf(input.base->manifest);
    for (int64_t day : input.base->manifest.holidays()) {
      context.holidays.Add(day);
    }
  } else {
    context.scaling = FitScaling(context, splits);
  }
  for (const auto& series : input.series) {
    for (int64_t day : series.dataset().holidays()) context.holidays.Add(day);
  }
  for (int64_t day : input.options.holidays()) context.holidays.Add(day);
  return context;
}

torch::Tensor QuantileLevels(const v1::ArchitectureSpec& spec) {
  if (spec.quantiles().empty()) return torch::Tensor();
  std::vector<float> levels(spec.quantiles().begin(), spec.quantiles().end());
  return torch::tensor(levels, torch::kFloat32);
}

}  // namespace

absl::StatusOr<TrainedModel> TrainForecastModel(
    const TrainingInput& input, const TrainingCallbacks& callbacks) {
  if (input.series.empty()) {
    return absl::InvalidArgumentError("dataset_ids is empty");
  }
  const v1::ArchitectureSpec spec =
      input.base != nullptr ? input.base->manifest.spec() : input.spec;
  const v1::TrainingOptions& options = input.options;
  if (input.base == nullptr && !options.frozen_parameters().empty()) {
    return absl::InvalidArgumentError(
        "options.frozen_parameters is only for fine-tuning; set base");
  }

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
  GC_ASSIGN_OR_RETURN(const FeatureContext context,
                      PrepareContext(input, spec, splits));

  try {
    at::Generator generator =
        MakeGenerator(static_cast<uint64_t>(options.seed()));
    GC_ASSIGN_OR_RETURN(std::shared_ptr<ForecastNetworkImpl> network,
                        PrepareNetwork(input, spec, generator));
    const std::vector<std::string> frozen(options.frozen_parameters().begin(),
                                          options.frozen_parameters().end());
    GC_ASSIGN_OR_RETURN(ParameterGroups groups, SplitFrozen(*network, frozen));
    for (torch::Tensor& parameter : groups.frozen) {
      parameter.set_requires_grad(false);
    }
    const WindowTensors train = MakeTensors(context, train_windows);
    const WindowTensors validation = MakeTensors(context, validation_windows);
    const torch::Tensor levels = QuantileLevels(spec);

    LogInfo("training_started")
        .Field("job", input.job_id)
        .Field("model", input.model)
        .Field("train_windows", static_cast<int64_t>(train_windows.size()))
        .Field("validation_windows",
               static_cast<int64_t>(validation_windows.size()))
        .Field("fine_tune", input.base != nullptr)
        .Field("frozen_tensors", static_cast<int64_t>(groups.frozen.size()));
    const FitResult fit =
        Fit(*network, std::move(groups.trainable), train, validation, levels,
            options, generator, callbacks, input.resume, input.job_id);
    GC_RETURN_IF_ERROR(fit.status);
    if (fit.cancelled) {
      return absl::CancelledError("the job was cancelled during training");
    }

    if (callbacks.on_evaluating) callbacks.on_evaluating();
    const std::vector<double> quantile_scales =
        CalibrateQuantiles(*network, spec, options, validation, input.job_id);
    const v1::Evaluation evaluation =
        Evaluate(*network, spec, context, splits, options.season_points(),
                 quantile_scales);

    TrainedModel result;
    GC_ASSIGN_OR_RETURN(result.weights, SerializeWeights(*network));
    result.manifest = DescribeResult(input, spec, context, evaluation);
    for (double scale : quantile_scales) {
      result.manifest.add_quantile_scales(scale);
    }
    result.epochs_run = fit.epochs_run;
    return result;
  } catch (const c10::Error& error) {
    return absl::InternalError(absl::StrCat("LibTorch failed during training: ",
                                            error.what_without_backtrace()));
  }
}

}  // namespace gridcast
