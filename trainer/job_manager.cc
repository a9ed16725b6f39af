#include "trainer/job_manager.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/model/architecture.h"
#include "common/names.h"
#include "common/status_macros.h"
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

const char* StateName(v1::JobState state) {
  return v1::JobState_Name(state).c_str() + sizeof("JOB_STATE_") - 1;
}

}  // namespace

bool IsFinal(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED;
}

JobManager::JobManager(ModelStore* store, JobManagerOptions options)
    : store_(store), options_(options) {
  if (!options_.start_workers) return;
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

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

  for (const v1::Dataset& dataset : datasets) {
    GC_RETURN_IF_ERROR(
        SplitSeries(dataset.points(), request->spec().input_window(),
                    request->spec().horizon(), request->options(), dataset.id())
            .status());
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

  absl::MutexLock lock(&mu_);
  if (stopping_) {
    return absl::UnavailableError("the trainer is shutting down");
  }
  GC_RETURN_IF_ERROR(CheckActiveJobsLocked());
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
  LogInfo("job_cancel_requested").Field("job", job_id);
  return job->state;
}

absl::Status JobManager::Watch(
    const std::string& job_id,
    const std::function<bool(const v1::WatchTrainingJobResponse&)>& send,
    const std::function<bool()>& stop) const {
  size_t sent = 0;
  while (true) {
    std::vector<v1::WatchTrainingJobResponse> pending;
    bool ended = false;
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
    }

    for (const auto& update : pending) {
      if (!send(update)) return absl::OkStatus();
    }
    if (ended) return absl::OkStatus();
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
  absl::MutexLock lock(&mu_);
  const auto it = jobs_.find(job_id);
  if (it != jobs_.end()) UpdateLocked(it->second.get(), change, epoch);
}

bool JobManager::CancelRequested(const std::string& job_id) const {
  absl::MutexLock lock(&mu_);
  const auto it = jobs_.find(job_id);
  return it == jobs_.end() || it->second->cancel_requested || stopping_;
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

void JobManager::Requeue(const std::string& job_id) {
  v1::TrainingJob requeued;
  {
    absl::MutexLock lock(&mu_);
    const auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return;
    UpdateLocked(
        it->second.get(),
        [](v1::TrainingJob* j) {
          j->set_state(v1::JOB_STATE_QUEUED);
          j->set_error(
              absl::StrCat("interrupted by a trainer shutdown at epoch ",
                           j->epoch(), "; queued again"));
        },
        nullptr);
    queue_.push_front(job_id);
    requeued = it->second->state;
  }
  LogInfo("job_requeued")
      .Field("job", job_id)
      .Field("model", requeued.model())
      .Field("epoch", requeued.epoch());
  if (options_.on_requeued) options_.on_requeued(requeued);
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
  Update(job_id, [](v1::TrainingJob* j) {
    j->set_state(v1::JOB_STATE_RUNNING);
    j->set_start_time(NowSeconds());
  });
  LogInfo("job_started").Field("job", job_id);

  const absl::StatusOr<int64_t> version = TrainAndPublish(job_id);
  if (version.status().code() == absl::StatusCode::kCancelled &&
      !CancelledByClient(job_id)) {
    Requeue(job_id);
    return;
  }

  Update(job_id, [&version](v1::TrainingJob* j) {
    j->set_end_time(NowSeconds());
    if (version.ok()) {
      j->set_state(v1::JOB_STATE_SUCCEEDED);
      j->set_published_version(*version);
    } else {
      j->set_state(version.status().code() == absl::StatusCode::kCancelled
                       ? v1::JOB_STATE_CANCELLED
                       : v1::JOB_STATE_FAILED);
      j->set_error(std::string(version.status().message()));
    }
  });
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

  TrainingCallbacks callbacks;
  callbacks.on_epoch = [this, &job_id](const v1::EpochProgress& epoch) {
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
  });
  return store_->PublishVersion(std::move(trained.manifest), trained.weights);
}

}  // namespace gridcast
