// cudaCheck, cublasCheck, cudnnCheck: every CUDA runtime, cuBLAS and cuDNN call goes through one
// of them; a failure throws hc::Error naming the call and its file:line.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "ops/cuda/cublas_api.h"
#include "core/error.h"

#define cudaCheck(call)                                                                  \
  do {                                                                                   \
    cudaError_t err_ = (call);                                                           \
    if (err_ != cudaSuccess)                                                             \
      throw ::hc::Error(::hc::cat("CUDA error ", cudaGetErrorString(err_), " in ", #call, \
                                  " at ", __FILE__, ":", __LINE__));                     \
  } while (0)

#define cublasCheck(call)                                                                     \
  do {                                                                                        \
    cublasStatus_t st_ = (call);                                                              \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                         \
      throw ::hc::Error(::hc::cat("cuBLAS error ", ::hc::cublas_api().status_string(st_), " in ", #call, \
                                  " at ", __FILE__, ":", __LINE__));                          \
  } while (0)

#define cudnnCheck(call)                                                                    \
  do {                                                                                      \
    cudnnStatus_t st_ = (call);                                                             \
    if (st_ != CUDNN_STATUS_SUCCESS)                                                        \
      throw ::hc::Error(::hc::cat("cuDNN error ", cudnnGetErrorString(st_), " in ", #call, \
                                  " at ", __FILE__, ":", __LINE__));                        \
  } while (0)

// After a kernel launch: a bad launch configuration is reported here, at the launch site.
#define cudaLaunchCheck() cudaCheck(cudaGetLastError())
