#include "tests/tiny_model.h"

#include "common/model/architecture.h"
#include "common/model/networks.h"
#include "common/status_macros.h"
#include "tests/tiny_manifest.h"

namespace gridcast::testing {

absl::StatusOr<std::unique_ptr<ForecastModel>> BuildTinyModel() {
  v1::ArchitectureSpec spec;
  spec.mutable_mlp()->add_hidden_sizes(8);
  spec.set_input_window(kTinyWindow);
  spec.set_horizon(kTinyHorizon);
  spec.add_quantiles(0.1);
  spec.add_quantiles(0.9);
  spec.add_covariates()->set_name("temperature");
  spec.mutable_covariates(0)->set_known_future(true);
  spec.add_covariates()->set_name("wind");
  GC_RETURN_IF_ERROR(ResolveArchitecture(&spec));

  GC_ASSIGN_OR_RETURN(auto network, BuildNetwork(spec));
  at::Generator generator = MakeGenerator(/*seed=*/7);
  network->ResetParameters(generator);
  GC_ASSIGN_OR_RETURN(const std::string weights, SerializeWeights(*network));
  return ForecastModel::Load(TinyManifest(spec, kTinyResolution), weights,
                             /*version=*/3);
}

}  // namespace gridcast::testing
