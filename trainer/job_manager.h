// The queue of training jobs and the workers that run them: validation at
// submission, state changes and per-epoch progress for watchers,
// cancellation, and publishing to the store when a job succeeds.
#ifndef GRIDCAST_TRAINER_JOB_MANAGER_H_
#define GRIDCAST_TRAINER_JOB_MANAGER_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/store/job_store.h"
#include "common/store/model_store.h"
#include "gridcast/v1/trainer.pb.h"
#include "trainer/training.h"

namespace gridcast {

struct JobManagerOptions {
  // Jobs trained at the same time.
  int workers = 1;
  // When false no worker thread starts; tests call RunNextJob() by hand.
  bool start_workers = true;
  // For tests: called on the worker thread once the checkpoint after
  // `epoch` and the record naming it are durable, before training goes on.
  std::function<void(const std::string& job_id, int epoch)> after_checkpoint;
  // Jobs queued or running at once; Create() beyond it is
  // RESOURCE_EXHAUSTED naming --max_active_jobs.
  int max_active_jobs = 64;
  // Called (without the manager's lock) when Shutdown() interrupted a
  // running job and put it back as QUEUED, with the state it has then
  // (already persisted: the next trainer on the store resumes it).
  std::function<void(const v1::TrainingJob&)> on_requeued;
};

// Jobs are kept in the store (see common/store/job_store.h): every change
// of state and every epoch is written before it is reported, and a running
// job saves a checkpoint after each epoch. A manager that starts on a store
// with jobs from before a restart (a crash, kill -9 or a graceful stop)
// takes them over: queued ones run in their order; one that was running
// goes on from its last checkpoint (or from the start when it had none);
// one that was publishing and whose version is in the store succeeded; one
// whose checkpoint is damaged, or during which the trainer stopped more
// than kMaxJobRestarts times, fails with the reason. None is lost.
//
// One manager per store: the trainer holds the store's trainer lock.
class JobManager {
 public:
  // Opens the job records under `store`, takes over the jobs found there,
  // then starts the workers.
  static absl::StatusOr<std::unique_ptr<JobManager>> Start(
      ModelStore* store, JobManagerOptions options);
  // Stops running jobs at their next batch (they stay resumable), waits for
  // the workers.
  ~JobManager();

  // Validates the request against the store (datasets exist and share a
  // resolution, the base version exists, spec and options in range, each
  // series long enough), persists it and queues it. Errors name the field.
  absl::StatusOr<v1::TrainingJob> Create(
      const v1::CreateTrainingJobRequest& request);
  absl::StatusOr<v1::TrainingJob> Get(const std::string& job_id) const;
  // Newest first; only jobs of `model` unless it is empty.
  std::vector<v1::TrainingJob> List(const std::string& model) const;
  // A queued job is cancelled at once, a running one at its next batch.
  // FAILED_PRECONDITION for a job that has already ended.
  absl::StatusOr<v1::TrainingJob> Cancel(const std::string& job_id);

  // Calls `send` with every update since the job was created (so a late
  // watcher still sees each epoch), then with each new one until the job
  // ends (the last message carries the final state), `send` returns false,
  // or `stop` returns true (polled a few times a second). UNAVAILABLE when
  // the manager is stopping before the job ended (it resumes in the next
  // trainer).
  absl::Status Watch(
      const std::string& job_id,
      const std::function<bool(const v1::WatchTrainingJobResponse&)>& send,
      const std::function<bool()>& stop) const;

  // Runs the oldest queued job to its end on the calling thread. Returns
  // false when none was queued.
  bool RunNextJob();

  // Stops taking and starting jobs. A running job stops at its next batch
  // and goes back to QUEUED in the store (see on_requeued), to resume from
  // its last checkpoint when a trainer starts on the store again, unless
  // its training had already ended: then it still publishes.
  void Shutdown();

 private:
  struct Job {
    v1::TrainingJob state;
    std::vector<v1::WatchTrainingJobResponse> updates;
    bool cancel_requested = false;
    // What the store keeps beside `state`: epochs, checkpoint, restarts.
    store::v1::JobRecord persisted;
  };

  JobManager(ModelStore* store, std::unique_ptr<JobStore> job_store,
             JobManagerOptions options);

  absl::Status ValidateRequest(v1::CreateTrainingJobRequest* request,
                               v1::ModelRef* base) const;
  void WorkerLoop();
  void Run(const std::string& job_id);
  absl::StatusOr<int64_t> TrainAndPublish(const std::string& job_id);
  // Applies `change` to the job and records the new state for watchers.
  void Update(const std::string& job_id,
              const std::function<void(v1::TrainingJob*)>& change,
              const v1::EpochProgress* epoch = nullptr);
  void UpdateLocked(Job* job,
                    const std::function<void(v1::TrainingJob*)>& change,
                    const v1::EpochProgress* epoch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // True when the job's client cancelled it or the trainer is stopping.
  bool CancelRequested(const std::string& job_id) const;
  bool CancelledByClient(const std::string& job_id) const;
  absl::Status CheckActiveJobsLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Takes over the jobs recorded in the store; before any worker starts.
  absl::Status Recover();
  // Decides what becomes of a job recorded as not ended.
  void RecoverJob(Job* job);
  // The version of `model` that job `job_id` published, 0 if none.
  int64_t FindPublishedVersion(const std::string& model,
                               const std::string& job_id) const;
  // Writes the job's record; a failure is logged (the job goes on, and the
  // next write may succeed).
  void Persist(const std::string& job_id);
  store::v1::JobRecord RecordLocked(const Job& job) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes `checkpoint` durable and the one the job's record names.
  void SaveCheckpoint(const std::string& job_id,
                      const TrainingCheckpoint& checkpoint);
  // The job's last checkpoint, or nullopt when it has none.
  absl::StatusOr<std::optional<TrainingCheckpoint>> LoadCheckpoint(
      const std::string& job_id) const;

  ModelStore* const store_;
  const std::unique_ptr<JobStore> job_store_;
  const JobManagerOptions options_;

  // Orders the writes of job records, so that an older state never
  // overwrites a newer one. Taken before mu_, never while holding it.
  absl::Mutex persist_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

// Times the trainer may stop while a job runs before the job is failed
// rather than resumed once more: a job that crashes the trainer itself
// (say, by running out of memory) must not keep it down for ever.
inline constexpr int kMaxJobRestarts = 3;

// True for SUCCEEDED, FAILED and CANCELLED.
bool IsFinal(v1::JobState state);

}  // namespace gridcast

#endif  // GRIDCAST_TRAINER_JOB_MANAGER_H_
