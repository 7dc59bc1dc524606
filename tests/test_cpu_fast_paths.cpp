// Fast CPU kernels against their simple references (ops/cpu/reference_cpu.h), on shapes large
// enough to take the fast paths, with two OpenMP threads, in float64 and float32.
#include <doctest/doctest.h>
#include <omp.h>

#include <array>
#include <cmath>

#include "core/backend.h"
#include "core/random.h"
#include "ops/cpu/reference_cpu.h"

using namespace hc;

namespace {

Tensor random_tensor(const Shape& s, DType dt, uint64_t seed) {
  Tensor t = Tensor::empty(s, dt);
  Generator g(seed);
  fill_uniform(t, g, -1, 1);
  return t;
}

// Largest |a - b| / (1 + |b|) over the elements.
double max_rel_diff(const Tensor& a, const Tensor& b) {
  std::vector<double> x = a.to_vector(), y = b.to_vector();
  REQUIRE(x.size() == y.size());
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]) / (1 + std::fabs(y[i])));
  return m;
}

struct ThreadCount {
  int saved = omp_get_max_threads();
  explicit ThreadCount(int n) { omp_set_num_threads(n); }
  ~ThreadCount() { omp_set_num_threads(saved); }
};

}  // namespace

TEST_CASE("fast path: reduce_sum agrees with its reference") {
  ThreadCount two(2);
  Backend& be = backend_for(Device::CPU);
  struct Case { Shape x, out; };
  std::vector<Case> cases = {
      {{512, 300}, {1, 300}},            // bias gradient: rows of [R, C], column tiles
      {{8, 64, 700}, {1, 1, 700}},       // two leading reduced dims
      {{4, 96, 50}, {4, 1, 50}},         // middle dim
      {{300, 257}, {300, 1}},            // short contiguous runs
      {{3, 100000}, {3, 1}},             // long runs: fixed blocks
      {{200001}, {1}},                   // sum_all
      {{6, 5, 7}, {1, 5, 1}},            // not one run: the reference itself
  };
  for (DType dt : {DType::F64, DType::F32}) {
    for (const Case& c : cases) {
      CAPTURE(dtype_name(dt));
      CAPTURE(c.x);
      Tensor x = random_tensor(c.x, dt, 11);
      Tensor fast = Tensor::empty(c.out, dt), ref = Tensor::empty(c.out, dt);
      be.reduce_sum(x, fast);
      reduce_sum_reference(x, ref);
      // Both accumulate in double; only the blocked long sums add in another order, which moves
      // the double result by far less than one float32 or float64 output rounding (1e-12 relative).
      CHECK(max_rel_diff(fast, ref) <= 1e-12);
    }
  }
}

TEST_CASE("fast path: matmul (one product split over threads) agrees with its reference") {
  ThreadCount two(2);
  Backend& be = backend_for(Device::CPU);
  // (batch, M, N, K): tall, wide, odd sizes, and a batch of large products.
  std::vector<std::array<int64_t, 4>> shapes = {{1, 300, 70, 200}, {1, 40, 333, 150}, {2, 130, 130, 65}};
  for (DType dt : {DType::F64, DType::F32}) {
    for (auto [Bn, M, N, K] : shapes)
      for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb)
          for (double beta : {0.0, 0.5}) {
            CAPTURE(dtype_name(dt));
            CAPTURE(M);
            CAPTURE(N);
            CAPTURE(ta);
            CAPTURE(tb);
            Tensor a = random_tensor(ta ? Shape{Bn, K, M} : Shape{Bn, M, K}, dt, 21);
            Tensor b = random_tensor(tb ? Shape{Bn, N, K} : Shape{Bn, K, N}, dt, 22);
            Tensor fast = random_tensor({Bn, M, N}, dt, 23), ref = fast.clone();
            be.matmul(a, ta, b, tb, 1.5, beta, fast);
            matmul_reference(a, ta, b, tb, 1.5, beta, ref);
            // Sums of K <= 200 products of values in [-1, 1]: float32 accumulation error is
            // below K * 2^-24 * |terms| ~ 1e-5 of the sum's scale; float64 far below 1e-12.
            CHECK(max_rel_diff(fast, ref) <= (dt == DType::F64 ? 1e-12 : 2e-5));
          }
  }
}

TEST_CASE("fast path: float32 GELU, SiLU and sigmoid agree with the libm reference") {
  ThreadCount two(2);
  Backend& be = backend_for(Device::CPU);
  // Inputs over [-12, 12] (both saturated ends and the curved middle) plus exact special values.
  int64_t n = 70001;
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = -12.0 + 24.0 * static_cast<double>(i) / static_cast<double>(n - 1);
  v[0] = 0.0;
  v[1] = -100.0;
  v[2] = 100.0;
  Tensor x = Tensor::from_vector(v, {n});
  Tensor dy = random_tensor({n}, DType::F32, 31);
  for (UnaryOp op : {UnaryOp::Gelu, UnaryOp::Silu, UnaryOp::Sigmoid}) {
    CAPTURE(unary_op_name(op));
    Tensor fast = Tensor::empty({n}), ref = Tensor::empty({n});
    be.unary(op, x, 0.0, fast);
    unary_reference(op, x, 0.0, ref);
    // Eigen's vectorised exp and erf are within a few ulp of libm: |diff| <= 1e-6 (1 + |ref|).
    CHECK(max_rel_diff(fast, ref) <= 1e-6);
    Tensor dfast = Tensor::empty({n}), dref = Tensor::empty({n});
    be.unary_backward(op, x, ref, dy, 0.0, dfast);
    unary_backward_reference(op, x, ref, dy, 0.0, dref);
    CHECK(max_rel_diff(dfast, dref) <= 1e-6);
  }
}

TEST_CASE("fast path: layer_norm_backward (column tiles) equals its reference") {
  ThreadCount two(2);
  Backend& be = backend_for(Device::CPU);
  int64_t N = 16, T = 40, D = 70, S = 2;  // D not a multiple of the tile width
  for (DType dt : {DType::F64, DType::F32}) {
    CAPTURE(dtype_name(dt));
    Tensor x = random_tensor({N, T, D}, dt, 41), dy = random_tensor({N, T, D}, dt, 42);
    Tensor gamma = random_tensor({S, D}, dt, 43), beta = random_tensor({S, D}, dt, 44);
    std::vector<int32_t> idx(N);
    for (int64_t i = 0; i < N; ++i) idx[i] = static_cast<int32_t>(i % S);
    Tensor sets = Tensor::from_ints(idx, {N});
    Tensor y = Tensor::empty({N, T, D}, dt), mean = Tensor::empty({N * T}, dt), invstd = Tensor::empty({N * T}, dt);
    be.layer_norm_forward(x, gamma, beta, sets, 1e-5, y, mean, invstd);
    Tensor dx1 = Tensor::empty({N, T, D}, dt), dg1 = Tensor::empty({S, D}, dt), db1 = Tensor::empty({S, D}, dt);
    Tensor dx2 = dx1.clone(), dg2 = dg1.clone(), db2 = db1.clone();
    be.layer_norm_backward(x, gamma, sets, mean, invstd, dy, &dx1, &dg1, &db1);
    layer_norm_backward_reference(x, gamma, sets, mean, invstd, dy, &dx2, &dg2, &db2);
    // Same sums in the same order: equal to the last bit.
    CHECK(dx1.to_vector() == dx2.to_vector());
    CHECK(dg1.to_vector() == dg2.to_vector());
    CHECK(db1.to_vector() == db2.to_vector());
  }
}

TEST_CASE("fast path: depthwise conv2d forward and backward agree with the reference loops") {
  ThreadCount two(2);
  Backend& be = backend_for(Device::CPU);
  struct Case { int64_t N, C, H, W, k; int stride, pad; int64_t mult = 1; };
  // Odd and even sizes, both strides, padding of k/2 and none; two outputs per input channel
  // (MCi's 7×7 stride-2 downsampling and 3×3 head).
  std::vector<Case> cases = {{4, 6, 13, 11, 3, 1, 1}, {3, 5, 17, 16, 5, 2, 2}, {2, 7, 9, 12, 3, 2, 1},
                             {2, 4, 10, 9, 3, 1, 0}, {8, 16, 16, 16, 5, 1, 2}, {3, 6, 15, 14, 7, 2, 3, 2},
                             {4, 5, 6, 6, 3, 1, 1, 2}};
  for (DType dt : {DType::F64, DType::F32}) {
    for (const Case& c : cases) {
      std::string dtype = dtype_name(dt);
      CAPTURE(dtype);
      CAPTURE(c.H);
      CAPTURE(c.k);
      CAPTURE(c.stride);
      CAPTURE(c.mult);
      const int64_t CO = c.C * c.mult;
      Conv2dParams p;
      p.stride_h = p.stride_w = c.stride;
      p.pad_h = p.pad_w = c.pad;
      p.groups = static_cast<int>(c.C);
      int64_t OH = (c.H + 2 * c.pad - c.k) / c.stride + 1, OW = (c.W + 2 * c.pad - c.k) / c.stride + 1;
      Tensor x = random_tensor({c.N, c.C, c.H, c.W}, dt, 51), w = random_tensor({CO, 1, c.k, c.k}, dt, 52);
      Tensor bias = random_tensor({CO}, dt, 53), dy = random_tensor({c.N, CO, OH, OW}, dt, 54);
      Tensor y1 = Tensor::empty({c.N, CO, OH, OW}, dt), y2 = y1.clone();
      be.conv2d(x, w, bias, p, y1);
      conv2d_depthwise_reference(x, w, bias, p, y2);
      // Forward: the same sums in the same order, so equal up to the compiler's choice of where
      // to fuse a multiply-add (FMA under -march=native): within a rounding of each of the
      // k*k + 1 terms, not necessarily bit for bit.
      double fwd_diff = max_rel_diff(y1, y2);
      CAPTURE(fwd_diff);
      CHECK(fwd_diff <= (dt == DType::F64 ? 1e-14 : 1e-6));
      Tensor dx1 = Tensor::empty(x.shape(), dt), dw1 = Tensor::empty(w.shape(), dt), db1 = Tensor::empty({CO}, dt);
      Tensor dx2 = dx1.clone(), dw2 = dw1.clone(), db2 = db1.clone();
      be.conv2d_backward(x, w, dy, p, &dx1, &dw1, &db1);
      conv2d_depthwise_backward_reference(x, w, dy, p, &dx2, &dw2, &db2);
      // Backward: the same terms in another order. dx sums at most k*k products in the element
      // type (float32: within a few 1e-7 relative); dw and db sum in double.
      double tol = dt == DType::F64 ? 1e-13 : 1e-6;
      CHECK(max_rel_diff(dx1, dx2) <= tol);
      CHECK(max_rel_diff(dw1, dw2) <= tol);
      CHECK(max_rel_diff(db1, db2) <= tol);
    }
  }
}
