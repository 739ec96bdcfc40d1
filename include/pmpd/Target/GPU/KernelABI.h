//===- KernelABI.h - Launch geometry of the GPU projection kernels -*- C++
//-*-===//
//
// The fixed contract between the CUDA kernels of lib/Target/GPU/Kernels (built
// into one fatbin) and the compiler that launches them with gpu.launch_func:
// the projections (QLinear.cu, below) and the layer ops (LayerOps.cu, further
// down).
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

/// The layer-op kernels (LayerOps.cu), each launched with kLayerOpThreads
/// threads per block and no dynamic shared memory:
///
///   pmpd_rms_norm              grid (tokens)
///     (const float *x, int64_t hidden, const uint16_t *weight, float epsilon,
///      float *y)
///   pmpd_attention_decode      grid (heads, splits): one token
///     (const float *q, const float *keys, const float *values,
///      int64_t visible, int32_t heads, int32_t kvHeads, int32_t headDim,
///      float scale, float *partial, float *out)
///   pmpd_attention_combine     grid (heads), after decode when splits > 1
///     (const float *partial, int32_t splits, int32_t headDim, float *out)
///   pmpd_attention_prefill     grid (ceil(tokens / kPrefillQueries), heads)
///     (const float *q, int64_t tokens, const float *keys,
///      const float *values, int64_t start, int32_t heads, int32_t kvHeads,
///      int32_t headDim, float scale, float *out)
///
/// q is [tokens][heads][headDim], out [tokens][heads * headDim]; keys and
/// values point at position 0 of the layer in caches of [positions][kvHeads]
/// [headDim] rows; visible = start + 1 positions for decode; partial holds
/// heads * splits * (headDim + 2) floats. Head dims 32, 64 and 128.
constexpr int64_t kLayerOpThreads = 256;
/// K/V rows a warp of the decode kernel loads per step.
constexpr int64_t kDecodePositions = 4;
/// Queries a block of the prefill kernel takes.
constexpr int64_t kPrefillQueries = 16;
/// Decode splits: one per kAttentionSplitPositions visible positions, at
/// most kAttentionMaxSplits.
constexpr int64_t kAttentionSplitPositions = 128;
constexpr int64_t kAttentionMaxSplits = 64;
/// The splits of a decode over `visible` positions (the compiler builds the
/// same arithmetic into the host code).
constexpr int64_t attentionSplits(int64_t visible) {
  int64_t splits = ceilDiv(visible, kAttentionSplitPositions);
  return splits < kAttentionMaxSplits ? splits : kAttentionMaxSplits;
}
constexpr bool isSupportedHeadDim(int64_t headDim) {
  return headDim == 32 || headDim == 64 || headDim == 128;
}

/// Kernel symbol names in the fatbin.
constexpr const char *kRMSNormKernel = "pmpd_rms_norm";
constexpr const char *kAttentionDecodeKernel = "pmpd_attention_decode";
constexpr const char *kAttentionCombineKernel = "pmpd_attention_combine";
constexpr const char *kAttentionPrefillKernel = "pmpd_attention_prefill";
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
