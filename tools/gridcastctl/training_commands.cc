// train, finetune and jobs: asking the trainer for networks and following
// the jobs that make them.
#include <cstdint>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "tools/gridcastctl/commands.h"
#include "tools/gridcastctl/exit_codes.h"
#include "tools/gridcastctl/format.h"
#include "tools/gridcastctl/print.h"

namespace gridcast::ctl {
namespace {

constexpr int kProgressBarWidth = 20;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// --------------------------------------------------------------- options

std::vector<OptionSpec> TrainingOptionSpecs() {
  return {
      {"epochs", "N", "maximum passes over the training windows (default 50)"},
      {"batch-size", "N", "windows per gradient step (default 64)"},
      {"learning-rate", "RATE", "Adam's learning rate (default 0.001)"},
      {"learning-rate-decay", "F",
       "multiply the learning rate by F after every epoch, in (0, 1] "
       "(default 1)"},
      {"patience", "N",
       "stop after N epochs without a better validation loss (default 5)"},
      {"seed", "N", "seed of initialisation and shuffling (default 42)"},
      {"test-fraction", "F",
       "share of each series held out to score against seasonal naive "
       "(default: the server's, 0.1)"},
      {"validation-fraction", "F",
       "share before the test tail that decides early stopping (default: the "
       "server's, 0.1)"},
      {"season-points", "N",
       "season of the baseline in points (default: one day)"},
      {"allow-rejected", "",
       "serve the version even when it does not beat seasonal naive on the "
       "held-out tail (the quality gate)"},
      {"no-watch", "", "print the job id and return instead of watching"},
  };
}

std::vector<OptionSpec> WithTrainingOptions(std::vector<OptionSpec> options) {
  for (OptionSpec& option : TrainingOptionSpecs()) {
    options.push_back(std::move(option));
  }
  return options;
}

absl::StatusOr<v1::TrainingOptions> ParseTrainingOptions(
    const ParsedArgs& args) {
  v1::TrainingOptions options;
  GC_ASSIGN_OR_RETURN(const int64_t epochs,
                      args.GetInt("epochs", 50, 1, 100'000));
  GC_ASSIGN_OR_RETURN(const int64_t batch_size,
                      args.GetInt("batch-size", 64, 1, 1 << 20));
  GC_ASSIGN_OR_RETURN(const double learning_rate,
                      args.GetDouble("learning-rate", 0.001, 1e-12, 10));
  GC_ASSIGN_OR_RETURN(const double learning_rate_decay,
                      args.GetDouble("learning-rate-decay", 1, 1e-6, 1));
  GC_ASSIGN_OR_RETURN(const int64_t patience,
                      args.GetInt("patience", 5, 1, 100'000));
  // 0 means "the default" in the API, so a seed starts at 1.
  GC_ASSIGN_OR_RETURN(const int64_t seed,
                      args.GetInt("seed", 42, 1, kInt64Max));
  GC_ASSIGN_OR_RETURN(const double test_fraction,
                      args.GetDouble("test-fraction", 0, 1e-6, 0.9));
  GC_ASSIGN_OR_RETURN(const double validation_fraction,
                      args.GetDouble("validation-fraction", 0, 1e-6, 0.9));
  GC_ASSIGN_OR_RETURN(const int64_t season_points,
                      args.GetInt("season-points", 0, 1, 1'000'000));

  options.set_max_epochs(static_cast<int32_t>(epochs));
  options.set_batch_size(static_cast<int32_t>(batch_size));
  options.set_learning_rate(learning_rate);
  options.set_learning_rate_decay(learning_rate_decay);
  options.set_early_stopping_patience(static_cast<int32_t>(patience));
  options.set_seed(seed);
  options.set_test_fraction(test_fraction);
  options.set_validation_fraction(validation_fraction);
  options.set_season_points(static_cast<int32_t>(season_points));
  options.set_skip_quality_gate(args.Has("allow-rejected"));
  return options;
}

absl::StatusOr<std::vector<std::string>> GetDatasetIds(const ParsedArgs& args) {
  std::vector<std::string> ids = GetRepeatedList(args, "dataset");
  if (ids.empty()) {
    return UsageError("--dataset is required (repeat it to train on several)");
  }
  return ids;
}

// Sets the network of `spec` from --family; the other fields of each
// family keep the server's defaults (see docs/api.md), except the
// perceptron's --hidden and --dropout.
absl::Status ParseNetwork(const ParsedArgs& args, v1::ArchitectureSpec* spec) {
  const std::string family = args.GetString("family", "mlp");
  GC_ASSIGN_OR_RETURN(const double dropout,
                      args.GetDouble("dropout", 0, 0, 0.99));
  if (family == "mlp") {
    GC_ASSIGN_OR_RETURN(const std::vector<int64_t> hidden,
                        args.GetIntList("hidden", {256, 256}, 1, 1 << 16));
    v1::MlpSpec* mlp = spec->mutable_mlp();
    for (int64_t width : hidden) {
      mlp->add_hidden_sizes(static_cast<int32_t>(width));
    }
    mlp->set_dropout(dropout);
  } else if (family == "nlinear" || family == "dlinear") {
    GC_ASSIGN_OR_RETURN(const int64_t members,
                        args.GetInt("lookback-members", 1, 1, 1 << 16));
    spec->mutable_linear()->set_variant(
        family == "nlinear" ? v1::LinearSpec::VARIANT_LAST_VALUE
                            : v1::LinearSpec::VARIANT_DECOMPOSITION);
    spec->mutable_linear()->set_lookback_members(static_cast<int32_t>(members));
  } else if (family == "residual") {
    spec->mutable_residual_stack()->set_dropout(dropout);
  } else if (family == "gru") {
    spec->mutable_recurrent()->set_cell(v1::RecurrentSpec::CELL_GRU);
  } else if (family == "lstm") {
    spec->mutable_recurrent()->set_cell(v1::RecurrentSpec::CELL_LSTM);
  } else {
    return UsageError(absl::StrCat(
        "--family must be mlp, nlinear, dlinear, residual, gru or lstm, got \"",
        family, "\""));
  }
  if (family != "mlp" && args.Has("hidden")) {
    return UsageError(
        absl::StrCat("--hidden is for --family mlp, not ", family));
  }
  if (family != "nlinear" && family != "dlinear" &&
      args.Has("lookback-members")) {
    return UsageError(absl::StrCat(
        "--lookback-members is for --family nlinear or dlinear, not ", family));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ArchitectureSpec> ParseArchitecture(const ParsedArgs& args) {
  GC_ASSIGN_OR_RETURN(const int64_t window,
                      args.GetInt("window", 168, 1, 1'000'000));
  GC_ASSIGN_OR_RETURN(const int64_t horizon,
                      args.GetInt("horizon", 24, 1, 1'000'000));
  GC_ASSIGN_OR_RETURN(const std::vector<double> quantiles,
                      args.GetDoubleList("quantiles", {}, 1e-6, 1 - 1e-6));

  v1::ArchitectureSpec spec;
  spec.set_input_window(static_cast<int32_t>(window));
  spec.set_horizon(static_cast<int32_t>(horizon));
  GC_RETURN_IF_ERROR(ParseNetwork(args, &spec));
  for (double level : quantiles) spec.add_quantiles(level);
  spec.set_skip_calendar(args.Has("no-calendar"));
  for (const std::string& name : GetRepeatedList(args, "covariate")) {
    v1::CovariateSpec* covariate = spec.add_covariates();
    covariate->set_name(name);
    covariate->set_known_future(true);
  }
  for (const std::string& name : GetRepeatedList(args, "past-covariate")) {
    spec.add_covariates()->set_name(name);
  }
  return spec;
}

absl::StatusOr<v1::CreateTrainingJobRequest> BuildTrainRequest(
    const ParsedArgs& args) {
  v1::CreateTrainingJobRequest request;
  GC_ASSIGN_OR_RETURN(*request.mutable_model(), GetName(args, "model"));
  GC_ASSIGN_OR_RETURN(const std::vector<std::string> datasets,
                      GetDatasetIds(args));
  for (const std::string& id : datasets) request.add_dataset_ids(id);
  GC_ASSIGN_OR_RETURN(*request.mutable_spec(), ParseArchitecture(args));
  GC_ASSIGN_OR_RETURN(*request.mutable_options(), ParseTrainingOptions(args));
  return request;
}

absl::StatusOr<v1::CreateTrainingJobRequest> BuildFinetuneRequest(
    const ParsedArgs& args) {
  v1::CreateTrainingJobRequest request;
  GC_ASSIGN_OR_RETURN(*request.mutable_model(), GetName(args, "model"));
  GC_ASSIGN_OR_RETURN(*request.mutable_base()->mutable_name(),
                      GetName(args, "base-model"));
  GC_ASSIGN_OR_RETURN(const int64_t base_version,
                      args.GetInt("base-version", 0, 0, kInt64Max));
  request.mutable_base()->set_version(base_version);
  GC_ASSIGN_OR_RETURN(const std::vector<std::string> datasets,
                      GetDatasetIds(args));
  for (const std::string& id : datasets) request.add_dataset_ids(id);
  GC_ASSIGN_OR_RETURN(*request.mutable_options(), ParseTrainingOptions(args));
  for (const std::string& prefix : GetRepeatedList(args, "freeze")) {
    request.mutable_options()->add_frozen_parameters(prefix);
  }
  return request;
}

// -------------------------------------------------------------- watching

// Shows a watched job's progress on stderr: one progress bar redrawn in
// place on a terminal, one plain line per epoch otherwise (CI logs).
class ProgressReporter {
 public:
  explicit ProgressReporter(bool terminal) : terminal_(terminal) {}

  void Report(const v1::WatchTrainingJobResponse& update) {
    const v1::TrainingJob& job = update.job();
    if (job.state() != state_) ReportState(job);
    if (update.has_epoch()) ReportEpoch(job, update.epoch());
  }

  // Ends the progress bar's line so that what follows starts on its own.
  void EndLine() {
    if (bar_shown_) std::cerr << "\n";
    bar_shown_ = false;
  }

 private:
  void ReportState(const v1::TrainingJob& job) {
    EndLine();
    state_ = job.state();
    std::cerr << "job " << job.id() << " " << StateName(job.state());
    if (job.state() == v1::JOB_STATE_RUNNING && job.epoch() > 0) {
      std::cerr << " at epoch " << job.epoch() << "/" << MaxEpochs(job);
    }
    std::cerr << "\n";
  }

  void ReportEpoch(const v1::TrainingJob& job, const v1::EpochProgress& epoch) {
    epoch_seconds_ += epoch.seconds();
    ++epochs_seen_;

    if (terminal_) {
      std::cerr << "\r" << EpochLine(job, epoch, /*with_bar=*/true) << "\033[K"
                << std::flush;
      bar_shown_ = true;
    } else {
      std::cerr << EpochLine(job, epoch, /*with_bar=*/false) << "\n";
    }
  }

  // `epoch 7/50 [=====>    ] train 0.0812 val 0.0934 * eta 3m12s`; the
  // star marks the best epoch so far, the one that is kept.
  std::string EpochLine(const v1::TrainingJob& job,
                        const v1::EpochProgress& epoch, bool with_bar) const {
    const int64_t max_epochs = MaxEpochs(job);
    std::string line = absl::StrCat("epoch ", epoch.epoch(), "/", max_epochs);
    if (with_bar) {
      absl::StrAppend(
          &line, " ",
          FormatProgressBar(epoch.epoch(), max_epochs, kProgressBarWidth));
    }
    absl::StrAppend(&line, " train ", FormatNumber(epoch.train_loss()), " val ",
                    FormatNumber(epoch.validation_loss()),
                    epoch.improved() ? " *" : "  ");
    if (!with_bar) absl::StrAppend(&line, " ", FormatSeconds(epoch.seconds()));

    // Early stopping may end the job sooner: the ETA is an upper bound.
    const int64_t remaining = max_epochs - epoch.epoch();
    if (remaining > 0 && epochs_seen_ > 0) {
      absl::StrAppend(&line, " eta ",
                      FormatSeconds(remaining * epoch_seconds_ / epochs_seen_));
    }
    return line;
  }

  static int64_t MaxEpochs(const v1::TrainingJob& job) {
    return job.max_epochs() > 0 ? job.max_epochs() : job.options().max_epochs();
  }

  bool terminal_;
  v1::JobState state_ = v1::JOB_STATE_UNSPECIFIED;
  bool bar_shown_ = false;
  double epoch_seconds_ = 0;
  int epochs_seen_ = 0;
};

// Follows a job until it ends and returns it as it ended.
absl::StatusOr<v1::TrainingJob> WatchJob(v1::TrainerService::Stub* stub,
                                         const std::string& job_id) {
  grpc::ClientContext context;
  v1::WatchTrainingJobRequest request;
  request.set_job_id(job_id);
  auto reader = stub->WatchTrainingJob(&context, request);

  ProgressReporter reporter(StderrIsTerminal());
  v1::WatchTrainingJobResponse update;
  v1::TrainingJob job;
  while (reader->Read(&update)) {
    reporter.Report(update);
    job = update.job();
  }
  reporter.EndLine();

  const grpc::Status status = reader->Finish();
  if (!status.ok()) {
    return ServerCallError(absl::StrCat("watching job ", job_id), status);
  }
  if (!IsFinal(job.state())) {
    // TODO: re-attach after a trainer restart instead of giving up; the
    // job survives it, and `jobs watch` picks it up again.
    return absl::UnavailableError(absl::StrCat(
        "watching job ", job_id, ": the stream ended while the job was ",
        StateName(job.state()), "; resume with 'gridcastctl jobs watch ",
        job_id, "'"));
  }
  return job;
}

// A succeeded job whose version the quality gate kept from serving: a
// script waiting for that version to be served would wait for ever.
absl::Status RejectedError(const v1::TrainingJob& job) {
  return WithExitCode(
      absl::FailedPreconditionError(absl::StrCat(
          "model ", job.model(), " version ", job.published_version(),
          " is REJECTED and will not be served: ", job.rejection_reason(),
          "; --allow-rejected serves such a version")),
      kExitVersionRejected);
}

// Prints how a job ended: the evaluation and the published version when
// it succeeded, an error (exit 1) otherwise.
absl::Status ReportOutcome(const v1::TrainingJob& job) {
  if (job.state() == v1::JOB_STATE_SUCCEEDED) {
    std::string text =
        absl::StrCat("job ", job.id(), " SUCCEEDED: model ", job.model(),
                     " version ", job.published_version(), " published\n");
    if (job.has_evaluation()) {
      absl::StrAppend(&text, "\n", FormatEvaluation(job.evaluation()));
    }
    PrintOut(text);
    if (job.rejected()) return RejectedError(job);
    return absl::OkStatus();
  }

  const std::string message =
      absl::StrCat("job ", job.id(), " ", StateName(job.state()), ": ",
                   job.error().empty() ? "no reason given" : job.error());
  if (job.state() == v1::JOB_STATE_CANCELLED) {
    return WithExitCode(absl::CancelledError(message), kExitJobFailed);
  }
  return WithExitCode(absl::AbortedError(message), kExitJobFailed);
}

absl::Status WatchAndReport(v1::TrainerService::Stub* stub,
                            const std::string& job_id) {
  GC_ASSIGN_OR_RETURN(const v1::TrainingJob job, WatchJob(stub, job_id));
  return ReportOutcome(job);
}

// -------------------------------------------------------- train/finetune

absl::Status CreateJob(const ClientOptions& client,
                       const v1::CreateTrainingJobRequest& request,
                       bool watch) {
  auto stub = NewTrainerStub(client);
  v1::CreateTrainingJobResponse response;
  GC_RETURN_IF_ERROR(CallServer(
      client,
      absl::StrCat("creating a training job for model ", request.model()),
      [&](grpc::ClientContext* context) {
        return stub->CreateTrainingJob(context, request, &response);
      }));
  const std::string& job_id = response.job().id();

  if (!watch) {
    std::cerr << "job " << job_id << " " << StateName(response.job().state())
              << "; follow it with 'gridcastctl jobs watch " << job_id << "'\n";
    PrintOut(absl::StrCat(job_id, "\n"));
    return absl::OkStatus();
  }

  std::cerr << "job " << job_id << " created for model " << request.model()
            << " (Ctrl-C stops watching, not the job)\n";
  return WatchAndReport(stub.get(), job_id);
}

absl::Status RunTrain(const ClientOptions& client, const ParsedArgs& args) {
  GC_ASSIGN_OR_RETURN(const v1::CreateTrainingJobRequest request,
                      BuildTrainRequest(args));
  return CreateJob(client, request, !args.Has("no-watch"));
}

absl::Status RunFinetune(const ClientOptions& client, const ParsedArgs& args) {
  GC_ASSIGN_OR_RETURN(const v1::CreateTrainingJobRequest request,
                      BuildFinetuneRequest(args));
  return CreateJob(client, request, !args.Has("no-watch"));
}

CommandSpec TrainSpec() {
  return {
      "train", "--model NAME --dataset ID [--dataset ID ...] [options]",
      "Train a new version of a model and watch it until it ends.",
      "Exits 0 only when the job succeeded, printing its evaluation against\n"
      "the seasonal-naive baseline and the published version; 1 when it\n"
      "failed or was cancelled, printing why. Progress goes to stderr.\n",
      WithTrainingOptions({
          {"model", "NAME",
           "the model to publish, such as feeder-17 (required)"},
          {"dataset", "ID",
           "a dataset to train on (required; repeatable, or comma-separated)",
           /*repeatable=*/true},
          {"window", "N", "points of history the network reads (default 168)"},
          {"horizon", "N", "points forecast at once (default 24)"},
          {"family", "NAME",
           "the network: mlp, nlinear, dlinear, residual, gru or lstm "
           "(default mlp)"},
          {"hidden", "N,N,...",
           "mlp: widths of the hidden layers (default 256,256)"},
          {"dropout", "P",
           "mlp, residual: dropout between hidden layers (default 0)"},
          {"lookback-members", "K",
           "nlinear, dlinear: K maps over the last 1/K, 2/K ... of the "
           "window, averaged (default 1; see docs/accuracy.md)"},
          {"covariate", "NAME",
           "an uploaded covariate whose future is known at forecast time, "
           "such as temperature_c (repeatable)",
           /*repeatable=*/true},
          {"past-covariate", "NAME",
           "an uploaded covariate known only up to now (repeatable)",
           /*repeatable=*/true},
          {"quantiles", "Q,Q,...",
           "quantile levels to forecast as bands, such as 0.1,0.9"},
          {"no-calendar", "", "leave out the hour, weekday and holiday inputs"},
      })};
}

CommandSpec FinetuneSpec() {
  return {
      "finetune", "--model NAME --base-model NAME --dataset ID [options]",
      "Fine-tune a published version on new history; watch the job.",
      "Training starts from the base version's weights and keeps its\n"
      "network. Exits as train does.\n",
      WithTrainingOptions({
          {"model", "NAME", "the model to publish (required)"},
          {"base-model", "NAME", "the model to start from (required)"},
          {"base-version", "N", "its version; 0 means the latest (default 0)"},
          {"freeze", "PREFIX",
           "keep the parameters whose names start with PREFIX as they are "
           "(repeatable; names in docs/api.md)",
           /*repeatable=*/true},
          {"dataset", "ID",
           "a dataset to train on (required; repeatable, or comma-separated)",
           /*repeatable=*/true},
      })};
}

// ------------------------------------------------------------------- jobs

absl::Status RunJobsList(const ClientOptions& client, const ParsedArgs& args) {
  auto stub = NewTrainerStub(client);
  v1::ListTrainingJobsRequest request;
  request.set_model(args.GetString("model"));
  v1::ListTrainingJobsResponse response;
  GC_RETURN_IF_ERROR(CallServer(
      client, "listing training jobs", [&](grpc::ClientContext* context) {
        return stub->ListTrainingJobs(context, request, &response);
      }));

  if (response.jobs().empty()) {
    std::cerr << "no training jobs\n";
    return absl::OkStatus();
  }
  PrintOut(FormatJobTable(response.jobs()));
  return absl::OkStatus();
}

absl::Status RunJobsGet(const ClientOptions& client, const ParsedArgs& args) {
  auto stub = NewTrainerStub(client);
  v1::GetTrainingJobRequest request;
  request.set_job_id(args.positional()[0]);
  v1::GetTrainingJobResponse response;
  GC_RETURN_IF_ERROR(
      CallServer(client, absl::StrCat("getting job ", request.job_id()),
                 [&](grpc::ClientContext* context) {
                   return stub->GetTrainingJob(context, request, &response);
                 }));

  PrintOut(FormatJob(response.job()));
  return absl::OkStatus();
}

absl::Status RunJobsCancel(const ClientOptions& client,
                           const ParsedArgs& args) {
  auto stub = NewTrainerStub(client);
  v1::CancelTrainingJobRequest request;
  request.set_job_id(args.positional()[0]);
  v1::CancelTrainingJobResponse response;
  GC_RETURN_IF_ERROR(
      CallServer(client, absl::StrCat("cancelling job ", request.job_id()),
                 [&](grpc::ClientContext* context) {
                   return stub->CancelTrainingJob(context, request, &response);
                 }));

  PrintOut(absl::StrCat("job ", response.job().id(), " ",
                        StateName(response.job().state()), "\n"));
  return absl::OkStatus();
}

absl::Status RunJobsWatch(const ClientOptions& client, const ParsedArgs& args) {
  auto stub = NewTrainerStub(client);
  return WatchAndReport(stub.get(), args.positional()[0]);
}

}  // namespace

std::vector<Command> TrainingCommands() {
  return {
      {TrainSpec(), RunTrain},
      {FinetuneSpec(), RunFinetune},
      {{"jobs list",
        "[--model NAME]",
        "List training jobs.",
        "",
        {{"model", "NAME", "only the jobs of this model"}}},
       RunJobsList},
      {{"jobs get", "ID", "Show one training job.", "", {}, 1, 1}, RunJobsGet},
      {{"jobs cancel", "ID", "Cancel a queued or running job.", "", {}, 1, 1},
       RunJobsCancel},
      {{"jobs watch",
        "ID",
        "Follow a job until it ends.",
        "Prints a progress bar per epoch on a terminal (a plain line per\n"
        "epoch otherwise), then the evaluation and the published version.\n"
        "Exits 0 only when the job succeeded.\n",
        {},
        1,
        1},
       RunJobsWatch},
  };
}

}  // namespace gridcast::ctl
