// Checks of the ops that work across processes against their one-process definitions, written once
// for any communicator: every rank builds the same global batch from a seed, computes the dense op on
// all of it (small sizes) and the distributed op on its slice, and reports the largest difference.
// tests/test_distributed_ops.cpp runs them on threads (ThreadCommunicator), the MPI worker cases of
// tests/test_distributed_train.cpp under real mpirun.
#pragma once
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/communicator.h"
#include "ops/ops.h"
#include "tests/op_registry.h"

namespace hc_test {

using namespace hc;

// max_i |a_i - b_i| / max(1, max_i |b_i|): relative to the reference's scale.
inline double scaled_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double scale = 1, d = 0;
  for (double x : b) scale = std::max(scale, std::fabs(x));
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return a.size() == b.size() ? d / scale : 1e300;
}

inline std::vector<double> rows(const Tensor& t, int64_t lo, int64_t hi) {
  std::vector<double> v = t.to_vector();
  int64_t row = t.numel() / t.size(0);
  return std::vector<double>(v.begin() + lo * row, v.begin() + hi * row);
}

inline Tensor leaf(const Tensor& t) {
  Tensor c = t.clone();
  c.set_requires_grad(true);
  return c;
}

// siglip_loss_distributed on this rank's n of N·n L2-normalised embeddings against siglip_loss on
// all of them: the summed loss, this rank's image and text gradients, the summed t' and b gradients.
inline double siglip_distributed_error(Communicator& comm, SiglipDist how, DType dtype, int64_t n, int64_t E,
                                       uint64_t seed) {
  int64_t N = comm.size(), B = N * n, r = comm.rank();
  Tensor v_all = l2_normalize(test::randn({B, E}, seed)).to(dtype), e_all = l2_normalize(test::randn({B, E}, seed + 1)).to(dtype);
  Tensor tp = Tensor::scalar(std::log(10.0) - 0.7, dtype), b = Tensor::scalar(-3.0, dtype);
  // Dense reference.
  Tensor vd = leaf(v_all), ed = leaf(e_all), tpd = leaf(tp), bd = leaf(b);
  Tensor dense = siglip_loss(vd, ed, tpd, bd);
  double dense_loss = dense.item();
  dense.backward();
  // This rank's share.
  Tensor v = leaf(slice(v_all, 0, r * n, (r + 1) * n)), e = leaf(slice(e_all, 0, r * n, (r + 1) * n));
  Tensor tpr = leaf(tp), br = leaf(b);
  Tensor share = siglip_loss_distributed(v, e, tpr, br, comm, how);
  double loss = comm.sum(share.item());
  share.backward();
  double err = std::fabs(loss - dense_loss) / std::max(1.0, std::fabs(dense_loss));
  err = std::max(err, scaled_diff(v.grad().to_vector(), rows(vd.grad(), r * n, (r + 1) * n)));
  err = std::max(err, scaled_diff(e.grad().to_vector(), rows(ed.grad(), r * n, (r + 1) * n)));
  double dtp = comm.sum(tpr.grad().item()), db = comm.sum(br.grad().item());
  err = std::max(err, std::fabs(dtp - tpd.grad().item()) / std::max(1.0, std::fabs(tpd.grad().item())));
  err = std::max(err, std::fabs(db - bd.grad().item()) / std::max(1.0, std::fabs(bd.grad().item())));
  return err;
}

// all_gather of [n, 3] rows: forward equals the concatenation; backward of sum(w * gathered) gives
// each rank the sum over ranks of w's rows for its block.
inline double all_gather_error(Communicator& comm, uint64_t seed) {
  int64_t N = comm.size(), n = 2, r = comm.rank();
  Tensor all = test::randn({N * n, 3}, seed);
  Tensor x = leaf(slice(all, 0, r * n, (r + 1) * n));
  Tensor w = test::randn({N * n, 3}, seed + 100 + static_cast<uint64_t>(r));  // differs per rank
  Tensor gathered = all_gather(x, comm);
  double err = scaled_diff(gathered.to_vector(), all.to_vector());
  sum_all(mul(gathered, w)).backward();
  Tensor w_sum = w.clone();
  comm.all_reduce(w_sum);
  return std::max(err, scaled_diff(x.grad().to_vector(), rows(w_sum, r * n, (r + 1) * n)));
}

// sync_batch_norm on this rank's n of N·n images against batch_norm on all of them (training mode):
// the output rows, the input gradient, the running statistics and (summed over ranks, as the gradient
// all-reduce does) the scale and shift gradients. per_set: each rank's samples use their own row of
// scale and shift, as with a hypernetwork set per rank (the dense reference: [N, C] with a set index).
inline double sync_batch_norm_error(Communicator& comm, DType dtype, bool per_set, uint64_t seed) {
  int64_t N = comm.size(), n = 3, C = 4, H = 3, W = 2, r = comm.rank();
  Tensor x_all = test::randn({N * n, C, H, W}, seed, 2.0).to(dtype);
  x_all = add(x_all, Tensor::scalar(1.5, dtype));  // a mean far from 0
  Tensor dy_all = test::randn({N * n, C, H, W}, seed + 1).to(dtype);
  Tensor gamma_all = add(test::randn({per_set ? N : 1, C}, seed + 2, 0.3).to(dtype), Tensor::scalar(1.0, dtype));
  Tensor beta_all = test::randn({per_set ? N : 1, C}, seed + 3, 0.3).to(dtype);
  Tensor rm0 = test::randn({C}, seed + 4, 0.1).to(dtype), rv0 = add(test::uniform({C}, seed + 5, 0, 1).to(dtype), Tensor::scalar(0.5, dtype));
  // Dense reference over the global batch.
  std::vector<int32_t> sets(N * n);
  for (int64_t i = 0; i < N * n; ++i) sets[i] = per_set ? static_cast<int32_t>(i / n) : 0;
  Tensor xd = leaf(x_all), gd = leaf(gamma_all), bd = leaf(beta_all), rmd = rm0.clone(), rvd = rv0.clone();
  Tensor yd = batch_norm(xd, gd, bd, rmd, rvd, true, 0.1, 1e-5, per_set ? Tensor::from_ints(sets, {N * n}) : Tensor());
  sum_all(mul(yd, dy_all)).backward();
  // This rank.
  Tensor x = leaf(slice(x_all, 0, r * n, (r + 1) * n)), dy = slice(dy_all, 0, r * n, (r + 1) * n);
  Tensor g = leaf(per_set ? slice(gamma_all, 0, r, r + 1) : gamma_all);
  Tensor b = leaf(per_set ? slice(beta_all, 0, r, r + 1) : beta_all);
  Tensor rm = rm0.clone(), rv = rv0.clone();
  Tensor y = sync_batch_norm(x, g, b, rm, rv, comm, 0.1, 1e-5);
  sum_all(mul(y, dy)).backward();
  double err = scaled_diff(y.to_vector(), rows(yd, r * n, (r + 1) * n));
  err = std::max(err, scaled_diff(x.grad().to_vector(), rows(xd.grad(), r * n, (r + 1) * n)));
  err = std::max(err, scaled_diff(rm.to_vector(), rmd.to_vector()));
  err = std::max(err, scaled_diff(rv.to_vector(), rvd.to_vector()));
  Tensor dg = g.grad().clone(), db = b.grad().clone();
  if (per_set) {
    err = std::max(err, scaled_diff(dg.to_vector(), rows(gd.grad(), r, r + 1)));
    err = std::max(err, scaled_diff(db.to_vector(), rows(bd.grad(), r, r + 1)));
  } else {
    comm.all_reduce(dg);
    comm.all_reduce(db);
    err = std::max(err, scaled_diff(dg.to_vector(), gd.grad().to_vector()));
    err = std::max(err, scaled_diff(db.to_vector(), bd.grad().to_vector()));
  }
  return err;
}

// The collectives' contract on tensors of each dtype: what rank r holds is known to every rank, so
// each checks its own result exactly (small integers and halves add exactly in any order).
inline std::string collectives_failure(Communicator& comm) {
  int64_t N = comm.size(), r = comm.rank();
  for (DType dt : {DType::F32, DType::F64, DType::I32}) {
    auto value = [](int64_t rank, int64_t i) { return static_cast<double>(rank * 100 + i) * 0.5; };
    auto ivalue = [](int64_t rank, int64_t i) { return static_cast<double>(rank * 100 + i); };
    auto of = [&](int64_t rank, int64_t i) { return dt == DType::I32 ? ivalue(rank, i) : value(rank, i); };
    const int64_t n = 3, E = 2;
    std::vector<double> mine(n * E), whole(N * n * E);
    for (int64_t i = 0; i < n * E; ++i) mine[i] = of(r, i);
    for (int64_t q = 0; q < N; ++q)
      for (int64_t i = 0; i < n * E; ++i) whole[q * n * E + i] = of(q, i);
    std::string tag = cat(dtype_name(dt), " rank ", r, " of ", N, ": ");
    // all_reduce
    Tensor x = Tensor::from_vector(mine, {n, E}, dt);
    comm.all_reduce(x);
    for (int64_t i = 0; i < n * E; ++i) {
      double s = 0;
      for (int64_t q = 0; q < N; ++q) s += of(q, i);
      if (x.to_vector()[i] != s) return tag + "all_reduce";
    }
    // all_gather
    Tensor g = Tensor::empty({N * n, E}, dt);
    comm.all_gather(Tensor::from_vector(mine, {n, E}, dt), g);
    if (g.to_vector() != whole) return tag + "all_gather";
    // reduce_scatter: rank q offers whole + q; rank r receives sum_q (whole[r's block] + q)
    std::vector<double> offer = whole;
    for (double& v : offer) v += static_cast<double>(r);
    Tensor out = Tensor::empty({n, E}, dt);
    comm.reduce_scatter(Tensor::from_vector(offer, {N * n, E}, dt), out);
    for (int64_t i = 0; i < n * E; ++i)
      if (out.to_vector()[i] != N * whole[r * n * E + i] + N * (N - 1) / 2.0) return tag + "reduce_scatter";
    // broadcast from the last rank
    Tensor bc = Tensor::from_vector(mine, {n, E}, dt);
    comm.broadcast(bc, static_cast<int>(N - 1));
    for (int64_t i = 0; i < n * E; ++i)
      if (bc.to_vector()[i] != of(N - 1, i)) return tag + "broadcast";
    // send_recv around the ring
    Tensor recv = Tensor::empty({n, E}, dt);
    comm.send_recv(Tensor::from_vector(mine, {n, E}, dt), static_cast<int>((r + 1) % N), recv,
                   static_cast<int>((r + N - 1) % N));
    for (int64_t i = 0; i < n * E; ++i)
      if (recv.to_vector()[i] != of((r + N - 1) % N, i)) return tag + "send_recv";
  }
  comm.barrier();
  std::vector<int64_t> all = comm.gather((int64_t{r} << 40) + 7);
  for (int64_t q = 0; q < N; ++q)
    if (all[q] != (q << 40) + 7) return "gather of int64";
  if (comm.sum(0.25 * static_cast<double>(r + 1)) != 0.125 * N * (N + 1)) return "sum";
  return "";
}

}  // namespace hc_test
