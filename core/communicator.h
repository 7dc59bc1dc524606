// Communicator: the collectives of data-parallel training (SPEC §6), a seam beside the Backend seam.
// Ops and models that work across processes (the distributed SigLIP loss, synchronised batch norm,
// the global hypernetwork set) and the trainer's gradient all-reduce call these and never a
// transport library directly.
//
// Implementations:
//  - SingleProcessCommunicator (here): one rank; every collective is a copy or nothing, so a
//    one-process run makes no MPI call at all;
//  - MpiCommunicator (comm/mpi_communicator.cpp, builds with MPI): CPU tensors over MPI;
//  - NcclCommunicator (comm/nccl_communicator.cpp, builds with CUDA and NCCL): CUDA tensors over
//    NCCL, on the CUDA backend's stream;
//  - a thread-backed fake in the tests (tests/thread_communicator.h).
// comm/world.h picks one for the way the process was launched.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace hc {

// What a communicator has spent since its last reset_stats(), for benchmarks and the trainer's
// "share of the step spent in communication".
struct CommStats {
  double seconds = 0;  // wall time inside collectives, waits for slower ranks included
  int64_t bytes = 0;   // payload handed to collectives by this rank (the tensor sizes, not the wire)
  int64_t calls = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string name() const = 0;  // "single process", "MPI", "NCCL"
  virtual Device device() const = 0;     // where the tensors it exchanges live

  // Contract of every collective: all ranks call the same collectives in the same order, with
  // tensors of the same shape and dtype (F32, F64 or I32), contiguous, on device(). A rank whose
  // call breaks this gets an error, or (where the transport cannot tell) a wrong result.
  //
  // x := the sum over ranks of x, in place.
  virtual void all_reduce(Tensor& x) = 0;
  // x [n, ...], out [size·n, ...]: out's block r (rows r·n .. r·n+n-1) := rank r's x.
  virtual void all_gather(const Tensor& x, Tensor& out) = 0;
  // x [size·n, ...], out [n, ...]: out := the sum over ranks of their x's block rank().
  virtual void reduce_scatter(const Tensor& x, Tensor& out) = 0;
  // x := rank root's x.
  virtual void broadcast(Tensor& x, int root) = 0;
  // Sends `send` to rank `to` while receiving `recv` (same shape and dtype) from rank `from`: one
  // step of a ring. Every rank calls it at once.
  virtual void send_recv(const Tensor& send, int to, Tensor& recv, int from) = 0;
  // Waits until every rank arrives, without keeping a core busy (a rank may wait long: while rank 0
  // evaluates or writes a checkpoint).
  virtual void barrier() = 0;
  // Ends every process of the job now, from any one rank: prints `message` (this rank's error) and
  // exits with `exit_code` (MPI_Abort / ncclCommAbort). For a rank that failed while the others may
  // be waiting for it in a collective: they are ended too, never left hanging.
  [[noreturn]] virtual void abort(const std::string& message, int exit_code) = 0;

  // Host values through the collectives above (a tensor on device() and back).
  double sum(double x);                    // the sum over ranks, in float64
  std::vector<int64_t> gather(int64_t x);  // every rank's x, in rank order

  const CommStats& stats() const { return stats_; }
  void reset_stats() { stats_ = CommStats(); }
  // For benchmarks: wait for each collective to finish, so that stats().seconds is its duration (a
  // GPU transport otherwise only queues it on the stream). MPI's collectives return when done.
  void set_synchronous_timing(bool on) { synchronous_timing_ = on; }

 protected:
  // Checks a collective's tensors against the contract (device, dtype, contiguity are implied).
  void check_tensor(const char* op, const Tensor& t) const;
  CommStats stats_;
  bool synchronous_timing_ = false;
};

// One process: rank 0 of 1. Collectives copy (all_gather, reduce_scatter, send_recv to itself) or
// do nothing (all_reduce, broadcast, barrier), on tensors of any device; abort prints and exits.
class SingleProcessCommunicator final : public Communicator {
 public:
  explicit SingleProcessCommunicator(Device device = Device::CPU) : device_(device) {}
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string name() const override { return "single process"; }
  Device device() const override { return device_; }
  void all_reduce(Tensor& x) override;
  void all_gather(const Tensor& x, Tensor& out) override;
  void reduce_scatter(const Tensor& x, Tensor& out) override;
  void broadcast(Tensor& x, int root) override;
  void send_recv(const Tensor& send, int to, Tensor& recv, int from) override;
  void barrier() override {}
  [[noreturn]] void abort(const std::string& message, int exit_code) override;

 private:
  Device device_;
};

// Throws unless x [n, ...] and out [size·n, ...] (or the reverse, for reduce_scatter) agree:
// whole [n, ...] blocks, one per rank, of one dtype and device.
void check_blocks(const char* op, const Tensor& block, const Tensor& whole, int ranks);

}  // namespace hc
