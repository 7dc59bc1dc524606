// The inference runtime's threads: a fixed team that runs one job split into parts, the calling
// thread doing part 0.
//
// Why not an OpenMP parallel region per layer: libgomp's waiting policy is fixed for the whole
// process at start-up (OMP_WAIT_POLICY, GOMP_SPINCOUNT). By default a thread that finished a region
// spins for a long time; on a machine with as many busy processes as cores (this 2-vCPU VM while
// others compile) the spinning thread holds the core the thread it waits for needs, and each of a
// ViT's 30-odd regions per image can cost a scheduler time slice. Here a worker spins only briefly
// (long enough to catch the next layer of the same call) and then sleeps on a condition variable;
// a waiting caller yields its core. run() allocates nothing.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace hc {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);  // threads − 1 workers; the caller is thread 0
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  // Calls fn(part) for part in [0, parts), parts <= threads(), and returns when all are done.
  template <class F>
  void run(int parts, F& fn) {
    run_parts(parts, [](void* f, int part) { (*static_cast<F*>(f))(part); }, &fn);
  }

 private:
  using Job = void (*)(void*, int);
  void run_parts(int parts, Job job, void* ctx);
  void work(int index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};  // bumped once per run(); workers watch it
  std::atomic<int> pending_{0};          // worker parts not yet finished
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  Job job_ = nullptr;
  void* ctx_ = nullptr;
  int parts_ = 0;
};

}  // namespace hc
