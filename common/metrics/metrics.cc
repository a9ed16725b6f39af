#include "common/metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace gridcast::metrics {
namespace {

void AtomicAdd(std::atomic<double>& target, double amount) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + amount,
                                       std::memory_order_relaxed)) {
  }
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "metrics: %s\n", message.c_str());
  std::abort();
}

bool IsValidName(absl::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = absl::ascii_isalpha(c) || c == '_' ||
                    (allow_colon && c == ':') ||
                    (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

std::string EscapeHelp(absl::string_view help) {
  std::string escaped;
  for (char c : help) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

// `{a="x",b="y"}`, with `extra` (such as le="0.5") last; "" without any.
std::string LabelText(const std::vector<std::string>& names,
                      const LabelValues& values, absl::string_view extra = "") {
  if (names.empty() && extra.empty()) return "";
  std::string text = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += ",";
    absl::StrAppend(&text, names[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra.empty()) absl::StrAppend(&text, names.empty() ? "" : ",", extra);
  text += "}";
  return text;
}

void AppendHeader(std::string* out, const std::string& name,
                  absl::string_view help, absl::string_view type) {
  absl::StrAppend(out, "# HELP ", name, " ", EscapeHelp(help), "\n");
  absl::StrAppend(out, "# TYPE ", name, " ", type, "\n");
}

}  // namespace

// ------------------------------------------------------------- values

void Counter::Increment(double amount) {
  if (!(amount >= 0)) return;
  AtomicAdd(value_, amount);
}

void Gauge::Add(double amount) { AtomicAdd(value_, amount); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      bucket_counts_(new std::atomic<uint64_t>[upper_bounds_.size() + 1]) {
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) bucket_counts_[i] = 0;
}

void Histogram::Observe(double value) {
  // The first bound at or above the value; past the last one is +Inf.
  const size_t bucket =
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) -
      upper_bounds_.begin();
  bucket_counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> counts(upper_bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    running += bucket_counts_[i].load(std::memory_order_relaxed);
    counts[i] = running;
  }
  return counts;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> bounds;
  double bound = start;
  for (int i = 0; i < count; ++i) {
    bounds.push_back(bound);
    bound *= factor;
  }
  return bounds;
}

std::vector<double> LatencyBucketsSeconds() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

// ------------------------------------------------------------ families

template <typename T>
Family<T>::Family(std::string name, std::string help,
                  std::vector<std::string> label_names,
                  std::vector<double> buckets, size_t max_children)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      buckets_(std::move(buckets)),
      max_children_(std::max<size_t>(1, max_children)) {}

template <>
std::unique_ptr<Histogram> Family<Histogram>::MakeChild() const {
  return std::make_unique<Histogram>(buckets_);
}

template <typename T>
std::unique_ptr<T> Family<T>::MakeChild() const {
  return std::make_unique<T>();
}

template <typename T>
T& Family<T>::WithLabels(const LabelValues& values) {
  if (values.size() != label_names_.size()) {
    Die(absl::StrCat(name_, " has ", label_names_.size(), " labels, given ",
                     values.size(), " values"));
  }
  {
    absl::ReaderMutexLock lock(&mu_);
    const auto it = children_.find(values);
    if (it != children_.end()) return *it->second;
  }

  absl::MutexLock lock(&mu_);
  LabelValues key = values;
  // One slot stays free for the overflow child.
  if (children_.size() + 1 >= max_children_ && children_.count(key) == 0) {
    key.assign(label_names_.size(), std::string(kOverflowLabelValue));
  }
  std::unique_ptr<T>& child = children_[key];
  if (child == nullptr) child = MakeChild();
  return *child;
}

template <typename T>
std::vector<std::pair<LabelValues, const T*>> Family<T>::Snapshot() const {
  std::vector<std::pair<LabelValues, const T*>> children;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [labels, child] : children_) {
    children.emplace_back(labels, child.get());
  }
  return children;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ----------------------------------------------------------- registry

CallbackRegistration::CallbackRegistration(
    CallbackRegistration&& other) noexcept
    : registry_(other.registry_), id_(other.id_) {
  other.registry_ = nullptr;
}

CallbackRegistration& CallbackRegistration::operator=(
    CallbackRegistration&& other) noexcept {
  if (this != &other) {
    if (registry_ != nullptr) registry_->RemoveCallback(id_);
    registry_ = other.registry_;
    id_ = other.id_;
    other.registry_ = nullptr;
  }
  return *this;
}

CallbackRegistration::~CallbackRegistration() {
  if (registry_ != nullptr) registry_->RemoveCallback(id_);
}

Registry::Entry& Registry::FindOrAdd(
    absl::string_view name, Kind kind, absl::string_view help,
    const std::vector<std::string>& label_names) {
  if (!IsValidName(name, /*allow_colon=*/true)) {
    Die(absl::StrCat("\"", name, "\" is not a valid metric name"));
  }
  for (const std::string& label : label_names) {
    if (!IsValidName(label, /*allow_colon=*/false) || label == "le" ||
        absl::StartsWith(label, "__")) {
      Die(absl::StrCat(name, ": \"", label, "\" is not a valid label name"));
    }
  }

  const auto [it, added] = entries_.try_emplace(std::string(name));
  Entry& entry = it->second;
  if (added) {
    entry.kind = kind;
    entry.help = std::string(help);
    entry.label_names = label_names;
  } else if (entry.kind != kind || entry.label_names != label_names) {
    Die(absl::StrCat(name, " is registered twice with another type or labels"));
  }
  return entry;
}

Family<Counter>& Registry::AddCounter(absl::string_view name,
                                      absl::string_view help,
                                      std::vector<std::string> label_names,
                                      size_t max_children) {
  absl::MutexLock lock(&mu_);
  Entry& entry = FindOrAdd(name, Kind::kCounter, help, label_names);
  if (entry.counter == nullptr) {
    entry.counter.reset(new Family<Counter>(
        std::string(name), std::string(help), label_names, {}, max_children));
    // A family without labels shows 0 before its first increment.
    if (label_names.empty()) entry.counter->Get();
  }
  return *entry.counter;
}

Family<Gauge>& Registry::AddGauge(absl::string_view name,
                                  absl::string_view help,
                                  std::vector<std::string> label_names,
                                  size_t max_children) {
  absl::MutexLock lock(&mu_);
  Entry& entry = FindOrAdd(name, Kind::kGauge, help, label_names);
  if (entry.gauge == nullptr) {
    entry.gauge.reset(new Family<Gauge>(std::string(name), std::string(help),
                                        label_names, {}, max_children));
    if (label_names.empty()) entry.gauge->Get();
  }
  return *entry.gauge;
}

Family<Histogram>& Registry::AddHistogram(absl::string_view name,
                                          absl::string_view help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> upper_bounds,
                                          size_t max_children) {
  if (upper_bounds.empty() ||
      !std::is_sorted(upper_bounds.begin(), upper_bounds.end()) ||
      std::adjacent_find(upper_bounds.begin(), upper_bounds.end()) !=
          upper_bounds.end() ||
      !std::isfinite(upper_bounds.back())) {
    Die(absl::StrCat(name, ": bucket bounds must be finite and increasing"));
  }
  absl::MutexLock lock(&mu_);
  Entry& entry = FindOrAdd(name, Kind::kHistogram, help, label_names);
  if (entry.histogram == nullptr) {
    entry.histogram.reset(
        new Family<Histogram>(std::string(name), std::string(help), label_names,
                              std::move(upper_bounds), max_children));
    if (label_names.empty()) entry.histogram->Get();
  }
  return *entry.histogram;
}

CallbackRegistration Registry::AddCallback(
    absl::string_view gauge_name, absl::string_view help,
    std::vector<std::string> label_names,
    std::function<std::vector<Sample>()> collect) {
  absl::MutexLock lock(&mu_);
  Entry& entry = FindOrAdd(gauge_name, Kind::kCallbackGauge, help, label_names);
  const uint64_t id = next_callback_id_++;
  entry.callbacks.emplace(id, std::move(collect));
  return CallbackRegistration(this, id);
}

void Registry::RemoveCallback(uint64_t id) {
  absl::MutexLock lock(&mu_);
  for (auto& [name, entry] : entries_) entry.callbacks.erase(id);
}

std::string Registry::RenderText() const {
  std::string out;
  // Held throughout so that a callback cannot be removed (and its owner
  // destroyed) while it runs.
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [name, entry] : entries_) {
    switch (entry.kind) {
      case Kind::kCounter:
        AppendHeader(&out, name, entry.help, "counter");
        for (const auto& [labels, counter] : entry.counter->Snapshot()) {
          absl::StrAppend(&out, name, LabelText(entry.label_names, labels), " ",
                          FormatValue(counter->Value()), "\n");
        }
        break;
      case Kind::kGauge:
        AppendHeader(&out, name, entry.help, "gauge");
        for (const auto& [labels, gauge] : entry.gauge->Snapshot()) {
          absl::StrAppend(&out, name, LabelText(entry.label_names, labels), " ",
                          FormatValue(gauge->Value()), "\n");
        }
        break;
      case Kind::kCallbackGauge: {
        AppendHeader(&out, name, entry.help, "gauge");
        std::map<LabelValues, double> totals;
        for (const auto& [id, collect] : entry.callbacks) {
          for (const Sample& sample : collect()) {
            if (sample.labels.size() != entry.label_names.size()) continue;
            totals[sample.labels] += sample.value;
          }
        }
        for (const auto& [labels, value] : totals) {
          absl::StrAppend(&out, name, LabelText(entry.label_names, labels), " ",
                          FormatValue(value), "\n");
        }
        break;
      }
      case Kind::kHistogram:
        AppendHeader(&out, name, entry.help, "histogram");
        for (const auto& [labels, histogram] : entry.histogram->Snapshot()) {
          const std::vector<uint64_t> counts = histogram->CumulativeCounts();
          const std::vector<double>& bounds = histogram->upper_bounds();
          for (size_t i = 0; i < counts.size(); ++i) {
            const std::string le = absl::StrCat(
                "le=\"", i < bounds.size() ? FormatValue(bounds[i]) : "+Inf",
                "\"");
            absl::StrAppend(&out, name, "_bucket",
                            LabelText(entry.label_names, labels, le), " ",
                            counts[i], "\n");
          }
          // The +Inf bucket and _count come from one read, so that they
          // agree even while observations arrive.
          absl::StrAppend(&out, name, "_sum",
                          LabelText(entry.label_names, labels), " ",
                          FormatValue(histogram->Sum()), "\n");
          absl::StrAppend(&out, name, "_count",
                          LabelText(entry.label_names, labels), " ",
                          counts.back(), "\n");
        }
        break;
    }
  }
  return out;
}

Registry& DefaultRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '"') {
      escaped += "\\\"";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrFormat("%.0f", value);
  }
  // The shortest of the usual precisions that reads back the same, so
  // that 0.1 is not written as 0.10000000000000001.
  for (const int digits : {15, 16}) {
    std::string text = absl::StrFormat("%.*g", digits, value);
    if (std::strtod(text.c_str(), nullptr) == value) return text;
  }
  return absl::StrFormat("%.17g", value);
}

}  // namespace gridcast::metrics
