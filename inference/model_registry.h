// What this replica serves: for every model it knows, the version that
// answers requests and the state of every version it has seen, with the
// reason for that state.
//
// Requests take a shared_ptr to the version they start with and keep it to
// the end, so a swap never pulls a model from under a forward pass and an
// old version is freed when its last request ends.
#ifndef GRIDCAST_INFERENCE_MODEL_REGISTRY_H_
#define GRIDCAST_INFERENCE_MODEL_REGISTRY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/model/forecast_model.h"
#include "gridcast/v1/forecaster.pb.h"

namespace gridcast {

class ModelRegistry {
 public:
  // The model to run a request on: the served version, or `version` when
  // it is not 0. NOT_FOUND for a model or version the registry has never
  // seen, UNAVAILABLE while the model has no served version yet,
  // FAILED_PRECONDITION for a pinned version that is not the served one.
  absl::StatusOr<std::shared_ptr<const ForecastModel>> Acquire(
      const std::string& model, int64_t version) const;

  // Records a version found in the store (state AVAILABLE) unless it is
  // known already. Registers the model too.
  void NoteVersion(const std::string& model, int64_t version);
  // Records a model directory that has no version yet.
  void NoteModel(const std::string& model);

  void MarkLoading(const std::string& model, int64_t version);
  // Refuses a version for good (until restart): state FAILED with reason.
  void MarkFailed(const std::string& model, int64_t version,
                  const std::string& reason);
  // Makes `loaded` the served version in one step; the previous one goes
  // to UNLOADED and is freed when its last request lets go of it.
  void Serve(const std::string& model, int64_t version,
             std::shared_ptr<const ForecastModel> loaded);

  // The version served now (0 if none).
  int64_t ServedVersion(const std::string& model) const;
  // Versions above the served one that have not been tried yet, highest
  // first.
  std::vector<int64_t> Candidates(const std::string& model) const;

  absl::StatusOr<v1::Model> Describe(const std::string& model) const;
  std::vector<v1::Model> DescribeAll() const;

 private:
  struct Entry {
    std::shared_ptr<const ForecastModel> served;
    int64_t served_version = 0;
    // What GetModel reports of each version: state, reason and, once the
    // manifest has been read, its spec, metrics and lineage.
    std::map<int64_t, v1::ModelVersion> versions;
  };

  v1::Model DescribeLocked(const std::string& name, const Entry& entry) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> models_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gridcast

#endif  // GRIDCAST_INFERENCE_MODEL_REGISTRY_H_
