//===- Gemm.h - Cache-blocked fp32 matrix multiplication --------*- C++ -*-===//
//
// The reference forward pass spends nearly all its time in Y = X * W^T, and it
// must be fast enough on two cores to calibrate quantizers and measure
// perplexity. Rather than depend on a BLAS, the right-hand side is packed once
// into panels of 16 columns so that a small portable micro-kernel (broadcast
// X, multiply-add a 16-wide panel row) vectorizes without reassociating any
// sum: results do not depend on the vector width or the thread count.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_REFERENCE_GEMM_H
#define PMPD_REFERENCE_GEMM_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace pmpd {

/// A right-hand side B (logically [K, N]) stored as ceil(N/16) panels of
/// [K][16] floats, the last one zero-padded.
class PackedMatrix {
public:
  static constexpr int64_t kPanel = 16;

  PackedMatrix() = default;
  /// From a row-major weight W[N, K] (the Hugging Face layout: one row per
  /// output feature), so that B = W^T.
  static PackedMatrix fromRowsNK(const float *w, int64_t n, int64_t k) {
    return fromRowsNK(w, n, k, k);
  }
  /// As above, with rows of W `ldw` floats apart.
  static PackedMatrix fromRowsNK(const float *w, int64_t n, int64_t k,
                                 int64_t ldw);
  /// From a row-major B[K, N] whose rows are `ldb` floats apart.
  static PackedMatrix fromKN(const float *b, int64_t k, int64_t n, int64_t ldb);

  int64_t rows() const { return kDim; } // K
  int64_t cols() const { return nDim; } // N
  const float *panel(int64_t p) const {
    return data.data() + p * kDim * kPanel;
  }
  int64_t numPanels() const { return (nDim + kPanel - 1) / kPanel; }
  /// B back in the row-major W[N, K] layout.
  std::vector<float> unpackRowsNK() const;

private:
  int64_t kDim = 0, nDim = 0;
  std::vector<float> data;
};

/// Y[M, N] = X[M, K] * B[K, N] (+ bias[N] when given), X rows `ldx` apart, Y
/// rows `ldy` apart. With `parallel`, blocks of Y are spread over
/// llvm::parallelFor; without, it runs on the calling thread (for callers that
/// are already parallel).
void gemm(const float *x, int64_t ldx, const PackedMatrix &b, const float *bias,
          float *y, int64_t ldy, int64_t m, bool parallel = true);

/// As `gemm`, using only the first `k` rows and first `n` columns of B: Y[M,
/// n] = X[M, k] * B[:k, :n]. Causal attention uses it to skip the keys a
/// block of queries cannot see.
void gemmPartial(const float *x, int64_t ldx, const PackedMatrix &b, int64_t k,
                 int64_t n, const float *bias, float *y, int64_t ldy, int64_t m,
                 bool parallel = true);

} // namespace pmpd

#endif // PMPD_REFERENCE_GEMM_H
