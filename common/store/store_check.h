// Finds what a crash can leave in the model store and what no crash should:
//
// - leftovers: staging directories of datasets and versions (".tmp-*"),
//   datasets renamed away for deletion but not yet removed, temporary
//   files of atomic replacements, checkpoints no job record trusts, work
//   folders of jobs that ended or have no record. Nobody reads them;
//   removing them is always safe once no trainer is running, and a
//   trainer removes them itself when it starts.
// - damage: published data that fails its own checks (a version with a
//   missing file, a manifest that does not parse or whose checksum does not
//   match its weights, a dataset that does not parse, a job record that
//   does not parse or whose checkpoint is missing or damaged). Never
//   removed: an operator decides.
// - unexpected entries: names the store never writes. Reported only.
//
// Published data is read, never changed.
#ifndef GRIDCAST_COMMON_STORE_STORE_CHECK_H_
#define GRIDCAST_COMMON_STORE_STORE_CHECK_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gridcast {

// The file a running trainer holds locked (see FileLock), so that only one
// trainer writes a store and the check knows whether staging entries may
// be in use.
std::string TrainerLockPath(const std::string& store_root);

struct StoreFinding {
  enum class Kind { kLeftover, kDamaged, kUnexpected };
  Kind kind = Kind::kLeftover;
  std::string path;
  std::string reason;
  // For leftovers when cleaning: whether it was removed.
  bool removed = false;
};

struct StoreCheckOptions {
  // Remove leftovers (only leftovers).
  bool remove_leftovers = false;
  // The caller holds the trainer lock itself (the trainer at start-up).
  // Otherwise a held lock means a trainer runs: staging entries and job
  // work folders may be in use, so they are neither reported nor removed.
  bool caller_holds_trainer_lock = false;
  // Verify the SHA-256 of every version's weights (reads them all).
  bool verify_checksums = true;
};

struct StoreReport {
  std::vector<StoreFinding> findings;
  // A trainer held the lock while the check ran.
  bool trainer_running = false;

  int Count(StoreFinding::Kind kind) const;
  // Leftovers still present (found and not removed).
  int RemainingLeftovers() const;
};

// Walks the store at `root`. An error only when the store itself cannot be
// read (missing root, permission denied on it); a part that cannot be read
// is a finding.
absl::StatusOr<StoreReport> CheckStore(const std::string& root,
                                       const StoreCheckOptions& options);

const char* FindingKindName(StoreFinding::Kind kind);

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_STORE_STORE_CHECK_H_
