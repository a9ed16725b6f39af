#include "inference/dynamic_batcher.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "inference/inference_metrics.h"

namespace gridcast {

DynamicBatcher::DynamicBatcher(DynamicBatcherOptions options)
    : options_(options) {
  if (enabled() && !greedy()) flusher_ = std::thread([this] { FlushLoop(); });
}

DynamicBatcher::~DynamicBatcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    // A greedy pass's thread has answered its own call and others, so the
    // server may be shutting down while it still holds a queue; the flush
    // thread empties the others once it sees stopping_.
    mu_.Await(absl::Condition(
        +[](std::map<const ForecastModel*, Queue>* queues) {
          return queues->empty();
        },
        &queues_));
  }
  if (flusher_.joinable()) flusher_.join();
}

void DynamicBatcher::Submit(std::shared_ptr<const ForecastModel> model,
                            const double* window, int64_t first_forecast_time,
                            Done done) {
  if (!enabled()) {
    std::vector<Pending> alone;
    alone.push_back({window, first_forecast_time, std::move(done)});
    return Run(*model, std::move(alone));
  }
  if (greedy())
    return SubmitGreedy(std::move(model), window, first_forecast_time,
                        std::move(done));

  std::vector<Pending> full;
  {
    absl::MutexLock lock(&mu_);
    Queue& queue = queues_[model.get()];
    if (queue.pending.empty()) {
      queue.model = model;
      queue.deadline = absl::Now() + options_.max_delay;
    }
    queue.pending.push_back({window, first_forecast_time, std::move(done)});
    if (static_cast<int>(queue.pending.size()) < options_.max_batch_size) {
      return;
    }
    full = std::move(queue.pending);
    queues_.erase(model.get());
    RecordBatch(full.size());
  }
  Run(*model, std::move(full));
}

void DynamicBatcher::SubmitGreedy(std::shared_ptr<const ForecastModel> model,
                                  const double* window,
                                  int64_t first_forecast_time, Done done) {
  {
    absl::MutexLock lock(&mu_);
    // A queue exists exactly while a thread runs this version's passes:
    // that thread takes this request next.
    const auto [queue, created] = queues_.try_emplace(model.get());
    queue->second.pending.push_back(
        {window, first_forecast_time, std::move(done)});
    if (!created) return;
  }

  // This thread runs the version's passes until nothing is left: its own
  // request first (alone, so an idle server adds no wait), then each time
  // what arrived during the pass before.
  while (true) {
    std::vector<Pending> batch;
    {
      absl::MutexLock lock(&mu_);
      const auto found = queues_.find(model.get());
      std::vector<Pending>& pending = found->second.pending;
      if (pending.empty()) {
        queues_.erase(found);  // the last use of `this`
        return;
      }
      const size_t take = std::min(
          pending.size(), static_cast<size_t>(options_.max_batch_size));
      batch.assign(std::make_move_iterator(pending.begin()),
                   std::make_move_iterator(pending.begin() + take));
      pending.erase(pending.begin(), pending.begin() + take);
      RecordBatch(batch.size());
    }
    Run(*model, std::move(batch));
  }
}

void DynamicBatcher::Run(const ForecastModel& model,
                         std::vector<Pending> batch) {
  const int count = static_cast<int>(batch.size());
  const int window = model.input_window();
  const int horizon = model.horizon();

  // One request reads its window in place; a batch needs them side by side.
  std::vector<double> windows;
  const double* inputs = batch.front().window;
  if (count > 1) {
    windows.resize(static_cast<size_t>(count) * window);
    for (int i = 0; i < count; ++i) {
      std::copy(batch[i].window, batch[i].window + window,
                windows.begin() + static_cast<size_t>(i) * window);
    }
    inputs = windows.data();
  }
  std::vector<int64_t> times(count);
  for (int i = 0; i < count; ++i) times[i] = batch[i].first_forecast_time;

  absl::StatusOr<std::vector<double>> forecast =
      model.Predict(inputs, times.data(), count);
  if (!forecast.ok() && count > 1) {
    // One window's failure (say, a non-finite output) is its own: each
    // runs again alone, so that the others of its batch are answered.
    for (Pending& pending : batch) {
      std::vector<Pending> alone;
      alone.push_back(std::move(pending));
      Run(model, std::move(alone));
    }
    return;
  }
  if (!forecast.ok()) return batch.front().done(forecast.status());
  RecordForwardBatch(count);
  if (count == 1) return batch.front().done(*std::move(forecast));
  for (int i = 0; i < count; ++i) {
    const auto begin = forecast->begin() + static_cast<size_t>(i) * horizon;
    batch[i].done(std::vector<double>(begin, begin + horizon));
  }
}

void DynamicBatcher::RecordBatch(size_t size) {
  ++stats_.batches;
  stats_.requests += static_cast<int64_t>(size);
  stats_.largest_batch = std::max(stats_.largest_batch, static_cast<int>(size));
}

DynamicBatcher::Stats DynamicBatcher::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void DynamicBatcher::FlushLoop() {
  while (true) {
    std::vector<Queue> due;
    {
      absl::MutexLock lock(&mu_);
      absl::Time earliest = absl::InfiniteFuture();
      for (const auto& [key, queue] : queues_) {
        earliest = std::min(earliest, queue.deadline);
      }
      // Wakes at the earliest deadline, or when a new queue or the stop
      // arrives (any change to the queues re-evaluates the condition).
      const size_t queued = queues_.size();
      const auto changed = [this, queued]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return stopping_ || queues_.size() != queued;
      };
      mu_.AwaitWithDeadline(absl::Condition(&changed), earliest);

      const absl::Time now = absl::Now();
      for (auto it = queues_.begin(); it != queues_.end();) {
        if (stopping_ || it->second.deadline <= now) {
          RecordBatch(it->second.pending.size());
          due.push_back(std::move(it->second));
          it = queues_.erase(it);
        } else {
          ++it;
        }
      }
      if (stopping_ && due.empty()) return;
    }
    for (Queue& queue : due) Run(*queue.model, std::move(queue.pending));
  }
}

}  // namespace gridcast
