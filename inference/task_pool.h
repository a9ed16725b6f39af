// A fixed set of threads that run queued tasks in order of arrival: the
// background pool that loads and warms up model versions off the request
// path.
#ifndef GRIDCAST_INFERENCE_TASK_POOL_H_
#define GRIDCAST_INFERENCE_TASK_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace gridcast {

class TaskPool {
 public:
  // Starts `threads` threads (at least one).
  explicit TaskPool(int threads);
  // Runs every task queued so far, then joins the threads.
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  void Schedule(std::function<void()> task);

 private:
  void Work();
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace gridcast

#endif  // GRIDCAST_INFERENCE_TASK_POOL_H_
