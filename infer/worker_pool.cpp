#include "infer/worker_pool.h"

#include <immintrin.h>

namespace hc {

// About 20-50 µs of pausing: longer than the gap between two layers of one call, far shorter than
// a scheduler time slice.
static constexpr int kSpins = 1 << 12;

WorkerPool::WorkerPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void WorkerPool::run_parts(int parts, Job job, void* ctx) {
  if (parts <= 1 || workers_.empty()) {
    for (int p = 0; p < parts; ++p) job(ctx, p);
    return;
  }
  job_ = job, ctx_ = ctx, parts_ = parts;
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  {
    // Under the mutex so that a worker about to sleep either sees the new generation or is woken.
    std::lock_guard<std::mutex> lock(mu_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  if (sleepers_.load() > 0) wake_.notify_all();
  job(ctx, 0);
  for (int spin = 0; pending_.load(std::memory_order_acquire) > 0; ++spin) {
    if (spin < kSpins) _mm_pause();
    else std::this_thread::yield();  // the workers may be waiting for this core
  }
}

void WorkerPool::work(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = generation_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < kSpins; ++spin) {
      _mm_pause();
      g = generation_.load(std::memory_order_acquire);
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      sleepers_.fetch_sub(1);
      g = generation_.load();
    }
    seen = g;
    if (stop_.load()) return;
    if (index < parts_) job_(ctx_, index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace hc
