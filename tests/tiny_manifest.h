// The manifest of a small test model: load scaled around 100 +- 10 and
// every covariate around 15 +- 5. Shared by the tests and the fuzz targets
// that build a model in memory instead of training one.
#ifndef GRIDCAST_TESTS_TINY_MANIFEST_H_
#define GRIDCAST_TESTS_TINY_MANIFEST_H_

#include <cstdint>

#include "gridcast/store/v1/store.pb.h"
#include "gridcast/v1/types.pb.h"

namespace gridcast::testing {

inline store::v1::Manifest TinyManifest(const v1::ArchitectureSpec& spec,
                                        int64_t resolution_seconds) {
  store::v1::Manifest manifest;
  manifest.set_model("feeder-1");
  *manifest.mutable_spec() = spec;
  manifest.mutable_normalisation()->set_mean(100);
  manifest.mutable_normalisation()->set_stddev(10);
  for (int c = 0; c < spec.covariates_size(); ++c) {
    auto* scale = manifest.add_covariate_normalisation();
    scale->set_mean(15);
    scale->set_stddev(5);
  }
  manifest.set_resolution_seconds(resolution_seconds);
  return manifest;
}

}  // namespace gridcast::testing

#endif  // GRIDCAST_TESTS_TINY_MANIFEST_H_
