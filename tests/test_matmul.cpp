// matmul (with transposes and batches) and linear.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> matmul_cases() {
  std::vector<OpCase> cases;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      Shape sa = ta ? Shape{2, 4, 3} : Shape{2, 3, 4};  // op(a): [2, 3, 4]
      Shape sb = tb ? Shape{2, 5, 4} : Shape{2, 4, 5};  // op(b): [2, 4, 5]
      cases.push_back({"matmul/batched_t" + std::to_string(ta) + std::to_string(tb),
                       {param(sa, 600 + ta * 2 + tb), param(sb, 610 + ta * 2 + tb)},
                       [ta, tb](const std::vector<Tensor>& in) { return matmul(in[0], in[1], ta, tb); }});
      Shape sb2 = tb ? Shape{5, 4} : Shape{4, 5};
      cases.push_back({"matmul/shared_b_t" + std::to_string(ta) + std::to_string(tb),
                       {param(sa, 620 + ta * 2 + tb), param(sb2, 630 + ta * 2 + tb)},
                       [ta, tb](const std::vector<Tensor>& in) { return matmul(in[0], in[1], ta, tb); }});
    }
  cases.push_back({"matmul/2d", {param({3, 4}, 640), param({4, 2}, 641)},
                   [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }});
  cases.push_back({"linear/3d_input_bias", {param({2, 3, 4}, 650), param({5, 4}, 651), param({5}, 652)},
                   [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }});
  cases.push_back({"linear/no_bias", {param({3, 4}, 653), param({2, 4}, 654)},
                   [](const std::vector<Tensor>& in) { return linear(in[0], in[1]); }});
  return cases;
}
HC_REGISTER_OP_CASES(matmul_cases);

TEST_CASE("matmul: forward values") {
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F64);
  Tensor b = Tensor::from_vector({7, 8, 9, 10, 11, 12}, {3, 2}, DType::F64);
  CHECK(matmul(a, b).to_vector() == std::vector<double>{58, 64, 139, 154});
  CHECK(matmul(a, a, false, true).to_vector() == std::vector<double>{14, 32, 32, 77});
  CHECK(matmul(a, a, true, false).shape() == Shape{3, 3});
  CHECK(matmul(a, a, true, false).to_vector()[0] == 17);  // column 0 with itself: 1 + 16
  Tensor w = Tensor::from_vector({1, 0, -1, 2, 2, 2}, {2, 3}, DType::F64);
  Tensor bias = Tensor::from_vector({0.5, -0.5}, {2}, DType::F64);
  CHECK(linear(a, w, bias).to_vector() == std::vector<double>{-1.5, 11.5, -1.5, 29.5});
  CHECK_THROWS_AS(matmul(a, a), Error);
  CHECK_THROWS_AS(linear(a, b), Error);
  // float32 through Eigen agrees with the float64 result.
  Tensor a32 = randn({64, 96}, 1).to(DType::F32), b32 = randn({96, 80}, 2).to(DType::F32);
  std::vector<double> ref = matmul(a32.to(DType::F64), b32.to(DType::F64)).to_vector();
  CHECK(max_abs_diff(matmul(a32, b32).to_vector(), ref) < 1e-4);
}
