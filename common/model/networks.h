// The network definitions, shared line for line by the trainer (which fits
// them) and inference (which runs them). This header pulls in LibTorch:
// include it only from the few files that need tensors.
#ifndef GRIDCAST_COMMON_MODEL_NETWORKS_H_
#define GRIDCAST_COMMON_MODEL_NETWORKS_H_

#include <memory>
#include <string>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gridcast/v1/types.pb.h"

namespace gridcast {

// Every network maps features [batch, FeatureCount(input_window)] to the
// whole horizon at once, [batch, horizon], on the normalised scale.
//
// Randomness (initial weights, dropout) comes from a generator the trainer
// owns, never from LibTorch's global one, so that a job is reproducible
// even while other jobs or model loads run in the same process.
class ForecastNetworkImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor features) = 0;

  // Draws fresh initial weights from `generator`.
  virtual void ResetParameters(at::Generator& generator) = 0;

  // The generator dropout draws from while training; without one, dropout
  // is off.
  void set_generator(c10::optional<at::Generator> generator) {
    generator_ = std::move(generator);
  }

 protected:
  c10::optional<at::Generator> generator_;
};

// The seed's perceptron: hidden layers of ReLU units (with dropout while
// training), then one linear layer to the horizon.
class MlpNetworkImpl : public ForecastNetworkImpl {
 public:
  MlpNetworkImpl(int feature_count, int horizon, const v1::MlpSpec& spec);
  torch::Tensor forward(torch::Tensor features) override;
  void ResetParameters(at::Generator& generator) override;

 private:
  torch::nn::ModuleList layers_;
  double dropout_;
};

// A generator for training, seeded for reproducible runs.
at::Generator MakeGenerator(uint64_t seed);

// Builds the network a resolved spec (see ResolveArchitecture) describes,
// with freshly initialised weights from LibTorch's global generator.
absl::StatusOr<std::shared_ptr<ForecastNetworkImpl>> BuildNetwork(
    const v1::ArchitectureSpec& spec);

// Parameters and buffers as a LibTorch archive (the bytes of weights.pt).
absl::StatusOr<std::string> SerializeWeights(ForecastNetworkImpl& network);

// Loads an archive into a network built from the same spec. A missing
// tensor, a shape that differs from the network's, or a damaged archive is
// DATA_LOSS with the tensor's name; the network is then unusable.
absl::Status LoadWeights(const std::string& bytes,
                         ForecastNetworkImpl* network);

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_MODEL_NETWORKS_H_
