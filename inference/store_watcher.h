// Finds new versions in the model store and loads them off the request
// path: read, verify the checksum, build the network, run one smoke
// forecast, then hand the version to the registry. A version that fails
// any step is refused with its reason, and the served one stays.
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

  // One pass over the store: notes every model and version, and loads
  // the newest untried version above the served one of each model.
  void PollOnce();

 private:
  void PollModel(const std::string& model);
  // Loads and checks one version; the reason of a refusal on error.
  absl::StatusOr<std::shared_ptr<const ForecastModel>> LoadVersion(
      const std::string& model, int64_t version) const;
  void Loop();

  const ModelStore* const store_;
  ModelRegistry* const registry_;
  const StoreWatcherOptions options_;
  absl::Notification stop_;
  std::thread thread_;
};

// Runs one forecast on a window at the mean load and checks its shape and
// that every value is finite.
absl::Status SmokeTest(const ForecastModel& model);

}  // namespace gridcast

#endif  // GRIDCAST_INFERENCE_STORE_WATCHER_H_
