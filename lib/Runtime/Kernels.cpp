//===- Kernels.cpp - CPU micro-kernels for quantized projections ----------===//
//
// Two shapes of work, two loop nests:
// - decode (a few tokens): the lookup is fused into the dot product, so each
//   weight costs b mask operations per 16 columns, one permute and one FMA
//   per token and nothing is written back;
// - prefill (many tokens): a tile of rows is dequantized once into a
//   thread-local buffer and multiplied by all tokens with a 4x4 register
//   block, so the lookup is amortized over the tokens.
// An AVX-512 implementation is used where the CPU has it; the scalar one is
// the reference the tests hold it to and the fallback elsewhere.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/Kernels.h"
#include "pmpd/Support/Half.h"

#include "ThreadPool.h"

#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
// GCC 12's AVX-512 intrinsic headers start some intrinsics from an
// intentionally undefined register (_mm512_undefined_*), which -O3 reports as
// uninitialized at every call site.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define PMPD_HAVE_X86 1
#else
#define PMPD_HAVE_X86 0
#endif

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

/// Rows per parallel work item; a multiple of the 4-row register block.
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

/// The 16-bit word of plane `j` holding columns [16 * word, 16 * word + 16).
PMPD_AVX512 inline __mmask16 planeWord(const PackedWeight &w, int j,
                                       int64_t row, int64_t word) {
  const uint8_t *p = w.plane(j) + row * w.rowBytes + 2 * word;
  uint16_t bits;
  if (2 * word + 2 <= w.rowBytes) {
    std::memcpy(&bits, p, 2); // Little-endian: column c is bit c % 16.
    return bits;
  }
  return p[0]; // The last, half-filled word of an odd-length row.
}

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

  PMPD_AVX512 __m512 lookup(__m512i idx) const {
    if constexpr (B <= 4)
      return _mm512_permutexvar_ps(idx, lo);
    else if constexpr (B == 5)
      return _mm512_permutex2var_ps(lo, idx, hi);
    else
      return _mm512_i32gather_ps(idx, table, 4);
  }
};

/// The 16 weights of `row` in columns [16 * word, 16 * word + 16).
template <int B>
PMPD_AVX512 inline __m512 decodeWord(const PackedWeight &w,
                                     const RowLUT<B> &lut, int64_t row,
                                     int64_t word) {
  __m512i idx = _mm512_setzero_si512();
  for (int j = 0; j < B; ++j)
    idx = _mm512_mask_or_epi32(idx, planeWord(w, j, row, word), idx,
                               _mm512_set1_epi32(1 << (B - 1 - j)));
  return lut.lookup(idx);
}

PMPD_AVX512 inline __mmask16 tailMask(int64_t cols, int64_t word) {
  int64_t left = cols - 16 * word;
  return left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
}

/// Decode: per row, the lookup fused into the dot products of <= 4 tokens.
/// Four words are in flight per iteration so that four independent FMA
/// chains hide the FMA latency.
template <int B>
PMPD_AVX512 void qlinearFusedRows(const PackedWeight &w, const float *x,
                                  int64_t tokens, const float *bias, float *y,
                                  int64_t rowBegin, int64_t rowEnd) {
  constexpr int kUnroll = 4;
  int64_t words = (w.cols + 15) / 16;
  int64_t fullWords = w.cols / 16 / kUnroll * kUnroll;
  RowLUT<B> lut;
  for (int64_t n = rowBegin; n < rowEnd; ++n) {
    lut.load(w.lut + n * (int64_t(1) << B));
    __m512 acc[kFusedMaxTokens][kUnroll];
    for (int64_t t = 0; t < tokens; ++t)
      for (int u = 0; u < kUnroll; ++u)
        acc[t][u] = _mm512_setzero_ps();
    int64_t word = 0;
    for (; word < fullWords; word += kUnroll) {
      __m512 wv[kUnroll];
      for (int u = 0; u < kUnroll; ++u)
        wv[u] = decodeWord<B>(w, lut, n, word + u);
      for (int64_t t = 0; t < tokens; ++t)
        for (int u = 0; u < kUnroll; ++u)
          acc[t][u] = _mm512_fmadd_ps(
              wv[u], _mm512_loadu_ps(x + t * w.cols + 16 * (word + u)),
              acc[t][u]);
    }
    for (; word < words; ++word) {
      __m512 wv = decodeWord<B>(w, lut, n, word);
      __mmask16 m = tailMask(w.cols, word);
      for (int64_t t = 0; t < tokens; ++t)
        acc[t][0] = _mm512_fmadd_ps(
            wv, _mm512_maskz_loadu_ps(m, x + t * w.cols + 16 * word),
            acc[t][0]);
    }
    for (int64_t t = 0; t < tokens; ++t) {
      __m512 sum = _mm512_add_ps(_mm512_add_ps(acc[t][0], acc[t][1]),
                                 _mm512_add_ps(acc[t][2], acc[t][3]));
      y[t * w.rows + n] = _mm512_reduce_add_ps(sum) + (bias ? bias[n] : 0.0f);
    }
  }
}

/// y[t][n] for a TB x RB block of tokens and rows of a dequantized tile.
template <int TB, int RB>
PMPD_AVX512 inline void dotBlock(const float *x, int64_t xStride,
                                 const float *tile, int64_t tileStride,
                                 int64_t cols, float out[TB][RB]) {
  __m512 acc[TB][RB];
  for (int t = 0; t < TB; ++t)
    for (int r = 0; r < RB; ++r)
      acc[t][r] = _mm512_setzero_ps();
  for (int64_t k = 0; k < cols; k += 16) {
    __mmask16 m = cols - k >= 16 ? __mmask16(0xffff)
                                 : __mmask16((1u << (cols - k)) - 1);
    __m512 wv[RB];
    for (int r = 0; r < RB; ++r)
      wv[r] = _mm512_load_ps(tile + r * tileStride + k);
    for (int t = 0; t < TB; ++t) {
      __m512 xv = _mm512_maskz_loadu_ps(m, x + t * xStride + k);
      for (int r = 0; r < RB; ++r)
        acc[t][r] = _mm512_fmadd_ps(xv, wv[r], acc[t][r]);
    }
  }
  for (int t = 0; t < TB; ++t)
    for (int r = 0; r < RB; ++r)
      out[t][r] = _mm512_reduce_add_ps(acc[t][r]);
}

/// All tokens times a tile of `rowCount` dequantized rows.
PMPD_AVX512 void multiplyTile(const float *x, int64_t tokens, int64_t cols,
                              const float *tile, int64_t tileStride,
                              int64_t rowBegin, int64_t rowCount,
                              int64_t rows, const float *bias, float *y) {
  auto store = [&](auto &out, int64_t t0, int64_t r0, int tb, int rb) {
    for (int t = 0; t < tb; ++t)
      for (int r = 0; r < rb; ++r) {
        int64_t n = rowBegin + r0 + r;
        y[(t0 + t) * rows + n] = out[t][r] + (bias ? bias[n] : 0.0f);
      }
  };
  for (int64_t r0 = 0; r0 < rowCount; r0 += 4) {
    const float *tileRows = tile + r0 * tileStride;
    int64_t t0 = 0;
    if (rowCount - r0 >= 4) {
      for (; t0 + 4 <= tokens; t0 += 4) {
        float out[4][4];
        dotBlock<4, 4>(x + t0 * cols, cols, tileRows, tileStride, cols, out);
        store(out, t0, r0, 4, 4);
      }
      for (; t0 < tokens; ++t0) {
        float out[1][4];
        dotBlock<1, 4>(x + t0 * cols, cols, tileRows, tileStride, cols, out);
        store(out, t0, r0, 1, 4);
      }
    } else {
      for (int64_t r = r0; r < rowCount; ++r)
        for (t0 = 0; t0 < tokens; ++t0) {
          float out[1][1];
          dotBlock<1, 1>(x + t0 * cols, cols, tile + r * tileStride,
                         tileStride, cols, out);
          store(out, t0, r, 1, 1);
        }
    }
  }
}

/// Prefill: dequantize kRowTile rows at a time, multiply by every token.
template <int B>
PMPD_AVX512 void qlinearTiledRows(const PackedWeight &w, const float *x,
                                  int64_t tokens, const float *bias, float *y,
                                  int64_t rowBegin, int64_t rowEnd) {
  int64_t words = (w.cols + 15) / 16, stride = words * 16;
  thread_local std::vector<float, std::allocator<float>> scratch;
  scratch.resize(kRowTile * stride + 16);
  float *tile = reinterpret_cast<float *>(
      (reinterpret_cast<uintptr_t>(scratch.data()) + 63) & ~uintptr_t(63));
  RowLUT<B> lut;
  for (int64_t n0 = rowBegin; n0 < rowEnd; n0 += kRowTile) {
    int64_t count = std::min(kRowTile, rowEnd - n0);
    for (int64_t r = 0; r < count; ++r) {
      lut.load(w.lut + (n0 + r) * (int64_t(1) << B));
      for (int64_t word = 0; word < words; ++word)
        _mm512_store_ps(tile + r * stride + 16 * word,
                        _mm512_maskz_mov_ps(tailMask(w.cols, word),
                                            decodeWord<B>(w, lut, n0 + r,
                                                          word)));
    }
    multiplyTile(x, tokens, w.cols, tile, stride, n0, count, w.rows, bias, y);
  }
}

template <int B>
PMPD_AVX512 void qlinearAVX512Rows(const PackedWeight &w, const float *x,
                                   int64_t tokens, const float *bias,
                                   float *y, int64_t rowBegin,
                                   int64_t rowEnd) {
  if (tokens <= kFusedMaxTokens)
    qlinearFusedRows<B>(w, x, tokens, bias, y, rowBegin, rowEnd);
  else
    qlinearTiledRows<B>(w, x, tokens, bias, y, rowBegin, rowEnd);
}

/// The 16 fp16 weights of `row` in columns [16 * word, 16 * word + 16).
PMPD_AVX512 inline __m512 loadHalfWord(const uint16_t *wt, int64_t cols,
                                       int64_t row, int64_t word) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tailMask(cols, word),
                                                  wt + row * cols + 16 * word));
}

PMPD_AVX512 void linearF16AVX512Rows(const uint16_t *wt, int64_t rows,
                                     int64_t cols, const float *x,
                                     int64_t tokens, const float *bias,
                                     float *y, int64_t rowBegin,
                                     int64_t rowEnd) {
  int64_t words = (cols + 15) / 16;
  if (tokens <= kFusedMaxTokens) {
    for (int64_t n = rowBegin; n < rowEnd; ++n) {
      __m512 acc[kFusedMaxTokens];
      for (int64_t t = 0; t < tokens; ++t)
        acc[t] = _mm512_setzero_ps();
      for (int64_t word = 0; word < words; ++word) {
        __m512 wv = loadHalfWord(wt, cols, n, word);
        __mmask16 m = tailMask(cols, word);
        for (int64_t t = 0; t < tokens; ++t)
          acc[t] = _mm512_fmadd_ps(
              wv, _mm512_maskz_loadu_ps(m, x + t * cols + 16 * word), acc[t]);
      }
      for (int64_t t = 0; t < tokens; ++t)
        y[t * rows + n] =
            _mm512_reduce_add_ps(acc[t]) + (bias ? bias[n] : 0.0f);
    }
    return;
  }
  int64_t stride = words * 16;
  thread_local std::vector<float> scratch;
  scratch.resize(kRowTile * stride + 16);
  float *tile = reinterpret_cast<float *>(
      (reinterpret_cast<uintptr_t>(scratch.data()) + 63) & ~uintptr_t(63));
  for (int64_t n0 = rowBegin; n0 < rowEnd; n0 += kRowTile) {
    int64_t count = std::min(kRowTile, rowEnd - n0);
    for (int64_t r = 0; r < count; ++r)
      for (int64_t word = 0; word < words; ++word)
        _mm512_store_ps(tile + r * stride + 16 * word, loadHalfWord(wt, cols, n0 + r, word));
    multiplyTile(x, tokens, cols, tile, stride, n0, count, rows, bias, y);
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
  static KernelISA isa =
      cpuHasAVX512() ? KernelISA::AVX512 : KernelISA::Scalar;
  return isa;
}

void qlinearRows(const PackedWeight &w, const float *x, int64_t tokens,
                 const float *bias, float *y, int64_t rowBegin,
                 int64_t rowEnd) {
#if PMPD_HAVE_X86
  if (currentISA() == KernelISA::AVX512) {
    switch (w.bits) {
#define PMPD_CASE(B)                                                           \
  case B:                                                                      \
    return qlinearAVX512Rows<B>(w, x, tokens, bias, y, rowBegin, rowEnd);
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
  return std::max<int64_t>(
      kRowTile, (rows / (8 * numThreads()) + kRowTile - 1) / kRowTile *
                    kRowTile);
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
  PackedWeight w{planes, rows, cols, (cols + 7) / 8, parentBits, lut, bits};
  parallelFor(rows, rowGrain(rows), [&](int64_t begin, int64_t end) {
    qlinearRows(w, x, tokens, bias, y, begin, end);
  });
}

extern "C" void pmpd_linear_f16_f32(const float *x, int64_t tokens,
                                    int64_t cols, const uint16_t *w,
                                    int64_t rows, const float *bias,
                                    float *y) {
  parallelFor(rows, rowGrain(rows), [&](int64_t begin, int64_t end) {
#if PMPD_HAVE_X86
    if (currentISA() == KernelISA::AVX512)
      return linearF16AVX512Rows(w, rows, cols, x, tokens, bias, y, begin,
                                 end);
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
