#include "core/tape.h"

#include "core/backend.h"
#include "core/grad_mode.h"
#include "core/profile.h"

namespace hc {

static thread_local bool g_grad_enabled = true;
bool grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool on) { g_grad_enabled = on; }

Tape& current_tape() {
  static thread_local Tape tape;
  return tape;
}

bool should_record(const std::vector<Tensor>& inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Tensor record(const char* op, const Tensor& output, std::vector<Tensor> inputs,
              std::vector<Tensor> saved, BackwardFn backward) {
  if (!should_record(inputs)) return output;
  if (OpProfile* prof = active_profile()) prof->mark(std::string(op) + " fwd");
  output.impl()->requires_grad = true;
  output.impl()->is_leaf = false;
  Node node;
  node.op = op;
  node.inputs = std::move(inputs);
  node.saved = std::move(saved);
  node.output = output;
  node.backward = std::move(backward);
  current_tape().push(std::move(node));
  return output;
}

// Adds g into t's gradient. Leaves accumulate in place into a gradient they own (so that an
// optimiser may scale it in place); intermediates combine out of place, because a backward
// function may hand the same tensor to several inputs.
static void accumulate(const Tensor& t, const Tensor& g, const char* op) {
  HC_CHECK(g.shape() == t.shape(), "backward of '", op, "' returned a gradient ", g.desc(),
           " for an input ", t.desc());
  HC_CHECK(g.dtype() == t.dtype() && g.device() == t.device(), "backward of '", op,
           "' returned a gradient ", g.desc(), " for an input ", t.desc());
  TensorImpl* impl = t.impl();
  Backend& be = t.backend();
  if (t.is_leaf()) {
    if (!impl->grad) {
      impl->grad = g.clone().impl_ptr();
    } else {
      Tensor acc(impl->grad);
      be.binary(BinaryOp::Add, acc, g, acc);
    }
  } else if (!impl->grad) {
    impl->grad = g.impl_ptr();
  } else {
    Tensor acc(impl->grad);
    Tensor sum = Tensor::empty_on(be, t.shape(), t.dtype());
    be.binary(BinaryOp::Add, acc, g, sum);
    impl->grad = sum.impl_ptr();
  }
}

void Tape::backward(const Tensor& root, const Tensor& grad_output) {
  HC_CHECK(root.defined(), "backward() on an undefined tensor");
  HC_CHECK(root.requires_grad(), "backward() on a tensor that does not require grad (no recorded "
                                 "op led to it, or it was computed in no-grad mode)");
  Tensor seed = grad_output;
  if (!seed.defined()) {
    HC_CHECK(root.numel() == 1, "backward() without a gradient needs a one-element tensor, got ",
             root.desc());
    seed = Tensor::empty_on(root.backend(), root.shape(), root.dtype());
    seed.fill_(1.0);
  }
  NoGradGuard no_grad;  // backward functions run kernels, never record
  // Any gradient left on the tape's outputs by an abandoned pass would corrupt this one.
  for (Node& n : nodes_)
    if (n.output.defined()) n.output.impl()->grad.reset();
  accumulate(root, seed, "backward seed");
  OpProfile* prof = active_profile();
  if (prof) prof->restart();

  for (size_t i = nodes_.size(); i-- > 0;) {
    Node& node = nodes_[i];
    TensorImpl* out = node.output.impl();
    if (!out->grad) {  // this node does not lead to the root
      node = Node();
      continue;
    }
    Tensor g(out->grad);
    out->grad.reset();
    std::vector<bool> needs(node.inputs.size());
    bool any = false;
    for (size_t k = 0; k < needs.size(); ++k) {
      needs[k] = node.inputs[k].defined() && node.inputs[k].requires_grad();
      any = any || needs[k];
    }
    if (!any) {
      node = Node();
      continue;
    }
    std::vector<Tensor> grads = node.backward(node, g, needs);
    HC_CHECK(grads.size() == node.inputs.size(), "backward of '", node.op, "' returned ",
             grads.size(), " gradients for ", node.inputs.size(), " inputs");
    for (size_t k = 0; k < grads.size(); ++k)
      if (needs[k] && grads[k].defined()) accumulate(node.inputs[k], grads[k], node.op);
    // What this node saved is no longer needed: freeing it now, rather than when the sweep ends,
    // keeps activations from piling up under the gradients (the step's peak memory).
    const char* op = node.op;
    node = Node();
    node.op = op;
    if (prof) prof->mark(std::string(op) + " bwd");
  }
  nodes_.clear();
}

}  // namespace hc
