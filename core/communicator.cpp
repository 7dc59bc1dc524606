#include "core/communicator.h"

#include <cstdio>
#include <cstdlib>

namespace hc {

void Communicator::check_tensor(const char* op, const Tensor& t) const {
  HC_CHECK(t.defined(), op, ": undefined tensor");
  HC_CHECK(t.device() == device(), op, ": tensor ", t.desc(), " is not on ", device_name(device()), ", where the ",
           name(), " communicator exchanges tensors");
}

void check_blocks(const char* op, const Tensor& block, const Tensor& whole, int ranks) {
  HC_CHECK(block.defined() && whole.defined(), op, ": undefined tensor");
  HC_CHECK(block.dtype() == whole.dtype() && block.device() == whole.device(), op, ": ", block.desc(), " and ",
           whole.desc(), " differ in dtype or device");
  Shape expect = block.shape();
  HC_CHECK(!expect.empty(), op, ": needs tensors with a first dimension, got ", block.desc());
  expect[0] *= ranks;
  HC_CHECK(whole.shape() == expect, op, ": ", whole.desc(), " must be ", ranks, " blocks of ", block.desc());
}

double Communicator::sum(double x) {
  Tensor t = Tensor::scalar(x, DType::F64, device());
  all_reduce(t);
  return t.item();
}

std::vector<int64_t> Communicator::gather(int64_t x) {
  // Two int32 halves: NCCL and MPI both reduce and gather int32, and int64 counts are rare.
  std::vector<int32_t> mine = {static_cast<int32_t>(x >> 32), static_cast<int32_t>(x & 0xffffffff)};
  Tensor in = Tensor::from_ints(mine, {1, 2}, device());
  Tensor out = Tensor::empty({size(), 2}, DType::I32, device());
  all_gather(in, out);
  std::vector<int32_t> all = out.to_ints();
  std::vector<int64_t> values(size());
  for (int r = 0; r < size(); ++r)
    // Reassembled as unsigned: shifting a negative int64 left is undefined before C++20 (UBSan).
    values[r] = static_cast<int64_t>((static_cast<uint64_t>(static_cast<uint32_t>(all[2 * r])) << 32) |
                                     static_cast<uint32_t>(all[2 * r + 1]));
  return values;
}

// One process exchanges nothing, so its tensors may live on any device.
static void check_defined(const char* op, const Tensor& t) { HC_CHECK(t.defined(), op, ": undefined tensor"); }

void SingleProcessCommunicator::all_reduce(Tensor& x) { check_defined("all_reduce", x); }

void SingleProcessCommunicator::all_gather(const Tensor& x, Tensor& out) {
  check_defined("all_gather", x);
  check_blocks("all_gather", x, out, 1);
  out.copy_(x);
}

void SingleProcessCommunicator::reduce_scatter(const Tensor& x, Tensor& out) {
  check_defined("reduce_scatter", x);
  check_blocks("reduce_scatter", out, x, 1);
  out.copy_(x);
}

void SingleProcessCommunicator::broadcast(Tensor& x, int root) {
  check_defined("broadcast", x);
  HC_CHECK(root == 0, "broadcast: root ", root, " in a single process");
}

void SingleProcessCommunicator::send_recv(const Tensor& send, int to, Tensor& recv, int from) {
  check_defined("send_recv", send);
  HC_CHECK(to == 0 && from == 0, "send_recv: ranks ", to, " and ", from, " in a single process");
  HC_CHECK(send.shape() == recv.shape() && send.dtype() == recv.dtype(), "send_recv: ", send.desc(), " into ",
           recv.desc());
  recv.copy_(send);
}

void SingleProcessCommunicator::abort(const std::string& message, int exit_code) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stderr);
  std::exit(exit_code);
}

}  // namespace hc
