// distillation_targets and distillation_loss (SPEC 2.2): gradient checks through the student's
// normalisation and scale, values against a direct implementation of the definition, and parity
// with the independent PyTorch implementation (tools/torch_reference.py, reference_distill).
#include <doctest/doctest.h>

#include <cmath>

#include "data/safetensors.h"
#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

// Teachers' embeddings side by side, each teacher's block L2-normalised (as stored).
static Tensor teacher_block(int64_t n, const std::vector<int64_t>& dims, uint64_t seed) {
  std::vector<Tensor> parts;
  for (size_t k = 0; k < dims.size(); ++k) parts.push_back(l2_normalize(randn({n, dims[k]}, seed + k)));
  return parts.size() == 1 ? parts[0] : concat(parts, 1);
}

static std::vector<OpCase> distillation_loss_cases() {
  std::vector<OpCase> cases;
  // As in training: normalised student embeddings, t' near its initial ln 10, two teachers of
  // different widths. The teachers' scale is 10 here (100 in training) so that the targets are not
  // one-hot and every target entry matters to the gradient.
  cases.push_back({"distillation_loss/two_teachers",
                   {param({4, 3}, 1900), param({4, 3}, 1901),
                    Tensor::from_vector({std::log(10.0)}, {}, DType::F64).set_requires_grad(true),
                    teacher_block(4, {5, 3}, 1902), teacher_block(4, {5, 3}, 1904)},
                   [](const std::vector<Tensor>& in) {
                     Tensor v = l2_normalize(in[0]), e = l2_normalize(in[1]);
                     return distillation_loss(v, e, in[2], distillation_targets(in[3], in[4], {5, 3}, 10.0),
                                              distillation_targets(in[4], in[3], {5, 3}, 10.0));
                   }});
  // Rectangular (3 images, 5 texts), one teacher, raw embeddings and a [1] t'.
  cases.push_back({"distillation_loss/rectangular_one_teacher",
                   {param({3, 4}, 1910, 0.5), param({5, 4}, 1911, 0.5), param({1}, 1912, 0.5),
                    teacher_block(3, {6}, 1913), teacher_block(5, {6}, 1914)},
                   [](const std::vector<Tensor>& in) {
                     return distillation_loss(in[0], in[1], in[2], distillation_targets(in[3], in[4], {6}, 5.0),
                                              distillation_targets(in[4], in[3], {6}, 5.0));
                   }});
  // Large, CUDA against the CPU: a training batch of 256, two teachers of 128.
  OpCase big{"distillation_loss/large_256x128",
             {l2_normalize(randn({256, 128}, 1920)).detach().set_requires_grad(true),
              l2_normalize(randn({256, 128}, 1921)).detach().set_requires_grad(true),
              Tensor::scalar(std::log(10.0), DType::F64).set_requires_grad(true), teacher_block(256, {128, 128}, 1922),
              teacher_block(256, {128, 128}, 1924)},
             [](const std::vector<Tensor>& in) {
               return distillation_loss(in[0], in[1], in[2], distillation_targets(in[3], in[4], {128, 128}),
                                        distillation_targets(in[4], in[3], {128, 128}));
             }};
  // bf16 mode (CPU and CUDA): the student's logits are one product of bf16-rounded embeddings.
  for (OpCase& c : cases) c.cuda_bf16 = kBf16Product;
  big.modes = kCudaFp32 | kPerf;
  big.cuda_fp32 = 1e-6;  // softmax at scale 100 over 256 columns: float32 exponentials, summed in another order
  cases.push_back(big);
  return cases;
}
HC_REGISTER_OP_CASES(distillation_loss_cases);

static std::vector<double> values(const Tensor& t) { return t.to_vector(); }

// SPEC 2.2 as written, in loops: the teachers' row softmax averaged, then the cross-entropy of
// the student's softmax against it, both directions, halved.
static double reference_loss(const std::vector<double>& v, const std::vector<double>& e, int n, int m, int E,
                             double tp, const std::vector<double>& tv, const std::vector<double>& te,
                             const std::vector<int>& dims, double teacher_scale) {
  int D = 0;
  for (int d : dims) D += d;
  auto target = [&](const std::vector<double>& a, int na, const std::vector<double>& b, int nb, int i, int j) {
    double avg = 0;
    int at = 0;
    for (int d : dims) {
      std::vector<double> s(nb);
      double mx = -1e300, z = 0;
      for (int k = 0; k < nb; ++k) {
        double dot = 0;
        for (int c = 0; c < d; ++c) dot += a[i * D + at + c] * b[k * D + at + c];
        s[k] = teacher_scale * dot;
        mx = std::max(mx, s[k]);
      }
      for (int k = 0; k < nb; ++k) z += std::exp(s[k] - mx);
      avg += std::exp(s[j] - mx) / z;
      at += d;
    }
    return avg / dims.size();
  };
  auto direction = [&](const std::vector<double>& a, int na, const std::vector<double>& b, int nb,
                       const std::vector<double>& ta, const std::vector<double>& tb) {
    double total = 0;
    for (int i = 0; i < na; ++i) {
      std::vector<double> l(nb);
      double lse = 0, mx = -1e300;
      for (int j = 0; j < nb; ++j) {
        double dot = 0;
        for (int c = 0; c < E; ++c) dot += a[i * E + c] * b[j * E + c];
        l[j] = std::exp(tp) * dot;
        mx = std::max(mx, l[j]);
      }
      for (int j = 0; j < nb; ++j) lse += std::exp(l[j] - mx);
      lse = mx + std::log(lse);
      for (int j = 0; j < nb; ++j) total -= target(ta, na, tb, nb, i, j) * (l[j] - lse);
    }
    return total / na;
  };
  return 0.5 * (direction(v, n, e, m, tv, te) + direction(e, m, v, n, te, tv));
}

TEST_CASE("distillation_loss: forward value equals the definition") {
  const int n = 5, m = 4, E = 6;
  std::vector<int> dims = {3, 4};
  Tensor v = l2_normalize(randn({n, E}, 1)), e = l2_normalize(randn({m, E}, 2));
  Tensor tv = teacher_block(n, {3, 4}, 3), te = teacher_block(m, {3, 4}, 5);
  for (double scale_by : {100.0, 2.0})
    for (double tp : {std::log(10.0), 0.0, 3.5}) {
      Tensor loss = distillation_loss(v, e, Tensor::scalar(tp, DType::F64), distillation_targets(tv, te, {3, 4}, scale_by),
                                      distillation_targets(te, tv, {3, 4}, scale_by));
      CHECK(loss.dim() == 0);
      double want = reference_loss(values(v), values(e), n, m, E, tp, values(tv), values(te), dims, scale_by);
      CHECK(loss.item() == doctest::Approx(want).epsilon(1e-12));
    }
}

TEST_CASE("distillation_targets: rows are distributions, the average of each teacher's softmax") {
  Tensor a = teacher_block(4, {3, 5}, 11), b = teacher_block(6, {3, 5}, 13);
  Tensor t = distillation_targets(a, b, {3, 5});
  REQUIRE(t.shape() == Shape{4, 6});
  Tensor first = softmax(scale(matmul(slice(a, 1, 0, 3), slice(b, 1, 0, 3), false, true), 100.0));
  Tensor second = softmax(scale(matmul(slice(a, 1, 3, 8), slice(b, 1, 3, 8), false, true), 100.0));
  std::vector<double> got = values(t), f = values(first), s = values(second);
  for (int i = 0; i < 4; ++i) {
    double row = 0;
    for (int j = 0; j < 6; ++j) {
      CHECK(got[i * 6 + j] == doctest::Approx(0.5 * (f[i * 6 + j] + s[i * 6 + j])).epsilon(1e-14));
      row += got[i * 6 + j];
    }
    CHECK(row == doctest::Approx(1.0).epsilon(1e-14));
  }
  // Inputs that require grad leave no tape behind: the targets are constants.
  Tensor ag = a.detach().set_requires_grad(true);
  CHECK_FALSE(distillation_targets(ag, b, {3, 5}).requires_grad());
  // Widths that do not add up to the features are refused.
  CHECK_THROWS_AS(distillation_targets(a, b, {3, 4}), Error);
  CHECK_THROWS_AS(distillation_targets(a, b, {}), Error);
}

TEST_CASE("distillation_loss: a student equal to its single teacher at the teacher's scale is at the minimum") {
  // With one teacher, targets softmax(100·ψ_v ψ_eᵀ) and a student with the same embeddings at
  // t = 100, the prediction equals the target: the gradient with respect to the embeddings vanishes
  // and the loss equals the targets' entropy.
  Tensor v = l2_normalize(randn({4, 5}, 21)), e = l2_normalize(randn({4, 5}, 22));
  Tensor vg = v.detach().set_requires_grad(true), eg = e.detach().set_requires_grad(true);
  Tensor ti = distillation_targets(v, e, {5}), tt = distillation_targets(e, v, {5});
  Tensor loss = distillation_loss(vg, eg, Tensor::scalar(std::log(100.0), DType::F64), ti, tt);
  loss.backward();
  double entropy = 0;
  for (const Tensor& t : {ti, tt})
    for (double p : values(t)) entropy -= p > 0 ? 0.5 / 4 * p * std::log(p) : 0;
  CHECK(loss.item() == doctest::Approx(entropy).epsilon(1e-10));
  for (double g : values(vg.grad())) CHECK(std::fabs(g) < 1e-12);
  for (double g : values(eg.grad())) CHECK(std::fabs(g) < 1e-12);
}

TEST_CASE("distillation_loss: parity with PyTorch (tests/data/reference_distill.safetensors)") {
  SafeTensors ref = read_safetensors("tests/data/reference_distill.safetensors");
  auto in = [&](const std::string& name, bool grad = false) {
    Tensor t = ref.get("input." + name).to(DType::F64);
    if (grad) t.set_requires_grad(true);
    return t;
  };
  Tensor dims_t = ref.get("input.teacher_dims");
  std::vector<int64_t> dims(dims_t.data<int32_t>(), dims_t.data<int32_t>() + dims_t.numel());
  Tensor v = in("v", true), e_real = in("e_real", true), e_extra = in("e_extra", true);
  Tensor tp = in("t_prime", true), bias = in("bias", true);
  Tensor teacher_image = in("teacher_image"), teacher_real = in("teacher_real"), teacher_extra = in("teacher_extra");
  double weight = ref.get("input.weight").item();
  // The reference's values are float32 roundings of a float64 computation on the same inputs.
  auto check_close = [](const Tensor& got, const Tensor& want, double rel) {
    std::vector<double> g = values(got), w = values(want);
    REQUIRE(g.size() == w.size());
    CHECK(max_rel_diff(g, w) < rel);
  };
  Tensor ti2t = distillation_targets(teacher_image, teacher_real, dims);
  Tensor tt2i = distillation_targets(teacher_real, teacher_image, dims);
  check_close(ti2t, ref.get("out.target_i2t"), 1e-6);
  check_close(tt2i, ref.get("out.target_t2i"), 1e-6);
  Tensor distill_real = distillation_loss(v, e_real, tp, ti2t, tt2i);
  check_close(distill_real, ref.get("out.distill_real"), 1e-6);
  check_close(siglip_loss(v, e_real, tp, bias), ref.get("out.siglip_real"), 1e-6);
  // The reinforced objective: Σ over the real and the extra captions of (1−λ)·SigLIP + λ·distillation.
  Tensor extra = distillation_loss(v, e_extra, tp, distillation_targets(teacher_image, teacher_extra, dims),
                                   distillation_targets(teacher_extra, teacher_image, dims));
  Tensor total = add(add(scale(siglip_loss(v, e_real, tp, bias), 1 - weight), scale(distill_real, weight)),
                     add(scale(siglip_loss(v, e_extra, tp, bias), 1 - weight), scale(extra, weight)));
  check_close(total, ref.get("out.total"), 1e-6);
  total.backward();
  check_close(v.grad(), ref.get("grad.v"), 1e-6);
  check_close(e_real.grad(), ref.get("grad.e_real"), 1e-6);
  check_close(e_extra.grad(), ref.get("grad.e_extra"), 1e-6);
  check_close(tp.grad(), ref.get("grad.t_prime"), 1e-6);
  check_close(bias.grad(), ref.get("grad.bias"), 1e-6);
}
