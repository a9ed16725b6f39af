#include "inference/dynamic_batcher.h"

#include <algorithm>
#include <utility>

namespace gridcast {

DynamicBatcher::DynamicBatcher(DynamicBatcherOptions options)
    : options_(options) {
  if (enabled()) flusher_ = std::thread([this] { FlushLoop(); });
}

DynamicBatcher::~DynamicBatcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
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
  if (!forecast.ok()) {
    for (Pending& pending : batch) pending.done(forecast.status());
    return;
  }
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
