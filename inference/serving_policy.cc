#include "inference/serving_policy.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "common/names.h"
#include "common/printable.h"

namespace gridcast {
namespace {

using store::v1::ServingPolicy;

bool IsGood(const std::map<int64_t, VersionFacts>& versions, int64_t version) {
  const auto it = versions.find(version);
  return it != versions.end() && !it->second.rejected && !it->second.failed;
}

absl::Status CheckVersionField(
    const std::string& field, int64_t version,
    const std::map<int64_t, VersionFacts>& versions) {
  const auto it = versions.find(version);
  if (it == versions.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, "=", version, " is not a published version"));
  }
  if (it->second.rejected) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, "=", version, " was rejected by the quality gate"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServingPolicy> ParseServingPolicy(const std::string& json) {
  ServingPolicy policy;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed =
      google::protobuf::util::JsonStringToMessage(json, &policy, options);
  if (!parsed.ok()) {
    // The parser quotes the bytes it stopped at, which may be any bytes;
    // the message reaches GetModel's policy_error, a proto string.
    return absl::InvalidArgumentError(
        absl::StrCat("policy.json does not parse: ",
                     PrintableUtf8(absl::string_view(
                         parsed.message().data(), parsed.message().size()))));
  }

  if (policy.has_latest() && policy.latest() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("latest=", policy.latest(), " must be 0 or more"));
  }
  for (int i = 0; i < policy.pinned_size(); ++i) {
    if (policy.pinned(i) < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pinned[", i, "]=", policy.pinned(i), " must be a version >= 1"));
    }
  }
  for (const auto& [alias, version] : policy.aliases()) {
    if (absl::Status name = ValidateName("alias", alias); !name.ok()) {
      return name;
    }
    if (version < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "aliases[", alias, "]=", version, " must be a version >= 1"));
    }
  }
  if (!policy.default_alias().empty() &&
      policy.aliases().count(policy.default_alias()) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("default_alias=\"", policy.default_alias(),
                     "\" is not one of the policy's aliases"));
  }
  return policy;
}

absl::Status CheckPolicyVersions(
    const ServingPolicy& policy,
    const std::map<int64_t, VersionFacts>& versions) {
  for (int i = 0; i < policy.pinned_size(); ++i) {
    absl::Status status = CheckVersionField(absl::StrCat("pinned[", i, "]"),
                                            policy.pinned(i), versions);
    if (!status.ok()) return status;
  }
  for (const auto& [alias, version] : policy.aliases()) {
    absl::Status status = CheckVersionField(
        absl::StrCat("aliases[", alias, "]"), version, versions);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

std::string DefaultAliasOf(const ServingPolicy& policy) {
  return policy.default_alias().empty() ? kDefaultAlias
                                        : policy.default_alias();
}

ServingPlan PlanServing(const ServingPolicy& policy,
                        const std::map<int64_t, VersionFacts>& versions) {
  ServingPlan plan;

  const int latest = policy.has_latest() ? policy.latest() : 1;
  int taken = 0;
  for (auto it = versions.rbegin(); it != versions.rend() && taken < latest;
       ++it) {
    if (it->second.rejected || it->second.failed) continue;
    plan.served.insert(it->first);
    ++taken;
  }
  for (int64_t pinned : policy.pinned()) {
    if (IsGood(versions, pinned)) plan.served.insert(pinned);
  }
  for (const auto& [alias, version] : policy.aliases()) {
    if (IsGood(versions, version)) plan.served.insert(version);
  }

  const std::string alias = DefaultAliasOf(policy);
  const auto aliased = policy.aliases().find(alias);
  if (aliased != policy.aliases().end() && IsGood(versions, aliased->second)) {
    plan.default_version = aliased->second;
    plan.default_reason = absl::StrCat("alias ", alias);
    return plan;
  }
  if (!plan.served.empty()) plan.default_version = *plan.served.rbegin();
  if (aliased != policy.aliases().end()) {
    plan.default_reason =
        absl::StrCat("alias ", alias, " names version ", aliased->second,
                     ", which cannot be served; newest "
                     "served version instead");
  } else if (plan.default_version != 0) {
    plan.default_reason = "newest served version";
  } else {
    plan.default_reason = versions.empty()
                              ? "no version published"
                              : "the policy serves no good version";
  }
  return plan;
}

}  // namespace gridcast
