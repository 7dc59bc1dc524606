// embedding: rows of a table looked up by integer ids (token embeddings).
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  check_same_float("embedding", {weight});
  check_rank("embedding", "weight", weight, 2);
  check_index("embedding", "ids", ids, weight.device());
  Shape s = ids.shape();
  s.push_back(weight.size(1));
  Tensor out = empty_like_shape(weight, s);
  weight.backend().embedding(weight, ids, out);
  Shape wshape = weight.shape();
  return record("embedding", out, {weight}, {ids},
                [wshape](const Node& n, const Tensor& g, const std::vector<bool>&) {
                  Tensor dw = zeros_like_shape(g, wshape);
                  g.backend().embedding_backward(n.saved[0], g, dw);
                  return std::vector<Tensor>{dw};
                });
}

}  // namespace hc
