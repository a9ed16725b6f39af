#include "inference/store_watcher.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/store/files.h"

namespace gridcast {
namespace {

// Counts the loads a poll started down to zero.
class LoadCounter {
 public:
  void Add(int count) {
    absl::MutexLock lock(&mu_);
    pending_ += count;
  }
  void Done() {
    absl::MutexLock lock(&mu_);
    --pending_;
  }
  void WaitForZero() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* pending) { return *pending <= 0; }, &pending_));
  }

 private:
  absl::Mutex mu_;
  int pending_ = 0;
};

}  // namespace

absl::Status SmokeTest(const ForecastModel& model) { return model.SmokeTest(); }

absl::StatusOr<LoadedVersion> LoadVersionFromStore(const ModelStore& store,
                                                   const std::string& model,
                                                   int64_t version) {
  const absl::Time started = absl::Now();
  GC_ASSIGN_OR_RETURN(VersionArtifacts artifacts,
                      store.ReadVersion(model, version));
  GC_ASSIGN_OR_RETURN(std::unique_ptr<ForecastModel> loaded,
                      ForecastModel::Load(std::move(artifacts.manifest),
                                          artifacts.weights, version));
  GC_RETURN_IF_ERROR(SmokeTest(*loaded));

  LoadedVersion result;
  result.parameter_bytes = loaded->parameter_bytes();
  result.load_time = absl::Now() - started;
  result.model = std::move(loaded);
  return result;
}

StoreWatcher::StoreWatcher(const ModelStore* store, ModelRegistry* registry,
                           StoreWatcherOptions options,
                           StoreSyncCallback on_first_sync)
    : store_(store),
      registry_(registry),
      options_(options),
      on_first_sync_(std::move(on_first_sync)) {
  if (options_.start_thread) thread_ = std::thread([this] { Loop(); });
}

StoreWatcher::~StoreWatcher() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void StoreWatcher::Loop() {
  do {
    PollOnce();
  } while (!stop_.WaitForNotificationWithTimeout(options_.poll_interval));
}

void StoreWatcher::PollOnce() {
  const absl::Time started = absl::Now();
  absl::StatusOr<std::vector<std::string>> models = store_->ListModels();
  if (!models.ok()) {
    LogWarning("store_unreadable")
        .Field("store", store_->root())
        .Field("reason", models.status());
    return;
  }
  // Loads of all models run on the pool at once; the poll ends when the
  // last of them has.
  StoreSync sync;
  sync.models = static_cast<int>(models->size());
  auto counter = std::make_shared<LoadCounter>();
  for (const std::string& model : *models) {
    absl::StatusOr<int> loads =
        PollModel(model, [counter] { counter->Done(); });
    if (!loads.ok()) {
      ++sync.unreadable_models;
      continue;
    }
    counter->Add(*loads);
    sync.loads += *loads;
  }
  counter->WaitForZero();
  sync.duration = absl::Now() - started;

  if (synced_.exchange(true)) return;
  if (on_first_sync_) on_first_sync_(sync);
}

absl::StatusOr<int> StoreWatcher::PollModel(
    const std::string& model, const std::function<void()>& loaded) {
  absl::StatusOr<std::vector<int64_t>> versions = store_->ListVersions(model);
  if (!versions.ok()) {
    LogWarning("model_unreadable")
        .Field("model", model)
        .Field("reason", versions.status());
    return versions.status();
  }
  registry_->NoteModel(model);

  const std::vector<int64_t> known = registry_->KnownVersions(model);
  std::vector<DiscoveredVersion> discovered;
  for (int64_t version : *versions) {
    if (std::binary_search(known.begin(), known.end(), version)) continue;
    discovered.push_back({version, store_->ReadManifest(model, version)});
  }
  registry_->NoteVersions(model, std::move(discovered));

  const std::string policy_path =
      absl::StrCat(store_->ModelPath(model), "/", kPolicyFile);
  absl::StatusOr<std::string> policy = ReadFileToString(policy_path);
  if (policy.ok()) {
    registry_->SetPolicyText(model, *policy);
  } else if (absl::IsNotFound(policy.status())) {
    registry_->SetPolicyText(model, std::nullopt);
  } else {
    LogWarning("policy_unreadable")
        .Field("model", model)
        .Field("reason", policy.status());
  }

  return registry_->StartWantedLoads(model, loaded);
}

}  // namespace gridcast
