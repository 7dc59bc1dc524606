// Elementwise activations and scalar arithmetic.
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

static Tensor unary_op(UnaryOp op, const Tensor& x, double alpha = 0) {
  const char* name = unary_op_name(op);
  check_same_float(name, {x});
  Tensor y = empty_like_shape(x, x.shape());
  x.backend().unary(op, x, alpha, y);
  return record(name, y, {x}, {x, y},
                [op, alpha](const Node& n, const Tensor& g, const std::vector<bool>&) {
                  const Tensor &x = n.saved[0], &y = n.saved[1];
                  Tensor dx = empty_like_shape(x, x.shape());
                  x.backend().unary_backward(op, x, y, g, alpha, dx);
                  return std::vector<Tensor>{dx};
                });
}

Tensor neg(const Tensor& x) { return unary_op(UnaryOp::Neg, x); }
Tensor exp(const Tensor& x) { return unary_op(UnaryOp::Exp, x); }
Tensor log(const Tensor& x) { return unary_op(UnaryOp::Log, x); }
Tensor sqrt(const Tensor& x) { return unary_op(UnaryOp::Sqrt, x); }
Tensor sigmoid(const Tensor& x) { return unary_op(UnaryOp::Sigmoid, x); }
Tensor silu(const Tensor& x) { return unary_op(UnaryOp::Silu, x); }
Tensor gelu(const Tensor& x) { return unary_op(UnaryOp::Gelu, x); }
Tensor relu(const Tensor& x) { return unary_op(UnaryOp::Relu, x); }
Tensor softplus(const Tensor& x) { return unary_op(UnaryOp::Softplus, x); }
Tensor scale(const Tensor& x, double alpha) { return unary_op(UnaryOp::Scale, x, alpha); }
Tensor add_scalar(const Tensor& x, double alpha) { return unary_op(UnaryOp::AddScalar, x, alpha); }

}  // namespace hc
