// MPI for CPU tensors (builds with MPI only; comm/world.h creates it). Collectives are MPI's own
// (MPI_Allreduce, MPI_Allgather, MPI_Reduce_scatter_block, MPI_Bcast, MPI_Sendrecv) on
// MPI_COMM_WORLD, called from the main thread only (MPI_THREAD_FUNNELED); the barrier polls a
// non-blocking MPI_Ibarrier with short sleeps so that a waiting rank leaves its core to the others.
#pragma once
#include "core/communicator.h"

namespace hc {

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator();  // initialises MPI when nothing did yet
  ~MpiCommunicator() override;  // MPI_Finalize
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "MPI"; }
  Device device() const override { return Device::CPU; }
  void all_reduce(Tensor& x) override;
  void all_gather(const Tensor& x, Tensor& out) override;
  void reduce_scatter(const Tensor& x, Tensor& out) override;
  void broadcast(Tensor& x, int root) override;
  void send_recv(const Tensor& send, int to, Tensor& recv, int from) override;
  void barrier() override;
  [[noreturn]] void abort(const std::string& message, int exit_code) override;

  // Host bytes from rank root to every rank (the NCCL unique id).
  void broadcast_bytes(void* data, size_t bytes, int root);
  // The rank among the processes on this machine (MPI_COMM_TYPE_SHARED).
  int local_rank() const { return local_rank_; }

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0;
};

// Aborts the MPI job from any thread, when MPI is initialised (NCCL's abort path); returns otherwise.
void mpi_abort_if_initialised(int exit_code);

}  // namespace hc
