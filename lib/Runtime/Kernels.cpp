//===- Kernels.cpp - CPU micro-kernels for quantized projections ----------===//
//
// Two shapes of work, two loop nests:
// - decode (a few tokens): the lookup is fused into the dot product: per 64
//   columns of a row, b masked byte adds turn the planes into codes, four
//   permutes look the 64 weights up and four FMAs per token use them; nothing
//   is written back;
// - prefill (many tokens): a tile of 16 rows is dequantized once into a
//   thread-local buffer, transposed, and multiplied by blocks of 12 tokens
//   held in 12 accumulators (an outer-product GEMM), so the lookup is
//   amortized over the tokens.
// An AVX-512 implementation is used where the CPU has it; the scalar one is
// the reference the tests hold it to and the fallback elsewhere.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/Kernels.h"
#include "pmpd/Support/Half.h"

#include "ThreadPool.h"
#include "X86Intrinsics.h"

#include <algorithm>
#include <cstring>
#include <vector>

using namespace pmpd;

namespace {

/// A packed weight read at `bits` of its planes.
struct PackedWeight {
  const uint8_t *planes;
  int64_t rows, cols, rowBytes;
  int parentBits;
  const uint16_t *lut;
  int bits;

  const uint8_t *plane(int j) const {
    return planes + int64_t(j) * rows * rowBytes;
  }
};

/// Rows of a prefill tile (one vector of outputs per token) and the unit of
/// the rows each thread takes.
constexpr int64_t kRowTile = 16;
/// Token counts up to this use the fused decode loop.
constexpr int64_t kFusedMaxTokens = 4;

//===----------------------------------------------------------------------===//
// Scalar reference
//===----------------------------------------------------------------------===//

inline unsigned codeAt(const PackedWeight &w, int64_t row, int64_t col) {
  unsigned code = 0;
  for (int j = 0; j < w.bits; ++j)
    code = (code << 1) |
           ((w.plane(j)[row * w.rowBytes + col / 8] >> (col % 8)) & 1);
  return code;
}

void qlinearScalarRows(const PackedWeight &w, const float *x, int64_t tokens,
                       const float *bias, float *y, int64_t rowBegin,
                       int64_t rowEnd) {
  std::vector<float> lut(size_t(1) << w.bits);
  std::vector<float> row(w.cols);
  for (int64_t n = rowBegin; n < rowEnd; ++n) {
    for (size_t i = 0; i < lut.size(); ++i)
      lut[i] = halfToFloat(w.lut[n * lut.size() + i]);
    for (int64_t k = 0; k < w.cols; ++k)
      row[k] = lut[codeAt(w, n, k)];
    for (int64_t t = 0; t < tokens; ++t) {
      const float *xt = x + t * w.cols;
      float acc = 0;
      for (int64_t k = 0; k < w.cols; ++k)
        acc += xt[k] * row[k];
      y[t * w.rows + n] = acc + (bias ? bias[n] : 0.0f);
    }
  }
}

void linearF16ScalarRows(const uint16_t *wt, int64_t rows, int64_t cols,
                         const float *x, int64_t tokens, const float *bias,
                         float *y, int64_t rowBegin, int64_t rowEnd) {
  std::vector<float> row(cols);
  for (int64_t n = rowBegin; n < rowEnd; ++n) {
    for (int64_t k = 0; k < cols; ++k)
      row[k] = halfToFloat(wt[n * cols + k]);
    for (int64_t t = 0; t < tokens; ++t) {
      const float *xt = x + t * cols;
      float acc = 0;
      for (int64_t k = 0; k < cols; ++k)
        acc += xt[k] * row[k];
      y[t * rows + n] = acc + (bias ? bias[n] : 0.0f);
    }
  }
}

//===----------------------------------------------------------------------===//
// AVX-512
//===----------------------------------------------------------------------===//

#if PMPD_HAVE_X86
#define PMPD_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,f16c")))

/// Codebook of one row held in registers (b <= 5) or in memory (b > 5).
template <int B> struct RowLUT {
  __m512 lo, hi;
  alignas(64) float table[1 << B];

  PMPD_AVX512 void load(const uint16_t *lut) {
    if constexpr (B <= 4) {
      lo = _mm512_cvtph_ps(
          _mm256_maskz_loadu_epi16(__mmask16((1u << (1 << B)) - 1), lut));
    } else if constexpr (B == 5) {
      lo = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)lut));
      hi = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(lut + 16)));
    } else {
      for (int i = 0; i < (1 << B); i += 16)
        _mm512_store_ps(table + i, _mm512_cvtph_ps(_mm256_loadu_si256(
                                       (const __m256i *)(lut + i))));
    }
  }

  /// The weights whose codes are the low bytes of the 16 dwords of `idx`
  /// (the bytes above are other columns' codes; the permutes ignore them).
  PMPD_AVX512 __m512 lookup(__m512i idx) const {
    if constexpr (B <= 4)
      return _mm512_permutexvar_ps(idx, lo);
    else if constexpr (B == 5)
      return _mm512_permutex2var_ps(lo, idx, hi);
    else
      return _mm512_i32gather_ps(_mm512_and_si512(idx, _mm512_set1_epi32(0xff)),
                                 table, 4);
  }
};

/// Columns are handled 64 at a time: one 64-bit word of each plane becomes
/// 64 byte codes with one masked add per plane. Dword i of the codes holds
/// columns 4i..4i+3, so the low bytes of the dwords shifted right by 8p are
/// the codes of columns 4i + p: four lookups give the 64 weights in "quarter"
/// order, lane i of quarter p being column 4i + p. Activations are put in the
/// same order once per call, so the dot products need no shuffles.
constexpr int64_t kChunk = 64;

inline int64_t chunksOf(int64_t cols) { return (cols + kChunk - 1) / kChunk; }

/// The byte codes of columns [64 * chunk, 64 * chunk + 64) of `row`; columns
/// past the end have code 0 (pad bits are 0).
template <int B>
PMPD_AVX512 inline __m512i chunkCodes(const PackedWeight &w, int64_t row,
                                      int64_t chunk) {
  const uint8_t *p = w.planes + row * w.rowBytes + 8 * chunk;
  int64_t planeBytes = w.rows * w.rowBytes;
  bool whole = 8 * chunk + 8 <= w.rowBytes;
  __m512i codes = _mm512_setzero_si512();
#pragma GCC unroll 8
  for (int j = 0; j < B; ++j, p += planeBytes) {
    uint64_t bits = 0; // Little-endian: column c is bit c % 64.
    if (whole)
      std::memcpy(&bits, p, 8);
    else
      for (int64_t i = 0; i < w.rowBytes - 8 * chunk; ++i)
        bits |= uint64_t(p[i]) << (8 * i);
    codes = _mm512_mask_add_epi8(codes, __mmask64(bits), codes,
                                 _mm512_set1_epi8(char(1 << (B - 1 - j))));
  }
  return codes;
}

/// Quarter `p` of a chunk's codes, for RowLUT::lookup.
PMPD_AVX512 inline __m512i quarter(__m512i codes, int p) {
  return _mm512_srlv_epi32(codes, _mm512_set1_epi32(8 * p));
}

/// x in quarter order: xq[(t * chunks + c) * 64 + 16 * p + i] is
/// x[t][64 * c + 4 * i + p], 0 past the last column.
void toQuarterOrder(const float *x, int64_t tokens, int64_t cols, float *xq) {
  int64_t chunks = chunksOf(cols);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t c = 0; c < chunks; ++c)
      for (int p = 0; p < 4; ++p)
        for (int i = 0; i < 16; ++i) {
          int64_t k = kChunk * c + 4 * i + p;
          xq[(t * chunks + c) * kChunk + 16 * p + i] =
              k < cols ? x[t * cols + k] : 0.0f;
        }
}

/// How many rows ahead the decode loop prefetches a row's planes.
constexpr int64_t kPrefetchRows = 8;

/// Decode: per row, the lookup fused into the dot products of T <= 4 tokens
/// whose activations are in quarter order. The four quarters are four
/// independent FMA chains, which hides the FMA latency.
template <int B, int T>
PMPD_AVX512 void qlinearFusedRows(const PackedWeight &w, const float *xq,
                                  const float *bias, float *y, int64_t rowBegin,
                                  int64_t rowEnd) {
  int64_t chunks = chunksOf(w.cols);
  RowLUT<B> lut;
  for (int64_t n = rowBegin; n < rowEnd; ++n) {
    // Each row's planes are B separate streams, too many and too short for
    // the hardware prefetcher: fetch the planes of a row further on now.
    if (n + kPrefetchRows < rowEnd)
      for (int j = 0; j < B; ++j)
        for (int64_t b = 0; b < w.rowBytes; b += 64)
          _mm_prefetch(reinterpret_cast<const char *>(w.plane(j)) +
                           (n + kPrefetchRows) * w.rowBytes + b,
                       _MM_HINT_T0);
    lut.load(w.lut + n * (int64_t(1) << B));
    __m512 acc[T][4];
    for (int t = 0; t < T; ++t)
      for (int p = 0; p < 4; ++p)
        acc[t][p] = _mm512_setzero_ps();
    for (int64_t c = 0; c < chunks; ++c) {
      __m512i codes = chunkCodes<B>(w, n, c);
      for (int p = 0; p < 4; ++p) {
        __m512 wv = lut.lookup(quarter(codes, p));
        for (int t = 0; t < T; ++t)
          acc[t][p] = _mm512_fmadd_ps(
              wv, _mm512_load_ps(xq + (t * chunks + c) * kChunk + 16 * p),
              acc[t][p]);
      }
    }
    for (int t = 0; t < T; ++t) {
      __m512 sum = _mm512_add_ps(_mm512_add_ps(acc[t][0], acc[t][1]),
                                 _mm512_add_ps(acc[t][2], acc[t][3]));
      y[t * w.rows + n] = _mm512_reduce_add_ps(sum) + (bias ? bias[n] : 0.0f);
    }
  }
}

template <int B>
PMPD_AVX512 void qlinearFusedRows(const PackedWeight &w, const float *xq,
                                  int64_t tokens, const float *bias, float *y,
                                  int64_t rowBegin, int64_t rowEnd) {
  static_assert(kFusedMaxTokens == 4, "one case per token count");
  switch (tokens) {
  case 1:
    return qlinearFusedRows<B, 1>(w, xq, bias, y, rowBegin, rowEnd);
  case 2:
    return qlinearFusedRows<B, 2>(w, xq, bias, y, rowBegin, rowEnd);
  case 3:
    return qlinearFusedRows<B, 3>(w, xq, bias, y, rowBegin, rowEnd);
  case 4:
    return qlinearFusedRows<B, 4>(w, xq, bias, y, rowBegin, rowEnd);
  }
}

/// Prefill works on tiles of 16 rows dequantized once into a thread-local
/// buffer transposed to tile[k][16]: one vector per column, so that a token's
/// 16 outputs are one accumulator and each FMA takes its activation as an
/// embedded broadcast. A block of kTokenBlock tokens keeps kTokenBlock
/// accumulators in registers over the whole dot product.
constexpr int kTokenBlock = 12;
static_assert(kRowTile == 16, "a tile's rows are one vector");

/// y[t][rows of the tile] for T tokens; `rowMask` keeps a partial tile's rows.
template <int T>
PMPD_AVX512 void tileBlock(const float *x, int64_t cols, const float *tile,
                           __m512 init, __mmask16 rowMask, float *y,
                           int64_t yStride) {
  __m512 acc[T];
  for (int t = 0; t < T; ++t)
    acc[t] = init;
  for (int64_t k = 0; k < cols; ++k) {
    __m512 wv = _mm512_load_ps(tile + kRowTile * k);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(x[t * cols + k]), wv, acc[t]);
  }
  for (int t = 0; t < T; ++t)
    _mm512_mask_storeu_ps(y + t * yStride, rowMask, acc[t]);
}

/// All tokens times one transposed tile of `count` rows starting at `n0`.
PMPD_AVX512 void multiplyTile(const float *x, int64_t tokens, int64_t cols,
                              const float *tile, int64_t n0, int64_t count,
                              int64_t rows, const float *bias, float *y) {
  __mmask16 rowMask = __mmask16((1u << count) - 1);
  __m512 init =
      bias ? _mm512_maskz_loadu_ps(rowMask, bias + n0) : _mm512_setzero_ps();
  int64_t t = 0;
  for (; t + kTokenBlock <= tokens; t += kTokenBlock)
    tileBlock<kTokenBlock>(x + t * cols, cols, tile, init, rowMask,
                           y + t * rows + n0, rows);
  const float *xt = x + t * cols;
  float *yt = y + t * rows + n0;
  switch (tokens - t) {
#define PMPD_CASE(T)                                                           \
  case T:                                                                      \
    return tileBlock<T>(xt, cols, tile, init, rowMask, yt, rows);
    PMPD_CASE(1)
    PMPD_CASE(2)
    PMPD_CASE(3)
    PMPD_CASE(4)
    PMPD_CASE(5)
    PMPD_CASE(6)
    PMPD_CASE(7)
    PMPD_CASE(8)
    PMPD_CASE(9)
    PMPD_CASE(10)
    PMPD_CASE(11)
#undef PMPD_CASE
  }
  static_assert(kTokenBlock == 12, "the cases cover every remainder");
}

/// A 64-byte aligned thread-local tile of kRowTile rows and `cols` columns
/// (rounded up to whole chunks), zeroed when `zero`.
PMPD_AVX512 float *tileBuffer(int64_t cols, bool zero) {
  thread_local std::vector<float> scratch;
  size_t size = size_t(chunksOf(cols) * kChunk * kRowTile);
  if (scratch.size() < size + 16)
    scratch.resize(size + 16);
  float *tile = reinterpret_cast<float *>(
      (reinterpret_cast<uintptr_t>(scratch.data()) + 63) & ~uintptr_t(63));
  if (zero)
    std::fill(tile, tile + size, 0.0f);
  return tile;
}

/// Prefill: dequantize kRowTile rows at a time, multiply by every token.
template <int B>
PMPD_AVX512 void qlinearTiledRows(const PackedWeight &w, const float *x,
                                  int64_t tokens, const float *bias, float *y,
                                  int64_t rowBegin, int64_t rowEnd) {
  int64_t chunks = chunksOf(w.cols);
  // Tile element of column 4i + p of a chunk, row 0: (4i + p) * 16.
  __m512i scatter =
      _mm512_mullo_epi32(_mm512_set_epi32(60, 56, 52, 48, 44, 40, 36, 32, 28,
                                          24, 20, 16, 12, 8, 4, 0),
                         _mm512_set1_epi32(kRowTile));
  RowLUT<B> lut;
  for (int64_t n0 = rowBegin; n0 < rowEnd; n0 += kRowTile) {
    int64_t count = std::min(kRowTile, rowEnd - n0);
    float *tile = tileBuffer(w.cols, count < kRowTile);
    for (int64_t r = 0; r < count; ++r) {
      lut.load(w.lut + (n0 + r) * (int64_t(1) << B));
      for (int64_t c = 0; c < chunks; ++c) {
        __m512i codes = chunkCodes<B>(w, n0 + r, c);
        for (int p = 0; p < 4; ++p)
          _mm512_i32scatter_ps(tile + (kChunk * c + p) * kRowTile + r, scatter,
                               lut.lookup(quarter(codes, p)), 4);
      }
    }
    multiplyTile(x, tokens, w.cols, tile, n0, count, w.rows, bias, y);
  }
}

PMPD_AVX512 inline __mmask16 tailMask(int64_t cols, int64_t word) {
  int64_t left = cols - 16 * word;
  return left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
}

/// The 16 fp16 weights of `row` in columns [16 * word, 16 * word + 16).
PMPD_AVX512 inline __m512 loadHalfWord(const uint16_t *wt, int64_t cols,
                                       int64_t row, int64_t word) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tailMask(cols, word),
                                                  wt + row * cols + 16 * word));
}

/// Decode with fp16 weights: T <= 4 tokens, kUnroll independent FMA chains
/// per token to hide the FMA latency.
template <int T>
PMPD_AVX512 void linearF16FusedRows(const uint16_t *wt, int64_t rows,
                                    int64_t cols, const float *x,
                                    const float *bias, float *y,
                                    int64_t rowBegin, int64_t rowEnd) {
  constexpr int kUnroll = 4;
  int64_t words = (cols + 15) / 16;
  for (int64_t n = rowBegin; n < rowEnd; ++n) {
    if (n + kPrefetchRows < rowEnd)
      for (int64_t b = 0; b < 2 * cols; b += 64)
        _mm_prefetch(
            reinterpret_cast<const char *>(wt + (n + kPrefetchRows) * cols) + b,
            _MM_HINT_T0);
    __m512 acc[T][kUnroll];
    for (int t = 0; t < T; ++t)
      for (int u = 0; u < kUnroll; ++u)
        acc[t][u] = _mm512_setzero_ps();
    for (int64_t word = 0; word < words; word += kUnroll)
#pragma GCC unroll 4
      for (int u = 0; u < kUnroll; ++u) {
        if (word + u >= words)
          break;
        __m512 wv = loadHalfWord(wt, cols, n, word + u);
        __mmask16 m = tailMask(cols, word + u);
        for (int t = 0; t < T; ++t)
          acc[t][u] = _mm512_fmadd_ps(
              wv, _mm512_maskz_loadu_ps(m, x + t * cols + 16 * (word + u)),
              acc[t][u]);
      }
    for (int t = 0; t < T; ++t) {
      __m512 sum = _mm512_add_ps(_mm512_add_ps(acc[t][0], acc[t][1]),
                                 _mm512_add_ps(acc[t][2], acc[t][3]));
      y[t * rows + n] = _mm512_reduce_add_ps(sum) + (bias ? bias[n] : 0.0f);
    }
  }
}

PMPD_AVX512 void linearF16AVX512Rows(const uint16_t *wt, int64_t rows,
                                     int64_t cols, const float *x,
                                     int64_t tokens, const float *bias,
                                     float *y, int64_t rowBegin,
                                     int64_t rowEnd) {
  switch (tokens) {
  case 1:
    return linearF16FusedRows<1>(wt, rows, cols, x, bias, y, rowBegin, rowEnd);
  case 2:
    return linearF16FusedRows<2>(wt, rows, cols, x, bias, y, rowBegin, rowEnd);
  case 3:
    return linearF16FusedRows<3>(wt, rows, cols, x, bias, y, rowBegin, rowEnd);
  case 4:
    return linearF16FusedRows<4>(wt, rows, cols, x, bias, y, rowBegin, rowEnd);
  }
  static_assert(kFusedMaxTokens == 4, "one case per token count");
  int64_t words = (cols + 15) / 16;
  __m512i scatter = _mm512_mullo_epi32(
      _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
      _mm512_set1_epi32(kRowTile));
  for (int64_t n0 = rowBegin; n0 < rowEnd; n0 += kRowTile) {
    int64_t count = std::min(kRowTile, rowEnd - n0);
    float *tile = tileBuffer(cols, count < kRowTile);
    for (int64_t r = 0; r < count; ++r)
      for (int64_t word = 0; word < words; ++word)
        _mm512_i32scatter_ps(tile + 16 * word * kRowTile + r, scatter,
                             loadHalfWord(wt, cols, n0 + r, word), 4);
    multiplyTile(x, tokens, cols, tile, n0, count, rows, bias, y);
  }
}

bool cpuHasAVX512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl");
}
#else
bool cpuHasAVX512() { return false; }
#endif

KernelISA &currentISA() {
  static KernelISA isa = cpuHasAVX512() ? KernelISA::AVX512 : KernelISA::Scalar;
  return isa;
}

/// `x` is in quarter order when `tokens <= kFusedMaxTokens` and the AVX-512
/// kernels run (see toQuarterOrder).
void qlinearRows(const PackedWeight &w, const float *x, int64_t tokens,
                 const float *bias, float *y, int64_t rowBegin,
                 int64_t rowEnd) {
#if PMPD_HAVE_X86
  if (currentISA() == KernelISA::AVX512) {
    bool fused = tokens <= kFusedMaxTokens;
    switch (w.bits) {
#define PMPD_CASE(B)                                                           \
  case B:                                                                      \
    return fused                                                               \
               ? qlinearFusedRows<B>(w, x, tokens, bias, y, rowBegin, rowEnd)  \
               : qlinearTiledRows<B>(w, x, tokens, bias, y, rowBegin, rowEnd);
      PMPD_CASE(2)
      PMPD_CASE(3)
      PMPD_CASE(4)
      PMPD_CASE(5)
      PMPD_CASE(6)
      PMPD_CASE(7)
      PMPD_CASE(8)
#undef PMPD_CASE
    }
  }
#endif
  qlinearScalarRows(w, x, tokens, bias, y, rowBegin, rowEnd);
}

/// Rows per parallel chunk: whole register tiles, enough chunks for all
/// threads.
int64_t rowGrain(int64_t rows) {
  return std::max<int64_t>(kRowTile,
                           (rows / (8 * numThreads()) + kRowTile - 1) /
                               kRowTile * kRowTile);
}

} // namespace

KernelISA pmpd::selectedKernelISA() { return currentISA(); }

bool pmpd::forceKernelISA(KernelISA isa) {
  if (isa == KernelISA::AVX512 && !cpuHasAVX512())
    return false;
  currentISA() = isa;
  return true;
}

extern "C" void pmpd_qlinear_f32(const float *x, int64_t tokens, int64_t cols,
                                 const uint8_t *planes, int64_t rows,
                                 int32_t parentBits, const uint16_t *lut,
                                 int32_t bits, const float *bias, float *y) {
  if (tokens <= 0)
    return;
  PackedWeight w{planes, rows, cols, (cols + 7) / 8, parentBits, lut, bits};
#if PMPD_HAVE_X86
  if (currentISA() == KernelISA::AVX512 && tokens <= kFusedMaxTokens) {
    // Every row's dot products read the activations in quarter order.
    thread_local std::vector<float> quartered;
    quartered.resize(size_t(tokens * chunksOf(cols) * kChunk) + 16);
    float *xq = reinterpret_cast<float *>(
        (reinterpret_cast<uintptr_t>(quartered.data()) + 63) & ~uintptr_t(63));
    toQuarterOrder(x, tokens, cols, xq);
    x = xq;
  }
#endif
  parallelFor(rows, rowGrain(rows), [&](int64_t begin, int64_t end) {
    qlinearRows(w, x, tokens, bias, y, begin, end);
  });
}

extern "C" void pmpd_linear_f16_f32(const float *x, int64_t tokens,
                                    int64_t cols, const uint16_t *w,
                                    int64_t rows, const float *bias, float *y) {
  if (tokens <= 0)
    return;
  parallelFor(rows, rowGrain(rows), [&](int64_t begin, int64_t end) {
#if PMPD_HAVE_X86
    if (currentISA() == KernelISA::AVX512)
      return linearF16AVX512Rows(w, rows, cols, x, tokens, bias, y, begin, end);
#endif
    linearF16ScalarRows(w, rows, cols, x, tokens, bias, y, begin, end);
  });
}

extern "C" int32_t pmpd_set_num_threads(int32_t threads) {
  setNumThreads(threads);
  return numThreads();
}

extern "C" void memrefCopy(int64_t elementSize, PMPDUnrankedMemRef *source,
                           PMPDUnrankedMemRef *destination) {
  // The descriptor: allocated and aligned pointers, then the offset, sizes
  // and strides as int64_t, offset and strides counted in elements.
  struct View {
    char *base;
    const int64_t *sizes, *strides;
  };
  auto view = [elementSize](PMPDUnrankedMemRef *m) {
    auto *pointers = static_cast<char **>(m->descriptor);
    auto *fields = reinterpret_cast<const int64_t *>(pointers + 2);
    return View{pointers[1] + fields[0] * elementSize, fields + 1,
                fields + 1 + m->rank};
  };
  int64_t rank = source->rank;
  View src = view(source), dst = view(destination);
  int64_t total = 1;
  for (int64_t i = 0; i < rank; ++i)
    total *= src.sizes[i];
  if (total == 0)
    return;
  // Copy the longest innermost run that is contiguous on both sides at once.
  int64_t run = 1, inner = rank;
  while (inner > 0 && src.strides[inner - 1] == run &&
         dst.strides[inner - 1] == run) {
    run *= src.sizes[inner - 1];
    --inner;
  }
  std::vector<int64_t> index(inner, 0);
  for (int64_t done = 0; done < total; done += run) {
    int64_t srcOffset = 0, dstOffset = 0;
    for (int64_t i = 0; i < inner; ++i) {
      srcOffset += index[i] * src.strides[i];
      dstOffset += index[i] * dst.strides[i];
    }
    std::memcpy(dst.base + dstOffset * elementSize,
                src.base + srcOffset * elementSize, run * elementSize);
    for (int64_t i = inner - 1; i >= 0; --i) {
      if (++index[i] < src.sizes[i])
        break;
      index[i] = 0;
    }
  }
}
