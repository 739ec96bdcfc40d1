//===- QLinear.cu - CUDA kernels of the GPU target's projections ----------===//
//
// y = x * W^T (+ bias) for an any-precision packed W read at B of its parent
// bits, or an fp16 W. Built by nvcc into the fatbin the compiler embeds as a
// gpu.binary; the ABI (names, parameters, launch geometry) is fixed by
// pmpd/Target/GPU/KernelABI.h and the layouts are those of
// pmpd/Runtime/Kernels.h.
//
// Decode (pmpd_qgemv_b<B>): the bytes of the planes are the cost, so
// - a warp owns kGemvRowsPerWarp rows; each lane reads 16 bytes (128 columns)
//   of each plane of each of its rows per step, so a warp reads 512 contiguous
//   bytes per plane row per load instruction;
// - the 16-byte plane chunk is turned into byte-sized codes with shifts and
//   masks (no per-column bit extraction): for r in [0, 8) one word holds in
//   its byte m the code of column 8m + r of a 32-column word;
// - each row's codebook is fp32 in shared memory, indexed by those bytes;
// - x is staged in shared memory a tile of kGemvColTile columns at a time, in
//   the order the codes come out (and XOR-swizzled), so that each lane reads
//   the 4 x values matching one code word with one conflict-free 16-byte load
//   and reuses them for all its rows;
// - fp32 accumulation, one warp-shuffle reduction per row at the end.
// Prefill (pmpd_qgemm, and pmpd_linear_f16 for more than one token): 64x64
// output tiles on the tensor cores; a 64-row x 32-column tile of W is
// dequantized into shared memory as fp16 (exactly: the codebooks are fp16),
// x is staged as fp16 hi and lo parts, and both products accumulate in fp32.
//
//===----------------------------------------------------------------------===//

#include "DeviceMath.cuh"
#include "pmpd/Target/GPU/KernelABI.h"

#include <cstdint>
#include <cuda_fp16.h>
#include <mma.h>

using namespace pmpd::gpu;

namespace {

constexpr int kRowsPerWarp = int(kGemvRowsPerWarp);
constexpr int kRowsPerBlock = int(kGemvRowsPerBlock);
constexpr int kColTile = int(kGemvColTile);

/// Moves bit `From` of every byte of v to bit `To` (other bits are garbage and
/// masked by the caller).
template <int From, int To>
__device__ __forceinline__ uint32_t moveBits(uint32_t v) {
  if constexpr (From >= To)
    return v >> (From - To);
  else
    return v << (To - From);
}

/// The word whose byte m holds (code of column 8m + R) << Shift, from the B
/// plane words of 32 columns (plane 0 = most significant bit).
template <int B, int R, int Shift>
__device__ __forceinline__ uint32_t byteCodes(const uint32_t (&p)[B]) {
  uint32_t t = 0;
#pragma unroll
  for (int j = 0; j < B; ++j) {
    constexpr uint32_t kOnes = 0x01010101u;
    // Template arguments must be constants: dispatch on j by unrolling.
    const int to = B - 1 - j + Shift;
    uint32_t moved = R >= to ? p[j] >> (R - to) : p[j] << (to - R);
    t |= moved & (kOnes << to);
  }
  return t;
}

/// Byte m of t, zero-extended.
__device__ __forceinline__ uint32_t byteOf(uint32_t t, int m) {
  return __byte_perm(t, 0u, 0x4440u | unsigned(m));
}

/// A float in shared memory by its 32-bit shared-window address.
__device__ __forceinline__ float loadShared(uint32_t address) {
  float v;
  asm volatile("ld.shared.f32 %0, [%1];" : "=f"(v) : "r"(address));
  return v;
}

/// Accumulates the 4 products of one byte-code word (columns 8m + R, m < 4).
/// `table` is the row's codebook: for B <= 6 its shared address, 256-byte
/// aligned, so that one byte permute makes the address of an entry (the code
/// times 4 in the low byte, the table's upper bytes above it).
template <int B, int R>
__device__ __forceinline__ float
dotCodes(const uint32_t (&p)[B], uint32_t table, float4 xv, float acc) {
  constexpr bool kByteOffsets = B <= 6;
  uint32_t t = byteCodes < B, R, kByteOffsets ? 2 : 0 > (p);
  float w[4];
#pragma unroll
  for (int m = 0; m < 4; ++m) {
    if constexpr (kByteOffsets)
      w[m] = loadShared(__byte_perm(t, table, 0x7650u | unsigned(m)));
    else
      w[m] = loadShared(table + 4 * byteOf(t, m));
  }
  acc = fmaf(xv.x, w[0], acc);
  acc = fmaf(xv.y, w[1], acc);
  acc = fmaf(xv.z, w[2], acc);
  acc = fmaf(xv.w, w[3], acc);
  return acc;
}

template <int B, int R>
__device__ __forceinline__ void
dotWordRows(const uint32_t (&p)[kRowsPerWarp][4][B], int q,
            const uint32_t *tables, float4 xv, float (&acc)[kRowsPerWarp]) {
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    uint32_t words[B];
#pragma unroll
    for (int j = 0; j < B; ++j)
      words[j] = p[r][q][j];
    acc[r] = dotCodes<B, R>(words, tables[r], xv, acc[r]);
  }
}

/// Index in the staged x tile (floats) of tile column c: lane c / 128 reads,
/// for its 32-column word q = c / 32 % 4 and bit r = c % 8, the float4 slot
/// s = 8q + r whose component m = c / 8 % 4 is column c; slots are stored
/// slot-major with the lane XOR-swizzled by the slot.
__device__ __forceinline__ int stagedIndex(int c) {
  int lane = c >> 7, q = (c >> 5) & 3, m = (c >> 3) & 3, r = c & 7;
  int slot = 8 * q + r;
  return (slot * 32 + (lane ^ slot)) * 4 + m;
}

template <int B>
__device__ __forceinline__ void
qgemv(const float *__restrict__ x, int64_t cols,
      const uint8_t *__restrict__ planes, int64_t rows,
      const uint16_t *__restrict__ lut, const float *__restrict__ bias,
      float *__restrict__ y) {
  constexpr int kEntries = 1 << B;
  // Rows 256-byte aligned (see dotCodes).
  constexpr int kStride = kEntries < 64 ? 64 : kEntries;
  __shared__ __align__(256) float lutS[kRowsPerBlock][kStride];
  __shared__ float4 xS[kColTile / 4];

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t rowBase = int64_t(blockIdx.x) * kRowsPerBlock;

  // Staging loops are unrolled so that all their loads are in flight at once.
  constexpr int kLutSteps =
      (kRowsPerBlock * kEntries + int(kGemvThreads) - 1) / int(kGemvThreads);
#pragma unroll
  for (int s = 0; s < kLutSteps; ++s) {
    int i = tid + s * int(kGemvThreads);
    int64_t row = rowBase + i / kEntries;
    if (i < kRowsPerBlock * kEntries)
      lutS[i / kEntries][i % kEntries] =
          row < rows ? halfBits(__ldg(lut + row * kEntries + i % kEntries))
                     : 0.0f;
  }

  const int64_t rowBytes = (cols + 7) / 8;
  const int64_t planeStride = rows * rowBytes;
  const bool vectorized =
      reinterpret_cast<uintptr_t>(planes) % 16 == 0 && rowBytes % 16 == 0;

  int64_t myRows[kRowsPerWarp];
  uint32_t tables[kRowsPerWarp];
  float acc[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    myRows[r] = rowBase + warp * kRowsPerWarp + r;
    tables[r] =
        uint32_t(__cvta_generic_to_shared(lutS[warp * kRowsPerWarp + r]));
    acc[r] = 0.0f;
  }

  for (int64_t tile = 0; tile < cols; tile += kColTile) {
    // This lane's 16 bytes of each plane of each row, [row][word][plane],
    // requested before x is staged so that both are in flight together.
    const int64_t byte0 = tile / 8 + 16 * lane;
    const bool active = byte0 < rowBytes; // Else past the end of the rows.
    uint32_t p[kRowsPerWarp][4][B];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const bool valid = active && myRows[r] < rows;
      const uint8_t *base = planes + myRows[r] * rowBytes + byte0;
#pragma unroll
      for (int j = 0; j < B; ++j) {
        if (valid && vectorized) {
          uint4 v =
              __ldg(reinterpret_cast<const uint4 *>(base + j * planeStride));
          p[r][0][j] = v.x;
          p[r][1][j] = v.y;
          p[r][2][j] = v.z;
          p[r][3][j] = v.w;
        } else {
#pragma unroll
          for (int q = 0; q < 4; ++q) {
            uint32_t word = 0;
#pragma unroll
            for (int k = 0; k < 4; ++k) {
              int64_t b = byte0 + 4 * q + k;
              if (valid && b < rowBytes)
                word |= uint32_t(__ldg(base + j * planeStride + 4 * q + k))
                        << (8 * k);
            }
            p[r][q][j] = word;
          }
        }
      }
    }

    constexpr int kPerThread = kColTile / int(kGemvThreads);
    float xv[kPerThread];
#pragma unroll
    for (int s = 0; s < kPerThread; ++s) {
      int64_t col = tile + tid + s * int(kGemvThreads);
      xv[s] = col < cols ? __ldg(x + col) : 0.0f;
    }
    __syncthreads(); // The previous tile's x is consumed.
    float *xStage = reinterpret_cast<float *>(xS);
#pragma unroll
    for (int s = 0; s < kPerThread; ++s)
      xStage[stagedIndex(tid + s * int(kGemvThreads))] = xv[s];
    __syncthreads();
    if (!active)
      continue;

#pragma unroll
    for (int q = 0; q < 4; ++q) {
#define PMPD_DOT(R)                                                            \
  dotWordRows<B, R>(p, q, tables, xS[(8 * q + R) * 32 + (lane ^ (8 * q + R))], \
                    acc)
      PMPD_DOT(0);
      PMPD_DOT(1);
      PMPD_DOT(2);
      PMPD_DOT(3);
      PMPD_DOT(4);
      PMPD_DOT(5);
      PMPD_DOT(6);
      PMPD_DOT(7);
#undef PMPD_DOT
    }
  }

#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    float sum = warpSum(acc[r]);
    if (lane == 0 && myRows[r] < rows)
      y[myRows[r]] = sum + (bias ? bias[myRows[r]] : 0.0f);
  }
}

//===----------------------------------------------------------------------===//
// fp16 GEMV (pmpd_linear_f16 with one token)
//===----------------------------------------------------------------------===//

__device__ __forceinline__ float dotHalf8(uint4 w, float4 a, float4 b,
                                          float acc) {
  float2 w01 = __half22float2(*reinterpret_cast<const __half2 *>(&w.x));
  float2 w23 = __half22float2(*reinterpret_cast<const __half2 *>(&w.y));
  float2 w45 = __half22float2(*reinterpret_cast<const __half2 *>(&w.z));
  float2 w67 = __half22float2(*reinterpret_cast<const __half2 *>(&w.w));
  acc = fmaf(a.x, w01.x, acc);
  acc = fmaf(a.y, w01.y, acc);
  acc = fmaf(a.z, w23.x, acc);
  acc = fmaf(a.w, w23.y, acc);
  acc = fmaf(b.x, w45.x, acc);
  acc = fmaf(b.y, w45.y, acc);
  acc = fmaf(b.z, w67.x, acc);
  acc = fmaf(b.w, w67.y, acc);
  return acc;
}

__device__ __forceinline__ void
gemvF16(const float *__restrict__ x, int64_t cols,
        const uint16_t *__restrict__ w, int64_t rows,
        const float *__restrict__ bias, float *__restrict__ y) {
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t row0 =
      int64_t(blockIdx.x) * kRowsPerBlock + warp * kRowsPerWarp;
  if (row0 >= rows)
    return;
  float acc[kRowsPerWarp] = {};
  const bool vectorized = reinterpret_cast<uintptr_t>(w) % 16 == 0 &&
                          reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
                          cols % 8 == 0;
  if (vectorized) {
    // Lane l reads columns [8c, 8c + 8) for chunks c = l + 32i, kUnroll
    // chunks of each row in flight.
    constexpr int kUnroll = 4;
    const int64_t chunks = cols / 8;
    const float4 *xv = reinterpret_cast<const float4 *>(x);
    for (int64_t c0 = lane; c0 < chunks; c0 += 32 * kUnroll) {
      uint4 wv[kRowsPerWarp][kUnroll];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        int64_t row = row0 + r < rows ? row0 + r : row0;
        const uint4 *wr = reinterpret_cast<const uint4 *>(w + row * cols);
#pragma unroll
        for (int u = 0; u < kUnroll; ++u)
          wv[r][u] = c0 + 32 * u < chunks ? __ldg(wr + c0 + 32 * u)
                                          : make_uint4(0, 0, 0, 0);
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        int64_t c = c0 + 32 * u;
        float4 a = make_float4(0, 0, 0, 0), b = a;
        if (c < chunks) {
          a = __ldg(xv + 2 * c);
          b = __ldg(xv + 2 * c + 1);
        }
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r)
          acc[r] = dotHalf8(wv[r][u], a, b, acc[r]);
      }
    }
  } else {
    for (int64_t k = lane; k < cols; k += 32) {
      float xk = x[k];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r)
        if (row0 + r < rows)
          acc[r] = fmaf(xk, halfBits(w[(row0 + r) * cols + k]), acc[r]);
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    float sum = warpSum(acc[r]);
    if (lane == 0 && row0 + r < rows)
      y[row0 + r] = sum + (bias ? bias[row0 + r] : 0.0f);
  }
}

//===----------------------------------------------------------------------===//
// Tiled GEMM (prefill)
//===----------------------------------------------------------------------===//

constexpr int kTileT = int(kGemmTileTokens);
constexpr int kTileN = int(kGemmTileRows);
constexpr int kTileK = int(kGemmTileCols);
// Leading dimensions of the shared tiles: multiples of 8 halves (4 floats),
// as the tensor-core fragment loads and stores require.
constexpr int kLdX = kTileT + 8, kLdW = kTileN + 8, kLdOut = kTileN + 4;
static_assert(kGemmThreads == 256 && kTileT == 64 && kTileN == 64 &&
                  kTileK == 32,
              "the GEMM thread mapping below assumes these");

/// Dequantizes the packed rows [n0, n0 + 64) x columns [k0, k0 + 32) into
/// ws[k][n] (the fp16 codebook entries, exactly): thread (row = tid % 64,
/// byte = tid / 64) decodes 8 columns.
struct PackedTile {
  const uint8_t *planes;
  int64_t rows, rowBytes, planeStride;
  const uint16_t *lut;
  int bits;

  __device__ __forceinline__ void load(__half (*ws)[kLdW], int64_t n0,
                                       int64_t k0, int tid) const {
    int r = tid % kTileN, kb = tid / kTileN;
    int64_t row = n0 + r, byte = k0 / 8 + kb;
    if (row >= rows || byte >= rowBytes) {
#pragma unroll
      for (int c = 0; c < 8; ++c)
        ws[kb * 8 + c][r] = __ushort_as_half(0);
      return;
    }
    const uint8_t *p = planes + row * rowBytes + byte;
    // Byte c of lo (hi) holds the code of column c (4 + c): each plane's 4
    // bits are spread to the low bit of 4 bytes by one multiply (the shifted
    // copies do not overlap, so nothing carries).
    uint32_t lo = 0, hi = 0;
    for (int j = 0; j < bits; ++j) {
      uint32_t v = __ldg(p + j * planeStride);
      lo = (lo << 1) | (((v & 15u) * 0x00204081u) & 0x01010101u);
      hi = (hi << 1) | (((v >> 4) * 0x00204081u) & 0x01010101u);
    }
    const uint16_t *table = lut + row * (int64_t(1) << bits);
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      ws[kb * 8 + c][r] = __ushort_as_half(__ldg(table + byteOf(lo, c)));
      ws[kb * 8 + 4 + c][r] = __ushort_as_half(__ldg(table + byteOf(hi, c)));
    }
  }
};

/// Copies the fp16 rows [n0, n0 + 64) x columns [k0, k0 + 32) into ws[k][n]:
/// 8 elements per thread, consecutive threads along k.
struct HalfTile {
  const uint16_t *w;
  int64_t rows, cols;

  __device__ __forceinline__ void load(__half (*ws)[kLdW], int64_t n0,
                                       int64_t k0, int tid) const {
#pragma unroll
    for (int s = 0; s < kTileN * kTileK / kGemmThreads; ++s) {
      int e = tid + s * int(kGemmThreads);
      int r = e / kTileK, k = e % kTileK;
      int64_t row = n0 + r, col = k0 + k;
      ws[k][r] = __ushort_as_half(
          row < rows && col < cols ? __ldg(w + row * cols + col) : 0);
    }
  }
};

/// y = x W^T (+ bias) on the tensor cores. The weights are fp16 exactly (the
/// codebooks are fp16); x is split into fp16 hi + lo parts (x - hi rounded),
/// so that W hi + W lo, accumulated in fp32, keeps x to about 22 bits: the
/// result is as accurate as an fp32 GEMM for activations below fp16's range
/// (65504). Warp w computes tokens 16 (w % 4) .. +16 of the block's 64 and
/// rows 32 (w / 4) .. +32 of its 64.
template <typename Tile>
__device__ __forceinline__ void
gemm(const float *__restrict__ x, int64_t tokens, int64_t cols,
     const Tile &weights, int64_t rows, const float *__restrict__ bias,
     float *__restrict__ y) {
  using namespace nvcuda;
  __shared__ __align__(32) __half xHi[kTileK][kLdX];
  __shared__ __align__(32) __half xLo[kTileK][kLdX];
  __shared__ __align__(32) __half ws[kTileK][kLdW];
  __shared__ __align__(32) float out[kTileT][kLdOut];
  const int tid = threadIdx.x, warp = tid / 32;
  const int tm = warp % 4, tn = warp / 4;
  const int64_t n0 = int64_t(blockIdx.x) * kTileN;
  const int64_t t0 = int64_t(blockIdx.y) * kTileT;

  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2];
  wmma::fill_fragment(acc[0], 0.0f);
  wmma::fill_fragment(acc[1], 0.0f);
  for (int64_t k0 = 0; k0 < cols; k0 += kTileK) {
#pragma unroll
    for (int s = 0; s < kTileT * kTileK / kGemmThreads; ++s) {
      int e = tid + s * int(kGemmThreads);
      int t = e / kTileK, k = e % kTileK;
      int64_t tok = t0 + t, col = k0 + k;
      float v = tok < tokens && col < cols ? __ldg(x + tok * cols + col) : 0.0f;
      __half hi = __float2half_rn(v);
      xHi[k][t] = hi;
      xLo[k][t] = __float2half_rn(v - __half2float(hi));
    }
    weights.load(ws, n0, k0, tid);
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTileK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::col_major> hi,
          lo;
      wmma::load_matrix_sync(hi, &xHi[kk][16 * tm], kLdX);
      wmma::load_matrix_sync(lo, &xLo[kk][16 * tm], kLdX);
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> w;
        wmma::load_matrix_sync(w, &ws[kk][32 * tn + 16 * j], kLdW);
        wmma::mma_sync(acc[j], lo, w, acc[j]);
        wmma::mma_sync(acc[j], hi, w, acc[j]);
      }
    }
    __syncthreads();
  }

#pragma unroll
  for (int j = 0; j < 2; ++j)
    wmma::store_matrix_sync(&out[16 * tm][32 * tn + 16 * j], acc[j], kLdOut,
                            wmma::mem_row_major);
  __syncthreads();
  for (int e = tid; e < kTileT * kTileN; e += int(kGemmThreads)) {
    int t = e / kTileN, n = e % kTileN;
    int64_t tok = t0 + t, row = n0 + n;
    if (tok < tokens && row < rows)
      y[tok * rows + row] = out[t][n] + (bias ? bias[row] : 0.0f);
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// Entry points (the ABI of KernelABI.h)
//===----------------------------------------------------------------------===//

#define PMPD_QGEMV(B)                                                          \
  extern "C" __global__ void __launch_bounds__(kGemvThreads) pmpd_qgemv_b##B(  \
      const float *x, int64_t cols, const uint8_t *planes, int64_t rows,       \
      int32_t parentBits, const uint16_t *lut, const float *bias, float *y) {  \
    qgemv<B>(x, cols, planes, rows, lut, bias, y);                             \
  }
PMPD_QGEMV(2)
PMPD_QGEMV(3)
PMPD_QGEMV(4)
PMPD_QGEMV(5)
PMPD_QGEMV(6)
PMPD_QGEMV(7)
PMPD_QGEMV(8)
#undef PMPD_QGEMV

extern "C" __global__ void __launch_bounds__(kGemmThreads)
    pmpd_qgemm(const float *x, int64_t tokens, int64_t cols,
               const uint8_t *planes, int64_t rows, int32_t parentBits,
               const uint16_t *lut, int32_t bits, const float *bias, float *y) {
  const int64_t rowBytes = (cols + 7) / 8;
  PackedTile tile{planes, rows, rowBytes, rows * rowBytes, lut, bits};
  gemm(x, tokens, cols, tile, rows, bias, y);
}

extern "C" __global__ void __launch_bounds__(kGemmThreads)
    pmpd_linear_f16(const float *x, int64_t tokens, int64_t cols,
                    const uint16_t *w, int64_t rows, const float *bias,
                    float *y) {
  // The grid matches the path (linearF16Launch in KernelABI.h).
  if (tokens == 1) {
    gemvF16(x, cols, w, rows, bias, y);
    return;
  }
  gemm(x, tokens, cols, HalfTile{w, rows, cols}, rows, bias, y);
}
