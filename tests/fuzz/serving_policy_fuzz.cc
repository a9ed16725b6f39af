// Fuzzes models/<name>/policy.json as a replica reads it, and the plan it
// makes from what parses.
// Input: the file's bytes.
//
// Properties: no crash or undefined behaviour; a refusal is
// INVALID_ARGUMENT with a valid UTF-8 message (it reaches logs and
// GetModel); a policy that parses keeps its documented rules, and its plan
// serves only good versions, with the default among them.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "inference/serving_policy.h"
#include "tests/fuzz/fuzz_support.h"

namespace gridcast::fuzz {
namespace {

// Versions 1 to 9: 4 rejected by the quality gate, 6 refused by a replica.
std::map<int64_t, VersionFacts> PublishedVersions() {
  std::map<int64_t, VersionFacts> versions;
  for (int64_t version = 1; version <= 9; ++version) versions[version] = {};
  versions[4].rejected = true;
  versions[6].failed = true;
  return versions;
}

void CheckRules(const store::v1::ServingPolicy& policy) {
  Require(!policy.has_latest() || policy.latest() >= 0, "latest >= 0");
  for (int64_t version : policy.pinned()) {
    Require(version >= 1, "pinned versions >= 1");
  }
  for (const auto& [alias, version] : policy.aliases()) {
    Require(version >= 1, "aliased versions >= 1");
  }
  Require(policy.default_alias().empty() ||
              policy.aliases().count(policy.default_alias()) == 1,
          "the default alias is an alias");
}

void CheckPlan(const ServingPlan& plan,
               const std::map<int64_t, VersionFacts>& versions) {
  for (int64_t version : plan.served) {
    const auto it = versions.find(version);
    Require(it != versions.end() && !it->second.rejected && !it->second.failed,
            "only good versions are served");
  }
  Require(plan.default_version == 0 || plan.served.count(plan.default_version),
          "the default version is served");
  Require(plan.default_version != 0 || plan.served.empty(),
          "a default while anything is served");
}

}  // namespace
}  // namespace gridcast::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gridcast;
  const std::string json(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<store::v1::ServingPolicy> policy =
      ParseServingPolicy(json);
  if (!policy.ok()) {
    fuzz::Require(policy.status().code() == absl::StatusCode::kInvalidArgument,
                  "a bad policy is INVALID_ARGUMENT");
    fuzz::RequireUtf8Message(policy.status());
    return 0;
  }
  fuzz::CheckRules(*policy);

  static const std::map<int64_t, VersionFacts> versions =
      fuzz::PublishedVersions();
  const absl::Status checked = CheckPolicyVersions(*policy, versions);
  if (!checked.ok()) fuzz::RequireUtf8Message(checked);
  fuzz::CheckPlan(PlanServing(*policy, versions), versions);
  return 0;
}
