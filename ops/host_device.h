// HC_HOST_DEVICE marks a function that CPU kernels and CUDA kernels share: compiled for the host
// by g++, and for both host and device by nvcc.
#pragma once

#ifdef __CUDACC__
#define HC_HOST_DEVICE __host__ __device__
#else
#define HC_HOST_DEVICE
#endif
