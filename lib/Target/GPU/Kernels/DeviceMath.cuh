//===- DeviceMath.cuh - Device helpers the kernels share ------*- CUDA -*-===//

#ifndef PMPD_TARGET_GPU_KERNELS_DEVICEMATH_CUH
#define PMPD_TARGET_GPU_KERNELS_DEVICEMATH_CUH

#include <cstdint>
#include <cuda_fp16.h>

namespace pmpd {
namespace gpu {

__device__ __forceinline__ float halfBits(uint16_t h) {
  return __half2float(__ushort_as_half(h));
}

__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

} // namespace gpu
} // namespace pmpd

#endif // PMPD_TARGET_GPU_KERNELS_DEVICEMATH_CUH
