#include "tools/loadgen/loadgen.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gridcast/bench/v1/echo.grpc.pb.h"
#include "gridcast/v1/forecaster.grpc.pb.h"

namespace gridcast::loadgen {
namespace {

using Clock = std::chrono::steady_clock;
using Done = std::function<void(grpc::Status)>;

// Monday 2024-01-01 00:00 UTC, hourly: what a SCADA client would send.
constexpr int64_t kHistoryStart = 1704067200;
constexpr int64_t kResolutionSeconds = 3600;

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    default:
      return "OTHER";
  }
}

// A load that looks like a feeder: a daily cycle around 100.
void FillHistory(int points, google::protobuf::RepeatedField<int64_t>* times,
                 google::protobuf::RepeatedField<double>* values) {
  times->Reserve(points);
  values->Reserve(points);
  for (int i = 0; i < points; ++i) {
    times->Add(kHistoryStart + i * kResolutionSeconds);
    values->Add(100 + 20 * std::sin(2 * M_PI * (i % 24) / 24.0));
  }
}

// Starts calls of one method; each slot has its own response buffer, and
// a slot never has two calls at once.
class Caller {
 public:
  virtual ~Caller() = default;
  virtual void Start(int slot, grpc::ClientContext* context, Done done) = 0;
};

class EchoCaller final : public Caller {
 public:
  EchoCaller(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
             const LoadOptions& options, int slots)
      : responses_(slots) {
    for (const auto& channel : channels) {
      stubs_.push_back(bench::v1::EchoService::NewStub(channel));
    }
    FillHistory(options.history_points, request_.mutable_timestamps(),
                request_.mutable_values());
    request_.set_reply_points(options.horizon);
    request_.set_model(options.model);
  }

  void Start(int slot, grpc::ClientContext* context, Done done) override {
    stubs_[slot % stubs_.size()]->async()->Echo(
        context, &request_, &responses_[slot], std::move(done));
  }

 private:
  std::vector<std::unique_ptr<bench::v1::EchoService::Stub>> stubs_;
  bench::v1::EchoRequest request_;
  std::vector<bench::v1::EchoResponse> responses_;
};

// The models that calls or items go round: one, or model_count of them.
std::vector<std::string> ModelNames(const LoadOptions& options) {
  if (options.model_count <= 0) return {options.model};
  std::vector<std::string> names;
  for (int i = 0; i < options.model_count; ++i) {
    names.push_back(absl::StrFormat("%s%04d", options.model_prefix, i));
  }
  return names;
}

v1::ForecastRequest ForecastFor(const std::string& model,
                                const LoadOptions& options) {
  v1::ForecastRequest request;
  request.set_model(model);
  request.set_horizon(options.horizon);
  request.set_series_id(model);
  FillHistory(options.history_points,
              request.mutable_history()->mutable_timestamps(),
              request.mutable_history()->mutable_values());
  return request;
}

class ForecastCaller final : public Caller {
 public:
  ForecastCaller(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                 const LoadOptions& options, int slots)
      : responses_(slots) {
    for (const auto& channel : channels) {
      stubs_.push_back(v1::ForecasterService::NewStub(channel));
    }
    for (const std::string& model : ModelNames(options)) {
      requests_.push_back(ForecastFor(model, options));
    }
  }

  void Start(int slot, grpc::ClientContext* context, Done done) override {
    const v1::ForecastRequest& request =
        requests_[next_model_.fetch_add(1) % requests_.size()];
    stubs_[slot % stubs_.size()]->async()->Forecast(
        context, &request, &responses_[slot], std::move(done));
  }

 private:
  std::vector<std::unique_ptr<v1::ForecasterService::Stub>> stubs_;
  // Built once: the request path measured is the server's, not ours.
  std::vector<v1::ForecastRequest> requests_;
  std::atomic<uint64_t> next_model_{0};
  std::vector<v1::ForecastResponse> responses_;
};

class BatchCaller final : public Caller {
 public:
  BatchCaller(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
              const LoadOptions& options, int slots)
      : responses_(slots) {
    for (const auto& channel : channels) {
      stubs_.push_back(v1::ForecasterService::NewStub(channel));
    }
    const std::vector<std::string> models = ModelNames(options);
    for (int i = 0; i < options.batch_items; ++i) {
      *request_.add_items() = ForecastFor(models[i % models.size()], options);
    }
  }

  void Start(int slot, grpc::ClientContext* context, Done done) override {
    v1::ForecastBatchResponse* response = &responses_[slot];
    stubs_[slot % stubs_.size()]->async()->ForecastBatch(
        context, &request_, response,
        [response, done = std::move(done)](grpc::Status status) {
          done(status.ok() ? FirstItemFailure(*response) : status);
        });
  }

 private:
  // An item that failed, as the status of the whole call.
  static grpc::Status FirstItemFailure(
      const v1::ForecastBatchResponse& response) {
    for (const v1::ForecastBatchResult& result : response.results()) {
      if (result.code() == 0) continue;
      return grpc::Status(static_cast<grpc::StatusCode>(result.code()),
                          result.message());
    }
    return grpc::Status::OK;
  }

  std::vector<std::unique_ptr<v1::ForecasterService::Stub>> stubs_;
  v1::ForecastBatchRequest request_;
  std::vector<v1::ForecastBatchResponse> responses_;
};

// The closed or the open loop over one Caller.
class Loop {
 public:
  Loop(Caller* caller, const LoadOptions& options)
      : caller_(caller), options_(options), slots_(options.concurrency) {}

  void Run() {
    start_ = Clock::now();
    measure_from_ = start_ + absl::ToChronoNanoseconds(options_.warmup);
    end_ = measure_from_ + absl::ToChronoNanoseconds(options_.duration);
    if (options_.rate_qps > 0) {
      RunOpen();
    } else {
      outstanding_ = options_.concurrency;
      for (int i = 0; i < options_.concurrency; ++i) StartCall(i, Clock::now());
    }
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] { return outstanding_ == 0; });
  }

  LoadResult Result() const {
    LoadResult result;
    result.concurrency = options_.concurrency;
    result.method = options_.method;
    std::vector<double> latencies;
    for (const Slot& slot : slots_) {
      latencies.insert(latencies.end(), slot.latencies_ms.begin(),
                       slot.latencies_ms.end());
      for (const auto& [code, count] : slot.errors) {
        result.errors[CodeName(code)] += count;
      }
    }
    std::sort(latencies.begin(), latencies.end());
    result.ok_calls = static_cast<int64_t>(latencies.size());
    result.measured_seconds = absl::ToDoubleSeconds(options_.duration);
    result.qps = result.ok_calls / result.measured_seconds;
    result.offered_qps = std::max(0.0, options_.rate_qps);
    result.late_calls = late_calls_;
    result.p50_ms = Percentile(latencies, 0.50);
    result.p90_ms = Percentile(latencies, 0.90);
    result.p99_ms = Percentile(latencies, 0.99);
    result.p999_ms = Percentile(latencies, 0.999);
    result.max_ms = latencies.empty() ? 0 : latencies.back();
    return result;
  }

 private:
  struct Slot {
    std::unique_ptr<grpc::ClientContext> context;
    Clock::time_point started;
    // Touched only by the callback of this slot's one outstanding call.
    std::vector<double> latencies_ms;
    std::map<grpc::StatusCode, int64_t> errors;
  };

  // The open loop's pacer: the k-th call is due at start + k / rate. It
  // takes a free slot (waiting for one when all are busy, which makes the
  // call late) and starts the call as of its due time, until the run's
  // end.
  void RunOpen() {
    for (int i = options_.concurrency - 1; i >= 0; --i) free_.push_back(i);
    const auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(1.0 / options_.rate_qps));
    for (int64_t k = 0;; ++k) {
      const Clock::time_point due = start_ + k * interval;
      if (due >= end_) break;
      // Behind by more than the run: the calls still due are never sent,
      // and count as late.
      if (Clock::now() >= end_) {
        const Clock::time_point from = std::max(due, measure_from_);
        std::lock_guard<std::mutex> lock(mu_);
        late_calls_ += (end_ - from + interval - Clock::duration(1)) / interval;
        break;
      }
      std::this_thread::sleep_until(due);

      int index = 0;
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (free_.empty()) {
          if (due >= measure_from_) ++late_calls_;
          changed_.wait(lock, [this] { return !free_.empty(); });
        }
        index = free_.back();
        free_.pop_back();
        ++outstanding_;
      }
      StartCall(index, due);
    }
  }

  void StartCall(int index, Clock::time_point started) {
    Slot& slot = slots_[index];
    slot.context = std::make_unique<grpc::ClientContext>();
    slot.context->set_deadline(
        std::chrono::system_clock::now() +
        absl::ToChronoNanoseconds(options_.call_timeout));
    slot.started = started;
    caller_->Start(
        index, slot.context.get(),
        [this, index](grpc::Status status) { Finished(index, status); });
  }

  void Finished(int index, const grpc::Status& status) {
    const Clock::time_point now = Clock::now();
    Slot& slot = slots_[index];
    // A call counts in the window its schedule put it in (for the closed
    // loop, where it started is where it was due).
    if (slot.started >= measure_from_ && slot.started < end_) {
      if (status.ok()) {
        slot.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(now - slot.started)
                .count());
      } else {
        ++slot.errors[status.error_code()];
      }
    }
    const bool open = options_.rate_qps > 0;
    if (!open && now < end_) {
      StartCall(index, now);
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (open) free_.push_back(index);
    --outstanding_;
    changed_.notify_all();
  }

  Caller* const caller_;
  const LoadOptions options_;
  std::vector<Slot> slots_;
  Clock::time_point start_, measure_from_, end_;
  std::mutex mu_;
  // Signalled when a call ends: a slot is free, or the loop may be done.
  std::condition_variable changed_;
  int outstanding_ = 0;
  std::vector<int> free_;  // the open loop's idle slots
  int64_t late_calls_ = 0;
};

// One call, waited for, so that a wrong target or an unloaded model is
// reported as such instead of as a million errors.
absl::Status Probe(Caller* caller, const LoadOptions& options) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoNanoseconds(options.call_timeout));
  std::mutex mu;
  std::condition_variable done;
  bool finished = false;
  grpc::Status result;
  caller->Start(0, &context, [&](grpc::Status status) {
    std::lock_guard<std::mutex> lock(mu);
    result = status;
    finished = true;
    done.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  done.wait(lock, [&] { return finished; });
  if (result.ok()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      "first ", options.method, " call to ", options.target, " failed: ",
      CodeName(result.error_code()), ": ", result.error_message()));
}

}  // namespace

int64_t LoadResult::error_calls() const {
  int64_t total = 0;
  for (const auto& [code, count] : errors) total += count;
  return total;
}

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(q * sorted.size());
  const size_t index =
      std::min(sorted.size() - 1, static_cast<size_t>(std::max(1.0, rank)) - 1);
  return sorted[index];
}

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options) {
  if (options.concurrency < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("concurrency=", options.concurrency, " must be >= 1"));
  }
  if (!(options.rate_qps >= 0) || std::isinf(options.rate_qps)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rate_qps=", options.rate_qps, " must be 0 (closed loop) or a rate"));
  }
  if (options.method == "batch" && options.batch_items < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_items=", options.batch_items, " must be >= 1"));
  }

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < std::max(1, options.channels); ++i) {
    grpc::ChannelArguments args;
    // Without this, channels with equal arguments share one connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetMaxReceiveMessageSize(64 << 20);
    channels.push_back(grpc::CreateCustomChannel(
        options.target, grpc::InsecureChannelCredentials(), args));
  }

  std::unique_ptr<Caller> caller;
  if (options.method == "echo") {
    caller =
        std::make_unique<EchoCaller>(channels, options, options.concurrency);
  } else if (options.method == "forecast") {
    caller = std::make_unique<ForecastCaller>(channels, options,
                                              options.concurrency);
  } else if (options.method == "batch") {
    caller =
        std::make_unique<BatchCaller>(channels, options, options.concurrency);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "method=", options.method, ": use echo, forecast or batch"));
  }
  absl::Status probed = Probe(caller.get(), options);
  if (!probed.ok()) return probed;

  Loop loop(caller.get(), options);
  loop.Run();
  return loop.Result();
}

absl::StatusOr<std::vector<LoadResult>> RunSweep(
    LoadOptions options, const std::vector<int>& levels,
    const std::vector<double>& rates,
    const std::function<void(const LoadResult&)>& on_result) {
  if (levels.empty()) {
    return absl::InvalidArgumentError(
        "concurrency: the sweep needs at least one level");
  }
  const size_t runs = rates.empty() ? levels.size() : rates.size();
  std::vector<LoadResult> results;
  for (size_t run = 0; run < runs; ++run) {
    options.concurrency = rates.empty() ? levels[run] : levels.front();
    options.rate_qps = rates.empty() ? 0 : rates[run];
    absl::StatusOr<LoadResult> result = RunLoad(options);
    if (!result.ok()) return result.status();
    if (on_result) on_result(*result);
    results.push_back(*std::move(result));
  }
  return results;
}

namespace {

std::string ErrorsText(const LoadResult& r) {
  std::vector<std::string> errors;
  for (const auto& [code, count] : r.errors) {
    errors.push_back(absl::StrCat(code, "=", count));
  }
  return errors.empty() ? "0" : absl::StrJoin(errors, ",");
}

}  // namespace

// The open loop's columns come last, so that scripts reading the closed
// loop's columns by position keep working.
std::string FormatTable(const std::vector<LoadResult>& results) {
  std::string out = absl::StrFormat(
      "%-9s %5s %9s %10s %8s %8s %8s %9s %8s  %-8s %8s %6s\n", "method", "conc",
      "calls", "qps", "p50_ms", "p90_ms", "p99_ms", "p99.9_ms", "max_ms",
      "errors", "offered", "late");
  for (const LoadResult& r : results) {
    absl::StrAppendFormat(
        &out,
        "%-9s %5d %9d %10.1f %8.3f %8.3f %8.3f %9.3f %8.3f  %-8s %8s %6s\n",
        r.method, r.concurrency, r.ok_calls, r.qps, r.p50_ms, r.p90_ms,
        r.p99_ms, r.p999_ms, r.max_ms, ErrorsText(r),
        r.offered_qps > 0 ? absl::StrFormat("%.0f", r.offered_qps) : "-",
        r.offered_qps > 0 ? absl::StrCat(r.late_calls) : "-");
  }
  return out;
}

std::string FormatTsv(const std::vector<LoadResult>& results) {
  std::string out =
      "method\tconcurrency\tcalls\tqps\tp50_ms\tp90_ms\tp99_ms\tp999_ms\t"
      "max_ms\terrors\toffered_qps\tlate_calls\n";
  for (const LoadResult& r : results) {
    absl::StrAppendFormat(
        &out, "%s\t%d\t%d\t%.1f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%s\t%.1f\t%d\n",
        r.method, r.concurrency, r.ok_calls, r.qps, r.p50_ms, r.p90_ms,
        r.p99_ms, r.p999_ms, r.max_ms, ErrorsText(r), r.offered_qps,
        r.late_calls);
  }
  return out;
}

}  // namespace gridcast::loadgen
