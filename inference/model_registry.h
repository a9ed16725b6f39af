// What this replica serves: for every model it knows, the state of every
// version it has seen (with the reason for that state), the serving policy
// in force, and the loaded versions.
//
// Three roles, as in TF Serving: the store watcher *finds* versions and
// policies and reports them here; a VersionLoader on a background pool
// *loads* and warms up versions; the registry *hands* them to requests.
// A request holds a shared_ptr to the version it started with, so neither
// a swap nor an eviction pulls a model from under a forward pass: a version
// is freed when the registry has dropped it and its last request ends.
//
// Loaded versions live in one LRU across all models, bounded by a memory
// budget (parameter bytes) and a count. Loads are lazy (on first use) or
// eager (as soon as the policy serves a version); either way, a model that
// is answering requests gets its next default version loaded beside the
// current one and swapped in one step, so at most one extra copy of a
// model is in memory during a swap.
#ifndef GRIDCAST_INFERENCE_MODEL_REGISTRY_H_
#define GRIDCAST_INFERENCE_MODEL_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/model/forecast_model.h"
#include "gridcast/store/v1/store.pb.h"
#include "gridcast/v1/forecaster.pb.h"
#include "inference/serving_policy.h"
#include "inference/task_pool.h"

namespace gridcast {

enum class LoadMode {
  // A version is loaded when a request first needs it.
  kLazy,
  // Every version the policy serves is loaded as soon as it is found.
  kEager,
};

// "lazy" or "eager"; false for anything else.
bool ParseLoadMode(const std::string& text, LoadMode* mode);

struct ModelRegistryOptions {
  LoadMode load_mode = LoadMode::kEager;
  // Upper bound on the estimated parameter bytes of all loaded versions;
  // 0 means no bound. A single version above it is still loaded (alone).
  int64_t memory_budget_bytes = int64_t{2} << 30;
  // Upper bound on the number of loaded versions; 0 means no bound.
  int max_loaded_versions = 1000;
  // Threads that load and warm up versions.
  int load_threads = 2;
};

// A loaded, checked and warmed-up version and what it costs in memory.
struct LoadedVersion {
  std::shared_ptr<const ForecastModel> model;
  // The size of the network's parameters.
  int64_t parameter_bytes = 0;
  // Reading, building and warming up.
  absl::Duration load_time;
};

// Reads, checks and warms up one version of a model; the reason on error.
// Called on the registry's load pool, never with a lock held.
using VersionLoader = std::function<absl::StatusOr<LoadedVersion>(
    const std::string& model, int64_t version)>;

// How a request names the version it wants: a number, an alias of the
// policy, or neither (the default version).
struct VersionSelector {
  int64_t version = 0;
  std::string alias;
};

using ModelHandle = std::shared_ptr<const ForecastModel>;
using AcquireCallback = std::function<void(absl::StatusOr<ModelHandle>)>;

// A version found in the store: its manifest, or why it cannot be read.
struct DiscoveredVersion {
  int64_t version = 0;
  absl::StatusOr<store::v1::Manifest> manifest;
};

class ModelRegistry {
 public:
  ModelRegistry(ModelRegistryOptions options, VersionLoader loader);
  // Finishes the loads in progress first.
  ~ModelRegistry();

  // --- the request path ---

  // Calls `done` once with the version to run a request on, at once when
  // it is loaded, otherwise on the load pool when its load has ended.
  // NOT_FOUND for a model, version or alias the registry does not know,
  // FAILED_PRECONDITION for a version that is rejected, failed or not
  // served by the policy, UNAVAILABLE when the model has nothing to serve.
  void AcquireAsync(const std::string& model, const VersionSelector& selector,
                    AcquireCallback done);
  // The same, waiting for the load.
  absl::StatusOr<ModelHandle> Acquire(const std::string& model,
                                      const VersionSelector& selector);

  // --- from the store watcher ---

  // Records a model directory, with or without versions.
  void NoteModel(const std::string& model);
  // Versions of `model` already recorded, so that the watcher reads only
  // the manifests of new ones.
  std::vector<int64_t> KnownVersions(const std::string& model) const;
  // Records newly found versions: AVAILABLE, REJECTED (the manifest says
  // so) or FAILED (the manifest cannot be read).
  void NoteVersions(const std::string& model,
                    std::vector<DiscoveredVersion> versions);
  // The text of the model's policy.json, or nullopt when it has none. A
  // text that does not parse or names versions that cannot be served is
  // refused (logged once, shown by GetModel) and the policy in force stays.
  void SetPolicyText(const std::string& model,
                     const std::optional<std::string>& json);
  // Starts the loads that the load mode and the policy call for now; each
  // calls `loaded` when it ends. Returns how many were started or joined.
  int StartWantedLoads(const std::string& model,
                       const std::function<void()>& loaded);

  // --- state ---

  // The version answering requests that name no version (0 if none).
  int64_t ServedVersion(const std::string& model) const;
  absl::StatusOr<v1::Model> Describe(const std::string& model) const;
  std::vector<v1::Model> DescribeAll() const;
  // Loaded versions across all models, and their estimated bytes.
  int LoadedVersions() const;
  int64_t LoadedBytes() const;

 private:
  struct Slot {
    // What GetModel reports: state, reason, manifest fields, aliases.
    v1::ModelVersion description;
    VersionFacts facts;
    std::shared_ptr<const ForecastModel> loaded;
    int64_t bytes = 0;
    // LRU clock value of the last request; read and written under a
    // shared lock.
    mutable std::atomic<uint64_t> last_used{0};
    bool loading = false;
    // Dropped to respect the budget: reloaded on demand only, never by
    // an eager poll, so that a budget too small cannot thrash.
    bool evicted = false;
    // Called when the load in progress ends, with the loaded version or
    // why it failed.
    std::vector<std::function<void(const absl::StatusOr<ModelHandle>&)>>
        on_loaded;
  };
  struct Entry {
    std::map<int64_t, Slot> versions;
    store::v1::ServingPolicy policy;
    // The policy.json text last seen (nullopt: no file), and why it is
    // not in force.
    std::optional<std::string> policy_text;
    std::string policy_error;
    // Set when versions appear while a policy is refused: it may name them.
    bool policy_recheck = false;
    ServingPlan plan;
    int64_t default_version = 0;
  };
  // Versions and buffers to release once the lock is dropped: destroying a
  // network may take a while.
  using Released = std::vector<std::shared_ptr<const ForecastModel>>;

  void AcquireAttempt(const std::string& model, const VersionSelector& selector,
                      AcquireCallback done, int attempt);
  // The loaded version `selector` names (null when it is not loaded), or
  // why it cannot be used.
  absl::StatusOr<ModelHandle> TakeLoaded(const std::string& model,
                                         const VersionSelector& selector) const;
  // The version `selector` names, or why it cannot be used.
  absl::StatusOr<int64_t> ResolveLocked(const std::string& model,
                                        const VersionSelector& selector) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void StartLoadLocked(const std::string& model, int64_t version, Slot& slot)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLoad(const std::string& model, int64_t version,
                  absl::StatusOr<LoadedVersion> result);
  // Applies the policy to the versions as they stand: the served set, the
  // default version (swapped only once it is loaded), what to drop.
  void RecomputeLocked(const std::string& model, Entry& entry,
                       Released* released) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Evicts least recently used versions, except `keep`, until the budget
  // and the count are respected.
  void EvictLocked(const Slot* keep, Released* released)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropLocked(Slot& slot, Released* released)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::Model DescribeLocked(const std::string& name, const Entry& entry) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  static std::map<int64_t, VersionFacts> FactsOf(const Entry& entry);

  const ModelRegistryOptions options_;
  const VersionLoader loader_;
  mutable std::atomic<uint64_t> clock_{0};

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> models_ ABSL_GUARDED_BY(mu_);
  int64_t loaded_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int loaded_count_ ABSL_GUARDED_BY(mu_) = 0;

  // Last, so that it is destroyed first: pending loads still find the
  // registry whole.
  // Known gap: loads run in arrival order, so a request waiting for a
  // cold model queues behind an eager start-up of many models; a priority
  // for loads that requests wait on would shorten that first answer.
  std::unique_ptr<TaskPool> pool_;
};

}  // namespace gridcast

#endif  // GRIDCAST_INFERENCE_MODEL_REGISTRY_H_
