// Finds what the model store holds and tells the registry: every model,
// every new version with its manifest (read once: versions are immutable)
// and each model's policy.json. Loading happens on the registry's pool;
// a poll waits for the loads it started, so that a test stepping polls by
// hand sees them done.
//
// Polling (not inotify) because it is what works on NFS, CephFS and EFS.
#ifndef GRIDCAST_INFERENCE_STORE_WATCHER_H_
#define GRIDCAST_INFERENCE_STORE_WATCHER_H_

#include <cstdint>
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

struct StoreWatcherOptions {
  absl::Duration poll_interval = absl::Seconds(1);
  // When false no thread starts; tests call PollOnce() by hand.
  bool start_thread = true;
};

class StoreWatcher {
 public:
  StoreWatcher(const ModelStore* store, ModelRegistry* registry,
               StoreWatcherOptions options);
  // Stops the polling thread.
  ~StoreWatcher();

  // One pass over the store: notes every model, version and policy, then
  // starts the loads the registry wants and waits until they end.
  void PollOnce();

 private:
  // Returns how many loads it started.
  int PollModel(const std::string& model, const std::function<void()>& loaded);
  void Loop();

  const ModelStore* const store_;
  ModelRegistry* const registry_;
  const StoreWatcherOptions options_;
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
