// Fitting a network to load histories by backprop, evaluating it against
// seasonal naive on held-out tails, and producing what gets published.
//
// Each series is split in time: the oldest part trains, the part after it
// decides early stopping, and the newest part (the test tail) is scored.
// Input windows may reach back across a boundary; targets never do.
#ifndef GRIDCAST_TRAINER_TRAINING_H_
#define GRIDCAST_TRAINER_TRAINING_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/store/model_store.h"
#include "gridcast/store/v1/store.pb.h"
#include "gridcast/v1/trainer.pb.h"

namespace gridcast {

// Fills the defaults documented in TrainingOptions and checks ranges:
// INVALID_ARGUMENT naming the field ("options.learning_rate=-1 ...").
absl::Status ResolveTrainingOptions(int64_t resolution_seconds,
                                    v1::TrainingOptions* options);

// Where a series of `points` values is cut: [0, validation_start) trains,
// [validation_start, test_start) validates, [test_start, points) is scored.
struct SeriesSplit {
  int64_t validation_start = 0;
  int64_t test_start = 0;
  int64_t points = 0;
};

// FAILED_PRECONDITION naming `dataset_id` when the series is too short to
// give at least one window to each part.
absl::StatusOr<SeriesSplit> SplitSeries(int64_t points, int input_window,
                                        int horizon,
                                        const v1::TrainingOptions& options,
                                        const std::string& dataset_id);

// What training needs to go on after `epoch` as if it had never stopped
// (see trainer/fit_checkpoint.h; opaque here).
struct TrainingCheckpoint {
  int32_t epoch = 0;
  std::string state;
};

struct TrainingInput {
  std::string model;
  std::string job_id;
  std::vector<store::v1::StoredSeries> series;
  // Resolved (see ResolveArchitecture); ignored when fine-tuning.
  v1::ArchitectureSpec spec;
  // Resolved (see ResolveTrainingOptions).
  v1::TrainingOptions options;
  // When set, training starts from this version's weights, spec and
  // normalisation.
  const VersionArtifacts* base = nullptr;
  v1::ModelRef base_ref;
  // When set, training goes on after this checkpoint of the same job
  // instead of starting at epoch 1.
  const TrainingCheckpoint* resume = nullptr;
};

struct TrainingCallbacks {
  // After every epoch, with its losses.
  std::function<void(const v1::EpochProgress&)> on_epoch;
  // When training ends and the test tail is scored.
  std::function<void()> on_evaluating;
  // Polled between batches; true stops training with CANCELLED.
  std::function<bool()> cancelled;
  // After every epoch that training goes on from (after on_epoch), with
  // the state to resume from. A checkpoint that cannot be made is logged
  // and skipped.
  std::function<void(const TrainingCheckpoint&)> on_checkpoint;
};

struct TrainedModel {
  // Everything but weights_sha256, which the store fills when publishing.
  store::v1::Manifest manifest;
  std::string weights;
  int32_t epochs_run = 0;
};

// Trains (or fine-tunes) and evaluates. The run is reproducible for a
// given seed and thread count.
absl::StatusOr<TrainedModel> TrainForecastModel(
    const TrainingInput& input, const TrainingCallbacks& callbacks);

}  // namespace gridcast

#endif  // GRIDCAST_TRAINER_TRAINING_H_
