#include "trainer/job_manager.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/model/architecture.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "trainer/trainer_metrics.h"
#include "trainer/training.h"

namespace gridcast {
namespace {

// How often a watcher wakes without news to check for a gone client.
constexpr absl::Duration kWatchPollInterval = absl::Milliseconds(200);

std::string NewJobId() {
  static absl::Mutex id_mu(absl::kConstInit);
  static absl::BitGen* bits = new absl::BitGen();
  absl::MutexLock lock(&id_mu);
  return absl::StrFormat("job-%012x",
                         absl::Uniform<uint64_t>(*bits) & 0xffffffffffffULL);
}

int64_t NowSeconds() { return absl::ToUnixSeconds(absl::Now()); }

// Every covariate the network reads must be in every dataset it trains on.
absl::Status CheckCovariatesPresent(const v1::ArchitectureSpec& spec,
                                    const v1::Dataset& dataset) {
  for (int c = 0; c < spec.covariates_size(); ++c) {
    const std::string& name = spec.covariates(c).name();
    const auto& names = dataset.covariate_names();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "spec.covariates[%d].name=\"%s\" is not in dataset %s (it has: "
          "%s)",
          c, name, dataset.id(),
          names.empty() ? "no covariates" : absl::StrJoin(names, ", ")));
    }
  }
  return absl::OkStatus();
}

const char* StateName(v1::JobState state) {
  return v1::JobState_Name(state).c_str() + sizeof("JOB_STATE_") - 1;
}

// Puts a job taken over after a restart back in the queue, to go on after
// `epoch` (0: from the start). Epochs after it are run again, so they are
// forgotten.
void ResumeFields(int epoch, v1::TrainingJob* state,
                  store::v1::JobRecord* persisted) {
  auto* epochs = persisted->mutable_epochs();
  while (!epochs->empty() && epochs->rbegin()->epoch() > epoch) {
    epochs->RemoveLast();
  }
  state->set_epoch(epoch);
  if (epochs->empty()) {
    state->clear_last_epoch();
  } else {
    *state->mutable_last_epoch() = *epochs->rbegin();
  }
  state->clear_evaluation();
  state->set_state(v1::JOB_STATE_QUEUED);
}

}  // namespace

bool IsFinal(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED;
}

absl::StatusOr<std::unique_ptr<JobManager>> JobManager::Start(
    ModelStore* store, JobManagerOptions options) {
  GC_ASSIGN_OR_RETURN(std::unique_ptr<JobStore> job_store,
                      JobStore::Open(store->root()));
  std::unique_ptr<JobManager> manager(
      new JobManager(store, std::move(job_store), std::move(options)));
  GC_RETURN_IF_ERROR(manager->Recover());

  if (manager->options_.start_workers) {
    for (int i = 0; i < std::max(1, manager->options_.workers); ++i) {
      manager->workers_.emplace_back([m = manager.get()] { m->WorkerLoop(); });
    }
  }
  return manager;
}

JobManager::JobManager(ModelStore* store, std::unique_ptr<JobStore> job_store,
                       JobManagerOptions options)
    : store_(store),
      job_store_(std::move(job_store)),
      options_(std::move(options)) {}

JobManager::~JobManager() {
  Shutdown();
  for (std::thread& worker : workers_) worker.join();
}

void JobManager::Shutdown() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
}

absl::Status JobManager::ValidateRequest(v1::CreateTrainingJobRequest* request,
                                         v1::ModelRef* base) const {
  GC_RETURN_IF_ERROR(ValidateName("model", request->model()));
  if (request->dataset_ids().empty()) {
    return absl::InvalidArgumentError(
        "dataset_ids is empty: name at least one uploaded dataset");
  }

  std::vector<v1::Dataset> datasets;
  for (int i = 0; i < request->dataset_ids_size(); ++i) {
    const std::string field = absl::StrCat("dataset_ids[", i, "]");
    GC_RETURN_IF_ERROR(ValidateName(field, request->dataset_ids(i)));
    absl::StatusOr<v1::Dataset> dataset =
        store_->GetDataset(request->dataset_ids(i));
    if (!dataset.ok()) {
      return absl::Status(
          dataset.status().code(),
          absl::StrCat(field, ": ", dataset.status().message()));
    }
    if (!datasets.empty() && dataset->resolution_seconds() !=
                                 datasets.front().resolution_seconds()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s=%s has resolution %d s but dataset_ids[0] has %d s", field,
          dataset->id(), dataset->resolution_seconds(),
          datasets.front().resolution_seconds()));
    }
    datasets.push_back(*std::move(dataset));
  }
  const int64_t resolution = datasets.front().resolution_seconds();

  if (request->has_base() && !request->base().name().empty()) {
    *base = request->base();
    GC_RETURN_IF_ERROR(ValidateName("base.name", base->name()));
    GC_ASSIGN_OR_RETURN(const std::vector<int64_t> versions,
                        store_->ListVersions(base->name()));
    if (versions.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "base.name=", base->name(), " has no published version"));
    }
    if (base->version() == 0) base->set_version(versions.back());
    if (!std::binary_search(versions.begin(), versions.end(),
                            base->version())) {
      return absl::NotFoundError(absl::StrCat("base.version=", base->version(),
                                              " of model ", base->name(),
                                              " not found"));
    }
    GC_ASSIGN_OR_RETURN(const store::v1::Manifest manifest,
                        store_->ReadManifest(base->name(), base->version()));
    if (manifest.resolution_seconds() != resolution) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "base %s version %d was trained at %d s resolution but the "
          "datasets have %d s",
          base->name(), base->version(), manifest.resolution_seconds(),
          resolution));
    }
    *request->mutable_spec() = manifest.spec();
  }
  GC_RETURN_IF_ERROR(ResolveArchitecture(request->mutable_spec()));
  GC_RETURN_IF_ERROR(
      ResolveTrainingOptions(resolution, request->mutable_options()));

  if (base->name().empty() && !request->options().frozen_parameters().empty()) {
    return absl::InvalidArgumentError(
        "options.frozen_parameters is only for fine-tuning; set base");
  }
  for (const v1::Dataset& dataset : datasets) {
    GC_RETURN_IF_ERROR(
        SplitSeries(dataset.points(), request->spec().input_window(),
                    request->spec().horizon(), request->options(), dataset.id())
            .status());
    GC_RETURN_IF_ERROR(CheckCovariatesPresent(request->spec(), dataset));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::TrainingJob> JobManager::Create(
    const v1::CreateTrainingJobRequest& original) {
  v1::CreateTrainingJobRequest request = original;
  v1::ModelRef base;
  GC_RETURN_IF_ERROR(ValidateRequest(&request, &base));

  auto job = std::make_unique<Job>();
  v1::TrainingJob& state = job->state;
  state.set_id(NewJobId());
  state.set_model(request.model());
  *state.mutable_dataset_ids() = request.dataset_ids();
  *state.mutable_spec() = request.spec();
  *state.mutable_options() = request.options();
  if (!base.name().empty()) *state.mutable_base() = base;
  state.set_max_epochs(request.options().max_epochs());
  state.set_create_time(NowSeconds());

  state.set_state(v1::JOB_STATE_QUEUED);

  // The job is durable before the client hears of it.
  store::v1::JobRecord record;
  *record.mutable_job() = state;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return absl::UnavailableError("the trainer is shutting down");
    }
    // Checked before the record is written, so a refused job leaves
    // nothing behind; two calls at once may both pass, overshooting the
    // limit by the calls in flight.
    GC_RETURN_IF_ERROR(CheckActiveJobsLocked());
  }
  GC_RETURN_IF_ERROR(job_store_->Save(record));

  absl::MutexLock lock(&mu_);
  const std::string id = state.id();
  Job* added = jobs_.emplace(id, std::move(job)).first->second.get();
  UpdateLocked(
      added, [](v1::TrainingJob* j) { j->set_state(v1::JOB_STATE_QUEUED); },
      nullptr);
  queue_.push_back(id);
  LogInfo("job_queued")
      .Field("job", id)
      .Field("model", request.model())
      .Field("datasets", static_cast<int64_t>(request.dataset_ids_size()))
      .Field("base_model", base.name())
      .Field("base_version", base.version());
  return added->state;
}

absl::StatusOr<v1::TrainingJob> JobManager::Get(
    const std::string& job_id) const {
  absl::MutexLock lock(&mu_);
  const auto it = jobs_.find(job_id);
  if (it == jobs_.end()) {
    return absl::NotFoundError(absl::StrCat("job_id=", job_id, " not found"));
  }
  return it->second->state;
}

std::vector<v1::TrainingJob> JobManager::List(const std::string& model) const {
  std::vector<v1::TrainingJob> result;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, job] : jobs_) {
    if (model.empty() || job->state.model() == model) {
      result.push_back(job->state);
    }
  }
  std::sort(result.begin(), result.end(), [](const auto& a, const auto& b) {
    return a.create_time() != b.create_time()
               ? a.create_time() > b.create_time()
               : a.id() > b.id();
  });
  return result;
}

absl::StatusOr<v1::TrainingJob> JobManager::Cancel(const std::string& job_id) {
  v1::TrainingJob cancelled;
  {
    absl::MutexLock lock(&mu_);
    const auto it = jobs_.find(job_id);
    if (it == jobs_.end()) {
      return absl::NotFoundError(absl::StrCat("job_id=", job_id, " not found"));
    }
    Job* job = it->second.get();
    if (IsFinal(job->state.state())) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", job_id, " has already ended (",
                       StateName(job->state.state()), ")"));
    }
    job->cancel_requested = true;

    const auto queued = std::find(queue_.begin(), queue_.end(), job_id);
    if (queued != queue_.end()) {
      queue_.erase(queued);
      UpdateLocked(
          job,
          [](v1::TrainingJob* j) {
            j->set_state(v1::JOB_STATE_CANCELLED);
            j->set_error("cancelled before it started");
            j->set_end_time(NowSeconds());
          },
          nullptr);
    }
    cancelled = job->state;
  }
  LogInfo("job_cancel_requested").Field("job", job_id);
  Persist(job_id);
  if (IsFinal(cancelled.state())) {
    // Cancelled while queued: a job interrupted by a restart has a
    // checkpoint that is of no more use.
    const absl::Status removed = job_store_->RemoveWork(job_id);
    if (!removed.ok()) {
      LogWarning("job_work_not_removed")
          .Field("job", job_id)
          .Field("reason", removed);
    }
  }
  return cancelled;
}

absl::Status JobManager::Watch(
    const std::string& job_id,
    const std::function<bool(const v1::WatchTrainingJobResponse&)>& send,
    const std::function<bool()>& stop) const {
  size_t sent = 0;
  while (true) {
    std::vector<v1::WatchTrainingJobResponse> pending;
    bool ended = false;
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      const auto it = jobs_.find(job_id);
      if (it == jobs_.end()) {
        return absl::NotFoundError(
            absl::StrCat("job_id=", job_id, " not found"));
      }
      const Job* job = it->second.get();
      const auto has_news = [job, sent] { return job->updates.size() > sent; };
      mu_.AwaitWithTimeout(absl::Condition(&has_news), kWatchPollInterval);
      pending.assign(job->updates.begin() + sent, job->updates.end());
      sent = job->updates.size();
      ended = IsFinal(job->state.state());
      stopping = stopping_;
    }

    for (const auto& update : pending) {
      if (!send(update)) return absl::OkStatus();
    }
    if (ended) return absl::OkStatus();
    // The job will not end in this process: it resumes in the next one.
    if (stopping) {
      return absl::UnavailableError(
          absl::StrCat("the trainer is stopping; job ", job_id,
                       " goes on when it starts again, watch it then"));
    }
    if (stop && stop()) {
      return absl::CancelledError("the watch was stopped");
    }
  }
}

void JobManager::UpdateLocked(
    Job* job, const std::function<void(v1::TrainingJob*)>& change,
    const v1::EpochProgress* epoch) {
  change(&job->state);
  v1::WatchTrainingJobResponse update;
  *update.mutable_job() = job->state;
  if (epoch != nullptr) *update.mutable_epoch() = *epoch;
  job->updates.push_back(std::move(update));
}

void JobManager::Update(const std::string& job_id,
                        const std::function<void(v1::TrainingJob*)>& change,
                        const v1::EpochProgress* epoch) {
  {
    absl::MutexLock lock(&mu_);
    const auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return;
    UpdateLocked(it->second.get(), change, epoch);
    if (epoch != nullptr) *it->second->persisted.add_epochs() = *epoch;
  }
  Persist(job_id);
}

bool JobManager::CancelRequested(const std::string& job_id) const {
  absl::MutexLock lock(&mu_);
  const auto it = jobs_.find(job_id);
  return it == jobs_.end() || it->second->cancel_requested || stopping_;
}

store::v1::JobRecord JobManager::RecordLocked(const Job& job) const {
  store::v1::JobRecord record = job.persisted;
  *record.mutable_job() = job.state;
  record.set_cancel_requested(job.cancel_requested);
  return record;
}

void JobManager::Persist(const std::string& job_id) {
  absl::MutexLock persist(&persist_mu_);
  store::v1::JobRecord record;
  {
    absl::MutexLock lock(&mu_);
    const auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return;
    record = RecordLocked(*it->second);
  }
  const absl::Status saved = job_store_->Save(record);
  if (!saved.ok()) {
    LogError("job_not_persisted").Field("job", job_id).Field("reason", saved);
  }
}

void JobManager::SaveCheckpoint(const std::string& job_id,
                                const TrainingCheckpoint& checkpoint) {
  const absl::StatusOr<std::string> sha256 =
      job_store_->WriteCheckpoint(job_id, checkpoint.epoch, checkpoint.state);
  if (!sha256.ok()) {
    LogWarning("checkpoint_not_saved")
        .Field("job", job_id)
        .Field("epoch", checkpoint.epoch)
        .Field("reason", sha256.status());
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    const auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return;
    it->second->persisted.set_checkpoint_epoch(checkpoint.epoch);
    it->second->persisted.set_checkpoint_sha256(*sha256);
  }
  Persist(job_id);

  // Only now that the record names the new checkpoint may the old go.
  const absl::Status pruned =
      job_store_->RemoveCheckpointsExcept(job_id, checkpoint.epoch);
  if (!pruned.ok()) {
    LogWarning("old_checkpoints_not_removed")
        .Field("job", job_id)
        .Field("reason", pruned);
  }
  LogDebug("checkpoint_saved")
      .Field("job", job_id)
      .Field("epoch", checkpoint.epoch)
      .Field("bytes", static_cast<int64_t>(checkpoint.state.size()));
  if (options_.after_checkpoint) {
    options_.after_checkpoint(job_id, checkpoint.epoch);
  }
}

absl::StatusOr<std::optional<TrainingCheckpoint>> JobManager::LoadCheckpoint(
    const std::string& job_id) const {
  int epoch = 0;
  std::string sha256;
  {
    absl::MutexLock lock(&mu_);
    const auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return std::nullopt;
    epoch = it->second->persisted.checkpoint_epoch();
    sha256 = it->second->persisted.checkpoint_sha256();
  }
  if (epoch == 0) return std::nullopt;

  absl::StatusOr<std::string> bytes =
      job_store_->ReadCheckpoint(job_id, epoch, sha256);
  if (!bytes.ok()) {
    return absl::DataLossError(
        absl::StrCat("the checkpoint of epoch ", epoch,
                     " cannot be used: ", bytes.status().message()));
  }
  TrainingCheckpoint checkpoint;
  checkpoint.epoch = epoch;
  checkpoint.state = *std::move(bytes);
  return checkpoint;
}

int64_t JobManager::FindPublishedVersion(const std::string& model,
                                         const std::string& job_id) const {
  const absl::StatusOr<std::vector<int64_t>> versions =
      store_->ListVersions(model);
  if (!versions.ok()) return 0;
  for (auto v = versions->rbegin(); v != versions->rend(); ++v) {
    const absl::StatusOr<store::v1::Manifest> manifest =
        store_->ReadManifest(model, *v);
    if (manifest.ok() && manifest->lineage().job_id() == job_id) return *v;
  }
  return 0;
}

absl::Status JobManager::Recover() {
  std::vector<absl::Status> unreadable;
  GC_ASSIGN_OR_RETURN(std::vector<store::v1::JobRecord> records,
                      job_store_->LoadAll(&unreadable));
  for (const absl::Status& reason : unreadable) {
    LogError("job_record_unreadable").Field("reason", reason);
  }
  // Jobs run in the order they were created, as before the restart.
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return a.job().create_time() != b.job().create_time()
               ? a.job().create_time() < b.job().create_time()
               : a.job().id() < b.job().id();
  });

  for (store::v1::JobRecord& record : records) {
    if (IsFinal(record.job().state())) {
      // A crash may have come between the final record and the removal.
      const absl::Status removed = job_store_->RemoveWork(record.job().id());
      if (!removed.ok()) {
        LogWarning("job_work_not_removed")
            .Field("job", record.job().id())
            .Field("reason", removed);
      }
    }
    auto job = std::make_unique<Job>();
    job->state = record.job();
    job->cancel_requested = record.cancel_requested();
    record.clear_job();
    job->persisted = std::move(record);
    Job* added;
    {
      absl::MutexLock lock(&mu_);
      added =
          jobs_.emplace(job->state.id(), std::move(job)).first->second.get();
    }
    // Records of ended jobs stay as they are; only the others change.
    if (IsFinal(added->state.state())) continue;
    RecoverJob(added);

    const std::string id = added->state.id();
    {
      absl::MutexLock lock(&mu_);
      // A watcher after the restart sees the epochs from before it.
      for (const v1::EpochProgress& epoch : added->persisted.epochs()) {
        v1::WatchTrainingJobResponse update;
        *update.mutable_job() = added->state;
        *update.mutable_epoch() = epoch;
        added->updates.push_back(std::move(update));
      }
      UpdateLocked(
          added, [](v1::TrainingJob*) {}, nullptr);
      if (added->state.state() == v1::JOB_STATE_QUEUED) queue_.push_back(id);
    }
    Persist(id);
    if (IsFinal(added->state.state())) {
      const absl::Status removed = job_store_->RemoveWork(id);
      if (!removed.ok()) {
        LogWarning("job_work_not_removed")
            .Field("job", id)
            .Field("reason", removed);
      }
    }
  }
  return absl::OkStatus();
}

void JobManager::RecoverJob(Job* job) {
  v1::TrainingJob& state = job->state;
  store::v1::JobRecord& persisted = job->persisted;
  const bool was_running = state.state() != v1::JOB_STATE_QUEUED;
  const auto end = [&state](v1::JobState final_state, std::string reason) {
    state.set_state(final_state);
    state.set_error(std::move(reason));
    state.set_end_time(NowSeconds());
  };

  if (job->cancel_requested) {
    end(v1::JOB_STATE_CANCELLED,
        "cancelled; the trainer stopped before the job did");
  } else if (const int64_t version =
                 FindPublishedVersion(state.model(), state.id());
             version > 0) {
    // The trainer stopped between publishing and recording it.
    state.set_state(v1::JOB_STATE_SUCCEEDED);
    state.set_published_version(version);
    state.set_end_time(NowSeconds());
  } else if (was_running && persisted.restarts() + 1 > kMaxJobRestarts) {
    persisted.set_restarts(persisted.restarts() + 1);
    end(v1::JOB_STATE_FAILED,
        absl::StrCat("the trainer stopped ", persisted.restarts(),
                     " times while this job ran; it is not resumed again"));
  } else {
    if (was_running) persisted.set_restarts(persisted.restarts() + 1);
    const absl::StatusOr<std::optional<TrainingCheckpoint>> checkpoint =
        LoadCheckpoint(state.id());
    if (!checkpoint.ok()) {
      end(v1::JOB_STATE_FAILED, std::string(checkpoint.status().message()));
    } else {
      ResumeFields(checkpoint->has_value() ? (*checkpoint)->epoch : 0, &state,
                   &persisted);
    }
  }

  LogLine line(IsFinal(state.state()) ? LogLevel::kWarning : LogLevel::kInfo,
               "job_taken_over");
  line.Field("job", state.id())
      .Field("model", state.model())
      .Field("state", StateName(state.state()))
      .Field("from_epoch", state.epoch())
      .Field("restarts", persisted.restarts());
  if (!state.error().empty()) line.Field("reason", state.error());
}

bool JobManager::CancelledByClient(const std::string& job_id) const {
  absl::MutexLock lock(&mu_);
  const auto it = jobs_.find(job_id);
  return it == jobs_.end() || it->second->cancel_requested;
}

absl::Status JobManager::CheckActiveJobsLocked() const {
  int64_t active = 0;
  for (const auto& [id, job] : jobs_) {
    if (!IsFinal(job->state.state())) ++active;
  }
  return CheckLimit(
      absl::StatusCode::kResourceExhausted,
      absl::StrCat("the trainer has ", active, " jobs queued or running"),
      active + 1, "max_active_jobs", options_.max_active_jobs);
}

void JobManager::WorkerLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      const auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&has_work));
      if (stopping_) return;
    }
    RunNextJob();
  }
}

bool JobManager::RunNextJob() {
  std::string job_id;
  {
    absl::MutexLock lock(&mu_);
    if (queue_.empty() || stopping_) return false;
    job_id = queue_.front();
    queue_.pop_front();
  }
  Run(job_id);
  return true;
}

void JobManager::Run(const std::string& job_id) {
  const absl::Time started = absl::Now();
  Update(job_id, [](v1::TrainingJob* j) {
    j->set_state(v1::JOB_STATE_RUNNING);
    // A resumed job keeps the time it first started.
    if (j->start_time() == 0) j->set_start_time(NowSeconds());
  });
  LogInfo("job_started").Field("job", job_id);

  const absl::StatusOr<int64_t> version = TrainAndPublish(job_id);
  bool interrupted = false;
  {
    absl::MutexLock lock(&mu_);
    const auto it = jobs_.find(job_id);
    interrupted = absl::IsCancelled(version.status()) && stopping_ &&
                  it != jobs_.end() && !it->second->cancel_requested;
  }
  if (interrupted) {
    // Not cancelled by anyone: the trainer is stopping. The job waits in
    // the store for the next trainer, with its checkpoint.
    v1::TrainingJob requeued;
    Update(job_id, [&requeued](v1::TrainingJob* j) {
      j->set_state(v1::JOB_STATE_QUEUED);
      j->set_error(absl::StrCat("interrupted by a trainer shutdown at epoch ",
                                j->epoch(), "; queued again"));
      requeued = *j;
    });
    LogInfo("job_requeued")
        .Field("job", job_id)
        .Field("model", requeued.model())
        .Field("epoch", requeued.epoch());
    if (options_.on_requeued) options_.on_requeued(requeued);
    return;
  }

  const v1::JobState end_state =
      version.ok() ? v1::JOB_STATE_SUCCEEDED
      : version.status().code() == absl::StatusCode::kCancelled
          ? v1::JOB_STATE_CANCELLED
          : v1::JOB_STATE_FAILED;
  // Before the final update, so that a watcher who sees the job end also
  // sees it in /metrics.
  RecordJobFinished(end_state, absl::Now() - started);

  Update(job_id, [&version, end_state](v1::TrainingJob* j) {
    j->set_end_time(NowSeconds());
    j->set_state(end_state);
    if (version.ok()) {
      j->set_published_version(*version);
    } else {
      j->set_error(std::string(version.status().message()));
    }
  });
  // The record says the job ended, so its checkpoints are of no more use.
  const absl::Status removed = job_store_->RemoveWork(job_id);
  if (!removed.ok()) {
    LogWarning("job_work_not_removed")
        .Field("job", job_id)
        .Field("reason", removed);
  }

  const v1::TrainingJob final_state = *Get(job_id);
  LogLine line(version.ok() ? LogLevel::kInfo : LogLevel::kWarning,
               "job_finished");
  line.Field("job", job_id)
      .Field("model", final_state.model())
      .Field("state", StateName(final_state.state()))
      .Field("version", final_state.published_version())
      .Field("seconds", final_state.end_time() - final_state.start_time());
  if (!version.ok()) line.Field("reason", version.status().message());
}

absl::StatusOr<int64_t> JobManager::TrainAndPublish(const std::string& job_id) {
  GC_ASSIGN_OR_RETURN(const v1::TrainingJob job, Get(job_id));

  TrainingInput input;
  input.model = job.model();
  input.job_id = job_id;
  input.spec = job.spec();
  input.options = job.options();
  for (const std::string& dataset_id : job.dataset_ids()) {
    GC_ASSIGN_OR_RETURN(store::v1::StoredSeries series,
                        store_->ReadDataset(dataset_id));
    input.series.push_back(std::move(series));
  }
  VersionArtifacts base;
  if (job.has_base()) {
    GC_ASSIGN_OR_RETURN(
        base, store_->ReadVersion(job.base().name(), job.base().version()));
    input.base = &base;
    input.base_ref = job.base();
  }

  GC_ASSIGN_OR_RETURN(const std::optional<TrainingCheckpoint> checkpoint,
                      LoadCheckpoint(job_id));
  if (checkpoint.has_value()) {
    input.resume = &*checkpoint;
    LogInfo("job_resumed")
        .Field("job", job_id)
        .Field("from_epoch", checkpoint->epoch);
  }

  TrainingCallbacks callbacks;
  callbacks.on_checkpoint = [this,
                             &job_id](const TrainingCheckpoint& checkpoint) {
    SaveCheckpoint(job_id, checkpoint);
  };
  callbacks.on_epoch = [this, &job_id](const v1::EpochProgress& epoch) {
    RecordEpoch();
    Update(
        job_id,
        [&epoch](v1::TrainingJob* j) {
          j->set_epoch(epoch.epoch());
          *j->mutable_last_epoch() = epoch;
        },
        &epoch);
  };
  callbacks.on_evaluating = [this, &job_id] {
    Update(job_id,
           [](v1::TrainingJob* j) { j->set_state(v1::JOB_STATE_EVALUATING); });
  };
  callbacks.cancelled = [this, &job_id] { return CancelRequested(job_id); };

  GC_ASSIGN_OR_RETURN(TrainedModel trained,
                      TrainForecastModel(input, callbacks));
  // A trainer shutdown lets a trained job publish: it takes a moment and
  // saves the whole training.
  if (CancelledByClient(job_id)) {
    return absl::CancelledError("the job was cancelled before publishing");
  }

  Update(job_id, [&trained](v1::TrainingJob* j) {
    j->set_state(v1::JOB_STATE_PUBLISHING);
    *j->mutable_evaluation() = trained.manifest.evaluation();
    j->set_rejected(trained.manifest.rejected());
    j->set_rejection_reason(trained.manifest.rejection_reason());
  });
  return store_->PublishVersion(std::move(trained.manifest), trained.weights);
}

}  // namespace gridcast
