// sum, mean, sum_all, sum_to.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> reduce_cases() {
  std::vector<OpCase> cases;
  cases.push_back({"sum/dim1", {param({3, 4, 2}, 400)},
                   [](const std::vector<Tensor>& in) { return sum(in[0], {1}); }});
  cases.push_back({"sum/dims0_2_keepdim", {param({3, 4, 2}, 401)},
                   [](const std::vector<Tensor>& in) { return sum(in[0], {0, -1}, true); }});
  cases.push_back({"mean/last", {param({3, 5}, 402)},
                   [](const std::vector<Tensor>& in) { return mean(in[0], {-1}); }});
  cases.push_back({"mean/dims0_1", {param({2, 3, 4}, 403)},
                   [](const std::vector<Tensor>& in) { return mean(in[0], {0, 1}); }});
  cases.push_back({"sum_all/3d", {param({2, 3, 2}, 404)},
                   [](const std::vector<Tensor>& in) { return sum_all(in[0]); }});
  cases.push_back({"sum_to/broadcast_inverse", {param({2, 3, 4}, 405)},
                   [](const std::vector<Tensor>& in) { return sum_to(in[0], {3, 1}); }});
  // Large: the blocked fast paths of reduce_sum against the one-accumulator reference. Both sum in
  // double; only the blocked long sums add in another order, which moves the double result by far
  // less than one output rounding (1e-12 relative). The backward (expand) has no fast path.
  struct Big { const char* name; Shape x; std::vector<int64_t> dims; };
  const Big bigs[] = {
      {"sum/large_bias_grad_rows_512x300", {512, 300}, {0}},     // rows of [R, C], column tiles
      {"sum/large_two_leading_8x64x700", {8, 64, 700}, {0, 1}},  // two leading reduced dims
      {"sum/large_middle_4x96x50", {4, 96, 50}, {1}},            // middle dim
      {"sum/large_short_runs_300x257", {300, 257}, {1}},         // short contiguous runs
      {"sum/large_long_runs_3x100000", {3, 100000}, {1}},        // long runs: fixed blocks
      {"sum/large_all_200001", {200001}, {0}},                   // sum_all
      {"sum/large_not_one_run_6x5x7", {6, 5, 7}, {0, 2}},        // not one run: the reference itself
  };
  uint64_t big_seed = 410;
  for (const Big& b : bigs) {
    OpCase c{b.name, {uniform(b.x, big_seed++, -1, 1).set_requires_grad(true)},
             [dims = b.dims](const std::vector<Tensor>& in) { return sum(in[0], dims, true); }};
    c.modes = kFastVsReference;
    c.fast_forward = {1e-12, 1e-12};
    cases.push_back(c);
  }
  // Large, CUDA against the CPU: a reduction over non-adjacent dims on many blocks.
  OpCase dims02{"sum/large_dims0_2_64x33x70", {param({64, 33, 70}, 420)},
                [](const std::vector<Tensor>& in) { return sum(in[0], {0, 2}); }};
  dims02.modes = kCudaFp32 | kPerf;
  cases.push_back(dims02);
  return cases;
}
HC_REGISTER_OP_CASES(reduce_cases);

TEST_CASE("reductions: forward values") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F64);
  CHECK(sum(x, {0}).to_vector() == std::vector<double>{5, 7, 9});
  CHECK(sum(x, {1}).to_vector() == std::vector<double>{6, 15});
  CHECK(sum(x, {1}, true).shape() == Shape{2, 1});
  CHECK(mean(x, {1}).to_vector() == std::vector<double>{2, 5});
  CHECK(mean(x, {0, 1}).item() == 3.5);
  CHECK(sum_all(x).item() == 21);
  CHECK(sum_all(x).dim() == 0);
  CHECK(sum_to(x, {3}).to_vector() == std::vector<double>{5, 7, 9});
  CHECK(sum_to(x, {2, 1}).to_vector() == std::vector<double>{6, 15});
  CHECK_THROWS_AS(sum_to(x, {2}), Error);
  // float32 sums accumulate in double: 1e6 ones plus small values keep their exact sum.
  Tensor ones = Tensor::ones({1000, 1000});
  CHECK(sum_all(ones).item() == 1e6);
}
