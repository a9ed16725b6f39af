#include "tests/serving_fixtures.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "common/model/architecture.h"
#include "common/model/networks.h"
#include "common/store/files.h"
#include "tests/test_support.h"

namespace gridcast::testing {

absl::StatusOr<int64_t> PublishTinyVersion(
    ModelStore& store, const std::string& model, uint64_t seed,
    const std::string& rejection_reason) {
  store::v1::Manifest manifest;
  manifest.set_model(model);
  manifest.mutable_spec()->set_input_window(kTinyWindow);
  manifest.mutable_spec()->set_horizon(kTinyHorizon);
  manifest.mutable_spec()->mutable_mlp()->add_hidden_sizes(8);
  absl::Status resolved = ResolveArchitecture(manifest.mutable_spec());
  if (!resolved.ok()) return resolved;
  manifest.mutable_normalisation()->set_mean(100);
  manifest.mutable_normalisation()->set_stddev(10);
  manifest.set_resolution_seconds(3600);
  if (!rejection_reason.empty()) {
    manifest.set_rejected(true);
    manifest.set_rejection_reason(rejection_reason);
  }

  absl::StatusOr<std::shared_ptr<ForecastNetworkImpl>> network =
      BuildNetwork(manifest.spec());
  if (!network.ok()) return network.status();
  at::Generator generator = MakeGenerator(seed);
  (*network)->ResetParameters(generator);
  absl::StatusOr<std::string> weights = SerializeWeights(**network);
  if (!weights.ok()) return weights.status();
  return store.PublishVersion(std::move(manifest), *weights);
}

void WritePolicy(const std::string& store_root, const std::string& model,
                 const std::string& json) {
  const std::string directory = store_root + "/models/" + model;
  const std::string staged = directory + "/.tmp-policy.json";
  std::remove(staged.c_str());
  if (!WriteFileDurably(staged, json).ok() ||
      std::rename(staged.c_str(), (directory + "/policy.json").c_str()) != 0) {
    throw std::runtime_error("cannot write the policy of " + model);
  }
}

void RemovePolicy(const std::string& store_root, const std::string& model) {
  std::remove((store_root + "/models/" + model + "/policy.json").c_str());
}

v1::ForecastRequest TinyRequest(const std::string& model, double level) {
  v1::ForecastRequest request;
  request.set_model(model);
  for (int i = 0; i < kTinyWindow; ++i) {
    request.mutable_history()->add_timestamps(kSyntheticStartTime + i * 3600);
    request.mutable_history()->add_values(level + 10 * std::sin(i / 3.0));
  }
  return request;
}

}  // namespace gridcast::testing
