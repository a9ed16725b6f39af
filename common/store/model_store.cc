#include "common/store/model_store.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "common/store/files.h"
#include "common/store/sha256.h"
#include "common/store/store_json.h"

namespace gridcast {
namespace {

using store::v1::Manifest;
using store::v1::StoredSeries;

// The manifest layout this build writes and the newest it can read.
constexpr int32_t kManifestFormatVersion = 1;

// Publishers racing for version numbers each win one rename per round, so
// this bound is only reached when something other than a race is wrong.
constexpr int kMaxPublishAttempts = 1000;

constexpr char kDatasetsDirectory[] = "datasets";
constexpr char kModelsDirectory[] = "models";
constexpr char kSeriesFile[] = "series.pb";
constexpr char kDatasetFile[] = "dataset.json";
constexpr char kWeightsFile[] = "weights.pt";
constexpr char kManifestFile[] = "manifest.json";
constexpr char kDatasetIdPrefix[] = "ds-";
constexpr int kDatasetIdHexDigits = 16;

std::string JoinPath(absl::string_view directory, absl::string_view name) {
  return absl::StrCat(directory, "/", name);
}

std::string DatasetFilePath(const std::string& root,
                            const std::string& dataset_id,
                            absl::string_view file) {
  return JoinPath(JoinPath(JoinPath(root, kDatasetsDirectory), dataset_id),
                  file);
}

// Temporary and deleted entries start with '.', which no valid name does.
bool IsHidden(absl::string_view name) {
  return !name.empty() && name.front() == '.';
}

int64_t NowUnixSeconds() { return absl::ToUnixSeconds(absl::Now()); }

std::string VersionLabel(const std::string& model, int64_t version) {
  return absl::StrFormat("version %d of model %s", version, model);
}

// Accepts exactly the names PublishVersion gives: a positive decimal
// integer without sign or leading zeros that fits in int64_t.
bool ParseVersionName(absl::string_view name, int64_t* version) {
  if (name.empty() || name.size() > 19 || name.front() == '0') return false;
  for (char c : name) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return absl::SimpleAtoi(name, version) && *version > 0;
}

absl::Status ValidateVersionNumber(int64_t version) {
  if (version > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("version=%d must be a positive integer", version));
}

// Equal messages give equal bytes, which content addressing relies on.
std::string SerializeDeterministically(
    const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    // Fails only for missing proto2 required fields, which proto3 lacks.
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

// "ds-" and the first hex digits of the SHA-256 of the series without the
// fields that PutDataset assigns.
std::string DatasetIdFor(StoredSeries series) {
  series.mutable_dataset()->clear_id();
  series.mutable_dataset()->clear_create_time();
  const std::string digest = Sha256Hex(SerializeDeterministically(series));
  return absl::StrCat(kDatasetIdPrefix, digest.substr(0, kDatasetIdHexDigits));
}

absl::Status RefuseIfReadOnly(bool read_only, const std::string& root,
                              absl::string_view operation) {
  if (!read_only) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("cannot ", operation, ": the model store at ", root,
                   " is open read-only"));
}

// Reads one file of a published version. A missing file in an existing
// version directory means the version was damaged after publishing.
absl::StatusOr<std::string> ReadVersionFile(const std::string& version_path,
                                            const std::string& label,
                                            absl::string_view file) {
  absl::StatusOr<std::string> content =
      ReadFileToString(JoinPath(version_path, file));
  if (!absl::IsNotFound(content.status())) return content;

  GC_ASSIGN_OR_RETURN(const bool version_exists, IsDirectory(version_path));
  if (!version_exists) return absl::NotFoundError(label + " not found");
  return absl::DataLossError(absl::StrCat(label, ": ", file, " missing"));
}

absl::Status CheckManifest(const Manifest& manifest, const std::string& model,
                           const std::string& path) {
  if (manifest.format_version() > kManifestFormatVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s has format_version %d; this build reads up to %d", path,
        manifest.format_version(), kManifestFormatVersion));
  }
  if (manifest.model() != model) {
    return absl::DataLossError(
        absl::StrFormat("%s names model \"%s\" but lies in model \"%s\"", path,
                        absl::CHexEscape(manifest.model()), model));
  }
  return absl::OkStatus();
}

absl::Status CheckWeights(const Manifest& manifest, const std::string& weights,
                          const std::string& label) {
  const std::string actual = Sha256Hex(weights);
  if (actual == manifest.weights_sha256()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(label, ": ", kWeightsFile, " sha256 ",
                                          actual, " does not match manifest ",
                                          manifest.weights_sha256()));
}

// Writes both files of a version into `staging` and makes them durable.
absl::Status StageVersion(const std::string& staging, const Manifest& manifest,
                          const std::string& weights) {
  GC_ASSIGN_OR_RETURN(const std::string json, ToJson(manifest));
  GC_RETURN_IF_ERROR(
      WriteFileDurably(JoinPath(staging, kWeightsFile), weights));
  GC_RETURN_IF_ERROR(WriteFileDurably(JoinPath(staging, kManifestFile), json));
  return FsyncDirectory(staging);
}

// Writes both files of a dataset into `staging` and makes them durable.
absl::Status StageDataset(const std::string& staging,
                          const StoredSeries& series) {
  GC_ASSIGN_OR_RETURN(const std::string json, ToJson(series.dataset()));
  GC_RETURN_IF_ERROR(WriteFileDurably(JoinPath(staging, kSeriesFile),
                                      SerializeDeterministically(series)));
  GC_RETURN_IF_ERROR(WriteFileDurably(JoinPath(staging, kDatasetFile), json));
  return FsyncDirectory(staging);
}

// Removes a staging directory after a failed publish. The failure the
// caller reports matters more than this one, which is only logged.
void DiscardStaging(const std::string& staging) {
  const absl::Status removed = RemoveTree(staging);
  if (!removed.ok()) {
    LogWarning("staging_not_removed")
        .Field("path", staging)
        .Field("reason", removed);
  }
}

// A name in datasets/ that no other deletion can pick at the same time.
std::string DeletedDatasetName(const std::string& dataset_id) {
  absl::BitGen random;
  return absl::StrFormat(".tmp-deleted-%s-%016x", dataset_id,
                         absl::Uniform<uint64_t>(random));
}

}  // namespace

ModelStore::ModelStore(std::string root, bool read_only)
    : root_(std::move(root)), read_only_(read_only) {}

absl::StatusOr<std::unique_ptr<ModelStore>> ModelStore::Open(
    const std::string& root, bool read_only) {
  if (root.empty()) {
    return absl::InvalidArgumentError("model store root must not be empty");
  }
  if (!read_only) {
    GC_RETURN_IF_ERROR(CreateDirectories(JoinPath(root, kDatasetsDirectory)));
    GC_RETURN_IF_ERROR(CreateDirectories(JoinPath(root, kModelsDirectory)));
  }
  // Staging directories of a publisher that crashed mid-write stay behind
  // as hidden .tmp-* entries that nobody lists. The trainer removes them
  // when it starts, holding the store's trainer lock so that no live
  // publisher's can be among them (see store_check.h).
  return std::unique_ptr<ModelStore>(new ModelStore(root, read_only));
}

// --- datasets ---

absl::StatusOr<v1::Dataset> ModelStore::PutDataset(StoredSeries series) {
  GC_RETURN_IF_ERROR(RefuseIfReadOnly(read_only_, root_, "store a dataset"));

  const std::string dataset_id = DatasetIdFor(series);
  series.mutable_dataset()->set_id(dataset_id);
  series.mutable_dataset()->set_create_time(NowUnixSeconds());

  const std::string datasets = JoinPath(root_, kDatasetsDirectory);
  GC_ASSIGN_OR_RETURN(const std::string staging, MakeTempDirectory(datasets));
  absl::Status status = StageDataset(staging, series);
  if (status.ok()) {
    status = RenameNoReplace(staging, JoinPath(datasets, dataset_id));
  }

  // The same content stored before: the first copy stands, with its
  // original create_time.
  if (absl::IsAlreadyExists(status)) {
    DiscardStaging(staging);
    return GetDataset(dataset_id);
  }
  if (!status.ok()) {
    DiscardStaging(staging);
    return status;
  }

  GC_RETURN_IF_ERROR(FsyncDirectory(datasets));
  return series.dataset();
}

absl::StatusOr<StoredSeries> ModelStore::ReadDataset(
    const std::string& dataset_id) const {
  GC_RETURN_IF_ERROR(ValidateName("dataset_id", dataset_id));

  const std::string path = DatasetFilePath(root_, dataset_id, kSeriesFile);
  absl::StatusOr<std::string> bytes = ReadFileToString(path);
  if (absl::IsNotFound(bytes.status())) {
    return absl::NotFoundError(
        absl::StrCat("dataset ", dataset_id, " not found"));
  }
  if (!bytes.ok()) return bytes.status();

  StoredSeries series;
  if (!series.ParseFromString(*bytes)) {
    return absl::DataLossError(
        absl::StrCat(path, " is not a valid ", series.GetTypeName()));
  }
  return series;
}

absl::StatusOr<v1::Dataset> ModelStore::GetDataset(
    const std::string& dataset_id) const {
  GC_RETURN_IF_ERROR(ValidateName("dataset_id", dataset_id));

  const std::string path = DatasetFilePath(root_, dataset_id, kDatasetFile);
  absl::StatusOr<std::string> json = ReadFileToString(path);
  if (absl::IsNotFound(json.status())) {
    return absl::NotFoundError(
        absl::StrCat("dataset ", dataset_id, " not found"));
  }
  if (!json.ok()) return json.status();

  v1::Dataset dataset;
  GC_RETURN_IF_ERROR(FromJson(*json, path, &dataset));
  if (dataset.id() != dataset_id) {
    return absl::DataLossError(
        absl::StrFormat("%s has id \"%s\" but lies in %s", path,
                        absl::CHexEscape(dataset.id()), dataset_id));
  }
  return dataset;
}

absl::StatusOr<std::vector<v1::Dataset>> ModelStore::ListDatasets() const {
  const std::string datasets = JoinPath(root_, kDatasetsDirectory);
  // A read-only store may be opened before anything was ever stored.
  GC_ASSIGN_OR_RETURN(const bool exists, IsDirectory(datasets));
  if (!exists) return std::vector<v1::Dataset>();
  GC_ASSIGN_OR_RETURN(const std::vector<std::string> names,
                      ListDirectory(datasets));

  // Directory names are the ids, and ListDirectory sorts them.
  std::vector<v1::Dataset> result;
  for (const std::string& name : names) {
    if (IsHidden(name) || !ValidateName("dataset_id", name).ok()) continue;
    absl::StatusOr<v1::Dataset> dataset = GetDataset(name);
    if (!dataset.ok()) {
      LogWarning("dataset_unreadable")
          .Field("dataset", name)
          .Field("reason", dataset.status());
      continue;
    }
    result.push_back(*std::move(dataset));
  }
  return result;
}

absl::Status ModelStore::DeleteDataset(const std::string& dataset_id) {
  GC_RETURN_IF_ERROR(RefuseIfReadOnly(read_only_, root_, "delete a dataset"));
  GC_RETURN_IF_ERROR(ValidateName("dataset_id", dataset_id));

  // Renaming first makes the dataset vanish whole; the slow removal then
  // works on a hidden name that nobody lists or reads.
  const std::string datasets = JoinPath(root_, kDatasetsDirectory);
  const std::string doomed = JoinPath(datasets, DeletedDatasetName(dataset_id));
  const absl::Status renamed =
      RenameNoReplace(JoinPath(datasets, dataset_id), doomed);
  if (absl::IsNotFound(renamed)) {
    return absl::NotFoundError(
        absl::StrCat("dataset ", dataset_id, " not found"));
  }
  GC_RETURN_IF_ERROR(renamed);
  GC_RETURN_IF_ERROR(FsyncDirectory(datasets));

  // The dataset is gone for every reader already; a leftover hidden
  // directory costs only space.
  const absl::Status removed = RemoveTree(doomed);
  if (!removed.ok()) {
    LogWarning("deleted_dataset_not_removed")
        .Field("dataset", dataset_id)
        .Field("path", doomed)
        .Field("reason", removed);
  }
  LogInfo("dataset_deleted").Field("dataset", dataset_id);
  return absl::OkStatus();
}

// --- models ---

absl::StatusOr<int64_t> ModelStore::PublishVersion(Manifest manifest,
                                                   const std::string& weights) {
  GC_RETURN_IF_ERROR(RefuseIfReadOnly(read_only_, root_, "publish a version"));
  const std::string model = manifest.model();
  GC_RETURN_IF_ERROR(ValidateName("model", model));
  if (manifest.format_version() > kManifestFormatVersion) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "manifest format_version=%d is newer than this build writes (%d)",
        manifest.format_version(), kManifestFormatVersion));
  }

  if (manifest.format_version() == 0) {
    manifest.set_format_version(kManifestFormatVersion);
  }
  if (manifest.create_time() == 0) manifest.set_create_time(NowUnixSeconds());
  manifest.set_weights_sha256(Sha256Hex(weights));

  GC_RETURN_IF_ERROR(CreateModelDirectory(model));
  GC_ASSIGN_OR_RETURN(const std::string staging,
                      MakeTempDirectory(ModelPath(model)));
  const absl::Status staged = StageVersion(staging, manifest, weights);
  const absl::StatusOr<int64_t> version =
      staged.ok() ? RenameToNextVersion(model, staging)
                  : absl::StatusOr<int64_t>(staged);
  if (!version.ok()) {
    DiscardStaging(staging);
    return version.status();
  }

  // The version is whole and visible now. Should the directory's fsync
  // fail, reporting failure would invite a second, duplicate publish, so
  // the version is returned and the failure logged.
  const absl::Status synced = FsyncDirectory(ModelPath(model));
  if (!synced.ok()) {
    LogError("version_not_synced")
        .Field("model", model)
        .Field("version", *version)
        .Field("reason", synced);
  }
  LogInfo("version_published")
      .Field("model", model)
      .Field("version", *version)
      .Field("sha256", manifest.weights_sha256());
  return version;
}

absl::Status ModelStore::CreateModelDirectory(const std::string& model) {
  GC_ASSIGN_OR_RETURN(const bool exists, IsDirectory(ModelPath(model)));
  if (exists) return absl::OkStatus();

  GC_RETURN_IF_ERROR(CreateDirectories(ModelPath(model)));
  // Without this, a crash could lose the model directory and with it the
  // versions renamed into it.
  return FsyncDirectory(JoinPath(root_, kModelsDirectory));
}

absl::StatusOr<int64_t> ModelStore::RenameToNextVersion(
    const std::string& model, const std::string& staging) {
  for (int attempt = 0; attempt < kMaxPublishAttempts; ++attempt) {
    GC_ASSIGN_OR_RETURN(const std::vector<int64_t> versions,
                        ListVersions(model));
    const int64_t next = versions.empty() ? 1 : versions.back() + 1;

    // Another publisher may take `next` between the listing and the
    // rename; the rename then fails as a whole and we look again.
    const absl::Status renamed =
        RenameNoReplace(staging, VersionPath(model, next));
    if (renamed.ok()) return next;
    if (!absl::IsAlreadyExists(renamed)) return renamed;
  }
  return absl::AbortedError(absl::StrFormat(
      "publishing model %s: no free version number after %d attempts", model,
      kMaxPublishAttempts));
}

absl::StatusOr<std::vector<std::string>> ModelStore::ListModels() const {
  const std::string models = JoinPath(root_, kModelsDirectory);
  GC_ASSIGN_OR_RETURN(const bool exists, IsDirectory(models));
  if (!exists) return std::vector<std::string>();
  GC_ASSIGN_OR_RETURN(const std::vector<std::string> names,
                      ListDirectory(models));

  std::vector<std::string> result;
  for (const std::string& name : names) {
    if (IsHidden(name) || !ValidateName("model", name).ok()) continue;
    GC_ASSIGN_OR_RETURN(const bool is_model, IsDirectory(ModelPath(name)));
    if (is_model) result.push_back(name);
  }
  return result;
}

bool ModelStore::ModelExists(const std::string& model) const {
  if (!ValidateName("model", model).ok()) return false;
  const absl::StatusOr<bool> exists = IsDirectory(ModelPath(model));
  return exists.ok() && *exists;
}

absl::StatusOr<std::vector<int64_t>> ModelStore::ListVersions(
    const std::string& model) const {
  GC_RETURN_IF_ERROR(ValidateName("model", model));
  absl::StatusOr<std::vector<std::string>> names =
      ListDirectory(ModelPath(model));
  if (absl::IsNotFound(names.status())) {
    return absl::NotFoundError(absl::StrCat("model ", model, " not found"));
  }
  if (!names.ok()) return names.status();

  std::vector<int64_t> versions;
  for (const std::string& name : *names) {
    int64_t version = 0;
    if (ParseVersionName(name, &version)) versions.push_back(version);
  }
  // Names sort as text ("10" before "9"), versions as numbers.
  std::sort(versions.begin(), versions.end());
  return versions;
}

absl::StatusOr<VersionArtifacts> ModelStore::ReadVersion(
    const std::string& model, int64_t version) const {
  VersionArtifacts artifacts;
  artifacts.version = version;
  GC_ASSIGN_OR_RETURN(artifacts.manifest, ReadManifest(model, version));

  const std::string label = VersionLabel(model, version);
  GC_ASSIGN_OR_RETURN(
      artifacts.weights,
      ReadVersionFile(VersionPath(model, version), label, kWeightsFile));
  GC_RETURN_IF_ERROR(
      CheckWeights(artifacts.manifest, artifacts.weights, label));
  return artifacts;
}

absl::StatusOr<Manifest> ModelStore::ReadManifest(const std::string& model,
                                                  int64_t version) const {
  GC_RETURN_IF_ERROR(ValidateName("model", model));
  GC_RETURN_IF_ERROR(ValidateVersionNumber(version));

  const std::string version_path = VersionPath(model, version);
  GC_ASSIGN_OR_RETURN(
      const std::string json,
      ReadVersionFile(version_path, VersionLabel(model, version),
                      kManifestFile));

  const std::string path = JoinPath(version_path, kManifestFile);
  Manifest manifest;
  GC_RETURN_IF_ERROR(FromJson(json, path, &manifest));
  GC_RETURN_IF_ERROR(CheckManifest(manifest, model, path));
  return manifest;
}

std::string ModelStore::ModelPath(const std::string& model) const {
  return JoinPath(JoinPath(root_, kModelsDirectory), model);
}

std::string ModelStore::VersionPath(const std::string& model,
                                    int64_t version) const {
  return JoinPath(ModelPath(model), absl::StrCat(version));
}

}  // namespace gridcast
