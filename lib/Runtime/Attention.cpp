//===- Attention.cpp - CPU kernel for attention over the KV cache --------===//
//
// pmpd.attention on the CPU target: causal grouped-query attention of this
// call's queries over one layer of the f32 KV cache, read in place. Expanded
// into linalg, the same computation materializes every score of the
// `n x heads x positions` tensor (masked ones included), then runs the
// exponentials, the sums and the weighted sum of values as separate scalar
// loop nests on one thread; decode after a long prompt spends a large part of
// its step there (docs/cpu-speed.md). Here each (token, head) pair is one
// pass over its positions with an online softmax (a running maximum and sum,
// the accumulated values rescaled when the maximum grows): 16 positions'
// scores at a time, one vector per position reduced together, a vectorized
// exponential, nothing written but the output. Pairs are spread over the
// kernels' threads.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/Kernels.h"

#include "ThreadPool.h"
#include "X86Intrinsics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using namespace pmpd;

namespace {

/// One call's operands (see pmpd_attention_f32).
struct AttentionShape {
  const float *query, *keys, *values;
  int64_t tokens, heads, kvHeads, headDim, maxPositions, layer, start;
  float *out;

  /// Row of position `p` of KV head `g` in this layer of a cache.
  const float *row(const float *cache, int64_t p, int64_t g) const {
    return cache + ((layer * maxPositions + p) * kvHeads + g) * headDim;
  }
  const float *queryOf(int64_t i, int64_t h) const {
    return query + (i * heads + h) * headDim;
  }
  float *outOf(int64_t i, int64_t h) const {
    return out + (i * heads + h) * headDim;
  }
  int64_t kvHeadOf(int64_t h) const { return h / (heads / kvHeads); }
};

/// The reference: scores, softmax and weighted sum of one (token, head) pair
/// in three passes, as the linalg expansion computes them.
void attendScalar(const AttentionShape &s, int64_t i, int64_t h) {
  int64_t positions = s.start + i + 1, d = s.headDim, g = s.kvHeadOf(h);
  const float *q = s.queryOf(i, h);
  float scale = 1.0f / std::sqrt(float(d));
  std::vector<float> scores(positions);
  float maxScore = -std::numeric_limits<float>::infinity();
  for (int64_t p = 0; p < positions; ++p) {
    const float *k = s.row(s.keys, p, g);
    float dot = 0;
    for (int64_t c = 0; c < d; ++c)
      dot += q[c] * k[c];
    scores[p] = dot * scale;
    maxScore = std::max(maxScore, scores[p]);
  }
  float sum = 0;
  for (float &score : scores)
    sum += score = std::exp(score - maxScore);
  float *o = s.outOf(i, h);
  std::fill(o, o + d, 0.0f);
  for (int64_t p = 0; p < positions; ++p) {
    const float *v = s.row(s.values, p, g);
    for (int64_t c = 0; c < d; ++c)
      o[c] += scores[p] * v[c];
  }
  for (int64_t c = 0; c < d; ++c)
    o[c] /= sum;
}

#if PMPD_HAVE_X86
#define PMPD_AVX512 __attribute__((target("avx512f")))

/// Lane i of the result is the sum of the lanes of v[i]: a transpose-and-add
/// tree over 16 vectors, every row's lanes added in the same order.
PMPD_AVX512 inline __m512 sum16(const __m512 *v) {
  __m512 a[8], b[4], c[2];
  for (int i = 0; i < 8; ++i)
    a[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]),
                         _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  // Each 128-bit lane of a[i] holds rows 2i and 2i + 1, interleaved.
  for (int i = 0; i < 4; ++i)
    b[i] = _mm512_add_ps(
        _mm512_shuffle_ps(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
        _mm512_shuffle_ps(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  // Element j of each 128-bit lane of b[i] belongs to row 4i + j.
  for (int i = 0; i < 2; ++i)
    c[i] = _mm512_add_ps(
        _mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
        _mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_add_ps(
      _mm512_shuffle_f32x4(c[0], c[1], _MM_SHUFFLE(2, 0, 2, 0)),
      _mm512_shuffle_f32x4(c[0], c[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

/// e^x for x <= 0 (scores less their maximum) to about 2 ulp: x = n ln2 + r
/// with |r| <= ln2 / 2, a degree-7 Taylor polynomial for e^r, scaled by 2^n.
PMPD_AVX512 inline __m512 expNonPositive(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  __m512 n = _mm512_roundscale_ps(
      _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

/// Online softmax over the positions of G query heads h0 .. h0 + G - 1 of
/// token i that share a KV head (each key and value row is loaded once for
/// all G), DV vectors of 16 per head row, 16 positions per step.
template <int DV, int G>
PMPD_AVX512 void attendAVX512(const AttentionShape &s, int64_t i, int64_t h0) {
  constexpr int64_t kBlock = 16;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  int64_t positions = s.start + i + 1, g = s.kvHeadOf(h0);
  int64_t stride = s.kvHeads * DV * 16; // Between positions of a cache row.
  __m512 scale = _mm512_set1_ps(1.0f / std::sqrt(float(DV * 16)));
  __m512 q[G][DV], acc[G][DV];
  float runningMax[G], sum[G];
  for (int j = 0; j < G; ++j) {
    for (int v = 0; v < DV; ++v) {
      q[j][v] =
          _mm512_mul_ps(_mm512_loadu_ps(s.queryOf(i, h0 + j) + 16 * v), scale);
      acc[j][v] = _mm512_setzero_ps();
    }
    runningMax[j] = kNegInf;
    sum[j] = 0;
  }
  __m512 parts[G][kBlock];
  alignas(64) float weights[G][kBlock];
  const float *k0 = s.row(s.keys, 0, g), *v0 = s.row(s.values, 0, g);
  for (int64_t p0 = 0; p0 < positions; p0 += kBlock) {
    int count = int(std::min(kBlock, positions - p0));
    for (int r = 0; r < count; ++r) {
      const float *k = k0 + (p0 + r) * stride;
      __m512 kv[DV];
      for (int v = 0; v < DV; ++v)
        kv[v] = _mm512_loadu_ps(k + 16 * v);
      for (int j = 0; j < G; ++j) {
        __m512 dot = _mm512_mul_ps(q[j][0], kv[0]);
        for (int v = 1; v < DV; ++v)
          dot = _mm512_fmadd_ps(q[j][v], kv[v], dot);
        parts[j][r] = dot;
      }
    }
    __mmask16 valid = __mmask16((1u << count) - 1);
    for (int j = 0; j < G; ++j) {
      for (int r = count; r < kBlock; ++r)
        parts[j][r] = _mm512_setzero_ps();
      __m512 scores = sum16(parts[j]);
      float newMax =
          std::max(runningMax[j], _mm512_mask_reduce_max_ps(valid, scores));
      // The first block has nothing to rescale (acc and sum are 0).
      float rescale =
          runningMax[j] == kNegInf ? 0.0f : std::exp(runningMax[j] - newMax);
      __m512 e = _mm512_maskz_mov_ps(
          valid, expNonPositive(_mm512_sub_ps(scores, _mm512_set1_ps(newMax))));
      sum[j] = sum[j] * rescale + _mm512_reduce_add_ps(e);
      runningMax[j] = newMax;
      _mm512_store_ps(weights[j], e);
      for (int v = 0; v < DV; ++v)
        acc[j][v] = _mm512_mul_ps(acc[j][v], _mm512_set1_ps(rescale));
    }
    for (int r = 0; r < count; ++r) {
      const float *val = v0 + (p0 + r) * stride;
      __m512 vv[DV];
      for (int v = 0; v < DV; ++v)
        vv[v] = _mm512_loadu_ps(val + 16 * v);
      for (int j = 0; j < G; ++j) {
        __m512 w = _mm512_set1_ps(weights[j][r]);
        for (int v = 0; v < DV; ++v)
          acc[j][v] = _mm512_fmadd_ps(w, vv[v], acc[j][v]);
      }
    }
  }
  for (int j = 0; j < G; ++j) {
    __m512 inv = _mm512_set1_ps(1.0f / sum[j]);
    for (int v = 0; v < DV; ++v)
      _mm512_storeu_ps(s.outOf(i, h0 + j) + 16 * v,
                       _mm512_mul_ps(acc[j][v], inv));
  }
}

/// A kernel that computes `group` consecutive heads of one token.
struct Attender {
  void (*fn)(const AttentionShape &, int64_t, int64_t);
  int64_t group;
};

/// The AVX-512 kernel for this head size and grouping: as many heads of a
/// group as keep their queries and accumulators (2 * G * DV vectors) in the
/// 32 registers beside the key and value rows.
template <int DV> Attender avx512Group(int64_t group) {
  if constexpr (4 * DV <= 8)
    if (group % 4 == 0)
      return {attendAVX512<DV, 4>, 4};
  if constexpr (2 * DV <= 8)
    if (group % 2 == 0)
      return {attendAVX512<DV, 2>, 2};
  return {attendAVX512<DV, 1>, 1};
}

Attender avx512For(int64_t headDim, int64_t group) {
  switch (headDim) {
  case 32:
    return avx512Group<2>(group);
  case 64:
    return avx512Group<4>(group);
  case 96:
    return avx512Group<6>(group);
  case 128:
    return avx512Group<8>(group);
  }
  return {nullptr, 1};
}
#endif

} // namespace

extern "C" void pmpd_attention_f32(const float *query, int64_t tokens,
                                   int64_t heads, const float *keys,
                                   const float *values, int64_t layer,
                                   int64_t maxPositions, int64_t kvHeads,
                                   int64_t headDim, int64_t start, float *out) {
  if (tokens <= 0)
    return;
  AttentionShape s{query,   keys,         values, tokens, heads, kvHeads,
                   headDim, maxPositions, layer,  start,  out};
  Attender attend{attendScalar, 1};
#if PMPD_HAVE_X86
  if (selectedKernelISA() == KernelISA::AVX512) {
    Attender fast = avx512For(headDim, heads / kvHeads);
    if (fast.fn)
      attend = fast;
  }
#endif
  // A unit is one token's heads of one group; its cost grows with the
  // token's position, and chunks of a few units keep the threads' shares
  // even.
  int64_t groups = heads / attend.group;
  parallelFor(tokens * groups, 1, [&](int64_t begin, int64_t end) {
    for (int64_t unit = begin; unit < end; ++unit)
      attend.fn(s, unit / groups, unit % groups * attend.group);
  });
}
