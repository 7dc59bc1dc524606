#include "ops/cuda/cublas_api.h"

#include <dlfcn.h>

#include <string>

#include "core/error.h"

namespace hc {

static void* symbol(void* lib, const char* name, const std::string& soname) {
  void* p = dlsym(lib, name);
  if (!p) throw Error(cat(soname, ": symbol ", name, " not found (", dlerror(), ")"));
  return p;
}

const CublasApi& cublas_api() {
  static const CublasApi api = [] {
    const std::string soname = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
    void* lib = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libcublas.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
      throw Error(cat("cannot load cuBLAS (", soname, "): ", dlerror(),
                      "; build with CUBLAS_HOME=<folder with lib/ or lib64/> or set LD_LIBRARY_PATH"));
    CublasApi a;
    a.create = reinterpret_cast<decltype(a.create)>(symbol(lib, "cublasCreate_v2", soname));
    a.set_stream = reinterpret_cast<decltype(a.set_stream)>(symbol(lib, "cublasSetStream_v2", soname));
    a.set_math_mode = reinterpret_cast<decltype(a.set_math_mode)>(symbol(lib, "cublasSetMathMode", soname));
    a.sgemm_strided_batched =
        reinterpret_cast<decltype(a.sgemm_strided_batched)>(symbol(lib, "cublasSgemmStridedBatched", soname));
    a.gemm_strided_batched_ex =
        reinterpret_cast<decltype(a.gemm_strided_batched_ex)>(symbol(lib, "cublasGemmStridedBatchedEx", soname));
    a.status_string = reinterpret_cast<decltype(a.status_string)>(symbol(lib, "cublasGetStatusString", soname));
    return a;  // the library stays open for the life of the process
  }();
  return api;
}

}  // namespace hc
