// Counters, gauges and histograms with labels, rendered in the Prometheus
// text exposition format (version 0.0.4) for a scrape of /metrics.
//
// Metrics live in a Registry, normally the process-wide DefaultRegistry():
// one gridcast server is one process, so its /metrics is the process's.
// Families are made once (making the same name again returns the same
// family) and a labelled child, once made, lives as long as the registry,
// so hot paths may keep references:
//
//   static Family<Counter>& calls = DefaultRegistry().AddCounter(
//       "gridcast_things_total", "Things done.", {"model"});
//   calls.WithLabels({model}).Increment();
//
// Everything here is thread-safe; Increment/Set/Observe are lock-free.
// Free of LibTorch and gRPC so that any module may use it.
#ifndef GRIDCAST_COMMON_METRICS_METRICS_H_
#define GRIDCAST_COMMON_METRICS_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace gridcast::metrics {

class Registry;

// Label values in the order of the family's label names.
using LabelValues = std::vector<std::string>;

// A value that only goes up (requests served, failures).
class Counter {
 public:
  // `amount` must be >= 0; a negative amount is ignored.
  void Increment(double amount = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down (versions loaded, jobs queued).
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts of observations at or below fixed upper bounds, plus their sum.
class Histogram {
 public:
  // `upper_bounds` strictly increasing and finite; +Inf is implicit.
  explicit Histogram(std::vector<double> upper_bounds);

  void Observe(double value);

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Observations at or below each bound, then the total (+Inf):
  // cumulative, as the exposition format wants them.
  std::vector<uint64_t> CumulativeCounts() const;
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> upper_bounds_;
  // One slot per bound plus the +Inf one, not cumulative.
  std::unique_ptr<std::atomic<uint64_t>[]> bucket_counts_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Bounds for request latencies in seconds: 50 us to 10 s.
std::vector<double> LatencyBucketsSeconds();
// `count` bounds from `start`, each `factor` times the previous.
std::vector<double> ExponentialBuckets(double start, double factor, int count);

// The label value that children beyond a family's limit share, so that
// a client sending ever new model names cannot grow /metrics without end.
inline constexpr absl::string_view kOverflowLabelValue = "_other";

// A named metric with one child per combination of label values.
template <typename T>
class Family {
 public:
  // The child for `values` (as many as there are label names), made on
  // first use. Once the family holds `max_children` children, new
  // combinations all map to one child whose values are kOverflowLabelValue.
  T& WithLabels(const LabelValues& values);
  // The only child of a family without labels.
  T& Get() { return WithLabels({}); }

  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  friend class Registry;
  Family(std::string name, std::string help,
         std::vector<std::string> label_names, std::vector<double> buckets,
         size_t max_children);
  std::unique_ptr<T> MakeChild() const;
  // Children in label order, for rendering.
  std::vector<std::pair<LabelValues, const T*>> Snapshot() const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> buckets_;  // Histogram only.
  const size_t max_children_;

  mutable absl::Mutex mu_;
  std::map<LabelValues, std::unique_ptr<T>> children_ ABSL_GUARDED_BY(mu_);
};

// One sample a collector reports at scrape time.
struct Sample {
  LabelValues labels;
  double value = 0;
};

// Unregisters a gauge callback when destroyed (see Registry::AddCallback).
class CallbackRegistration {
 public:
  CallbackRegistration() = default;
  CallbackRegistration(CallbackRegistration&& other) noexcept;
  CallbackRegistration& operator=(CallbackRegistration&& other) noexcept;
  ~CallbackRegistration();

 private:
  friend class Registry;
  CallbackRegistration(Registry* registry, uint64_t id)
      : registry_(registry), id_(id) {}
  Registry* registry_ = nullptr;
  uint64_t id_ = 0;
};

class Registry {
 public:
  static constexpr size_t kDefaultMaxChildren = 5000;

  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Make a family, or return the one of that name made before. A name or
  // label name that Prometheus would reject, or a second registration
  // with another type or other labels, is a programming error: it aborts
  // with a message naming the metric.
  Family<Counter>& AddCounter(absl::string_view name, absl::string_view help,
                              std::vector<std::string> label_names = {},
                              size_t max_children = kDefaultMaxChildren);
  Family<Gauge>& AddGauge(absl::string_view name, absl::string_view help,
                          std::vector<std::string> label_names = {},
                          size_t max_children = kDefaultMaxChildren);
  Family<Histogram>& AddHistogram(absl::string_view name,
                                  absl::string_view help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> upper_bounds,
                                  size_t max_children = kDefaultMaxChildren);

  // A gauge whose samples `collect` computes at every scrape (e.g. from a
  // registry's state, so that nothing has to be kept in step). Several
  // callbacks on one gauge (several servers in one test process) add up
  // per label set. The callback runs until the registration is destroyed;
  // it must not call back into this registry.
  CallbackRegistration AddCallback(
      absl::string_view gauge_name, absl::string_view help,
      std::vector<std::string> label_names,
      std::function<std::vector<Sample>()> collect) ABSL_MUST_USE_RESULT;

  // Every family, sorted by name, in the text exposition format.
  std::string RenderText() const;

 private:
  friend class CallbackRegistration;
  enum class Kind { kCounter, kGauge, kHistogram, kCallbackGauge };
  struct Entry {
    Kind kind;
    std::vector<std::string> label_names;
    std::string help;
    // The one of these that matches `kind` is set.
    std::unique_ptr<Family<Counter>> counter;
    std::unique_ptr<Family<Gauge>> gauge;
    std::unique_ptr<Family<Histogram>> histogram;
    // kCallbackGauge: id -> collector.
    std::map<uint64_t, std::function<std::vector<Sample>()>> callbacks;
  };

  Entry& FindOrAdd(absl::string_view name, Kind kind, absl::string_view help,
                   const std::vector<std::string>& label_names)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveCallback(uint64_t id);

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t next_callback_id_ ABSL_GUARDED_BY(mu_) = 1;
};

// The process-wide registry that /metrics shows.
Registry& DefaultRegistry();

// Escapes a label value (\\, \" and \n) for the exposition format.
std::string EscapeLabelValue(absl::string_view value);
// "1", "0.25", "+Inf", "NaN": a sample value as the format writes it.
std::string FormatValue(double value);

}  // namespace gridcast::metrics

#endif  // GRIDCAST_COMMON_METRICS_METRICS_H_
