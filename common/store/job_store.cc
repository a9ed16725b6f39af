#include "common/store/job_store.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "common/store/files.h"
#include "common/store/sha256.h"
#include "common/store/store_json.h"

namespace gridcast {
namespace {

constexpr char kCheckpointPrefix[] = "epoch-";
constexpr char kCheckpointSuffix[] = ".ckpt";

}  // namespace

bool ParseCheckpointName(absl::string_view name, int* epoch) {
  if (!absl::ConsumePrefix(&name, kCheckpointPrefix) ||
      !absl::ConsumeSuffix(&name, kCheckpointSuffix)) {
    return false;
  }
  return absl::SimpleAtoi(name, epoch) && *epoch > 0;
}

absl::StatusOr<std::unique_ptr<JobStore>> JobStore::Open(
    const std::string& store_root) {
  const std::string directory = absl::StrCat(store_root, "/", kJobsDirectory);
  GC_ASSIGN_OR_RETURN(const bool existed, IsDirectory(directory));
  if (!existed) {
    GC_RETURN_IF_ERROR(CreateDirectories(directory));
    GC_RETURN_IF_ERROR(FsyncDirectory(store_root));
  }
  return std::unique_ptr<JobStore>(new JobStore(directory));
}

std::string JobStore::RecordPath(const std::string& job_id) const {
  return absl::StrCat(directory_, "/", job_id, kJobRecordSuffix);
}

std::string JobStore::WorkPath(const std::string& job_id) const {
  return absl::StrCat(directory_, "/", job_id, kJobWorkSuffix);
}

std::string JobStore::CheckpointPath(const std::string& job_id,
                                     int epoch) const {
  return absl::StrFormat("%s/%s%d%s", WorkPath(job_id), kCheckpointPrefix,
                         epoch, kCheckpointSuffix);
}

absl::Status JobStore::Save(const store::v1::JobRecord& record) const {
  GC_RETURN_IF_ERROR(ValidateName("job.id", record.job().id()));
  GC_ASSIGN_OR_RETURN(const std::string json, ToJson(record));
  return ReplaceFileAtomically(RecordPath(record.job().id()), json);
}

absl::StatusOr<std::vector<store::v1::JobRecord>> JobStore::LoadAll(
    std::vector<absl::Status>* unreadable) const {
  GC_ASSIGN_OR_RETURN(const std::vector<std::string> names,
                      ListDirectory(directory_));

  std::vector<store::v1::JobRecord> records;
  for (const std::string& name : names) {
    absl::string_view job_id = name;
    if (absl::StartsWith(name, ".") ||
        !absl::ConsumeSuffix(&job_id, kJobRecordSuffix)) {
      continue;
    }
    const std::string path = absl::StrCat(directory_, "/", name);
    store::v1::JobRecord record;
    absl::StatusOr<std::string> json = ReadFileToString(path);
    absl::Status status = json.status();
    if (status.ok()) status = FromJson(*json, path, &record);
    if (status.ok() && record.job().id() != job_id) {
      status = absl::DataLossError(absl::StrFormat(
          "%s holds job \"%s\"", path, absl::CHexEscape(record.job().id())));
    }
    if (!status.ok()) {
      unreadable->push_back(status);
      continue;
    }
    records.push_back(std::move(record));
  }
  return records;
}

absl::StatusOr<std::string> JobStore::WriteCheckpoint(
    const std::string& job_id, int epoch, absl::string_view bytes) const {
  GC_RETURN_IF_ERROR(ValidateName("job_id", job_id));
  const std::string work = WorkPath(job_id);
  GC_ASSIGN_OR_RETURN(const bool existed, IsDirectory(work));
  if (!existed) {
    GC_RETURN_IF_ERROR(CreateDirectories(work));
    GC_RETURN_IF_ERROR(FsyncDirectory(directory_));
  }
  GC_RETURN_IF_ERROR(
      ReplaceFileAtomically(CheckpointPath(job_id, epoch), bytes));
  return Sha256Hex(bytes);
}

absl::StatusOr<std::string> JobStore::ReadCheckpoint(
    const std::string& job_id, int epoch, const std::string& sha256) const {
  const std::string path = CheckpointPath(job_id, epoch);
  GC_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  const std::string actual = Sha256Hex(bytes);
  if (actual != sha256) {
    return absl::DataLossError(absl::StrCat(
        path, " has sha256 ", actual, " but the job record says ", sha256));
  }
  return bytes;
}

absl::Status JobStore::RemoveCheckpointsExcept(const std::string& job_id,
                                               int keep_epoch) const {
  const std::string work = WorkPath(job_id);
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(work);
  if (absl::IsNotFound(names.status())) return absl::OkStatus();
  if (!names.ok()) return names.status();

  for (const std::string& name : *names) {
    int epoch = 0;
    if (ParseCheckpointName(name, &epoch) && epoch == keep_epoch) continue;
    GC_RETURN_IF_ERROR(RemoveTree(absl::StrCat(work, "/", name)));
  }
  return absl::OkStatus();
}

absl::Status JobStore::RemoveWork(const std::string& job_id) const {
  GC_RETURN_IF_ERROR(ValidateName("job_id", job_id));
  return RemoveTree(WorkPath(job_id));
}

}  // namespace gridcast
