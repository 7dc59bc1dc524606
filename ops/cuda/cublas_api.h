// cuBLAS, opened with dlopen when the CUDA backend starts instead of linked: loading libcublasLt
// costs ~150 MB of resident memory and ~0.2 s per process, which every CPU-only run of the CLI
// (tests, CPU benchmarks' peak-memory figures) would otherwise pay. The library is looked up as
// libcublas.so.<major of the headers> through the executable's rpath (CUBLAS_HOME in the Makefile)
// and the usual loader paths. Only the calls the backend makes are resolved.
#pragma once
#include <cublas_v2.h>

namespace hc {

// The C signature of cublasGemmStridedBatchedEx (C++ builds also see an overload for older enums).
using GemmStridedBatchedExFn = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int,
                                                  int, const void*, const void*, cudaDataType, int, long long int,
                                                  const void*, cudaDataType, int, long long int, const void*, void*,
                                                  cudaDataType, int, long long int, int, cublasComputeType_t,
                                                  cublasGemmAlgo_t);

struct CublasApi {
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasSetStream_v2) set_stream = nullptr;
  decltype(&cublasSetMathMode) set_math_mode = nullptr;
  decltype(&cublasSgemmStridedBatched) sgemm_strided_batched = nullptr;
  GemmStridedBatchedExFn gemm_strided_batched_ex = nullptr;
  decltype(&cublasGetStatusString) status_string = nullptr;
};

// Opens the library on first call; throws with dlerror()'s reason if it or a symbol is missing.
const CublasApi& cublas_api();

}  // namespace hc
