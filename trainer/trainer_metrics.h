// What the trainer reports on /metrics beside its gRPC calls:
//
//   gridcast_trainer_jobs{state}                 jobs by state (gauge, read
//                                                from the job manager at
//                                                scrape time)
//   gridcast_trainer_job_duration_seconds{state} running to final state
//   gridcast_trainer_epochs_total                epochs trained
#ifndef GRIDCAST_TRAINER_TRAINER_METRICS_H_
#define GRIDCAST_TRAINER_TRAINER_METRICS_H_

#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "gridcast/v1/trainer.pb.h"
#include "trainer/job_manager.h"

namespace gridcast {

// A job that started running ended in `state` after `duration`.
void RecordJobFinished(v1::JobState state, absl::Duration duration);

// One more epoch was trained by some job.
void RecordEpoch();

// Reports the jobs of `jobs` by state at every scrape, until the returned
// registration is destroyed.
metrics::CallbackRegistration ExportJobGauges(const JobManager* jobs)
    ABSL_MUST_USE_RESULT;

}  // namespace gridcast

#endif  // GRIDCAST_TRAINER_TRAINER_METRICS_H_
