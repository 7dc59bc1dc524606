// An in-process stand-in for a job of N ranks: N threads, one ThreadCommunicator each, exchanging
// tensors through shared memory. For unit tests of the ops that work across processes, where many
// cases must run quickly; the end-to-end tests run the real MPI communicator under mpirun
// (tests/test_distributed_train.cpp). Sums are taken in float64 in rank order.
#pragma once
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/communicator.h"

namespace hc_test {

using hc::Tensor;

class ThreadHub {
 public:
  explicit ThreadHub(int size) : size_(size), slots_(size, nullptr) {}
  int size() const { return size_; }
  // Every rank waits here until all have arrived (a reusable barrier).
  void wait() {
    std::unique_lock<std::mutex> lock(mu_);
    int64_t gen = generation_;
    if (++arrived_ == size_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != gen; });
    }
  }
  // What each rank offers to the collective in progress (valid between the two waits of a call).
  std::vector<const Tensor*>& slots() { return slots_; }

 private:
  int size_;
  std::vector<const Tensor*> slots_;
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
  int64_t generation_ = 0;
};

class ThreadCommunicator final : public hc::Communicator {
 public:
  ThreadCommunicator(ThreadHub& hub, int rank) : hub_(hub), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return hub_.size(); }
  std::string name() const override { return "threads"; }
  hc::Device device() const override { return hc::Device::CPU; }

  void all_reduce(Tensor& x) override {
    std::vector<double> sum = collect(x, [&](const Tensor& t, std::vector<double>& acc) {
      std::vector<double> v = t.to_vector();
      if (acc.empty()) acc.assign(v.size(), 0.0);
      for (size_t i = 0; i < v.size(); ++i) acc[i] += v[i];
    });
    x.copy_(Tensor::from_vector(sum, x.shape(), x.dtype()));
  }
  void all_gather(const Tensor& x, Tensor& out) override {
    hc::check_blocks("all_gather", x, out, size());
    std::vector<double> all = collect(x, [&](const Tensor& t, std::vector<double>& acc) {
      std::vector<double> v = t.to_vector();
      acc.insert(acc.end(), v.begin(), v.end());
    });
    out.copy_(Tensor::from_vector(all, out.shape(), out.dtype()));
  }
  void reduce_scatter(const Tensor& x, Tensor& out) override {
    hc::check_blocks("reduce_scatter", out, x, size());
    size_t block = static_cast<size_t>(out.numel());
    std::vector<double> mine = collect(x, [&](const Tensor& t, std::vector<double>& acc) {
      std::vector<double> v = t.to_vector();
      if (acc.empty()) acc.assign(block, 0.0);
      for (size_t i = 0; i < block; ++i) acc[i] += v[rank_ * block + i];
    });
    out.copy_(Tensor::from_vector(mine, out.shape(), out.dtype()));
  }
  void broadcast(Tensor& x, int root) override {
    std::vector<double> v;
    exchange(x, [&] { v = hub_.slots()[root]->to_vector(); });
    x.copy_(Tensor::from_vector(v, x.shape(), x.dtype()));
  }
  void send_recv(const Tensor& send, int to, Tensor& recv, int from) override {
    std::vector<double> v;
    exchange(send, [&] { v = hub_.slots()[from]->to_vector(); });
    recv.copy_(Tensor::from_vector(v, recv.shape(), recv.dtype()));
  }
  void barrier() override { hub_.wait(); }
  [[noreturn]] void abort(const std::string& message, int) override { throw hc::Error("abort: " + message); }

 private:
  // Publishes x, lets `read` look at every rank's offer, then waits until all have read.
  void exchange(const Tensor& x, const std::function<void()>& read) {
    hub_.slots()[rank_] = &x;
    hub_.wait();
    read();
    hub_.wait();
    ++stats_.calls;
  }
  std::vector<double> collect(const Tensor& x, const std::function<void(const Tensor&, std::vector<double>&)>& add) {
    std::vector<double> acc;
    exchange(x, [&] {
      for (int r = 0; r < size(); ++r) add(*hub_.slots()[r], acc);
    });
    return acc;
  }
  ThreadHub& hub_;
  int rank_;
};

// Runs fn(comm) on `ranks` threads, one communicator each; rethrows the first failure.
inline void run_ranks(int ranks, const std::function<void(hc::Communicator&)>& fn) {
  ThreadHub hub(ranks);
  std::vector<std::exception_ptr> errors(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      ThreadCommunicator comm(hub, r);
      try {
        fn(comm);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace hc_test
