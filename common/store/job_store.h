// The trainer's training jobs, kept in the model store so that a restart,
// even after kill -9, loses none of them:
//
//   <root>/jobs/<job-id>.json          JobRecord, replaced atomically
//   <root>/jobs/<job-id>.work/         the job's work folder, while it runs
//       epoch-<n>.ckpt                 what training needs to go on after
//                                      epoch n (opaque bytes here)
//
// A record names the one checkpoint it trusts and that file's SHA-256, so a
// checkpoint written just before a crash but never recorded is ignored, and
// a damaged one is detected. Inference never reads jobs/.
#ifndef GRIDCAST_COMMON_STORE_JOB_STORE_H_
#define GRIDCAST_COMMON_STORE_JOB_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gridcast/store/v1/jobs.pb.h"

namespace gridcast {

// Known gap: records of ended jobs are kept for ever; a long-lived
// trainer needs a retention limit (by age or count) for them.
class JobStore {
 public:
  // Opens (creating if needed) <store_root>/jobs.
  static absl::StatusOr<std::unique_ptr<JobStore>> Open(
      const std::string& store_root);

  // Replaces the job's record durably: after a crash the file holds this
  // record or the previous one.
  absl::Status Save(const store::v1::JobRecord& record) const;

  // Every record. One that cannot be read is left out and its reason
  // appended to `unreadable` (the file stays for an operator to see).
  absl::StatusOr<std::vector<store::v1::JobRecord>> LoadAll(
      std::vector<absl::Status>* unreadable) const;

  // Writes the checkpoint of `epoch` durably into the job's work folder
  // and returns its SHA-256 for the record.
  absl::StatusOr<std::string> WriteCheckpoint(const std::string& job_id,
                                              int epoch,
                                              absl::string_view bytes) const;
  // The checkpoint of `epoch`: NOT_FOUND when it is missing, DATA_LOSS when
  // its SHA-256 is not `sha256`.
  absl::StatusOr<std::string> ReadCheckpoint(const std::string& job_id,
                                             int epoch,
                                             const std::string& sha256) const;
  // Removes every checkpoint of the job but that of `keep_epoch`.
  absl::Status RemoveCheckpointsExcept(const std::string& job_id,
                                       int keep_epoch) const;
  // Removes the job's work folder with everything in it.
  absl::Status RemoveWork(const std::string& job_id) const;

  std::string RecordPath(const std::string& job_id) const;
  std::string WorkPath(const std::string& job_id) const;
  std::string CheckpointPath(const std::string& job_id, int epoch) const;

 private:
  explicit JobStore(std::string directory) : directory_(std::move(directory)) {}

  std::string directory_;
};

// The layout, for the store check: "jobs", ".json", ".work", and whether a
// name in a work folder is a checkpoint ("epoch-<n>.ckpt", n > 0).
inline constexpr char kJobsDirectory[] = "jobs";
inline constexpr char kJobRecordSuffix[] = ".json";
inline constexpr char kJobWorkSuffix[] = ".work";
bool ParseCheckpointName(absl::string_view name, int* epoch);

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_STORE_JOB_STORE_H_
