// siglip_loss: SPEC 1.5, one fused op with its gradient (see ops/cpu/siglip_loss_cpu.cpp), and
// siglip_loss_distributed: the same loss over the global batch of several processes (SPEC §6).
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

static void check_siglip_inputs(const char* op, const Tensor& v, const Tensor& e, const Tensor& t_prime,
                                const Tensor& b) {
  check_same_float(op, {v, e, t_prime, b});
  check_rank(op, "image embeddings", v, 2);
  check_rank(op, "text embeddings", e, 2);
  HC_CHECK(v.shape() == e.shape(), op, ": image embeddings ", v.desc(), " and text embeddings ", e.desc(),
           " must have the same shape [n, E]");
  HC_CHECK(v.size(0) > 0, op, ": empty batch");
  HC_CHECK(t_prime.numel() == 1 && b.numel() == 1, op, ": t' and b must have one element, got ", t_prime.desc(),
           " and ", b.desc());
}

// Gradients of the four inputs that need one, allocated like them.
static std::vector<Tensor> siglip_grads(const std::vector<Tensor>& inputs, const std::vector<bool>& needs) {
  std::vector<Tensor> grads(4);
  for (int k = 0; k < 4; ++k)
    if (needs[k]) grads[k] = empty_like_shape(inputs[k], inputs[k].shape());
  return grads;
}

static Tensor* opt(std::vector<Tensor>& g, int k) { return g[k].defined() ? &g[k] : nullptr; }

Tensor siglip_loss(const Tensor& v, const Tensor& e, const Tensor& t_prime, const Tensor& b) {
  check_siglip_inputs("siglip_loss", v, e, t_prime, b);
  int64_t n = v.size(0);
  Tensor loss = empty_like_shape(v, {});
  v.backend().siglip_loss(v, e, t_prime, b, 0, n, loss);
  return record("siglip_loss", loss, {v, e, t_prime, b}, {v, e, t_prime, b},
                [n](const Node& nd, const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor &v = nd.saved[0], &e = nd.saved[1], &tp = nd.saved[2], &b = nd.saved[3];
                  std::vector<Tensor> grads = siglip_grads(nd.saved, needs);
                  v.backend().siglip_loss_backward(v, e, tp, b, 0, n, g, opt(grads, 0), opt(grads, 1),
                                                   opt(grads, 2), opt(grads, 3));
                  return grads;
                });
}

SiglipDist parse_siglip_dist(const std::string& name) {
  if (name == "gather") return SiglipDist::Gather;
  if (name == "ring") return SiglipDist::Ring;
  throw Error("unknown --siglip-dist '" + name + "' (expected gather or ring)");
}

// Gather: rank r's n×B block of the B×B pairs; its positives sit at columns r·n + i.
static Tensor siglip_gather(const Tensor& v, const Tensor& e, const Tensor& t_prime, const Tensor& b,
                            Communicator& comm) {
  Backend& be = v.backend();
  int64_t n = v.size(0), E = v.size(1), N = comm.size(), B = N * n, offset = comm.rank() * n;
  Tensor e_all = empty_like_shape(e, {B, E});  // [B, E], rank-major
  comm.all_gather(e, e_all);
  Tensor loss = empty_like_shape(v, {});
  be.siglip_loss(v, e_all, t_prime, b, offset, B, loss);
  Communicator* c = &comm;
  return record("siglip_loss_distributed", loss, {v, e, t_prime, b}, {v, e_all, t_prime, b},
                [c, n, E, B, offset](const Node& nd, const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor &v = nd.saved[0], &e_all = nd.saved[1], &tp = nd.saved[2], &b = nd.saved[3];
                  std::vector<Tensor> grads = siglip_grads({v, v, tp, b}, needs);  // de is [n, E] like v
                  Tensor de_all;  // this share's gradient for every text [B, E]
                  if (needs[1]) de_all = empty_like_shape(e_all, {B, E});
                  v.backend().siglip_loss_backward(v, e_all, tp, b, offset, B, g, opt(grads, 0),
                                                   needs[1] ? &de_all : nullptr, opt(grads, 2), opt(grads, 3));
                  if (needs[1]) c->reduce_scatter(de_all, grads[1]);  // every share's, for my n texts
                  return grads;
                });
}

// Ring: at step k rank r holds the texts of rank (r - k) mod N; only its own block has positives
// (offset 0; offset n puts them outside the block).
static Tensor siglip_ring(const Tensor& v, const Tensor& e, const Tensor& t_prime, const Tensor& b,
                          Communicator& comm) {
  Backend& be = v.backend();
  int64_t n = v.size(0), E = v.size(1), N = comm.size(), r = comm.rank(), B = N * n;
  int next = static_cast<int>((r + 1) % N), prev = static_cast<int>((r + N - 1) % N);
  Tensor loss = zeros_like_shape(v, {}), part = empty_like_shape(v, {});
  Tensor held = e;  // [n, E]: the texts of rank (r - k) mod N
  for (int64_t k = 0; k < N; ++k) {
    int64_t src = (r - k + N) % N;
    be.siglip_loss(v, held, t_prime, b, src == r ? 0 : n, B, part);
    be.binary(BinaryOp::Add, loss, part, loss);
    if (k + 1 < N) {
      Tensor received = empty_like_shape(e, {n, E});
      comm.send_recv(held, next, received, prev);
      held = received;
    }
  }
  // `held` now holds rank r+1's texts: where the backward walk starts.
  Communicator* c = &comm;
  return record(
      "siglip_loss_distributed", loss, {v, e, t_prime, b}, {v, held, t_prime, b},
      [c, n, E, N, r, B, next, prev](const Node& nd, const Tensor& g, const std::vector<bool>& needs) {
        const Tensor &v = nd.saved[0], &tp = nd.saved[2], &b = nd.saved[3];
        Backend& be = v.backend();
        // The message of one backward step: [texts; their gradient so far] as [2n, E].
        Tensor held = empty_like_shape(v, {2 * n, E}), received = empty_like_shape(v, {2 * n, E});
        be.fill(held, 0.0);
        be.slice_assign(nd.saved[1], 0, 0, held);
        std::vector<Tensor> grads = siglip_grads({v, v, tp, b}, needs);
        for (Tensor& t : grads)
          if (t.defined()) be.fill(t, 0.0);
        std::vector<Tensor> step = siglip_grads({v, v, tp, b}, needs);
        for (int64_t k = N - 1; k >= 0; --k) {
          int64_t src = (r - k + N) % N;
          Tensor chunk = empty_like_shape(v, {n, E}), acc = empty_like_shape(v, {n, E});
          be.slice(held, 0, 0, chunk);
          be.slice(held, 0, n, acc);
          be.siglip_loss_backward(v, chunk, tp, b, src == r ? 0 : n, B, g, opt(step, 0), opt(step, 1), opt(step, 2),
                                  opt(step, 3));
          for (int i : {0, 2, 3})
            if (needs[i]) be.binary(BinaryOp::Add, grads[i], step[i], grads[i]);
          if (needs[1]) {
            be.binary(BinaryOp::Add, acc, step[1], acc);
            be.slice_assign(acc, 0, n, held);
          }
          if (k > 0) {
            c->send_recv(held, prev, received, next);  // the reverse of the forward direction
            std::swap(held, received);
          } else if (needs[1]) {
            grads[1] = acc;  // my own texts, with every rank's share of their gradient
          }
        }
        return grads;
      });
}

Tensor siglip_loss_distributed(const Tensor& v, const Tensor& e, const Tensor& t_prime, const Tensor& b,
                               Communicator& comm, SiglipDist how) {
  check_siglip_inputs("siglip_loss_distributed", v, e, t_prime, b);
  return how == SiglipDist::Gather ? siglip_gather(v, e, t_prime, b, comm) : siglip_ring(v, e, t_prime, b, comm);
}

}  // namespace hc
