// The model store: a directory tree shared by the trainer (read-write) and
// every inference replica (read-only).
//
//   <root>/datasets/<dataset-id>/series.pb     StoredSeries, binary
//   <root>/datasets/<dataset-id>/dataset.json  its Dataset, for people
//   <root>/models/<model>/<version>/weights.pt LibTorch archive
//   <root>/models/<model>/<version>/manifest.json
//
// Everything is immutable once published. Publishing writes into a
// temporary directory beside its destination, fsyncs the files and the
// directory, and renames it into place, so that a reader sees a whole
// dataset or version or none. Temporary directories start with ".tmp-" and
// are never listed.
#ifndef GRIDCAST_COMMON_STORE_MODEL_STORE_H_
#define GRIDCAST_COMMON_STORE_MODEL_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gridcast/store/v1/store.pb.h"
#include "gridcast/v1/trainer.pb.h"

namespace gridcast {

// A published version as read back from the store, checksum verified.
struct VersionArtifacts {
  int64_t version = 0;
  store::v1::Manifest manifest;
  // The bytes of weights.pt.
  std::string weights;
};

class ModelStore {
 public:
  // Opens the store at `root`. Read-write creates the root and its
  // sub-directories if missing; read-only requires nothing to exist yet
  // (inference may start before the first publish).
  static absl::StatusOr<std::unique_ptr<ModelStore>> Open(
      const std::string& root, bool read_only);

  const std::string& root() const { return root_; }

  // --- datasets ---

  // Stores `series` under an id derived from its content ("ds-" and 16 hex
  // digits of SHA-256), filling series.dataset().id and create_time.
  // Storing the same content twice yields the same id and is not an error.
  absl::StatusOr<v1::Dataset> PutDataset(store::v1::StoredSeries series);
  // NOT_FOUND naming the id when absent; DATA_LOSS when unreadable.
  absl::StatusOr<store::v1::StoredSeries> ReadDataset(
      const std::string& dataset_id) const;
  absl::StatusOr<v1::Dataset> GetDataset(const std::string& dataset_id) const;
  // Ordered by id.
  absl::StatusOr<std::vector<v1::Dataset>> ListDatasets() const;
  // Removes a dataset whole (rename away, then delete). NOT_FOUND if absent.
  absl::Status DeleteDataset(const std::string& dataset_id);

  // --- models ---

  // Publishes a new version of manifest.model(): sets weights_sha256 in the
  // manifest, writes both files durably and renames them to the next free
  // integer version (retrying if another publisher took it). Returns the
  // version. Concurrent publishers never produce a partial or duplicate
  // version.
  absl::StatusOr<int64_t> PublishVersion(store::v1::Manifest manifest,
                                         const std::string& weights);

  // Model names that have a directory, ordered.
  absl::StatusOr<std::vector<std::string>> ListModels() const;
  bool ModelExists(const std::string& model) const;
  // Published versions of `model` in increasing order (directories whose
  // name is a positive integer). Empty when the model has none.
  absl::StatusOr<std::vector<int64_t>> ListVersions(
      const std::string& model) const;
  // Reads manifest.json and weights.pt of a version and checks the weights
  // against the manifest's SHA-256: DATA_LOSS with the reason otherwise,
  // NOT_FOUND when the version does not exist.
  absl::StatusOr<VersionArtifacts> ReadVersion(const std::string& model,
                                               int64_t version) const;
  absl::StatusOr<store::v1::Manifest> ReadManifest(const std::string& model,
                                                   int64_t version) const;

  std::string ModelPath(const std::string& model) const;
  std::string VersionPath(const std::string& model, int64_t version) const;

 private:
  ModelStore(std::string root, bool read_only);

  // Creates models/<model>/ durably if it does not exist yet.
  absl::Status CreateModelDirectory(const std::string& model);
  // Renames the staged version directory to the next free version number
  // of `model`, retrying when a concurrent publisher took that number.
  absl::StatusOr<int64_t> RenameToNextVersion(const std::string& model,
                                              const std::string& staging);

  std::string root_;
  bool read_only_;
};

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_STORE_MODEL_STORE_H_
