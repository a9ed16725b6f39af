// The queue of training jobs and the workers that run them: validation at
// submission, state changes and per-epoch progress for watchers,
// cancellation, and publishing to the store when a job succeeds.
#ifndef GRIDCAST_TRAINER_JOB_MANAGER_H_
#define GRIDCAST_TRAINER_JOB_MANAGER_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/store/model_store.h"
#include "gridcast/v1/trainer.pb.h"

namespace gridcast {

struct JobManagerOptions {
  // Jobs trained at the same time.
  int workers = 1;
  // When false no worker thread starts; tests call RunNextJob() by hand.
  bool start_workers = true;
  // Jobs queued or running at once; Create() beyond it is
  // RESOURCE_EXHAUSTED naming --max_active_jobs.
  int max_active_jobs = 64;
  // Called (without the manager's lock) when Shutdown() interrupted a
  // running job and put it back in the queue as QUEUED, with the state it
  // has then. The place to persist it so that a restarted trainer runs it
  // again (see docs/reliability.md, "Graceful drain").
  std::function<void(const v1::TrainingJob&)> on_requeued;
};

// TODO: jobs live in memory only; a restart forgets queued and running
// jobs (published versions are safe in the store). Persisting them is part
// of the crash-safety work.
class JobManager {
 public:
  JobManager(ModelStore* store, JobManagerOptions options);
  // Shuts down (running jobs go back to the queue), waits for the workers.
  ~JobManager();

  // Validates the request against the store (datasets exist and share a
  // resolution, the base version exists, spec and options in range, each
  // series long enough) and queues it. Errors name the field.
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
  // or `stop` returns true (polled a few times a second).
  absl::Status Watch(
      const std::string& job_id,
      const std::function<bool(const v1::WatchTrainingJobResponse&)>& send,
      const std::function<bool()>& stop) const;

  // Runs the oldest queued job to its end on the calling thread. Returns
  // false when none was queued.
  bool RunNextJob();

  // Stops taking and starting jobs. A running job stops at its next batch
  // and goes back to the front of the queue as QUEUED (see on_requeued),
  // unless its training had already ended: then it still publishes.
  void Shutdown();

 private:
  struct Job {
    v1::TrainingJob state;
    std::vector<v1::WatchTrainingJobResponse> updates;
    bool cancel_requested = false;
  };

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
  // Puts a job interrupted by Shutdown() back in the queue.
  void Requeue(const std::string& job_id);
  absl::Status CheckActiveJobsLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  ModelStore* const store_;
  const JobManagerOptions options_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

// True for SUCCEEDED, FAILED and CANCELLED.
bool IsFinal(v1::JobState state);

}  // namespace gridcast

#endif  // GRIDCAST_TRAINER_JOB_MANAGER_H_
