// Module: parameters, buffers and sub-modules under PyTorch-style dotted names, so that a
// checkpoint maps 1:1 onto a PyTorch state dict ("visual.blocks.2.0.dw.conv.weight").
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace hc {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;

  // Depth first, in registration order, names joined with '.'.
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  NamedTensors state_dict() const;  // parameters, then buffers
  std::vector<Tensor> parameters() const;
  int64_t parameter_count() const;  // elements of all parameters (buffers excluded)

  // Training mode (batch-norm statistics), for this module and every sub-module.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad() const;
  // Moves every parameter and buffer to `device` in place: each tensor keeps its identity (the
  // handles a model holds stay valid), only its storage changes. Gradients are dropped.
  void to(Device device) const;
  // Converts every floating parameter and buffer to `dtype` in place, the same way (float64
  // checks of whole towers).
  void to(DType dtype) const;
  // This module and every sub-module, depth first in registration order (PyTorch's modules()):
  // the order of the state dict.
  std::vector<Module*> modules();

 protected:
  // A parameter is a leaf that requires grad. Returns the same tensor (shared handle).
  Tensor register_parameter(const std::string& name, const Tensor& t);
  Tensor register_buffer(const std::string& name, const Tensor& t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    check_name(name);
    children_.emplace_back(name, m);
    return m;
  }

 private:
  void check_name(const std::string& name) const;
  void collect(const std::string& prefix, bool params, NamedTensors& out) const;

  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// An ordered list of sub-modules named "0", "1", ... (PyTorch's nn.ModuleList).
class ModuleList : public Module {
 public:
  template <class M>
  std::shared_ptr<M> append(std::shared_ptr<M> m) {
    items_.push_back(m);
    return register_module(std::to_string(items_.size() - 1), std::move(m));
  }
  size_t size() const { return items_.size(); }
  template <class M = Module>
  std::shared_ptr<M> at(size_t i) const {
    return std::dynamic_pointer_cast<M>(items_.at(i));
  }

 private:
  std::vector<std::shared_ptr<Module>> items_;
};

}  // namespace hc
