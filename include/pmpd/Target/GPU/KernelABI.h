//===- KernelABI.h - Launch geometry of the GPU projection kernels -*- C++
//-*-===//
//
// The fixed contract between the CUDA kernels of lib/Target/GPU/Kernels (built
// into one fatbin) and the compiler that launches them with gpu.launch_func.
// Plain C++: no CUDA or LLVM includes, so both sides include it.
//
// Kernels (extern "C", parameters exactly as listed; layouts as in
// pmpd/Runtime/Kernels.h: planes uint8 [parentBits][rows][ceil(cols/8)],
// lut fp16 [rows][2^bits], x fp32 [tokens][cols], y fp32 [tokens][rows],
// bias fp32 [rows] or null):
//
//   pmpd_qgemv_b<B>, B in [2, 8]        one token, B-bit read
//     (const float *x, int64_t cols, const uint8_t *planes, int64_t rows,
//      int32_t parentBits, const uint16_t *lut, const float *bias, float *y)
//   pmpd_qgemm                          any tokens, any bits in [2, 8]
//     (const float *x, int64_t tokens, int64_t cols, const uint8_t *planes,
//      int64_t rows, int32_t parentBits, const uint16_t *lut, int32_t bits,
//      const float *bias, float *y)
//   pmpd_linear_f16                     fp16 w [rows][cols], any tokens
//     (const float *x, int64_t tokens, int64_t cols, const uint16_t *w,
//      int64_t rows, const float *bias, float *y)
//
// Every kernel is launched with a 1-D block of the threads given below, the
// grid the functions below return (y and z may be 1), and 0 bytes of dynamic
// shared memory (the kernels use static shared memory only). The kernels guard
// every bound themselves; pointers need no particular alignment (16-byte
// aligned planes/x/w with rowBytes, resp. cols, a multiple of 16, resp. 8, take
// the vectorized path).
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_TARGET_GPU_KERNELABI_H
#define PMPD_TARGET_GPU_KERNELABI_H

#include <cstdint>

namespace pmpd {
namespace gpu {

/// Bit widths that have a pmpd_qgemv_b<B> kernel and that pmpd_qgemm takes.
constexpr int32_t kMinKernelBits = 2, kMaxKernelBits = 8;

/// Decode (GEMV-shaped) kernels: pmpd_qgemv_b<B>, and pmpd_linear_f16 when
/// tokens == 1. Each warp owns kGemvRowsPerWarp rows.
constexpr int64_t kGemvThreads = 256;
constexpr int64_t kGemvRowsPerWarp = 2;
constexpr int64_t kGemvRowsPerBlock = kGemvThreads / 32 * kGemvRowsPerWarp;
/// Columns of x a pmpd_qgemv block stages in shared memory at a time
/// (32 lanes x 16 bytes of each plane).
constexpr int64_t kGemvColTile = 32 * 16 * 8;

/// Prefill (GEMM-shaped) kernels: pmpd_qgemm, and pmpd_linear_f16 when
/// tokens != 1. A block computes a tile of kGemmTileTokens x kGemmTileRows
/// outputs, kGemmTileCols columns of the reduction at a time.
constexpr int64_t kGemmThreads = 256;
constexpr int64_t kGemmTileRows = 64;
constexpr int64_t kGemmTileTokens = 64;
constexpr int64_t kGemmTileCols = 32;

constexpr int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Grid and block of one launch.
struct LaunchGeometry {
  int64_t gridX = 1, gridY = 1, gridZ = 1;
  int64_t blockX = 1;
};

/// pmpd_qgemv_b<B> (any B): one block per kGemvRowsPerBlock rows.
constexpr int64_t qgemvGrid(int64_t rows) {
  return ceilDiv(rows, kGemvRowsPerBlock);
}
constexpr LaunchGeometry qgemvLaunch(int64_t rows) {
  return {qgemvGrid(rows), 1, 1, kGemvThreads};
}

/// pmpd_qgemm: x over row tiles, y over token tiles.
constexpr LaunchGeometry qgemmLaunch(int64_t rows, int64_t tokens) {
  return {ceilDiv(rows, kGemmTileRows), ceilDiv(tokens, kGemmTileTokens), 1,
          kGemmThreads};
}

/// pmpd_linear_f16: the GEMV grid when tokens == 1 (the kernel takes its GEMV
/// path then), the GEMM grid otherwise. Both use 256 threads.
constexpr LaunchGeometry linearF16Launch(int64_t rows, int64_t tokens) {
  return tokens == 1 ? LaunchGeometry{qgemvGrid(rows), 1, 1, kGemvThreads}
                     : LaunchGeometry{ceilDiv(rows, kGemmTileRows),
                                      ceilDiv(tokens, kGemmTileTokens), 1,
                                      kGemmThreads};
}

static_assert(kGemvThreads == kGemmThreads,
              "pmpd_linear_f16 uses one block size for both paths");

/// Kernel symbol names in the fatbin.
constexpr const char *kQGemmKernel = "pmpd_qgemm";
constexpr const char *kLinearF16Kernel = "pmpd_linear_f16";
/// "pmpd_qgemv_b<bits>" for bits in [kMinKernelBits, kMaxKernelBits], else
/// nullptr.
constexpr const char *qgemvKernelName(int32_t bits) {
  constexpr const char *names[] = {
      "pmpd_qgemv_b2", "pmpd_qgemv_b3", "pmpd_qgemv_b4", "pmpd_qgemv_b5",
      "pmpd_qgemv_b6", "pmpd_qgemv_b7", "pmpd_qgemv_b8"};
  return bits < kMinKernelBits || bits > kMaxKernelBits
             ? nullptr
             : names[bits - kMinKernelBits];
}

} // namespace gpu
} // namespace pmpd

#endif // PMPD_TARGET_GPU_KERNELABI_H
