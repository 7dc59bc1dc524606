// all_gather: every rank's rows in rank order (SPEC §6, the global hypernetwork set); the backward
// pass returns each rank's block of the gradient, summed over ranks, to that rank.
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

Tensor all_gather(const Tensor& x, Communicator& comm) {
  HC_CHECK(x.defined() && x.dim() >= 1, "all_gather: needs a tensor with a first dimension, got ",
           x.defined() ? x.desc() : std::string("undefined"));
  Shape whole = x.shape();
  whole[0] *= comm.size();
  Tensor out = empty_like_shape(x, whole);
  comm.all_gather(x, out);
  Communicator* c = &comm;
  Shape block = x.shape();
  return record("all_gather", out, {x}, {}, [c, block](const Node& nd, const Tensor& g, const std::vector<bool>&) {
    Tensor dx = empty_like_shape(g, block);
    c->reduce_scatter(g, dx);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace hc
