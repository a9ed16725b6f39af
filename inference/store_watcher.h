// Finds what the model store holds and tells the registry: every model,
// every new version with its manifest (read once: versions are immutable)
// and each model's policy.json. Loading happens on the registry's pool;
// a poll waits for the loads it started, so that a test stepping polls by
// hand sees them done.
//
// Polling (not inotify) because it is what works on NFS, CephFS and EFS.
#ifndef GRIDCAST_INFERENCE_STORE_WATCHER_H_
#define GRIDCAST_INFERENCE_STORE_WATCHER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/model/forecast_model.h"
#include "common/store/model_store.h"
#include "inference/model_registry.h"

namespace gridcast {

// The watcher's first full pass over the store: every model listed and
// every load it called for ended, loaded or refused. A replica is ready
// from then on.
struct StoreSync {
  // Models listed, and those whose versions could not be listed (logged as
  // model_unreadable; they do not hold the pass up, lest one bad folder
  // keep every replica unready).
  int models = 0;
  int unreadable_models = 0;
  // Loads the pass started or joined and waited for.
  int loads = 0;
  // How long the pass took.
  absl::Duration duration;
};
using StoreSyncCallback = std::function<void(const StoreSync&)>;

struct StoreWatcherOptions {
  absl::Duration poll_interval = absl::Seconds(1);
  // When false no thread starts; tests call PollOnce() by hand.
  bool start_thread = true;
};

class StoreWatcher {
 public:
  // `on_first_sync` (may be null) runs once, on the thread of the first
  // PollOnce() that could list the store, when that poll ends.
  StoreWatcher(const ModelStore* store, ModelRegistry* registry,
               StoreWatcherOptions options,
               StoreSyncCallback on_first_sync = nullptr);
  // Stops the polling thread.
  ~StoreWatcher();

  // One pass over the store: notes every model, version and policy, then
  // starts the loads the registry wants and waits until they end.
  void PollOnce();

 private:
  // Returns how many loads it started, or why the model's versions cannot
  // be listed (already logged).
  absl::StatusOr<int> PollModel(const std::string& model,
                                const std::function<void()>& loaded);
  void Loop();

  const ModelStore* const store_;
  ModelRegistry* const registry_;
  const StoreWatcherOptions options_;
  const StoreSyncCallback on_first_sync_;
  // Set by the first pass that could list the store.
  std::atomic<bool> synced_{false};
  absl::Notification stop_;
  std::thread thread_;
};

// Reads a version from the store, verifies its checksum, builds its
// network and runs the smoke forecast that also warms it up.
absl::StatusOr<LoadedVersion> LoadVersionFromStore(const ModelStore& store,
                                                   const std::string& model,
                                                   int64_t version);

// Runs one forecast on a window at the mean load and checks its shape and
// that every value is finite.
absl::Status SmokeTest(const ForecastModel& model);

}  // namespace gridcast

#endif  // GRIDCAST_INFERENCE_STORE_WATCHER_H_
