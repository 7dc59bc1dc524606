// fill and cast: the elementwise kernels that do no arithmetic.
#include <algorithm>

#include "ops/cpu/backend_cpu.h"

namespace hc {

void CpuBackend::fill(Tensor& out, double value) {
  int64_t n = out.numel();
  switch (out.dtype()) {
    case DType::F32: std::fill_n(out.data<float>(), n, static_cast<float>(value)); break;
    case DType::F64: std::fill_n(out.data<double>(), n, value); break;
    case DType::I32: std::fill_n(out.data<int32_t>(), n, static_cast<int32_t>(value)); break;
  }
}

template <class From, class To>
static void convert(const Tensor& x, Tensor& out) {
  const From* src = x.data<From>();
  To* dst = out.data<To>();
  int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<To>(src[i]);
}

void CpuBackend::cast(const Tensor& x, Tensor& out) {
  HC_CHECK(x.numel() == out.numel(), "cast: ", x.desc(), " into ", out.desc());
  HC_CHECK(is_floating(out.dtype()), "cast: cannot convert to ", dtype_name(out.dtype()));
  auto into = [&](auto to) {
    using To = decltype(to);
    switch (x.dtype()) {
      case DType::F32: convert<float, To>(x, out); break;
      case DType::F64: convert<double, To>(x, out); break;
      case DType::I32: convert<int32_t, To>(x, out); break;
    }
  };
  dispatch_float(out.dtype(), "cast", into);
}

}  // namespace hc
