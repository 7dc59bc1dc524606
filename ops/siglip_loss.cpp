// siglip_loss: SPEC 1.5, one fused op with its gradient (see ops/cpu/siglip_loss_cpu.cpp).
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

Tensor siglip_loss(const Tensor& v, const Tensor& e, const Tensor& t_prime, const Tensor& b) {
  check_same_float("siglip_loss", {v, e, t_prime, b});
  check_rank("siglip_loss", "image embeddings", v, 2);
  check_rank("siglip_loss", "text embeddings", e, 2);
  HC_CHECK(v.shape() == e.shape(), "siglip_loss: image embeddings ", v.desc(),
           " and text embeddings ", e.desc(), " must have the same shape [n, E]");
  HC_CHECK(v.size(0) > 0, "siglip_loss: empty batch");
  HC_CHECK(t_prime.numel() == 1 && b.numel() == 1, "siglip_loss: t' and b must have one element, got ",
           t_prime.desc(), " and ", b.desc());
  Tensor loss = empty_like_shape(v, {});
  v.backend().siglip_loss(v, e, t_prime, b, loss);
  return record("siglip_loss", loss, {v, e, t_prime, b}, {v, e, t_prime, b},
                [](const Node& n, const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor &v = n.saved[0], &e = n.saved[1], &tp = n.saved[2], &b = n.saved[3];
                  std::vector<Tensor> grads(4);
                  for (int k = 0; k < 4; ++k)
                    if (needs[k]) grads[k] = empty_like_shape(n.saved[k], n.saved[k].shape());
                  v.backend().siglip_loss_backward(v, e, tp, b, g, needs[0] ? &grads[0] : nullptr,
                                                   needs[1] ? &grads[1] : nullptr,
                                                   needs[2] ? &grads[2] : nullptr,
                                                   needs[3] ? &grads[3] : nullptr);
                  return grads;
                });
}

}  // namespace hc
