#include "common/model/networks.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gridcast {
namespace {

namespace F = torch::nn::functional;

// Keeps the window scale finite for a flat window (a stuck meter).
constexpr double kScaleFloor = 1e-5;

std::string ShapeText(const torch::Tensor& tensor) {
  return absl::StrCat("[", absl::StrJoin(tensor.sizes(), ","), "]");
}

void UniformInPlace(torch::Tensor& tensor, double bound,
                    at::Generator& generator) {
  tensor.uniform_(-bound, bound, generator);
}

}  // namespace

// ---------------------------------------------------------------------------
// What every family shares.

ForecastNetworkImpl::ForecastNetworkImpl(const v1::ArchitectureSpec& spec)
    : shape_(ShapeOf(spec)),
      quantiles_(spec.quantiles().begin(), spec.quantiles().end()),
      instance_scaling_(spec.window_scaling() != v1::WINDOW_SCALING_NONE) {
  lower_levels_ =
      static_cast<int>(std::count_if(quantiles_.begin(), quantiles_.end(),
                                     [](double level) { return level < 0.5; }));
}

torch::Tensor ForecastNetworkImpl::forward(torch::Tensor past,
                                           torch::Tensor future) {
  std::vector<torch::Tensor> outputs =
      MemberOutputs(std::move(past), std::move(future));
  if (outputs.size() == 1) return outputs.front();
  // The mean of non-crossing levels does not cross either.
  return torch::stack(outputs).mean(0);
}

std::vector<torch::Tensor> ForecastNetworkImpl::MemberOutputs(
    torch::Tensor past, torch::Tensor future) {
  torch::Tensor load = past.select(2, 0);
  torch::Tensor mean, scale;
  if (instance_scaling_) {
    mean = load.mean(1, /*keepdim=*/true);
    scale = (load.var(1, /*unbiased=*/false, /*keepdim=*/true) + kScaleFloor)
                .sqrt();
    load = (load - mean) / scale;
    past = torch::cat({load.unsqueeze(2), past.slice(2, 1)}, 2);
  }

  std::vector<torch::Tensor> outputs = Members(load, past, future);
  for (torch::Tensor& output : outputs) {
    output = NonCrossing(output);
    if (instance_scaling_) {
      output = output * scale.unsqueeze(2) + mean.unsqueeze(2);
    }
  }
  return outputs;
}

torch::Tensor ForecastNetworkImpl::Core(const torch::Tensor&,
                                        const torch::Tensor&,
                                        const torch::Tensor&) {
  // Every family overrides Core() or Members(); reaching this is a bug.
  TORCH_CHECK(false, "network family defines neither Core nor Members");
}

// Lower levels hang below the point forecast and upper levels above it,
// each one a non-negative step (softplus) further out than its neighbour,
// so no two levels can cross whatever the weights are.
torch::Tensor ForecastNetworkImpl::NonCrossing(const torch::Tensor& raw) const {
  if (quantiles_.empty()) return raw;
  const torch::Tensor point = raw.slice(2, 0, 1);
  const torch::Tensor steps = torch::softplus(raw.slice(2, 1));

  std::vector<torch::Tensor> parts = {point};
  if (lower_levels_ > 0) {
    const torch::Tensor down = steps.slice(2, 0, lower_levels_);
    parts.push_back(point - down.flip({2}).cumsum(2).flip({2}));
  }
  if (lower_levels_ < quantile_count()) {
    parts.push_back(point + steps.slice(2, lower_levels_).cumsum(2));
  }
  return torch::cat(parts, 2);
}

void ForecastNetworkImpl::ResetParameters(at::Generator& generator) {
  torch::NoGradGuard no_grad;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::LinearImpl>()) {
      const double bound = 1.0 / std::sqrt(linear->options.in_features());
      UniformInPlace(linear->weight, bound, generator);
      if (linear->bias.defined()) {
        UniformInPlace(linear->bias, bound, generator);
      }
    } else if (auto* gru = module->as<torch::nn::GRUImpl>()) {
      const double bound = 1.0 / std::sqrt(gru->options.hidden_size());
      for (auto& parameter : gru->parameters()) {
        UniformInPlace(parameter, bound, generator);
      }
    } else if (auto* lstm = module->as<torch::nn::LSTMImpl>()) {
      const double bound = 1.0 / std::sqrt(lstm->options.hidden_size());
      for (auto& parameter : lstm->parameters()) {
        UniformInPlace(parameter, bound, generator);
      }
    }
  }
  AfterReset();
}

int ForecastNetworkImpl::ExogenousSize() const {
  return shape_.input_window * shape_.covariates + 4 + shape_.horizon +
         shape_.horizon * shape_.future_covariates;
}

torch::Tensor ForecastNetworkImpl::FlatExogenous(
    const torch::Tensor& past, const torch::Tensor& future) const {
  const int64_t batch = past.size(0);
  const int covariates = shape_.covariates;
  const int future_covariates = shape_.future_covariates;

  std::vector<torch::Tensor> parts;
  if (covariates > 0) {
    parts.push_back(past.slice(2, 1, 1 + covariates).reshape({batch, -1}));
  }
  // Hour and weekday of the first forecast point fix all the others.
  parts.push_back(
      future.select(1, 0).slice(1, future_covariates, future_covariates + 4));
  parts.push_back(future.select(2, future_covariates + 4));
  if (future_covariates > 0) {
    parts.push_back(future.slice(2, 0, future_covariates).reshape({batch, -1}));
  }
  return torch::cat(parts, 1);
}

torch::Tensor ForecastNetworkImpl::ByHorizon(const torch::Tensor& flat,
                                             int k) const {
  return flat.reshape({flat.size(0), k, shape_.horizon}).transpose(1, 2);
}

torch::Tensor ForecastNetworkImpl::Dropout(const torch::Tensor& x,
                                           double probability) {
  if (!is_training() || probability <= 0 || !generator_.has_value()) {
    return x;
  }
  const torch::Tensor keep =
      torch::empty_like(x).bernoulli_(1 - probability, generator_);
  return x * keep / (1 - probability);
}

// ---------------------------------------------------------------------------
// Perceptron.

MlpNetworkImpl::MlpNetworkImpl(const v1::ArchitectureSpec& spec)
    : ForecastNetworkImpl(spec), dropout_(spec.mlp().dropout()) {
  int width = shape_.input_window + ExogenousSize();
  for (int hidden : spec.mlp().hidden_sizes()) {
    layers_->push_back(torch::nn::Linear(width, hidden));
    width = hidden;
  }
  layers_->push_back(torch::nn::Linear(width, shape_.horizon * outputs()));
  register_module("layers", layers_);
}

torch::Tensor MlpNetworkImpl::Core(const torch::Tensor& load,
                                   const torch::Tensor& past,
                                   const torch::Tensor& future) {
  torch::Tensor x = torch::cat({load, FlatExogenous(past, future)}, 1);
  const size_t last = layers_->size() - 1;
  for (size_t i = 0; i < last; ++i) {
    x = Dropout(torch::relu(layers_[i]->as<torch::nn::Linear>()->forward(x)),
                dropout_);
  }
  return ByHorizon(layers_[last]->as<torch::nn::Linear>()->forward(x),
                   outputs());
}

// ---------------------------------------------------------------------------
// Linear family.

LinearNetworkImpl::LinearNetworkImpl(const v1::ArchitectureSpec& spec)
    : ForecastNetworkImpl(spec),
      variant_(spec.linear().variant()),
      moving_average_points_(spec.linear().moving_average_points()) {
  const int count = std::max(1, spec.linear().lookback_members());
  for (int i = 1; i <= count; ++i) {
    // Evenly spaced lookbacks ending with the whole window.
    const int lookback = static_cast<int>(
        std::lround(static_cast<double>(i) * shape_.input_window / count));
    members_.push_back(
        MakeMember(lookback, count == 1 ? "" : absl::StrCat("_w", lookback)));
  }
}

LinearNetworkImpl::Member LinearNetworkImpl::MakeMember(
    int lookback, const std::string& suffix) {
  const int horizon = shape_.horizon;
  auto add = [&](const std::string& name, int inputs, int outputs) {
    return register_module(name + suffix, torch::nn::Linear(inputs, outputs));
  };

  Member member;
  member.lookback = lookback;
  if (variant_ == v1::LinearSpec::VARIANT_DECOMPOSITION) {
    member.trend_map = add("trend_map", lookback, horizon);
    member.seasonal_map = add("seasonal_map", lookback, horizon);
  } else {
    member.load_map = add("load_map", lookback, horizon);
  }
  member.exogenous_map = add("exogenous_map", ExogenousSize(), horizon);
  if (quantile_count() > 0) {
    member.spread_map = add("spread_map", lookback + ExogenousSize(),
                            horizon * quantile_count());
  }
  return member;
}

void LinearNetworkImpl::AfterReset() {
  torch::NoGradGuard no_grad;
  for (Member& member : members_) {
    member.exogenous_map->weight.zero_();
    member.exogenous_map->bias.zero_();
  }
}

torch::Tensor LinearNetworkImpl::MovingAverage(
    const torch::Tensor& load) const {
  // Replicating the ends keeps the trend as long as the window.
  const int half = moving_average_points_ / 2;
  const torch::Tensor padded =
      F::pad(load.unsqueeze(1),
             F::PadFuncOptions({half, half}).mode(torch::kReplicate));
  return torch::avg_pool1d(padded, moving_average_points_, /*stride=*/1)
      .squeeze(1);
}

std::vector<torch::Tensor> LinearNetworkImpl::Members(
    const torch::Tensor& load, const torch::Tensor& past,
    const torch::Tensor& future) {
  const torch::Tensor exogenous = FlatExogenous(past, future);
  std::vector<torch::Tensor> outputs;
  for (Member& member : members_) {
    outputs.push_back(MemberCore(member, load, exogenous));
  }
  return outputs;
}

torch::Tensor LinearNetworkImpl::MemberCore(Member& member,
                                            const torch::Tensor& load,
                                            const torch::Tensor& exogenous) {
  const torch::Tensor seen =
      load.slice(1, shape_.input_window - member.lookback);
  torch::Tensor point;
  torch::Tensor centred = seen;
  if (variant_ == v1::LinearSpec::VARIANT_DECOMPOSITION) {
    const torch::Tensor trend = MovingAverage(seen);
    point = member.trend_map->forward(trend) +
            member.seasonal_map->forward(seen - trend);
  } else {
    const torch::Tensor last = seen.slice(1, member.lookback - 1);
    centred = seen - last;
    point = member.load_map->forward(centred) + last;
  }
  point = point + member.exogenous_map->forward(exogenous);

  if (quantile_count() == 0) return point.unsqueeze(2);
  const torch::Tensor spreads =
      member.spread_map->forward(torch::cat({centred, exogenous}, 1));
  return torch::cat({point.unsqueeze(2), ByHorizon(spreads, quantile_count())},
                    2);
}

// ---------------------------------------------------------------------------
// Residual stack.

ResidualBlockImpl::ResidualBlockImpl(int inputs, int window, int forecast_size,
                                     const v1::ResidualStackSpec& spec) {
  int width = inputs;
  for (int i = 0; i < spec.layers_per_block(); ++i) {
    layers->push_back(torch::nn::Linear(width, spec.hidden_size()));
    width = spec.hidden_size();
  }
  register_module("layers", layers);
  backcast = register_module("backcast", torch::nn::Linear(width, window));
  forecast =
      register_module("forecast", torch::nn::Linear(width, forecast_size));
}

ResidualStackNetworkImpl::ResidualStackNetworkImpl(
    const v1::ArchitectureSpec& spec)
    : ForecastNetworkImpl(spec), dropout_(spec.residual_stack().dropout()) {
  torch::nn::ModuleList list;
  for (int i = 0; i < spec.residual_stack().blocks(); ++i) {
    blocks_.emplace_back(shape_.input_window + ExogenousSize(),
                         shape_.input_window, shape_.horizon * outputs(),
                         spec.residual_stack());
    list->push_back(blocks_.back());
  }
  register_module("blocks", list);
}

torch::Tensor ResidualStackNetworkImpl::Core(const torch::Tensor& load,
                                             const torch::Tensor& past,
                                             const torch::Tensor& future) {
  const torch::Tensor exogenous = FlatExogenous(past, future);
  torch::Tensor residual = load;
  torch::Tensor forecast;
  for (ResidualBlock& block : blocks_) {
    torch::Tensor x = torch::cat({residual, exogenous}, 1);
    for (const auto& layer : *block->layers) {
      x = Dropout(torch::relu(layer->as<torch::nn::Linear>()->forward(x)),
                  dropout_);
    }
    residual = residual - block->backcast->forward(x);
    const torch::Tensor part = block->forecast->forward(x);
    forecast = forecast.defined() ? forecast + part : part;
  }
  return ByHorizon(forecast, outputs());
}

// ---------------------------------------------------------------------------
// Recurrent encoder.

RecurrentNetworkImpl::RecurrentNetworkImpl(const v1::ArchitectureSpec& spec)
    : ForecastNetworkImpl(spec) {
  const auto& recurrent = spec.recurrent();
  const int channels = shape_.past_channels();
  if (recurrent.cell() == v1::RecurrentSpec::CELL_LSTM) {
    lstm_ = register_module(
        "encoder", torch::nn::LSTM(
                       torch::nn::LSTMOptions(channels, recurrent.hidden_size())
                           .num_layers(recurrent.layers())
                           .batch_first(true)));
  } else {
    gru_ = register_module(
        "encoder",
        torch::nn::GRU(torch::nn::GRUOptions(channels, recurrent.hidden_size())
                           .num_layers(recurrent.layers())
                           .batch_first(true)));
  }
  head_ = register_module(
      "head", torch::nn::Linear(recurrent.hidden_size() + shape_.future_size(),
                                shape_.horizon * outputs()));
}

torch::Tensor RecurrentNetworkImpl::Core(const torch::Tensor& load,
                                         const torch::Tensor& past,
                                         const torch::Tensor& future) {
  const torch::Tensor states = lstm_ ? std::get<0>(lstm_->forward(past))
                                     : std::get<0>(gru_->forward(past));
  const torch::Tensor last = states.select(1, shape_.input_window - 1);
  const torch::Tensor x =
      torch::cat({last, future.reshape({future.size(0), -1})}, 1);
  return ByHorizon(head_->forward(x), outputs());
}

// ---------------------------------------------------------------------------
// Building, saving, loading.

at::Generator MakeGenerator(uint64_t seed) {
  return at::detail::createCPUGenerator(seed);
}

absl::StatusOr<std::shared_ptr<ForecastNetworkImpl>> BuildNetwork(
    const v1::ArchitectureSpec& spec) {
  switch (spec.network_case()) {
    case v1::ArchitectureSpec::kMlp:
      return std::make_shared<MlpNetworkImpl>(spec);
    case v1::ArchitectureSpec::kLinear:
      return std::make_shared<LinearNetworkImpl>(spec);
    case v1::ArchitectureSpec::kResidualStack:
      return std::make_shared<ResidualStackNetworkImpl>(spec);
    case v1::ArchitectureSpec::kRecurrent:
      return std::make_shared<RecurrentNetworkImpl>(spec);
    case v1::ArchitectureSpec::NETWORK_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "spec.network is not set; resolve the spec before building");
}

absl::StatusOr<std::string> SerializeWeights(ForecastNetworkImpl& network) {
  try {
    torch::serialize::OutputArchive archive;
    network.save(archive);
    std::ostringstream bytes;
    archive.save_to(bytes);
    return bytes.str();
  } catch (const c10::Error& error) {
    return absl::InternalError(absl::StrCat("cannot serialise weights: ",
                                            error.what_without_backtrace()));
  }
}

absl::Status LoadWeights(const std::string& bytes,
                         ForecastNetworkImpl* network) {
  // Module::load() resizes a tensor to whatever the archive holds, so the
  // shapes the spec implies are noted first and compared afterwards.
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected;
  for (const auto& item : network->named_parameters()) {
    expected.emplace_back(item.key(), item.value().sizes().vec());
  }

  try {
    std::istringstream stream(bytes);
    torch::serialize::InputArchive archive;
    archive.load_from(stream);
    network->load(archive);
  } catch (const c10::Error& error) {
    return absl::DataLossError(absl::StrCat("weights.pt does not load: ",
                                            error.what_without_backtrace()));
  } catch (const std::exception& error) {
    return absl::DataLossError(
        absl::StrCat("weights.pt does not load: ", error.what()));
  }

  const auto parameters = network->named_parameters();
  for (const auto& [name, shape] : expected) {
    const torch::Tensor* loaded = parameters.find(name);
    if (loaded == nullptr || loaded->sizes().vec() != shape) {
      return absl::DataLossError(absl::StrCat(
          "weights.pt tensor ", name, " has shape ",
          loaded == nullptr ? "(missing)" : ShapeText(*loaded),
          " but the manifest's spec needs [", absl::StrJoin(shape, ","), "]"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ParameterGroups> SplitFrozen(
    ForecastNetworkImpl& network,
    const std::vector<std::string>& frozen_prefixes) {
  const auto parameters = network.named_parameters();
  std::vector<bool> used(frozen_prefixes.size(), false);
  ParameterGroups groups;
  for (const auto& item : parameters) {
    bool frozen = false;
    for (size_t p = 0; p < frozen_prefixes.size(); ++p) {
      if (absl::StartsWith(item.key(), frozen_prefixes[p])) {
        frozen = true;
        used[p] = true;
      }
    }
    (frozen ? groups.frozen : groups.trainable).push_back(item.value());
  }

  for (size_t p = 0; p < frozen_prefixes.size(); ++p) {
    if (used[p]) continue;
    std::vector<std::string> names;
    for (const auto& item : parameters) names.push_back(item.key());
    return absl::InvalidArgumentError(absl::StrCat(
        "options.frozen_parameters[", p, "]=\"", frozen_prefixes[p],
        "\" matches no parameter; the network has: ",
        absl::StrJoin(names, ", ")));
  }
  if (groups.trainable.empty()) {
    return absl::InvalidArgumentError(
        "options.frozen_parameters freezes every parameter; nothing would "
        "train");
  }
  return groups;
}

}  // namespace gridcast
