// The tape: ops append a Node in execution order while grad mode is on and an input requires a
// gradient; backward() walks the nodes once in reverse (no recursion), handing each node the
// gradient of its output and accumulating what it returns into its inputs.
//
// Gradients of intermediate tensors live on their TensorImpl only during the sweep and are freed
// as soon as their node has run; leaf tensors that require grad keep and accumulate theirs.
#pragma once
#include <functional>
#include <vector>

#include "core/tensor.h"

namespace hc {

struct Node;
// Returns one gradient per input (an undefined Tensor where none is needed or none flows).
// needs_grad[i] says whether input i wants one.
using BackwardFn = std::function<std::vector<Tensor>(const Node& node, const Tensor& grad_output,
                                                     const std::vector<bool>& needs_grad)>;

struct Node {
  const char* op = "";         // op name, for error messages and debugging
  std::vector<Tensor> inputs;  // what the gradient flows into
  std::vector<Tensor> saved;   // tensors the backward pass reads (inputs, outputs, statistics)
  Tensor output;
  BackwardFn backward;
};

class Tape {
 public:
  void push(Node node) { nodes_.push_back(std::move(node)); }
  size_t size() const { return nodes_.size(); }
  const std::vector<Node>& nodes() const { return nodes_; }
  void clear() { nodes_.clear(); }
  // Reverse sweep from root, then clears the tape.
  void backward(const Tensor& root, const Tensor& grad_output);

 private:
  std::vector<Node> nodes_;
};

// The tape of this thread.
Tape& current_tape();

// True when an op with these inputs must be recorded: grad mode is on and one of them requires
// a gradient.
bool should_record(const std::vector<Tensor>& inputs);

// Used by every op after computing `output`: when should_record(inputs), marks output as a
// non-leaf that requires grad and appends a node. Returns output.
Tensor record(const char* op, const Tensor& output, std::vector<Tensor> inputs,
              std::vector<Tensor> saved, BackwardFn backward);

}  // namespace hc
