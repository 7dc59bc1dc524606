// NCCL for CUDA tensors (builds with CUDA and NCCL only; comm/world.h creates it). Collectives run
// on the CUDA backend's stream, so they queue behind the kernels that produced their inputs and
// ahead of those that read their outputs, with no host wait in between.
//
// NCCL's unique id comes from rank 0 over MPI (under mpirun), or through a file when there is no
// MPI: rank 0 writes HC_NCCL_ID_FILE atomically, the others wait for it. A failing rank calls
// ncclCommAbort and ends the job: with MPI through MPI_Abort; without, by writing
// "<HC_NCCL_ID_FILE>.abort", which a watchdog thread on every other rank notices (it aborts its
// communicator, which frees a rank stuck in a collective, and exits).
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "core/communicator.h"

namespace hc {

class MpiCommunicator;

class NcclCommunicator final : public Communicator {
 public:
  // mpi: the job's MPI communicator (the unique id is broadcast over it), or null to use id_file.
  NcclCommunicator(int rank, int size, MpiCommunicator* mpi, const std::string& id_file);
  ~NcclCommunicator() override;
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "NCCL"; }
  Device device() const override { return Device::CUDA; }
  void all_reduce(Tensor& x) override;
  void all_gather(const Tensor& x, Tensor& out) override;
  void reduce_scatter(const Tensor& x, Tensor& out) override;
  void broadcast(Tensor& x, int root) override;
  void send_recv(const Tensor& send, int to, Tensor& recv, int from) override;
  void barrier() override;
  [[noreturn]] void abort(const std::string& message, int exit_code) override;

 private:
  struct Impl;
  void wait_for_stream();  // polls the stream with short sleeps (a barrier may be long)
  void watch_abort_file();

  int rank_ = 0, size_ = 1;
  MpiCommunicator* mpi_ = nullptr;
  std::string id_file_;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_watchdog_{false};
  std::thread watchdog_;
};

// Makes this process use GPU local_rank modulo the GPUs present: one process per GPU. Call before
// anything touches the GPU (the CUDA backend binds to the current device when it is created).
void select_gpu_for_local_rank(int local_rank);

}  // namespace hc
