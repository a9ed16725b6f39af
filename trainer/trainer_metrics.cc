#include "trainer/trainer_metrics.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"

namespace gridcast {
namespace {

using metrics::DefaultRegistry;

metrics::Family<metrics::Histogram>& JobDurations() {
  static auto& family = DefaultRegistry().AddHistogram(
      "gridcast_trainer_job_duration_seconds",
      "Time from a job's start to its end, by final state.", {"state"},
      {1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600});
  return family;
}

metrics::Family<metrics::Counter>& Epochs() {
  static auto& family = DefaultRegistry().AddCounter(
      "gridcast_trainer_epochs_total", "Epochs trained, over all jobs.");
  return family;
}

// "JOB_STATE_RUNNING" -> "running".
std::string StateLabel(v1::JobState state) {
  return absl::AsciiStrToLower(
      absl::StripPrefix(v1::JobState_Name(state), "JOB_STATE_"));
}

}  // namespace

void RecordJobFinished(v1::JobState state, absl::Duration duration) {
  JobDurations()
      .WithLabels({StateLabel(state)})
      .Observe(absl::ToDoubleSeconds(duration));
}

void RecordEpoch() { Epochs().Get().Increment(); }

metrics::CallbackRegistration ExportJobGauges(const JobManager* jobs) {
  JobDurations();
  Epochs();
  return DefaultRegistry().AddCallback(
      "gridcast_trainer_jobs", "Training jobs this trainer holds, by state.",
      {"state"}, [jobs] {
        std::map<std::string, double> counts;
        const auto* states = v1::JobState_descriptor();
        for (int i = 0; i < states->value_count(); ++i) {
          const auto state =
              static_cast<v1::JobState>(states->value(i)->number());
          if (state != v1::JOB_STATE_UNSPECIFIED) counts[StateLabel(state)] = 0;
        }
        for (const v1::TrainingJob& job : jobs->List("")) {
          counts[StateLabel(job.state())] += 1;
        }
        std::vector<metrics::Sample> samples;
        for (const auto& [state, count] : counts) {
          samples.push_back({{state}, count});
        }
        return samples;
      });
}

}  // namespace gridcast
