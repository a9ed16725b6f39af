// Adam whose update of each parameter is one pass over its memory.
//
// LibTorch's Adam (like PyTorch's on the CPU) updates a parameter with
// seven separate tensor operations, each reading and writing every
// element, plus temporaries for the denominator. For the small networks a
// feeder gets, that costs a third of a training step (docs/accuracy.md,
// training speed). FusedAdam keeps LibTorch's Adam for everything but the
// arithmetic: the same options, the same per-parameter state (so optimizer
// checkpoints and SetLearningRate work unchanged) and the same formula,
// applied element by element in one loop.
#ifndef GRIDCAST_TRAINER_FUSED_ADAM_H_
#define GRIDCAST_TRAINER_FUSED_ADAM_H_

#include <vector>

#include <torch/optim/adam.h>

namespace gridcast {

class FusedAdam : public torch::optim::Adam {
 public:
  FusedAdam(std::vector<torch::Tensor> parameters,
            torch::optim::AdamOptions options)
      : torch::optim::Adam(std::move(parameters), std::move(options)) {}

  // Falls back to LibTorch's step when something is outside the fused
  // loop's reach: AMSGrad, weight decay, or a parameter that is not a
  // contiguous float tensor.
  torch::Tensor step(LossClosure closure = nullptr) override;

 private:
  bool Fusable() const;
};

}  // namespace gridcast

#endif  // GRIDCAST_TRAINER_FUSED_ADAM_H_
