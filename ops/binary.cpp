// add, sub, mul, div with numpy broadcasting.
#include "core/tape.h"
#include "ops/ops.h"

namespace hc {

static Tensor binary_op(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_op_name(op);
  check_same_float(name, {a, b});
  Tensor out = empty_like_shape(a, broadcast_shapes(a.shape(), b.shape()));
  a.backend().binary(op, a, b, out);
  // The backward pass runs with grad mode off, so it may reuse the ops themselves.
  return record(name, out, {a, b}, {a, b, out},
                [op](const Node& n, const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor &a = n.saved[0], &b = n.saved[1], &out = n.saved[2];
                  Tensor ga, gb;
                  switch (op) {
                    case BinaryOp::Add:
                      if (needs[0]) ga = sum_to(g, a.shape());
                      if (needs[1]) gb = sum_to(g, b.shape());
                      break;
                    case BinaryOp::Sub:
                      if (needs[0]) ga = sum_to(g, a.shape());
                      if (needs[1]) gb = neg(sum_to(g, b.shape()));
                      break;
                    case BinaryOp::Mul:
                      if (needs[0]) ga = sum_to(mul(g, b), a.shape());
                      if (needs[1]) gb = sum_to(mul(g, a), b.shape());
                      break;
                    case BinaryOp::Div:  // d(a/b)/db = -(a/b)/b
                      if (needs[0]) ga = sum_to(div(g, b), a.shape());
                      if (needs[1]) gb = neg(sum_to(div(mul(g, out), b), b.shape()));
                      break;
                  }
                  return std::vector<Tensor>{ga, gb};
                });
}

Tensor add(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Div, a, b); }

}  // namespace hc
