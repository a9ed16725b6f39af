// The network definitions, shared line for line by the trainer (which fits
// them) and inference (which runs them). This header pulls in LibTorch:
// include it only from the few files that need tensors.
#ifndef GRIDCAST_COMMON_MODEL_NETWORKS_H_
#define GRIDCAST_COMMON_MODEL_NETWORKS_H_

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/model/features.h"
#include "gridcast/v1/types.pb.h"

namespace gridcast {

// What every network shares: it reads the two input blocks of
// features.h, past [batch, window, channels] and future [batch, horizon,
// channels], and answers [batch, horizon, 1 + quantiles] on the
// dataset-wide scale: column 0 is the point forecast, then one column per
// quantile level of the spec, in increasing order.
//
// The base class does what must be the same for every family: the
// per-window (instance) scaling of the load and its undoing, and the
// quantile construction that keeps levels from crossing. A family only
// writes Core().
//
// Randomness (initial weights, dropout) comes from a generator the trainer
// owns, never from LibTorch's global one, so that a job is reproducible
// even while other jobs or model loads run in the same process.
class ForecastNetworkImpl : public torch::nn::Module {
 public:
  explicit ForecastNetworkImpl(const v1::ArchitectureSpec& spec);

  torch::Tensor forward(torch::Tensor past, torch::Tensor future);

  // What training fits, each on its own loss: forward()'s one output for
  // most networks, every member's for an ensemble (whose forward() is the
  // members' mean). Same shape and scale as forward().
  std::vector<torch::Tensor> MemberOutputs(torch::Tensor past,
                                           torch::Tensor future);

  // Draws fresh initial weights from `generator`: LibTorch's own rules
  // (uniform within 1/sqrt(fan-in) for linear layers, 1/sqrt(hidden) for
  // recurrent ones), then any family-specific start.
  void ResetParameters(at::Generator& generator);

  // The generator dropout draws from while training; without one, dropout
  // is off.
  void set_generator(c10::optional<at::Generator> generator) {
    generator_ = std::move(generator);
  }

  const FeatureShape& shape() const { return shape_; }
  int quantile_count() const { return static_cast<int>(quantiles_.size()); }

 protected:
  // `load` [batch, window] is the load on the window's own scale; `past`
  // carries it as channel 0. Returns [batch, horizon, 1 + quantiles]: the
  // point forecast on the window scale, then raw quantile offsets.
  virtual torch::Tensor Core(const torch::Tensor& load,
                             const torch::Tensor& past,
                             const torch::Tensor& future);

  // An ensemble writes this instead of Core(): one output per member, each
  // shaped as Core()'s.
  virtual std::vector<torch::Tensor> Members(const torch::Tensor& load,
                                             const torch::Tensor& past,
                                             const torch::Tensor& future) {
    return {Core(load, past, future)};
  }

  // Called after the uniform initialisation, for families that start some
  // weights elsewhere.
  virtual void AfterReset() {}

  // The inputs besides the load, flattened for the feed-forward families:
  // covariates over the window, the calendar of the first forecast point,
  // the holiday flag of every horizon point and the known-future
  // covariates over the horizon. [batch, ExogenousSize()].
  torch::Tensor FlatExogenous(const torch::Tensor& past,
                              const torch::Tensor& future) const;
  int ExogenousSize() const;

  // [batch, horizon * k] laid out k blocks of horizon -> [batch, horizon,
  // k].
  torch::Tensor ByHorizon(const torch::Tensor& flat, int k) const;

  torch::Tensor Dropout(const torch::Tensor& x, double probability);

  int outputs() const { return 1 + quantile_count(); }

  FeatureShape shape_;

 private:
  torch::Tensor NonCrossing(const torch::Tensor& raw) const;

  std::vector<double> quantiles_;
  // Levels below 0.5: they are built downwards from the point forecast.
  int lower_levels_ = 0;
  bool instance_scaling_ = true;
  c10::optional<at::Generator> generator_;
};

// The seed's perceptron: hidden layers of ReLU units (with dropout while
// training), then one linear layer to the horizon.
class MlpNetworkImpl : public ForecastNetworkImpl {
 public:
  explicit MlpNetworkImpl(const v1::ArchitectureSpec& spec);

 protected:
  torch::Tensor Core(const torch::Tensor& load, const torch::Tensor& past,
                     const torch::Tensor& future) override;

 private:
  torch::nn::ModuleList layers_;
  double dropout_;
};

// NLinear / DLinear: linear maps from the window to the horizon, plus a
// linear map of the other inputs (started at zero, so that training begins
// from the pure window map), plus one for the quantile offsets. With
// lookback members, one such set of maps per member, each over the end of
// the window; a lone member's maps carry the plain names (`load_map`),
// members' maps their lookback (`load_map_w48`).
class LinearNetworkImpl : public ForecastNetworkImpl {
 public:
  explicit LinearNetworkImpl(const v1::ArchitectureSpec& spec);

 protected:
  std::vector<torch::Tensor> Members(const torch::Tensor& load,
                                     const torch::Tensor& past,
                                     const torch::Tensor& future) override;
  void AfterReset() override;

 private:
  struct Member {
    int lookback = 0;                         // the last points of the window
    torch::nn::Linear load_map{nullptr};      // last-value variant
    torch::nn::Linear trend_map{nullptr};     // decomposition variant
    torch::nn::Linear seasonal_map{nullptr};  // decomposition variant
    torch::nn::Linear exogenous_map{nullptr};
    torch::nn::Linear spread_map{nullptr};  // only with quantiles
  };

  Member MakeMember(int lookback, const std::string& suffix);
  torch::Tensor MemberCore(Member& member, const torch::Tensor& load,
                           const torch::Tensor& exogenous);
  torch::Tensor MovingAverage(const torch::Tensor& load) const;

  v1::LinearSpec::Variant variant_;
  int moving_average_points_;
  std::vector<Member> members_;
};

// One block of the residual stack.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int inputs, int window, int forecast_size,
                    const v1::ResidualStackSpec& spec);
  torch::nn::ModuleList layers;
  torch::nn::Linear backcast{nullptr};
  torch::nn::Linear forecast{nullptr};
};
TORCH_MODULE(ResidualBlock);

// N-BEATS-style stack of residual blocks (generic basis).
class ResidualStackNetworkImpl : public ForecastNetworkImpl {
 public:
  explicit ResidualStackNetworkImpl(const v1::ArchitectureSpec& spec);

 protected:
  torch::Tensor Core(const torch::Tensor& load, const torch::Tensor& past,
                     const torch::Tensor& future) override;

 private:
  std::vector<ResidualBlock> blocks_;
  double dropout_;
};

// A GRU or LSTM over the window, its last state and the future inputs
// mapped to the horizon by one linear layer.
class RecurrentNetworkImpl : public ForecastNetworkImpl {
 public:
  explicit RecurrentNetworkImpl(const v1::ArchitectureSpec& spec);

 protected:
  torch::Tensor Core(const torch::Tensor& load, const torch::Tensor& past,
                     const torch::Tensor& future) override;

 private:
  torch::nn::GRU gru_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::Linear head_{nullptr};
};

// A generator for training, seeded for reproducible runs.
at::Generator MakeGenerator(uint64_t seed);

// Builds the network a resolved spec (see ResolveArchitecture) describes,
// with LibTorch's default initial weights.
absl::StatusOr<std::shared_ptr<ForecastNetworkImpl>> BuildNetwork(
    const v1::ArchitectureSpec& spec);

// Parameters and buffers as a LibTorch archive (the bytes of weights.pt).
absl::StatusOr<std::string> SerializeWeights(ForecastNetworkImpl& network);

// Loads an archive into a network built from the same spec. A missing
// tensor, a shape that differs from the network's, or a damaged archive is
// DATA_LOSS with the tensor's name; the network is then unusable.
absl::Status LoadWeights(const std::string& bytes,
                         ForecastNetworkImpl* network);

// The trainable tensors of `network` as two groups: those whose name
// starts with one of `frozen_prefixes`, and the rest. INVALID_ARGUMENT
// naming a prefix that matches nothing, with the names there are.
struct ParameterGroups {
  std::vector<torch::Tensor> trainable;
  std::vector<torch::Tensor> frozen;
};
absl::StatusOr<ParameterGroups> SplitFrozen(
    ForecastNetworkImpl& network,
    const std::vector<std::string>& frozen_prefixes);

}  // namespace gridcast

#endif  // GRIDCAST_COMMON_MODEL_NETWORKS_H_
