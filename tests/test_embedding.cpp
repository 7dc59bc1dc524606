// embedding: table lookups with scatter-add gradients.
#include <doctest/doctest.h>

#include "ops/ops.h"
#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

static std::vector<OpCase> embedding_cases() {
  Tensor ids = Tensor::from_ints({3, 1, 3, 0, 4, 1}, {2, 3});  // repeated ids accumulate
  return {{"embedding/repeated_ids", {param({6, 4}, 1700)},
           [ids](const std::vector<Tensor>& in) { return embedding(in[0], as_like(ids, in[0])); }}};
}
HC_REGISTER_OP_CASES(embedding_cases);

TEST_CASE("embedding: rows by id; out-of-range ids are errors") {
  Tensor w = Tensor::from_vector({0, 1, 10, 11, 20, 21}, {3, 2}, DType::F64);
  Tensor out = embedding(w, Tensor::from_ints({2, 0, 2}, {3}));
  CHECK(out.shape() == Shape{3, 2});
  CHECK(out.to_vector() == std::vector<double>{20, 21, 0, 1, 20, 21});
  CHECK_THROWS_WITH_AS(embedding(w, Tensor::from_ints({1, 3}, {2})), doctest::Contains("id 3 at position 1"), Error);
  CHECK_THROWS_AS(embedding(w, Tensor::from_ints({-1}, {1})), Error);
  CHECK_THROWS_AS(embedding(w, Tensor::zeros({2}, DType::F64)), Error);  // ids must be int32
}
