//===- Kernels.h - CPU micro-kernels (projections, attention) ---*- C++ -*-===//
//
// The hot loops that code generation alone does not make fast, chosen by the
// compiler: y = x * W^T (+ bias) where W is an any-precision packed weight read
// at `bits` of its `parentBits` planes, or an fp16 matrix. Compiled code calls
// them through the C ABI below; they never dequantize a whole matrix per call
// (decode fuses the lookup into the dot product; prefill dequantizes one
// cache-sized tile at a time).
//
// Packed layout (written by pmpd-quantize, see pmpd/Quant/AnyPrecision.h):
//   planes: uint8 [parentBits][rows][rowBytes], rowBytes = ceil(cols / 8);
//           plane j holds bit (parentBits - 1 - j) of each code, so a b-bit
//           read touches planes 0..b-1 only; column c is bit c % 8 of byte
//           c / 8; pad bits are 0.
//   lut:    fp16 [rows][2^bits], the b-bit codebook of each row.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_RUNTIME_KERNELS_H
#define PMPD_RUNTIME_KERNELS_H

#include <cstdint>

extern "C" {

/// y[t][n] = bias[n] + sum_k x[t][k] * lut[n][code_bits(n, k)] for t < tokens,
/// n < rows. `bias` may be null. x rows are `cols` floats apart, y rows `rows`.
void pmpd_qlinear_f32(const float *x, int64_t tokens, int64_t cols,
                      const uint8_t *planes, int64_t rows, int32_t parentBits,
                      const uint16_t *lut, int32_t bits, const float *bias,
                      float *y);

/// y[t][n] = bias[n] + sum_k x[t][k] * w[n][k] with w fp16 [rows][cols].
void pmpd_linear_f16_f32(const float *x, int64_t tokens, int64_t cols,
                         const uint16_t *w, int64_t rows, const float *bias,
                         float *y);

/// Causal grouped-query attention over one layer of the KV cache (the
/// semantics of pmpd.attention): `query` is [tokens][heads][headDim], the
/// caches `keys` and `values` are whole, [layers][maxPositions][kvHeads]
/// [headDim], with this call's rows already at positions start .. start +
/// tokens - 1 of `layer`. Token i attends to positions p <= start + i, head h
/// to KV head h / (heads / kvHeads), with softmax over q . k / sqrt(headDim).
/// out is [tokens][heads * headDim].
void pmpd_attention_f32(const float *query, int64_t tokens, int64_t heads,
                        const float *keys, const float *values, int64_t layer,
                        int64_t maxPositions, int64_t kvHeads, int64_t headDim,
                        int64_t start, float *out);

/// Sets the threads the kernels use (0: one per core) and returns the count
/// in effect. Artifacts export it: the runtime sets the count in the copy of
/// the kernels that runs, the one linked into the artifact's library.
int32_t pmpd_set_num_threads(int32_t threads);

/// An unranked memref as MLIR's LLVM lowering passes it.
struct PMPDUnrankedMemRef {
  int64_t rank;
  void *descriptor; // {allocated, aligned, offset, sizes[rank], strides[rank]}
};

/// The strided copy MLIR's lowering of memref.copy calls when a side is not
/// contiguous (e.g. writing new keys into a slice of the KV cache). The name
/// and signature are MLIR's; artifacts get it from here rather than from
/// MLIR's runner-utils library.
void memrefCopy(int64_t elementSize, PMPDUnrankedMemRef *source,
                PMPDUnrankedMemRef *destination);
}

namespace pmpd {
/// Which implementation the kernels dispatch to on this machine.
enum class KernelISA { Scalar, AVX512 };
KernelISA selectedKernelISA();
/// Forces an implementation (tests compare them); returns false if this
/// machine cannot run it.
bool forceKernelISA(KernelISA isa);
} // namespace pmpd

#endif // PMPD_RUNTIME_KERNELS_H
