// Shapes are row-major, PyTorch order. A 0-dim shape {} is a scalar with one element.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hc {

using Shape = std::vector<int64_t>;

int64_t numel(const Shape& s);
std::string shape_str(const Shape& s);              // "[2, 3, 4]"
int64_t normalize_dim(int64_t dim, int64_t rank);   // -1 -> rank-1, checked
Shape broadcast_shapes(const Shape& a, const Shape& b);  // numpy rules, throws on mismatch
std::vector<int64_t> contiguous_strides(const Shape& s);

}  // namespace hc
