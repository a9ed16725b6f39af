#include "inference/model_registry.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace gridcast {
namespace {

void CopyManifest(const store::v1::Manifest& manifest,
                  v1::ModelVersion* description) {
  *description->mutable_spec() = manifest.spec();
  *description->mutable_evaluation() = manifest.evaluation();
  *description->mutable_lineage() = manifest.lineage();
  description->set_create_time(manifest.create_time());
  description->set_resolution_seconds(manifest.resolution_seconds());
  description->set_weights_sha256(manifest.weights_sha256());
}

}  // namespace

absl::StatusOr<std::shared_ptr<const ForecastModel>> ModelRegistry::Acquire(
    const std::string& model, int64_t version) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto it = models_.find(model);
  if (it == models_.end()) {
    return absl::NotFoundError(absl::StrCat("model ", model, " not found"));
  }
  const Entry& entry = it->second;
  if (version != 0 && version != entry.served_version) {
    const auto known = entry.versions.find(version);
    if (known == entry.versions.end()) {
      return absl::NotFoundError(
          absl::StrCat("version ", version, " of model ", model, " not found"));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "version ", version, " of model ", model, " is not served (state ",
        v1::VersionState_Name(known->second.state()),
        known->second.reason().empty() ? "" : ": ", known->second.reason(),
        "); the served version is ", entry.served_version));
  }
  if (entry.served == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "model ", model, " has no version loaded yet; retry shortly"));
  }
  return entry.served;
}

void ModelRegistry::NoteModel(const std::string& model) {
  absl::MutexLock lock(&mu_);
  models_[model];
}

void ModelRegistry::NoteVersion(const std::string& model, int64_t version) {
  absl::MutexLock lock(&mu_);
  auto& versions = models_[model].versions;
  if (versions.count(version) > 0) return;
  v1::ModelVersion& description = versions[version];
  description.set_version(version);
  description.set_state(v1::VERSION_STATE_AVAILABLE);
}

void ModelRegistry::MarkLoading(const std::string& model, int64_t version) {
  absl::MutexLock lock(&mu_);
  v1::ModelVersion& description = models_[model].versions[version];
  description.set_version(version);
  description.set_state(v1::VERSION_STATE_LOADING);
}

void ModelRegistry::MarkFailed(const std::string& model, int64_t version,
                               const std::string& reason) {
  absl::MutexLock lock(&mu_);
  v1::ModelVersion& description = models_[model].versions[version];
  description.set_version(version);
  description.set_state(v1::VERSION_STATE_FAILED);
  description.set_reason(reason);
}

void ModelRegistry::Serve(const std::string& model, int64_t version,
                          std::shared_ptr<const ForecastModel> loaded) {
  // The previous version is released outside the lock: its destructor may
  // free a large network.
  std::shared_ptr<const ForecastModel> previous;
  {
    absl::MutexLock lock(&mu_);
    Entry& entry = models_[model];
    v1::ModelVersion& description = entry.versions[version];
    description.set_version(version);
    description.set_state(v1::VERSION_STATE_READY);
    description.clear_reason();
    CopyManifest(loaded->manifest(), &description);

    if (entry.served_version != 0) {
      v1::ModelVersion& old = entry.versions[entry.served_version];
      old.set_state(v1::VERSION_STATE_UNLOADED);
      old.set_reason(absl::StrCat("replaced by version ", version));
    }
    previous = std::move(entry.served);
    entry.served = std::move(loaded);
    entry.served_version = version;
  }
}

int64_t ModelRegistry::ServedVersion(const std::string& model) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto it = models_.find(model);
  return it == models_.end() ? 0 : it->second.served_version;
}

std::vector<int64_t> ModelRegistry::Candidates(const std::string& model) const {
  std::vector<int64_t> candidates;
  absl::ReaderMutexLock lock(&mu_);
  const auto it = models_.find(model);
  if (it == models_.end()) return candidates;
  const Entry& entry = it->second;
  for (auto v = entry.versions.rbegin(); v != entry.versions.rend(); ++v) {
    if (v->first <= entry.served_version) break;
    if (v->second.state() == v1::VERSION_STATE_AVAILABLE) {
      candidates.push_back(v->first);
    }
  }
  return candidates;
}

v1::Model ModelRegistry::DescribeLocked(const std::string& name,
                                        const Entry& entry) const {
  v1::Model model;
  model.set_name(name);
  model.set_served_version(entry.served_version);
  for (const auto& [version, description] : entry.versions) {
    *model.add_versions() = description;
  }
  return model;
}

absl::StatusOr<v1::Model> ModelRegistry::Describe(
    const std::string& model) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto it = models_.find(model);
  if (it == models_.end()) {
    return absl::NotFoundError(absl::StrCat("model ", model, " not found"));
  }
  return DescribeLocked(it->first, it->second);
}

std::vector<v1::Model> ModelRegistry::DescribeAll() const {
  std::vector<v1::Model> all;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [name, entry] : models_) {
    all.push_back(DescribeLocked(name, entry));
  }
  return all;
}

}  // namespace gridcast
