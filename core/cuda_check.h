// cudaCheck: every CUDA runtime call goes through it; a failure throws with the call site.
#pragma once
#include <cuda_runtime.h>

#include "core/error.h"

#define cudaCheck(call)                                                                  \
  do {                                                                                   \
    cudaError_t err_ = (call);                                                           \
    if (err_ != cudaSuccess)                                                             \
      throw ::hc::Error(::hc::cat("CUDA error ", cudaGetErrorString(err_), " in ", #call, \
                                  " at ", __FILE__, ":", __LINE__));                     \
  } while (0)
