// Shapes are row-major, PyTorch order. A 0-dim shape {} is a scalar with one element.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hc {

using Shape = std::vector<int64_t>;

// The element count; throws when the product does not fit in int64 (a shape read from a file can
// ask for anything, issue 24).
int64_t numel(const Shape& s);
// The element count of a shape from outside the engine: false when a dimension is negative or the
// product (times elem_size bytes) does not fit in int64, so that readers can name the file.
bool checked_numel(const Shape& s, int64_t elem_size, int64_t* out);
std::string shape_str(const Shape& s);              // "[2, 3, 4]"
int64_t normalize_dim(int64_t dim, int64_t rank);   // -1 -> rank-1, checked
Shape broadcast_shapes(const Shape& a, const Shape& b);  // numpy rules, throws on mismatch
std::vector<int64_t> contiguous_strides(const Shape& s);

}  // namespace hc
