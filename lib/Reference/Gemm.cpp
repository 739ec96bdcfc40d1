//===- Gemm.cpp - Cache-blocked fp32 matrix multiplication ----------------===//
//
// A register-blocked micro-kernel (kRows rows of X times one 16-column panel,
// accumulators held in registers) inside K and row blocking that keeps a
// panel chunk in L1 and an X block in L2. The 16-wide panel dimension is
// written with portable vector types; each output element is one sequential
// sum over K, so the result does not depend on the vector width or on how the
// work is split between threads.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Reference/Gemm.h"

#include "llvm/Support/Parallel.h"

#include <algorithm>
#include <cassert>
#include <cstring>

using namespace llvm;

namespace pmpd {

static constexpr int64_t kPanel = PackedMatrix::kPanel;
// Rows of X per micro-kernel call: 6 x 16 accumulators are 12 AVX2 registers.
static constexpr int64_t kRows = 6;
// K-chunk: one panel chunk (kDepth x 16 floats, 16 KB) stays in L1.
static constexpr int64_t kDepth = 256;
// Rows of X per parallel task (a multiple of kRows).
static constexpr int64_t kRowBlock = 16 * kRows;
// Panels per parallel task.
static constexpr int64_t kPanelBlock = 8;

PackedMatrix PackedMatrix::fromRowsNK(const float *w, int64_t n, int64_t k,
                                      int64_t ldw) {
  PackedMatrix m;
  m.kDim = k;
  m.nDim = n;
  m.data.assign(m.numPanels() * k * kPanel, 0.0f);
  if (m.data.empty()) // No pointer arithmetic on an empty matrix.
    return m;
  for (int64_t row = 0; row < n; ++row) {
    float *dst = m.data.data() + (row / kPanel) * k * kPanel + row % kPanel;
    const float *src = w + row * ldw;
    for (int64_t i = 0; i < k; ++i)
      dst[i * kPanel] = src[i];
  }
  return m;
}

PackedMatrix PackedMatrix::fromKN(const float *b, int64_t k, int64_t n,
                                  int64_t ldb) {
  PackedMatrix m;
  m.kDim = k;
  m.nDim = n;
  m.data.assign(m.numPanels() * k * kPanel, 0.0f);
  if (m.data.empty())
    return m;
  for (int64_t p = 0; p < m.numPanels(); ++p) {
    int64_t cols = std::min(kPanel, n - p * kPanel);
    float *dst = m.data.data() + p * k * kPanel;
    for (int64_t i = 0; i < k; ++i)
      std::copy_n(b + i * ldb + p * kPanel, cols, dst + i * kPanel);
  }
  return m;
}

std::vector<float> PackedMatrix::unpackRowsNK() const {
  std::vector<float> w(nDim * kDim);
  if (w.empty())
    return w;
  for (int64_t row = 0; row < nDim; ++row) {
    const float *src = panel(row / kPanel) + row % kPanel;
    for (int64_t i = 0; i < kDim; ++i)
      w[row * kDim + i] = src[i * kPanel];
  }
  return w;
}

// Eight floats, one AVX2 register. GCC and Clang vector extensions rather
// than intrinsics: GCC does not keep a plain-array accumulator tile in
// registers, and these lower to whatever vectors (or scalars) the target has.
typedef float Vec8 __attribute__((vector_size(32)));

static inline Vec8 loadVec(const float *p) {
  Vec8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

static inline void storeVec(float *p, Vec8 v) { std::memcpy(p, &v, sizeof(v)); }

/// Y[Rows, 16] = init + X[Rows, kc] * panel[kc, 16], where init is Y itself
/// (`load`), a bias row, or zero. Always the full 16 columns, so that the
/// accumulators stay in registers. Each element is one sequential sum over
/// k, whatever the vector width.
template <int64_t Rows>
static void microKernel(const float *x, int64_t ldx, const float *panel,
                        int64_t kc, float *y, int64_t ldy, bool load,
                        const float *bias) {
  static_assert(kPanel == 16, "the kernel holds a panel row in two Vec8");
  Vec8 acc[Rows][2];
  for (int64_t r = 0; r < Rows; ++r)
    for (int64_t h = 0; h < 2; ++h)
      acc[r][h] = load   ? loadVec(y + r * ldy + 8 * h)
                  : bias ? loadVec(bias + 8 * h)
                         : Vec8{};
  for (int64_t i = 0; i < kc; ++i) {
    Vec8 w0 = loadVec(panel + i * kPanel), w1 = loadVec(panel + i * kPanel + 8);
    for (int64_t r = 0; r < Rows; ++r) {
      float xv = x[r * ldx + i];
      acc[r][0] += xv * w0;
      acc[r][1] += xv * w1;
    }
  }
  for (int64_t r = 0; r < Rows; ++r)
    for (int64_t h = 0; h < 2; ++h)
      storeVec(y + r * ldy + 8 * h, acc[r][h]);
}

using KernelFn = void (*)(const float *, int64_t, const float *, int64_t,
                          float *, int64_t, bool, const float *);
static constexpr KernelFn kKernels[kRows + 1] = {
    nullptr,        microKernel<1>, microKernel<2>, microKernel<3>,
    microKernel<4>, microKernel<5>, microKernel<6>};

/// One block of Y: rows [mBegin, mEnd), panels [pBegin, pEnd), columns below
/// `n`, summing over the first `k` rows of B.
static void gemmBlock(const float *x, int64_t ldx, const PackedMatrix &b,
                      int64_t k, int64_t n, const float *bias, float *y,
                      int64_t ldy, int64_t mBegin, int64_t mEnd, int64_t pBegin,
                      int64_t pEnd) {
  // A partial last panel goes through `tile`, so that the kernel never
  // writes past column n; its bias is zero-padded likewise.
  float tile[kRows * kPanel];
  float tailBias[kPanel] = {};
  for (int64_t k0 = 0; k0 < std::max<int64_t>(k, 1); k0 += kDepth) {
    int64_t kc = std::min(kDepth, k - k0);
    bool load = k0 > 0;
    for (int64_t p = pBegin; p < pEnd; ++p) {
      int64_t col = p * kPanel;
      int64_t cols = std::min(kPanel, n - col);
      const float *panel = b.panel(p) + k0 * kPanel;
      const float *panelBias = bias ? bias + col : nullptr;
      if (bias && cols < kPanel) {
        std::copy_n(bias + col, cols, tailBias);
        panelBias = tailBias;
      }
      for (int64_t r = mBegin; r < mEnd; r += kRows) {
        int64_t rows = std::min(kRows, mEnd - r);
        float *out = y + r * ldy + col;
        if (cols == kPanel) {
          kKernels[rows](x + r * ldx + k0, ldx, panel, kc, out, ldy, load,
                         panelBias);
          continue;
        }
        if (load)
          for (int64_t i = 0; i < rows; ++i)
            std::copy_n(out + i * ldy, cols, tile + i * kPanel);
        kKernels[rows](x + r * ldx + k0, ldx, panel, kc, tile, kPanel, load,
                       panelBias);
        for (int64_t i = 0; i < rows; ++i)
          std::copy_n(tile + i * kPanel, cols, out + i * ldy);
      }
    }
  }
}

void gemm(const float *x, int64_t ldx, const PackedMatrix &b, const float *bias,
          float *y, int64_t ldy, int64_t m, bool parallel) {
  gemmPartial(x, ldx, b, b.rows(), b.cols(), bias, y, ldy, m, parallel);
}

void gemmPartial(const float *x, int64_t ldx, const PackedMatrix &b, int64_t k,
                 int64_t n, const float *bias, float *y, int64_t ldy, int64_t m,
                 bool parallel) {
  assert(k >= 0 && k <= b.rows() && n >= 0 && n <= b.cols() &&
         "sub-matrix out of range");
  int64_t panels = (n + kPanel - 1) / kPanel;
  if (m == 0 || panels == 0)
    return;
  int64_t rowBlocks = (m + kRowBlock - 1) / kRowBlock;
  int64_t panelBlocks = (panels + kPanelBlock - 1) / kPanelBlock;
  auto task = [&](size_t i) {
    int64_t rb = int64_t(i) / panelBlocks, pb = int64_t(i) % panelBlocks;
    gemmBlock(x, ldx, b, k, n, bias, y, ldy, rb * kRowBlock,
              std::min(m, (rb + 1) * kRowBlock), pb * kPanelBlock,
              std::min(panels, (pb + 1) * kPanelBlock));
  };
  size_t tasks = rowBlocks * panelBlocks;
  if (parallel && tasks > 1) {
    parallelFor(0, tasks, task);
    return;
  }
  for (size_t i = 0; i < tasks; ++i)
    task(i);
}

} // namespace pmpd
