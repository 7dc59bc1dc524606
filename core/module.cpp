#include "core/module.h"

#include "core/error.h"

namespace hc {

void Module::check_name(const std::string& name) const {
  HC_CHECK(!name.empty() && name.find('.') == std::string::npos,
           "module member name '", name, "' must be non-empty and contain no '.'");
  for (auto& p : params_) HC_CHECK(p.first != name, "duplicate member name '", name, "'");
  for (auto& p : buffers_) HC_CHECK(p.first != name, "duplicate member name '", name, "'");
  for (auto& p : children_) HC_CHECK(p.first != name, "duplicate member name '", name, "'");
}

Tensor Module::register_parameter(const std::string& name, const Tensor& t) {
  check_name(name);
  HC_CHECK(t.defined(), "parameter '", name, "' is undefined");
  t.set_requires_grad(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, const Tensor& t) {
  check_name(name);
  HC_CHECK(t.defined(), "buffer '", name, "' is undefined");
  buffers_.emplace_back(name, t);
  return t;
}

void Module::collect(const std::string& prefix, bool params, NamedTensors& out) const {
  for (auto& p : params ? params_ : buffers_) out.emplace_back(prefix + p.first, p.second);
  for (auto& c : children_) c.second->collect(prefix + c.first + ".", params, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, out);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out = named_parameters();
  for (auto& b : named_buffers()) out.push_back(b);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& p : named_parameters()) out.push_back(p.second);
  return out;
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (auto& p : named_parameters()) n += p.second.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& c : children_) c.second->train(on);
}

void Module::zero_grad() const {
  for (auto& p : named_parameters()) p.second.zero_grad();
}

void Module::to(Device device) const {
  for (const NamedTensors& group : {named_parameters(), named_buffers()})
    for (const auto& [name, t] : group) {
      t.zero_grad();
      if (t.device() == device) continue;
      Tensor moved = t.to(device);  // contiguous, offset 0
      t.impl()->storage = moved.impl()->storage;
      t.impl()->offset = 0;
    }
}

void Module::to(DType dtype) const {
  for (const NamedTensors& group : {named_parameters(), named_buffers()})
    for (const auto& [name, t] : group) {
      t.zero_grad();
      if (t.dtype() == dtype || !is_floating(t.dtype())) continue;
      Tensor converted = t.to(dtype);  // contiguous, offset 0
      t.impl()->storage = converted.impl()->storage;
      t.impl()->offset = 0;
      t.impl()->dtype = dtype;
    }
}

std::vector<Module*> Module::modules() {
  std::vector<Module*> out{this};
  for (auto& c : children_)
    for (Module* m : c.second->modules()) out.push_back(m);
  return out;
}

}  // namespace hc
