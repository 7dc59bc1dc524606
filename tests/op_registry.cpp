#include "tests/op_registry.h"

#include <cmath>
#include <random>

#include "core/grad_mode.h"
#include "core/tape.h"

namespace hc::test {

std::vector<CaseFactory>& case_factories() {
  static std::vector<CaseFactory> factories;
  return factories;
}

std::vector<OpCase> all_op_cases() {
  std::vector<OpCase> out;
  for (auto& f : case_factories())
    for (OpCase& c : f()) out.push_back(std::move(c));
  return out;
}

std::vector<OpCase> op_cases_in(unsigned mode) {
  std::vector<OpCase> out;
  for (OpCase& c : all_op_cases())
    if (c.modes & mode) out.push_back(std::move(c));
  return out;
}

std::vector<Tensor> case_inputs(const OpCase& c, Device device, DType dtype) {
  std::vector<Tensor> in;
  for (const Tensor& t : c.inputs) {
    Tensor u = is_floating(t.dtype()) ? t.detach().to(dtype) : t.detach();
    u = u.to(device);
    if (u.same(t)) u = t.detach();  // no conversion happened: a tensor of its own all the same
    if (t.requires_grad()) u.set_requires_grad(true);
    in.push_back(u);
  }
  return in;
}

CaseRun run_case(const OpCase& c, Device device, DType dtype) {
  current_tape().clear();
  std::vector<Tensor> in = case_inputs(c, device, dtype);
  Tensor y = c.fn(in);
  CaseRun r;
  r.y = y.to_vector();
  bool any_grad = false;
  for (const Tensor& t : in) any_grad = any_grad || t.requires_grad();
  if (!any_grad) return r;
  y.backward(randn(y.shape(), 12345).to(dtype).to(device));
  for (const Tensor& t : in) {
    if (!t.requires_grad()) continue;
    HC_CHECK(t.grad().defined(), c.name, ": no gradient reached an input on ", device_name(device));
    r.grads.push_back(t.grad().to_vector());
  }
  current_tape().clear();
  return r;
}

Tensor randn(const Shape& shape, uint64_t seed, double std) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> dist(0.0, std);
  std::vector<double> v(numel(shape));
  for (double& x : v) x = dist(rng);
  return Tensor::from_vector(v, shape, DType::F64);
}

Tensor uniform(const Shape& shape, uint64_t seed, double lo, double hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(numel(shape));
  for (double& x : v) x = dist(rng);
  return Tensor::from_vector(v, shape, DType::F64);
}

Tensor param(const Shape& shape, uint64_t seed, double std) {
  Tensor t = randn(shape, seed, std);
  t.set_requires_grad(true);
  return t;
}

Tensor as_like(const Tensor& t, const Tensor& like) {
  if (!t.defined()) return t;
  Tensor out = is_floating(t.dtype()) ? t.to(like.dtype()) : t;
  return out.to(like.device());
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  HC_CHECK(a.size() == b.size(), "max_abs_diff: sizes ", a.size(), " and ", b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  HC_CHECK(a.size() == b.size(), "max_rel_diff: sizes ", a.size(), " and ", b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]) / (1 + std::fabs(b[i])));
  return m;
}

// L = sum(w * y) in double on the host.
static double project(const Tensor& y, const std::vector<double>& w) {
  std::vector<double> v = y.to_vector();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += w[i] * v[i];
  return s;
}

std::vector<GradCheckResult> gradient_check(const OpCase& c) {
  for (const Tensor& t : c.inputs)
    HC_CHECK(!t.requires_grad() || t.dtype() == DType::F64, c.name,
             ": gradient-checked inputs must be float64");
  current_tape().clear();
  for (const Tensor& t : c.inputs) t.zero_grad();

  // Analytic: backward of L = sum(w * y), i.e. grad_output = w.
  Tensor y = c.fn(c.inputs);
  HC_CHECK(y.requires_grad(), c.name, ": the output does not require grad");
  std::vector<double> w = randn(y.shape(), 12345).to_vector();
  y.backward(Tensor::from_vector(w, y.shape(), DType::F64));

  std::vector<GradCheckResult> results;
  NoGradGuard no_grad;
  for (size_t k = 0; k < c.inputs.size(); ++k) {
    const Tensor& x = c.inputs[k];
    if (!x.requires_grad()) continue;
    HC_CHECK(x.grad().defined(), c.name, ": no gradient reached input ", k);
    std::vector<double> analytic = x.grad().to_vector();
    x.zero_grad();

    double* p = x.data<double>();
    std::vector<double> numeric(x.numel());
    for (int64_t i = 0; i < x.numel(); ++i) {
      double orig = p[i];
      p[i] = orig + c.fd_eps;
      double lp = project(c.fn(c.inputs), w);
      p[i] = orig - c.fd_eps;
      double lm = project(c.fn(c.inputs), w);
      p[i] = orig;
      numeric[i] = (lp - lm) / (2 * c.fd_eps);
    }
    double diff = 0, norm = 0;
    for (size_t i = 0; i < numeric.size(); ++i) {
      diff += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i]);
      norm += numeric[i] * numeric[i];
    }
    GradCheckResult r;
    r.input = static_cast<int>(k);
    r.numeric_norm = std::sqrt(norm);
    r.rel_err = std::sqrt(diff) / std::max(r.numeric_norm, 1e-300);
    results.push_back(r);
  }
  return results;
}

}  // namespace hc::test
