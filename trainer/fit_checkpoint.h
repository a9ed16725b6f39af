// Saving and restoring the state of the training loop after an epoch, so
// that a job the trainer lost by a crash or a restart goes on from its last
// epoch and ends exactly as it would have without the interruption: the
// network's parameters, the optimizer's moments, the generator that
// shuffles and drops out, and the early-stopping bookkeeping.
//
// Includes LibTorch: only the training loop includes this header. The
// rest of the trainer sees the checkpoint as opaque bytes
// (TrainingCheckpoint in training.h).
#ifndef GRIDCAST_TRAINER_FIT_CHECKPOINT_H_
#define GRIDCAST_TRAINER_FIT_CHECKPOINT_H_

#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/model/networks.h"
#include "trainer/training.h"

namespace gridcast {

// Where the training loop keeps its state; every pointer must be set.
struct FitState {
  ForecastNetworkImpl* network = nullptr;
  torch::optim::Optimizer* optimizer = nullptr;
  at::Generator* generator = nullptr;
  // The parameters of the best epoch so far and its validation loss.
  std::vector<torch::Tensor>* best = nullptr;
  double* best_loss = nullptr;
  int* epochs_since_best = nullptr;
};

// The state as a LibTorch archive.
absl::StatusOr<std::string> SaveFitState(const FitState& state);

// Puts the state saved by SaveFitState back. DATA_LOSS when the bytes do
// not load or do not fit the network; the state is then unusable.
absl::Status RestoreFitState(const std::string& bytes, const FitState& state);

// Saves the state after `epoch` and hands it to `sink`; a failure to
// serialise is logged and training goes on (the previous checkpoint
// stands).
void OfferCheckpoint(int epoch, const FitState& state,
                     const std::function<void(const TrainingCheckpoint&)>& sink,
                     const std::string& job_id);

}  // namespace gridcast

#endif  // GRIDCAST_TRAINER_FIT_CHECKPOINT_H_
