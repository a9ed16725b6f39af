// Which versions of a model a replica serves, from its optional
// models/<name>/policy.json: the newest N good versions, a pinned list and
// aliases such as "production". Pure functions, so that the registry and
// the tests share one reading of the rules.
#ifndef GRIDCAST_INFERENCE_SERVING_POLICY_H_
#define GRIDCAST_INFERENCE_SERVING_POLICY_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gridcast/store/v1/store.pb.h"

namespace gridcast {

inline constexpr char kPolicyFile[] = "policy.json";
// The alias that answers default requests when the policy names none.
inline constexpr char kDefaultAlias[] = "production";

// What the policy needs to know of one published version.
struct VersionFacts {
  // Published as rejected by the quality gate: never served.
  bool rejected = false;
  // Refused by this replica (checksum, smoke forecast): never served.
  bool failed = false;
};

// Parses the text of policy.json. Unknown fields are refused (a typo such
// as "lastest" must not silently serve something else), as are a negative
// `latest`, a version below 1, a bad alias name and a default_alias that
// is not an alias. INVALID_ARGUMENT naming the field and the value.
absl::StatusOr<store::v1::ServingPolicy> ParseServingPolicy(
    const std::string& json);

// Checks that every pinned and aliased version of `policy` is published
// and not rejected. FAILED_PRECONDITION naming the field otherwise.
absl::Status CheckPolicyVersions(
    const store::v1::ServingPolicy& policy,
    const std::map<int64_t, VersionFacts>& versions);

// The alias that picks the default version: default_alias, or "production".
std::string DefaultAliasOf(const store::v1::ServingPolicy& policy);

// What a policy serves, given the versions as they stand now.
struct ServingPlan {
  // Versions requests may name (by number or alias); never a rejected or
  // failed one.
  std::set<int64_t> served;
  // The version for requests naming neither version nor alias; 0 if none.
  int64_t default_version = 0;
  // Why default_version is what it is, for GetModel and logs.
  std::string default_reason;
};

// Served = the newest `latest` (default 1) good versions, plus the good
// pinned and aliased ones. Default = the version of the default alias if
// it is good, otherwise the newest served one.
ServingPlan PlanServing(const store::v1::ServingPolicy& policy,
                        const std::map<int64_t, VersionFacts>& versions);

}  // namespace gridcast

#endif  // GRIDCAST_INFERENCE_SERVING_POLICY_H_
