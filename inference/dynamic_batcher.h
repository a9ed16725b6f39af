// Dynamic batching: concurrent forecasts for the same model version are
// queued for a moment and run as one forward pass over a batch of windows.
//
// On by default in its greedy form (max_batch_size 32, max_delay zero),
// which adds no wait to a lone request and batches only what queues
// behind a running pass: the load benchmark (docs/performance.md) found
// it as fast as no batching at one call in flight and 1.4-1.9x faster
// from 16 on. Waiting for company (max_delay above zero) pays only at
// high concurrency and costs a lone request its delay.
//
// With a max_delay above zero, a batch runs on the thread of the request
// that fills it, or, when the oldest request has waited max_delay, on the
// batcher's flush thread. With max_delay zero (greedy), nothing waits: a
// request finding no pass of its version running runs at once, and the
// requests that arrive during a pass run together as the next one, on the
// same thread. No lock is held during a forward pass, and a batch that
// fails runs again request by request, so one request's failure is its
// own.
#ifndef GRIDCAST_INFERENCE_DYNAMIC_BATCHER_H_
#define GRIDCAST_INFERENCE_DYNAMIC_BATCHER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/model/forecast_model.h"

namespace gridcast {

struct DynamicBatcherOptions {
  // Requests per forward pass at most; 0 or 1 turns batching off.
  int max_batch_size = 32;
  // How long the first request of a batch waits for others; zero is the
  // greedy mode, which batches only what queues behind a running pass.
  absl::Duration max_delay = absl::ZeroDuration();
};

class DynamicBatcher {
 public:
  // The forecast of one window (horizon() values), or why it failed.
  using Done = std::function<void(absl::StatusOr<std::vector<double>>)>;

  explicit DynamicBatcher(DynamicBatcherOptions options);
  // Runs what is queued, then stops the flush thread.
  ~DynamicBatcher();

  bool enabled() const { return options_.max_batch_size > 1; }
  bool greedy() const { return options_.max_delay <= absl::ZeroDuration(); }

  // Forecasts one window of model->input_window() values (which must stay
  // valid until `done` is called) whose first forecast point is at
  // `first_forecast_time`. `done` runs on this thread or another one.
  void Submit(std::shared_ptr<const ForecastModel> model, const double* window,
              int64_t first_forecast_time, Done done);

  struct Stats {
    int64_t batches = 0;
    int64_t requests = 0;
    int largest_batch = 0;
  };
  Stats stats() const;

 private:
  struct Pending {
    const double* window;
    int64_t first_forecast_time;
    Done done;
  };
  struct Queue {
    std::shared_ptr<const ForecastModel> model;
    std::vector<Pending> pending;
    absl::Time deadline;
  };

  void SubmitGreedy(std::shared_ptr<const ForecastModel> model,
                    const double* window, int64_t first_forecast_time,
                    Done done);
  static void Run(const ForecastModel& model, std::vector<Pending> batch);
  void RecordBatch(size_t size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FlushLoop();

  const DynamicBatcherOptions options_;
  mutable absl::Mutex mu_;
  // Keyed by the loaded version itself: two versions never share a batch.
  std::map<const ForecastModel*, Queue> queues_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread flusher_;
};

}  // namespace gridcast

#endif  // GRIDCAST_INFERENCE_DYNAMIC_BATCHER_H_
