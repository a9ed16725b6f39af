#include "inference/model_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "common/log.h"
#include "common/printable.h"
#include "common/status_macros.h"
#include "inference/inference_metrics.h"

namespace gridcast {
namespace {

// A request resolves its version again after a failed load (a default
// request then gets the next good version); failures are final, so this
// bound is only a guard.
constexpr int kMaxAcquireAttempts = 3;

void CopyManifest(const store::v1::Manifest& manifest,
                  v1::ModelVersion* description) {
  *description->mutable_spec() = manifest.spec();
  *description->mutable_evaluation() = manifest.evaluation();
  *description->mutable_lineage() = manifest.lineage();
  description->set_create_time(manifest.create_time());
  description->set_resolution_seconds(manifest.resolution_seconds());
  description->set_weights_sha256(manifest.weights_sha256());
}

std::string JoinVersions(const std::set<int64_t>& versions) {
  return versions.empty() ? "none" : absl::StrJoin(versions, ", ");
}

}  // namespace

bool ParseLoadMode(const std::string& text, LoadMode* mode) {
  if (text == "lazy") {
    *mode = LoadMode::kLazy;
  } else if (text == "eager") {
    *mode = LoadMode::kEager;
  } else {
    return false;
  }
  return true;
}

ModelRegistry::ModelRegistry(ModelRegistryOptions options, VersionLoader loader)
    : options_(options),
      loader_(std::move(loader)),
      pool_(std::make_unique<TaskPool>(options.load_threads)) {}

ModelRegistry::~ModelRegistry() { pool_.reset(); }

// --- the request path ---

absl::StatusOr<ModelHandle> ModelRegistry::Acquire(
    const std::string& model, const VersionSelector& selector) {
  absl::StatusOr<ModelHandle> result;
  absl::Notification done;
  AcquireAsync(model, selector, [&](absl::StatusOr<ModelHandle> handle) {
    result = std::move(handle);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

void ModelRegistry::AcquireAsync(const std::string& model,
                                 const VersionSelector& selector,
                                 AcquireCallback done) {
  AcquireAttempt(model, selector, std::move(done), /*attempt=*/1);
}

void ModelRegistry::AcquireAttempt(const std::string& model,
                                   const VersionSelector& selector,
                                   AcquireCallback done, int attempt) {
  // The common case under a shared lock: the version is loaded.
  absl::StatusOr<ModelHandle> ready = TakeLoaded(model, selector);
  if (!ready.ok() || *ready != nullptr) return done(std::move(ready));

  if (attempt > kMaxAcquireAttempts) {
    return done(absl::UnavailableError(
        absl::StrCat("model ", model, " failed to load ", kMaxAcquireAttempts,
                     " versions in a row; see its versions' reasons")));
  }

  // Not loaded: start its load, or join the one in progress, and try
  // again when it ends (a failed load then gives the failure, or for a
  // default request the next good version).
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<int64_t> version = ResolveLocked(model, selector);
    if (version.ok()) {
      Slot& slot = models_.at(model).versions.at(*version);
      if (slot.loaded == nullptr) {
        // The waiter takes the version straight from its load, so that
        // another load evicting it meanwhile cannot send it round again.
        slot.on_loaded.push_back(
            [this, model, selector, done = std::move(done),
             attempt](const absl::StatusOr<ModelHandle>& loaded) mutable {
              if (loaded.ok()) return done(*loaded);
              AcquireAttempt(model, selector, std::move(done), attempt + 1);
            });
        StartLoadLocked(model, *version, slot);
        return;
      }
    }
  }
  // Loaded (or refused) between the two locks.
  AcquireAttempt(model, selector, std::move(done), attempt + 1);
}

absl::StatusOr<ModelHandle> ModelRegistry::TakeLoaded(
    const std::string& model, const VersionSelector& selector) const {
  absl::ReaderMutexLock lock(&mu_);
  GC_ASSIGN_OR_RETURN(const int64_t version, ResolveLocked(model, selector));
  const Slot& slot = models_.at(model).versions.at(version);
  if (slot.loaded == nullptr) return ModelHandle();
  slot.last_used.store(++clock_, std::memory_order_relaxed);
  return slot.loaded;
}

absl::StatusOr<int64_t> ModelRegistry::ResolveLocked(
    const std::string& model, const VersionSelector& selector) const {
  const auto it = models_.find(model);
  if (it == models_.end()) {
    return absl::NotFoundError(absl::StrCat("model ", model, " not found"));
  }
  const Entry& entry = it->second;

  int64_t version = selector.version;
  if (!selector.alias.empty()) {
    const auto& aliases = entry.policy.aliases();
    const auto aliased = aliases.find(selector.alias);
    if (aliased == aliases.end()) {
      std::vector<std::string> names;
      for (const auto& [name, target] : aliases) names.push_back(name);
      return absl::NotFoundError(absl::StrCat(
          "alias ", selector.alias, " of model ", model,
          " not found; its policy has ",
          names.empty() ? "no aliases" : absl::StrJoin(names, ", ")));
    }
    version = aliased->second;
  }

  if (version == 0) {
    if (entry.default_version == 0) {
      return absl::UnavailableError(
          absl::StrCat("model ", model, " has no version to serve (",
                       entry.plan.default_reason, "); retry shortly"));
    }
    // A default that was evicted while its successor loads is not loaded
    // again: the request waits for the successor instead.
    const auto current = entry.versions.find(entry.default_version);
    if (entry.plan.default_version != 0 &&
        (current == entry.versions.end() ||
         current->second.loaded == nullptr)) {
      return entry.plan.default_version;
    }
    return entry.default_version;
  }

  const auto known = entry.versions.find(version);
  if (known == entry.versions.end()) {
    return absl::NotFoundError(
        absl::StrCat("version ", version, " of model ", model, " not found"));
  }
  const Slot& slot = known->second;
  if (slot.facts.rejected || slot.facts.failed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "version ", version, " of model ", model, " is not served (",
        slot.facts.rejected ? "rejected by the quality gate" : "failed to load",
        ": ", slot.description.reason(), ")"));
  }
  if (entry.plan.served.count(version) == 0 &&
      version != entry.default_version) {
    return absl::FailedPreconditionError(
        absl::StrCat("version ", version, " of model ", model,
                     " is not served by its policy (served: ",
                     JoinVersions(entry.plan.served),
                     "); the served version is ", entry.default_version));
  }
  return version;
}

// --- loading ---

void ModelRegistry::StartLoadLocked(const std::string& model, int64_t version,
                                    Slot& slot) {
  if (slot.loading) return;
  slot.loading = true;
  slot.description.set_state(v1::VERSION_STATE_LOADING);
  slot.description.clear_reason();
  pool_->Schedule([this, model, version] {
    FinishLoad(model, version, loader_(model, version));
  });
}

void ModelRegistry::FinishLoad(const std::string& model, int64_t version,
                               absl::StatusOr<LoadedVersion> result) {
  Released released;
  std::vector<std::function<void(const absl::StatusOr<ModelHandle>&)>>
      callbacks;
  // The failure, or (set below) the version now loaded.
  absl::StatusOr<ModelHandle> outcome = ModelHandle();
  if (!result.ok()) outcome = result.status();
  {
    absl::MutexLock lock(&mu_);
    Entry& entry = models_[model];
    Slot& slot = entry.versions[version];
    slot.loading = false;
    callbacks.swap(slot.on_loaded);

    if (!result.ok()) {
      // Refusal is final: a version is immutable, so it would fail again.
      slot.facts.failed = true;
      slot.description.set_state(v1::VERSION_STATE_FAILED);
      // The reason may quote bytes of a damaged file.
      slot.description.set_reason(PrintableUtf8(result.status().message()));
      RecordLoadFailure(result.status());
      LogError("version_refused")
          .Field("model", model)
          .Field("version", version)
          .Field("reason", result.status())
          .Field("served_version", entry.default_version);
    } else {
      slot.loaded = std::move(result->model);
      outcome = slot.loaded;
      slot.bytes = result->parameter_bytes;
      slot.evicted = false;
      slot.last_used.store(++clock_, std::memory_order_relaxed);
      slot.description.set_state(v1::VERSION_STATE_READY);
      slot.description.clear_reason();
      CopyManifest(slot.loaded->manifest(), &slot.description);
      RecordVersionServed(slot.loaded->manifest().create_time(),
                          result->load_time);
      loaded_bytes_ += slot.bytes;
      ++loaded_count_;
      LogInfo("version_loaded")
          .Field("model", model)
          .Field("version", version)
          .Field("parameter_bytes", slot.bytes)
          .Field("loaded_versions", loaded_count_);
    }
    RecomputeLocked(model, entry, &released);
    EvictLocked(result.ok() ? &slot : nullptr, &released);
  }
  // Dropped versions go before the waiters run: a request that follows
  // this load must find them freed (unless it holds one itself).
  released.clear();
  for (auto& callback : callbacks) callback(outcome);
}

void ModelRegistry::DropLocked(Slot& slot, Released* released) {
  loaded_bytes_ -= slot.bytes;
  --loaded_count_;
  released->push_back(std::move(slot.loaded));
  slot.loaded = nullptr;
  slot.description.set_state(v1::VERSION_STATE_UNLOADED);
}

void ModelRegistry::EvictLocked(const Slot* keep, Released* released) {
  const auto over = [&] {
    return (options_.memory_budget_bytes > 0 &&
            loaded_bytes_ > options_.memory_budget_bytes) ||
           (options_.max_loaded_versions > 0 &&
            loaded_count_ > options_.max_loaded_versions);
  };
  while (over()) {
    Slot* oldest = nullptr;
    const std::string* oldest_model = nullptr;
    int64_t oldest_version = 0;
    for (auto& [name, entry] : models_) {
      for (auto& [version, slot] : entry.versions) {
        if (slot.loaded == nullptr || &slot == keep) continue;
        if (oldest == nullptr ||
            slot.last_used.load(std::memory_order_relaxed) <
                oldest->last_used.load(std::memory_order_relaxed)) {
          oldest = &slot;
          oldest_model = &name;
          oldest_version = version;
        }
      }
    }
    if (oldest == nullptr) return;

    DropLocked(*oldest, released);
    oldest->evicted = true;
    const std::string why =
        (options_.max_loaded_versions > 0 &&
         loaded_count_ + 1 > options_.max_loaded_versions)
            ? absl::StrCat("evicted: at most ", options_.max_loaded_versions,
                           " versions stay loaded")
            : absl::StrCat("evicted: memory budget of ",
                           options_.memory_budget_bytes, " bytes");
    oldest->description.set_reason(why);
    LogInfo("version_evicted")
        .Field("model", *oldest_model)
        .Field("version", oldest_version)
        .Field("reason", why)
        .Field("loaded_versions", loaded_count_)
        .Field("loaded_bytes", loaded_bytes_);
  }
}

std::map<int64_t, VersionFacts> ModelRegistry::FactsOf(const Entry& entry) {
  std::map<int64_t, VersionFacts> facts;
  for (const auto& [version, slot] : entry.versions) {
    facts[version] = slot.facts;
  }
  return facts;
}

void ModelRegistry::RecomputeLocked(const std::string& model, Entry& entry,
                                    Released* released) {
  entry.plan = PlanServing(entry.policy, FactsOf(entry));
  const int64_t previous = entry.default_version;
  const int64_t target = entry.plan.default_version;

  // Swap only to a loaded version while the current one can still answer;
  // a model with nothing loaded points at its target and loads on use.
  const auto loaded = [&](int64_t version) {
    const auto it = entry.versions.find(version);
    return it != entry.versions.end() && it->second.loaded != nullptr;
  };
  int64_t next = target;
  if (target != 0 && !loaded(target) && previous != 0 && loaded(previous)) {
    next = previous;
  }
  entry.default_version = next;
  if (next != previous && loaded(next)) {
    LogInfo("version_swapped")
        .Field("model", model)
        .Field("version", next)
        .Field("previous_version", previous)
        .Field("why", entry.plan.default_reason);
  }

  std::map<int64_t, std::vector<std::string>> aliases;
  for (const auto& [alias, version] : entry.policy.aliases()) {
    aliases[version].push_back(alias);
  }
  for (auto& [version, slot] : entry.versions) {
    const bool served = entry.plan.served.count(version) > 0;
    slot.description.set_served(served);
    slot.description.clear_aliases();
    for (const std::string& alias : aliases[version]) {
      slot.description.add_aliases(alias);
    }
    if (served || version == next || slot.facts.failed || slot.facts.rejected) {
      continue;
    }
    if (slot.loaded != nullptr) {
      const std::string why =
          version == previous ? absl::StrCat("replaced by version ", next)
                              : std::string("no longer served by the policy");
      DropLocked(slot, released);
      slot.description.set_reason(why);
      LogInfo("version_unloaded")
          .Field("model", model)
          .Field("version", version)
          .Field("reason", why);
    } else if (slot.description.state() == v1::VERSION_STATE_AVAILABLE) {
      slot.description.set_reason("not served by the policy");
    }
  }
  for (auto& [version, slot] : entry.versions) {
    const bool in_use = entry.plan.served.count(version) > 0 || version == next;
    if (in_use && slot.description.state() == v1::VERSION_STATE_AVAILABLE) {
      slot.description.set_reason(
          options_.load_mode == LoadMode::kLazy ? "loads on first use" : "");
    }
  }
}

// --- from the store watcher ---

void ModelRegistry::NoteModel(const std::string& model) {
  absl::MutexLock lock(&mu_);
  models_[model];
}

std::vector<int64_t> ModelRegistry::KnownVersions(
    const std::string& model) const {
  std::vector<int64_t> known;
  absl::ReaderMutexLock lock(&mu_);
  const auto it = models_.find(model);
  if (it == models_.end()) return known;
  for (const auto& [version, slot] : it->second.versions) {
    known.push_back(version);
  }
  return known;
}

void ModelRegistry::NoteVersions(const std::string& model,
                                 std::vector<DiscoveredVersion> versions) {
  if (versions.empty()) return;
  Released released;
  absl::MutexLock lock(&mu_);
  Entry& entry = models_[model];
  for (DiscoveredVersion& found : versions) {
    if (entry.versions.count(found.version) > 0) continue;
    Slot& slot = entry.versions[found.version];
    slot.description.set_version(found.version);
    slot.description.set_state(v1::VERSION_STATE_AVAILABLE);
    if (!found.manifest.ok()) {
      slot.facts.failed = true;
      slot.description.set_state(v1::VERSION_STATE_FAILED);
      slot.description.set_reason(
          PrintableUtf8(found.manifest.status().message()));
      RecordLoadFailure(found.manifest.status());
      LogError("version_refused")
          .Field("model", model)
          .Field("version", found.version)
          .Field("reason", found.manifest.status());
      continue;
    }
    CopyManifest(*found.manifest, &slot.description);
    if (found.manifest->rejected()) {
      slot.facts.rejected = true;
      slot.description.set_state(v1::VERSION_STATE_REJECTED);
      slot.description.set_reason(found.manifest->rejection_reason().empty()
                                      ? "rejected by the quality gate"
                                      : found.manifest->rejection_reason());
      LogWarning("version_refused")
          .Field("model", model)
          .Field("version", found.version)
          .Field("reason", slot.description.reason())
          .Field("rejected", true);
    }
  }
  // A refused policy may name a version that has just appeared.
  if (!entry.policy_error.empty()) entry.policy_recheck = true;
  RecomputeLocked(model, entry, &released);
}

void ModelRegistry::SetPolicyText(const std::string& model,
                                  const std::optional<std::string>& json) {
  Released released;
  absl::MutexLock lock(&mu_);
  Entry& entry = models_[model];
  if (entry.policy_text == json && !entry.policy_recheck) return;
  entry.policy_text = json;
  entry.policy_recheck = false;

  if (!json.has_value()) {
    entry.policy = store::v1::ServingPolicy();
    entry.policy_error.clear();
    LogInfo("policy_applied").Field("model", model).Field("source", "default");
    RecomputeLocked(model, entry, &released);
    return;
  }

  absl::StatusOr<store::v1::ServingPolicy> policy = ParseServingPolicy(*json);
  absl::Status status = policy.status();
  if (status.ok()) status = CheckPolicyVersions(*policy, FactsOf(entry));
  if (!status.ok()) {
    const std::string error = std::string(status.message());
    if (error != entry.policy_error) {
      LogError("policy_refused")
          .Field("model", model)
          .Field("reason", status)
          .Field("served_version", entry.default_version);
    }
    entry.policy_error = error;
    return;
  }

  entry.policy = *std::move(policy);
  entry.policy_error.clear();
  RecomputeLocked(model, entry, &released);
  std::vector<std::string> aliases;
  for (const auto& [alias, version] : entry.policy.aliases()) {
    aliases.push_back(absl::StrCat(alias, "=", version));
  }
  LogInfo("policy_applied")
      .Field("model", model)
      .Field("source", kPolicyFile)
      .Field("served", JoinVersions(entry.plan.served))
      .Field("aliases", absl::StrJoin(aliases, ","))
      .Field("default_version", entry.plan.default_version);
}

int ModelRegistry::StartWantedLoads(const std::string& model,
                                    const std::function<void()>& loaded) {
  absl::MutexLock lock(&mu_);
  const auto it = models_.find(model);
  if (it == models_.end()) return 0;
  Entry& entry = it->second;

  std::set<int64_t> wanted;
  // A model answering requests gets its next default loaded beside the
  // current one, whatever the mode: that is the hot swap.
  const int64_t target = entry.plan.default_version;
  if (target != 0 && target != entry.default_version) wanted.insert(target);
  if (options_.load_mode == LoadMode::kEager) {
    for (int64_t version : entry.plan.served) {
      const Slot& slot = entry.versions.at(version);
      if (slot.loaded == nullptr && !slot.evicted) wanted.insert(version);
    }
  }

  int started = 0;
  for (int64_t version : wanted) {
    Slot& slot = entry.versions.at(version);
    if (slot.loaded != nullptr || slot.facts.failed || slot.facts.rejected) {
      continue;
    }
    slot.on_loaded.push_back(
        [loaded](const absl::StatusOr<ModelHandle>&) { loaded(); });
    StartLoadLocked(model, version, slot);
    ++started;
  }
  return started;
}

// --- state ---

int64_t ModelRegistry::ServedVersion(const std::string& model) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto it = models_.find(model);
  return it == models_.end() ? 0 : it->second.default_version;
}

int ModelRegistry::LoadedVersions() const {
  absl::ReaderMutexLock lock(&mu_);
  return loaded_count_;
}

int64_t ModelRegistry::LoadedBytes() const {
  absl::ReaderMutexLock lock(&mu_);
  return loaded_bytes_;
}

v1::Model ModelRegistry::DescribeLocked(const std::string& name,
                                        const Entry& entry) const {
  v1::Model model;
  model.set_name(name);
  model.set_served_version(entry.default_version);
  for (const auto& [version, slot] : entry.versions) {
    *model.add_versions() = slot.description;
  }
  for (const auto& [alias, version] : entry.policy.aliases()) {
    (*model.mutable_aliases())[alias] = version;
  }
  model.set_policy_error(entry.policy_error);
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
