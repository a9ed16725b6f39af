#include "common/model/networks.h"

#include <cmath>
#include <sstream>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/model/features.h"

namespace gridcast {
namespace {

std::string ShapeText(const torch::Tensor& tensor) {
  return absl::StrCat("[", absl::StrJoin(tensor.sizes(), ","), "]");
}

}  // namespace

MlpNetworkImpl::MlpNetworkImpl(int feature_count, int horizon,
                               const v1::MlpSpec& spec)
    : dropout_(spec.dropout()) {
  int width = feature_count;
  for (int hidden : spec.hidden_sizes()) {
    layers_->push_back(torch::nn::Linear(width, hidden));
    width = hidden;
  }
  layers_->push_back(torch::nn::Linear(width, horizon));
  register_module("layers", layers_);
}

torch::Tensor MlpNetworkImpl::forward(torch::Tensor features) {
  torch::Tensor x = features;
  const size_t last = layers_->size() - 1;
  for (size_t i = 0; i < last; ++i) {
    x = torch::relu(layers_[i]->as<torch::nn::Linear>()->forward(x));
    if (is_training() && dropout_ > 0 && generator_.has_value()) {
      const torch::Tensor keep =
          torch::empty_like(x).bernoulli_(1 - dropout_, generator_);
      x = x * keep / (1 - dropout_);
    }
  }
  return layers_[last]->as<torch::nn::Linear>()->forward(x);
}

void MlpNetworkImpl::ResetParameters(at::Generator& generator) {
  // LibTorch's own default for linear layers: U(-1/sqrt(fan_in), ..).
  torch::NoGradGuard no_grad;
  for (const auto& module : *layers_) {
    auto* linear = module->as<torch::nn::Linear>();
    const double bound = 1.0 / std::sqrt(linear->options.in_features());
    linear->weight.uniform_(-bound, bound, generator);
    linear->bias.uniform_(-bound, bound, generator);
  }
}

at::Generator MakeGenerator(uint64_t seed) {
  return at::detail::createCPUGenerator(seed);
}

absl::StatusOr<std::shared_ptr<ForecastNetworkImpl>> BuildNetwork(
    const v1::ArchitectureSpec& spec) {
  const int feature_count = FeatureCount(spec.input_window());
  switch (spec.network_case()) {
    case v1::ArchitectureSpec::kMlp:
      return std::make_shared<MlpNetworkImpl>(feature_count, spec.horizon(),
                                              spec.mlp());
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

}  // namespace gridcast
