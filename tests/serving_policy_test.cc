// The rules of policy.json on their own: what parses, what is refused and
// what a policy serves given the versions as they stand.
#include <catch2/catch.hpp>

#include "gridcast/v1/forecaster.pb.h"
#include "inference/serving_policy.h"

namespace gridcast {
namespace {

using Catch::Matchers::Contains;

std::map<int64_t, VersionFacts> Versions(int count) {
  std::map<int64_t, VersionFacts> versions;
  for (int v = 1; v <= count; ++v) versions[v] = VersionFacts();
  return versions;
}

std::string MessageOf(const absl::Status& status) {
  return std::string(status.message());
}

TEST_CASE("policy.json parses latest, pinned, aliases and the default alias",
          "[serving][policy]") {
  const auto policy = ParseServingPolicy(
      R"({"latest": 2, "pinned": [1], "aliases": {"production": 3},
          "default_alias": "production"})");
  REQUIRE(policy.ok());
  CHECK(policy->latest() == 2);
  CHECK(policy->pinned(0) == 1);
  CHECK(policy->aliases().at("production") == 3);
}

TEST_CASE("a bad policy.json is refused naming the field and the value",
          "[serving][policy]") {
  struct Case {
    const char* json;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"{not json", "does not parse"},
      {R"({"lastest": 2})", "lastest"},
      {R"({"latest": -1})", "latest=-1"},
      {R"({"pinned": [0]})", "pinned[0]=0"},
      {R"({"aliases": {"../prod": 3}})", "alias"},
      {R"({"aliases": {"production": -2}})", "aliases[production]=-2"},
      {R"({"aliases": {"canary": 2}, "default_alias": "prod"})",
       "default_alias=\"prod\""},
  };
  for (const Case& c : cases) {
    INFO(c.json);
    const auto policy = ParseServingPolicy(c.json);
    REQUIRE_FALSE(policy.ok());
    CHECK(policy.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(MessageOf(policy.status()), Contains(c.message));
  }
}

// Found by tests/fuzz/serving_policy_fuzz.cc: the parser's message quoted
// the raw byte, and GetModel's policy_error then held invalid UTF-8, which
// a client cannot parse.
TEST_CASE(
    "a policy.json of invalid UTF-8 is refused in a message GetModel "
    "can carry",
    "[serving][policy]") {
  const auto policy = ParseServingPolicy("\xD0");
  REQUIRE_FALSE(policy.ok());
  CHECK(policy.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(MessageOf(policy.status()), Contains("does not parse"));
  CHECK_THAT(MessageOf(policy.status()), Contains("\\xd0"));

  v1::Model model;
  model.set_policy_error(MessageOf(policy.status()));
  v1::Model received;
  REQUIRE(received.ParseFromString(model.SerializeAsString()));
  CHECK(received.policy_error() == model.policy_error());
}

TEST_CASE("a policy naming an unpublished or rejected version is refused",
          "[serving][policy]") {
  auto versions = Versions(3);
  versions[2].rejected = true;
  store::v1::ServingPolicy policy;
  policy.add_pinned(7);
  CHECK_THAT(MessageOf(CheckPolicyVersions(policy, versions)),
             Contains("pinned[0]=7 is not a published version"));

  policy.clear_pinned();
  (*policy.mutable_aliases())["production"] = 2;
  CHECK_THAT(MessageOf(CheckPolicyVersions(policy, versions)),
             Contains("aliases[production]=2 was rejected"));

  (*policy.mutable_aliases())["production"] = 3;
  CHECK(CheckPolicyVersions(policy, versions).ok());
}

TEST_CASE("without a policy the newest good version is served alone",
          "[serving][policy]") {
  auto versions = Versions(4);
  versions[4].rejected = true;
  versions[3].failed = true;
  const ServingPlan plan = PlanServing(store::v1::ServingPolicy(), versions);
  CHECK(plan.served == std::set<int64_t>{2});
  CHECK(plan.default_version == 2);
}

TEST_CASE("latest N, pinned and aliased versions are served together",
          "[serving][policy]") {
  const auto policy = ParseServingPolicy(
      R"({"latest": 2, "pinned": [1], "aliases": {"canary": 3}})");
  REQUIRE(policy.ok());
  const ServingPlan plan = PlanServing(*policy, Versions(6));
  CHECK(plan.served == std::set<int64_t>{1, 3, 5, 6});
  // No "production" alias: the newest served version is the default.
  CHECK(plan.default_version == 6);
}

TEST_CASE("the production alias, or the named default alias, is the default",
          "[serving][policy]") {
  auto production = ParseServingPolicy(R"({"aliases": {"production": 2}})");
  REQUIRE(production.ok());
  CHECK(PlanServing(*production, Versions(5)).default_version == 2);

  auto named = ParseServingPolicy(
      R"({"aliases": {"production": 2, "stable": 3},
          "default_alias": "stable"})");
  REQUIRE(named.ok());
  const ServingPlan plan = PlanServing(*named, Versions(5));
  CHECK(plan.default_version == 3);
  CHECK(plan.served == std::set<int64_t>{2, 3, 5});
}

TEST_CASE("an alias on a failed version falls back to the newest served",
          "[serving][policy]") {
  auto versions = Versions(3);
  versions[2].failed = true;
  auto policy = ParseServingPolicy(R"({"aliases": {"production": 2}})");
  REQUIRE(policy.ok());
  const ServingPlan plan = PlanServing(*policy, versions);
  CHECK(plan.default_version == 3);
  CHECK_THAT(plan.default_reason, Contains("cannot be served"));
}

TEST_CASE("latest 0 serves only pinned versions, and none without pins",
          "[serving][policy]") {
  auto pinned = ParseServingPolicy(R"({"latest": 0, "pinned": [2]})");
  REQUIRE(pinned.ok());
  CHECK(PlanServing(*pinned, Versions(4)).served == std::set<int64_t>{2});

  auto nothing = ParseServingPolicy(R"({"latest": 0})");
  REQUIRE(nothing.ok());
  const ServingPlan plan = PlanServing(*nothing, Versions(4));
  CHECK(plan.served.empty());
  CHECK(plan.default_version == 0);
}

}  // namespace
}  // namespace gridcast
