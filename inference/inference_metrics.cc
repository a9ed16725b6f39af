#include "inference/inference_metrics.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace gridcast {
namespace {

using metrics::DefaultRegistry;

metrics::Family<metrics::Counter>& LoadFailures() {
  static auto& family = DefaultRegistry().AddCounter(
      "gridcast_inference_load_failures_total",
      "Versions refused while loading, by the step that failed.", {"reason"});
  return family;
}

metrics::Family<metrics::Histogram>& LoadSeconds() {
  static auto& family = DefaultRegistry().AddHistogram(
      "gridcast_inference_load_seconds",
      "Time to read, verify, build and smoke-test a version.", {},
      metrics::ExponentialBuckets(0.001, 2, 15));
  return family;
}

metrics::Family<metrics::Histogram>& ReloadLag() {
  static auto& family = DefaultRegistry().AddHistogram(
      "gridcast_inference_reload_lag_seconds",
      "Time from a version's publication (manifest create_time, whole "
      "seconds) to its serving on this replica.",
      {}, {0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600});
  return family;
}

metrics::Family<metrics::Histogram>& BatchSize() {
  static auto& family = DefaultRegistry().AddHistogram(
      "gridcast_inference_batch_size", "Windows per forward pass.", {},
      {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
  return family;
}

// "VERSION_STATE_READY" -> "ready".
std::string StateLabel(v1::VersionState state) {
  return absl::AsciiStrToLower(
      absl::StripPrefix(v1::VersionState_Name(state), "VERSION_STATE_"));
}

}  // namespace

void RecordVersionServed(int64_t create_time, absl::Duration load_time) {
  LoadSeconds().Get().Observe(absl::ToDoubleSeconds(load_time));
  if (create_time > 0) {
    const double lag =
        absl::ToDoubleSeconds(absl::Now() - absl::FromUnixSeconds(create_time));
    ReloadLag().Get().Observe(lag < 0 ? 0 : lag);
  }
}

void RecordLoadFailure(const absl::Status& status) {
  LoadFailures().WithLabels({LoadFailureReason(status)}).Increment();
}

void RecordForwardBatch(int windows) { BatchSize().Get().Observe(windows); }

std::string LoadFailureReason(const absl::Status& status) {
  const absl::string_view message = status.message();
  if (absl::StrContains(message, "sha256")) return "checksum";
  if (absl::StrContains(message, "has shape")) return "shapes";
  if (absl::StrContains(message, "weights.pt does not load")) return "weights";
  if (absl::StrContains(message, "smoke") ||
      absl::StrContains(message, "non-finite") ||
      absl::StrContains(message, "forward pass")) {
    return "smoke";
  }
  if (absl::StrContains(message, "manifest") ||
      absl::StrContains(message, "is not a valid") ||
      absl::StrContains(message, "format_version")) {
    return "manifest";
  }
  if (absl::StrContains(message, " missing") || absl::IsNotFound(status)) {
    return "files";
  }
  if (absl::IsInvalidArgument(status)) return "spec";
  return "other";
}

std::vector<metrics::CallbackRegistration> ExportRegistryGauges(
    const ModelRegistry* registry) {
  // Make the counters and histograms show before their first event.
  LoadFailures();
  LoadSeconds();
  ReloadLag();
  BatchSize();

  std::vector<metrics::CallbackRegistration> registrations;
  registrations.push_back(DefaultRegistry().AddCallback(
      "gridcast_inference_versions",
      "Versions this replica knows, by state (ready = loaded and served).",
      {"state"}, [registry] {
        std::map<std::string, double> counts;
        const auto* states = v1::VersionState_descriptor();
        for (int i = 0; i < states->value_count(); ++i) {
          const auto state =
              static_cast<v1::VersionState>(states->value(i)->number());
          if (state != v1::VERSION_STATE_UNSPECIFIED) {
            counts[StateLabel(state)] = 0;
          }
        }
        for (const v1::Model& model : registry->DescribeAll()) {
          for (const v1::ModelVersion& version : model.versions()) {
            counts[StateLabel(version.state())] += 1;
          }
        }
        std::vector<metrics::Sample> samples;
        for (const auto& [state, count] : counts) {
          samples.push_back({{state}, count});
        }
        return samples;
      }));
  registrations.push_back(DefaultRegistry().AddCallback(
      "gridcast_inference_models", "Models this replica knows.", {},
      [registry] {
        return std::vector<metrics::Sample>{
            {{}, static_cast<double>(registry->DescribeAll().size())}};
      }));
  return registrations;
}

}  // namespace gridcast
