// gather_rows: the feature at each sequence's end-of-text position.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> gather_rows_cases() {
  Tensor idx = Tensor::from_ints({2, 0, 3}, {3});
  return {{"gather_rows/eot", {param({3, 4, 5}, 1800)},
           [idx](const std::vector<Tensor>& in) { return gather_rows(in[0], as_like(idx, in[0])); }}};
}
HC_REGISTER_OP_CASES(gather_rows_cases);

TEST_CASE("gather_rows: picks the right positions; bad positions are errors") {
  Tensor x = Tensor::from_vector({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {2, 3, 2}, DType::F64);
  CHECK(gather_rows(x, Tensor::from_ints({2, 1}, {2})).to_vector() == std::vector<double>{4, 5, 8, 9});
  CHECK_THROWS_WITH_AS(gather_rows(x, Tensor::from_ints({3, 0}, {2})), doctest::Contains("position 3 for row 0"), Error);
  CHECK_THROWS_AS(gather_rows(x, Tensor::from_ints({0}, {1})), Error);
}
