#include "inference/store_watcher.h"

#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/printable.h"
#include "common/status_macros.h"
#include "inference/inference_metrics.h"

namespace gridcast {

absl::Status SmokeTest(const ForecastModel& model) { return model.SmokeTest(); }

StoreWatcher::StoreWatcher(const ModelStore* store, ModelRegistry* registry,
                           StoreWatcherOptions options)
    : store_(store), registry_(registry), options_(options) {
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
  absl::StatusOr<std::vector<std::string>> models = store_->ListModels();
  if (!models.ok()) {
    LogWarning("store_unreadable")
        .Field("store", store_->root())
        .Field("reason", models.status());
    return;
  }
  for (const std::string& model : *models) PollModel(model);
}

void StoreWatcher::PollModel(const std::string& model) {
  absl::StatusOr<std::vector<int64_t>> versions = store_->ListVersions(model);
  if (!versions.ok()) {
    LogWarning("model_unreadable")
        .Field("model", model)
        .Field("reason", versions.status());
    return;
  }
  registry_->NoteModel(model);
  for (int64_t version : *versions) registry_->NoteVersion(model, version);

  // Newest first: if it fails, the next newest still beats what is
  // served now.
  for (int64_t version : registry_->Candidates(model)) {
    registry_->MarkLoading(model, version);
    const auto started = std::chrono::steady_clock::now();
    absl::StatusOr<std::shared_ptr<const ForecastModel>> loaded =
        LoadVersion(model, version);
    const double load_ms = std::chrono::duration<double, std::milli>(
                               std::chrono::steady_clock::now() - started)
                               .count();
    if (!loaded.ok()) {
      RecordLoadFailure(loaded.status());
      // The reason may quote bytes of a damaged file.
      registry_->MarkFailed(model, version,
                            PrintableUtf8(loaded.status().message()));
      LogError("version_refused")
          .Field("model", model)
          .Field("version", version)
          .Field("reason", loaded.status())
          .Field("served_version", registry_->ServedVersion(model));
      continue;
    }
    const int64_t previous = registry_->ServedVersion(model);
    RecordVersionServed((*loaded)->manifest().create_time(),
                        absl::Milliseconds(load_ms));
    registry_->Serve(model, version, *std::move(loaded));
    LogInfo("version_swapped")
        .Field("model", model)
        .Field("version", version)
        .Field("previous_version", previous)
        .Field("load_ms", load_ms);
    return;
  }
}

absl::StatusOr<std::shared_ptr<const ForecastModel>> StoreWatcher::LoadVersion(
    const std::string& model, int64_t version) const {
  GC_ASSIGN_OR_RETURN(VersionArtifacts artifacts,
                      store_->ReadVersion(model, version));
  // TODO(issue 4): a rejected version should show VERSION_STATE_REJECTED;
  // until the registry has that state it is refused like a failed one.
  if (artifacts.manifest.rejected()) {
    return absl::FailedPreconditionError(
        absl::StrCat("rejected by the quality gate: ",
                     artifacts.manifest.rejection_reason()));
  }
  GC_ASSIGN_OR_RETURN(std::unique_ptr<ForecastModel> loaded,
                      ForecastModel::Load(std::move(artifacts.manifest),
                                          artifacts.weights, version));
  GC_RETURN_IF_ERROR(SmokeTest(*loaded));
  return std::shared_ptr<const ForecastModel>(std::move(loaded));
}

}  // namespace gridcast
