#include "common/store/store_check.h"

#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "common/store/files.h"
#include "common/store/job_store.h"
#include "common/store/model_store.h"
#include "common/store/sha256.h"
#include "common/store/store_json.h"

namespace gridcast {
namespace {

using Kind = StoreFinding::Kind;

constexpr char kTemporaryPrefix[] = ".tmp-";
constexpr char kDeletedDatasetPrefix[] = ".tmp-deleted-";
constexpr char kDatasetIdPrefix[] = "ds-";
// Written by the inference policy work; a known name in a model folder.
constexpr char kPolicyFile[] = "policy.json";

std::string Join(absl::string_view directory, absl::string_view name) {
  return absl::StrCat(directory, "/", name);
}

bool IsFinalJobState(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED;
}

class StoreChecker {
 public:
  StoreChecker(std::string root, const StoreCheckOptions& options,
               std::unique_ptr<ModelStore> store, bool trainer_running)
      : root_(std::move(root)),
        options_(options),
        store_(std::move(store)),
        // Entries a running trainer may be writing are off limits.
        skip_in_use_(trainer_running && !options.caller_holds_trainer_lock) {
    report_.trainer_running = trainer_running;
  }

  StoreReport Run() && {
    CheckDatasets();
    CheckModels();
    CheckJobs();
    return std::move(report_);
  }

 private:
  // Lists `directory`, reporting it as damaged when it cannot be read.
  bool List(const std::string& directory, std::vector<std::string>* names) {
    absl::StatusOr<std::vector<std::string>> listed = ListDirectory(directory);
    if (absl::IsNotFound(listed.status())) return false;
    if (!listed.ok()) {
      Add(Kind::kDamaged, directory, std::string(listed.status().message()));
      return false;
    }
    *names = *std::move(listed);
    return true;
  }

  bool IsDirectoryOrReport(const std::string& path) {
    absl::StatusOr<bool> is_directory = IsDirectory(path);
    if (!is_directory.ok()) {
      Add(Kind::kDamaged, path, std::string(is_directory.status().message()));
      return false;
    }
    return *is_directory;
  }

  void Add(Kind kind, const std::string& path, std::string reason) {
    StoreFinding finding;
    finding.kind = kind;
    finding.path = path;
    finding.reason = std::move(reason);
    if (kind == Kind::kLeftover && options_.remove_leftovers) {
      const absl::Status removed = RemoveTree(path);
      finding.removed = removed.ok();
      if (!removed.ok()) {
        absl::StrAppend(&finding.reason, "; not removed: ", removed.message());
      }
      LogLine(removed.ok() ? LogLevel::kInfo : LogLevel::kWarning,
              removed.ok() ? "store_leftover_removed"
                           : "store_leftover_not_removed")
          .Field("path", path)
          .Field("reason", finding.reason);
    }
    report_.findings.push_back(std::move(finding));
  }

  // A ".tmp-" entry: staging of a publish or upload, or a dataset that was
  // being deleted.
  void AddTemporary(const std::string& path, absl::string_view name,
                    absl::string_view what) {
    if (skip_in_use_) return;
    Add(Kind::kLeftover, path,
        absl::StartsWith(name, kDeletedDatasetPrefix)
            ? "a deleted dataset not yet removed"
            : absl::StrCat("staging of ", what, " that never completed"));
  }

  void CheckDatasets() {
    const std::string datasets = Join(root_, "datasets");
    std::vector<std::string> names;
    if (!List(datasets, &names)) return;
    for (const std::string& name : names) {
      const std::string path = Join(datasets, name);
      if (absl::StartsWith(name, kTemporaryPrefix)) {
        AddTemporary(path, name, "an upload");
      } else if (absl::StartsWith(name, kDatasetIdPrefix) &&
                 ValidateName("dataset_id", name).ok() &&
                 IsDirectoryOrReport(path)) {
        CheckDataset(name, path);
      } else {
        Add(Kind::kUnexpected, path, "not a dataset the store wrote");
      }
    }
  }

  void CheckDataset(const std::string& dataset_id, const std::string& path) {
    absl::StatusOr<v1::Dataset> dataset = store_->GetDataset(dataset_id);
    if (!dataset.ok()) {
      Add(Kind::kDamaged, path, std::string(dataset.status().message()));
      return;
    }
    absl::StatusOr<store::v1::StoredSeries> series =
        store_->ReadDataset(dataset_id);
    if (!series.ok()) {
      Add(Kind::kDamaged, path, std::string(series.status().message()));
      return;
    }
    if (series->values_size() != dataset->points()) {
      Add(Kind::kDamaged, path,
          absl::StrCat("series.pb holds ", series->values_size(),
                       " values but dataset.json says ", dataset->points()));
    }
  }

  void CheckModels() {
    const std::string models = Join(root_, "models");
    std::vector<std::string> names;
    if (!List(models, &names)) return;
    for (const std::string& name : names) {
      const std::string path = Join(models, name);
      if (absl::StartsWith(name, kTemporaryPrefix)) {
        AddTemporary(path, name, "a model");
      } else if (ValidateName("model", name).ok() &&
                 IsDirectoryOrReport(path)) {
        CheckModel(name, path);
      } else {
        Add(Kind::kUnexpected, path, "not a model the store wrote");
      }
    }
  }

  void CheckModel(const std::string& model, const std::string& path) {
    std::vector<std::string> names;
    if (!List(path, &names)) return;
    for (const std::string& name : names) {
      const std::string entry = Join(path, name);
      int64_t version = 0;
      if (absl::StartsWith(name, kTemporaryPrefix)) {
        AddTemporary(entry, name, "a version");
      } else if (absl::SimpleAtoi(name, &version) && version > 0 &&
                 absl::StrCat(version) == name) {
        CheckVersion(model, version, entry);
      } else if (name != kPolicyFile) {
        Add(Kind::kUnexpected, entry, "not a version the store wrote");
      }
    }
  }

  void CheckVersion(const std::string& model, int64_t version,
                    const std::string& path) {
    absl::Status status;
    if (options_.verify_checksums) {
      status = store_->ReadVersion(model, version).status();
    } else {
      status = store_->ReadManifest(model, version).status();
      if (status.ok()) {
        status = ReadFileToString(Join(path, "weights.pt")).status();
      }
    }
    if (!status.ok()) Add(Kind::kDamaged, path, std::string(status.message()));
  }

  void CheckJobs() {
    const std::string jobs = Join(root_, kJobsDirectory);
    std::vector<std::string> names;
    if (!List(jobs, &names)) return;

    // Records first: they decide which work folders and checkpoints count.
    std::map<std::string, store::v1::JobRecord> records;
    for (const std::string& name : names) {
      absl::string_view job_id = name;
      if (absl::StartsWith(name, ".") ||
          !absl::ConsumeSuffix(&job_id, kJobRecordSuffix)) {
        continue;
      }
      const std::string path = Join(jobs, name);
      store::v1::JobRecord record;
      absl::StatusOr<std::string> json = ReadFileToString(path);
      absl::Status status = json.status();
      if (status.ok()) status = FromJson(*json, path, &record);
      if (!status.ok()) {
        Add(Kind::kDamaged, path, std::string(status.message()));
        continue;
      }
      records.emplace(std::string(job_id), std::move(record));
    }

    for (const std::string& name : names) {
      const std::string path = Join(jobs, name);
      absl::string_view job_id = name;
      if (absl::StartsWith(name, kTemporaryPrefix)) {
        if (!skip_in_use_) {
          Add(Kind::kLeftover, path, "a job record that was never completed");
        }
      } else if (absl::ConsumeSuffix(&job_id, kJobRecordSuffix)) {
        // Checked above.
      } else if (absl::ConsumeSuffix(&job_id, kJobWorkSuffix)) {
        if (!skip_in_use_) {
          const auto it = records.find(std::string(job_id));
          CheckWork(path, it == records.end() ? nullptr : &it->second);
        }
      } else {
        Add(Kind::kUnexpected, path, "not a job file the trainer wrote");
      }
    }
  }

  // A job's work folder: only the checkpoint its record trusts belongs.
  void CheckWork(const std::string& path, const store::v1::JobRecord* record) {
    if (record == nullptr) {
      Add(Kind::kLeftover, path, "work folder of a job without a record");
      return;
    }
    if (IsFinalJobState(record->job().state())) {
      Add(Kind::kLeftover, path, "work folder of a job that has ended");
      return;
    }
    std::vector<std::string> names;
    if (!List(path, &names)) return;
    bool trusted_found = false;
    for (const std::string& name : names) {
      int epoch = 0;
      if (ParseCheckpointName(name, &epoch) &&
          epoch == record->checkpoint_epoch()) {
        trusted_found = true;
        CheckCheckpoint(Join(path, name), *record);
      } else {
        Add(Kind::kLeftover, Join(path, name),
            "a checkpoint or file the job record does not name");
      }
    }
    if (record->checkpoint_epoch() > 0 && !trusted_found) {
      Add(Kind::kDamaged, path,
          absl::StrCat("the checkpoint of epoch ", record->checkpoint_epoch(),
                       " that the job record names is missing"));
    }
  }

  void CheckCheckpoint(const std::string& path,
                       const store::v1::JobRecord& record) {
    absl::StatusOr<std::string> bytes = ReadFileToString(path);
    if (!bytes.ok()) {
      Add(Kind::kDamaged, path, std::string(bytes.status().message()));
      return;
    }
    const std::string actual = Sha256Hex(*bytes);
    if (actual != record.checkpoint_sha256()) {
      Add(Kind::kDamaged, path,
          absl::StrCat("sha256 ", actual, " does not match the job record's ",
                       record.checkpoint_sha256()));
    }
  }

  const std::string root_;
  const StoreCheckOptions options_;
  std::unique_ptr<ModelStore> store_;
  const bool skip_in_use_;
  StoreReport report_;
};

}  // namespace

std::string TrainerLockPath(const std::string& store_root) {
  return Join(store_root, ".trainer.lock");
}

int StoreReport::Count(StoreFinding::Kind kind) const {
  int count = 0;
  for (const StoreFinding& finding : findings) count += finding.kind == kind;
  return count;
}

int StoreReport::RemainingLeftovers() const {
  int count = 0;
  for (const StoreFinding& finding : findings) {
    count += finding.kind == Kind::kLeftover && !finding.removed;
  }
  return count;
}

const char* FindingKindName(StoreFinding::Kind kind) {
  switch (kind) {
    case Kind::kLeftover:
      return "leftover";
    case Kind::kDamaged:
      return "damaged";
    case Kind::kUnexpected:
      return "unexpected";
  }
  return "unknown";
}

absl::StatusOr<StoreReport> CheckStore(const std::string& root,
                                       const StoreCheckOptions& options) {
  GC_ASSIGN_OR_RETURN(const bool exists, IsDirectory(root));
  if (!exists) {
    return absl::NotFoundError(absl::StrCat("store ", root, " not found"));
  }
  // Listing the root proves it is readable before anything is judged.
  GC_RETURN_IF_ERROR(ListDirectory(root).status());

  // Cleaning holds the lock throughout, so that no trainer starts writing
  // beside it; checking only asks whether a trainer runs.
  bool trainer_running = false;
  std::optional<FileLock> lock;
  if (!options.caller_holds_trainer_lock && options.remove_leftovers) {
    absl::StatusOr<FileLock> acquired =
        FileLock::TryAcquire(TrainerLockPath(root));
    if (absl::IsUnavailable(acquired.status())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "a trainer is running on ", root,
          "; stop it first (a trainer removes leftovers itself when it "
          "starts)"));
    }
    if (!acquired.ok()) return acquired.status();
    lock.emplace(*std::move(acquired));
  } else if (!options.caller_holds_trainer_lock) {
    GC_ASSIGN_OR_RETURN(trainer_running,
                        FileLock::IsHeld(TrainerLockPath(root)));
  }
  GC_ASSIGN_OR_RETURN(std::unique_ptr<ModelStore> store,
                      ModelStore::Open(root, /*read_only=*/true));
  return StoreChecker(root, options, std::move(store), trainer_running).Run();
}

}  // namespace gridcast
