//===- LayerOps.cu - CUDA kernels of the GPU target's layer ops -----------===//
//
// pmpd.rms_norm and pmpd.attention as kernels (the ABI is fixed by
// pmpd/Target/GPU/KernelABI.h). They compute what the ops' linalg expansion
// computes (pmpd-decompose-layer-ops, which the cpu target runs), in f32, with
// the reductions in a different order.
//
// - pmpd_rms_norm: one block per row; a block-wide sum of squares.
// - pmpd_attention_decode: one token's queries over the cache, split over the
//   visible positions (flash-decoding): block (head, split) keeps a running
//   max, sum and weighted value (online softmax) over its positions, each warp
//   taking kDecodePositions rows of K and V per step so that many loads are in
//   flight; the warps' states are merged in shared memory. With one split the
//   block writes the output; otherwise the partial states go to a scratch
//   buffer and pmpd_attention_combine merges the splits of each head.
// - pmpd_attention_prefill: a block takes kPrefillQueries queries of one head
//   and walks the visible positions in tiles of 32 rows of K and V staged in
//   shared memory; lane l scores key l of the tile for each of the warp's
//   queries, and lane l accumulates output dims l, l + 32, ...
//
//===----------------------------------------------------------------------===//

#include "DeviceMath.cuh"
#include "pmpd/Target/GPU/KernelABI.h"

#include <cstdint>
#include <cuda_fp16.h>

using namespace pmpd::gpu;

namespace {

constexpr int kWarps = int(kLayerOpThreads / 32);
/// Keys per tile of the prefill kernel: one per lane.
constexpr int kKeyTile = 32;
/// The largest head dim; the kernels' shared memory is sized for it.
constexpr int kMaxHeadDim = 128;
constexpr int kDecodeSharedFloats = kWarps * (kMaxHeadDim + 2);
constexpr int kPrefillSharedFloats = int(kPrefillQueries) * kMaxHeadDim +
                                     kKeyTile * (kMaxHeadDim + 1) +
                                     kKeyTile * kMaxHeadDim;

/// The running state of an online softmax over some positions: the max score
/// m, the sum l of exp(score - m), and the weighted values (C dims per lane).
template <int C> struct Online {
  float m = -INFINITY, l = 0.f;
  float acc[C] = {};

  /// Folds in scores s[0..P) with value rows v[0..P) (this lane's dims).
  template <int P>
  __device__ __forceinline__ void add(const float (&s)[P],
                                      const float (&v)[P][C]) {
    float mNew = m;
#pragma unroll
    for (int p = 0; p < P; ++p)
      mNew = fmaxf(mNew, s[p]);
    if (mNew == -INFINITY)
      return; // Nothing visible yet.
    float scale = expf(m - mNew);
    l *= scale;
#pragma unroll
    for (int c = 0; c < C; ++c)
      acc[c] *= scale;
#pragma unroll
    for (int p = 0; p < P; ++p) {
      float w = s[p] == -INFINITY ? 0.f : expf(s[p] - mNew);
      l += w;
#pragma unroll
      for (int c = 0; c < C; ++c)
        acc[c] = fmaf(w, v[p][c], acc[c]);
    }
    m = mNew;
  }
};

/// Loads C consecutive floats (16-, 8- or 4-byte aligned as C says).
template <int C>
__device__ __forceinline__ void loadRow(const float *p, float (&out)[C]) {
  if constexpr (C % 4 == 0) {
#pragma unroll
    for (int c = 0; c < C; c += 4) {
      float4 v = *reinterpret_cast<const float4 *>(p + c);
      out[c] = v.x, out[c + 1] = v.y, out[c + 2] = v.z, out[c + 3] = v.w;
    }
  } else if constexpr (C == 2) {
    float2 v = *reinterpret_cast<const float2 *>(p);
    out[0] = v.x, out[1] = v.y;
  } else {
#pragma unroll
    for (int c = 0; c < C; ++c)
      out[c] = p[c];
  }
}

/// Decode attention of query head `blockIdx.x` over the positions of split
/// `blockIdx.y`. Lane l holds dims [l * C, l * C + C) of the head.
template <int C>
__device__ void attentionDecode(const float *__restrict__ q,
                                const float *__restrict__ keys,
                                const float *__restrict__ values,
                                int64_t visible, int heads, int kvHeads,
                                float scale, float *__restrict__ partial,
                                float *__restrict__ out, float *shared) {
  constexpr int D = 32 * C, P = int(kDecodePositions);
  float *mergeM = shared, *mergeL = shared + kWarps;
  auto mergeAcc = reinterpret_cast<float(*)[D]>(shared + 2 * kWarps);
  int head = blockIdx.x, split = blockIdx.y, splits = gridDim.y;
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  int kvHead = head / (heads / kvHeads);
  int64_t rowStride = int64_t(kvHeads) * D;
  const float *k0 = keys + int64_t(kvHead) * D + lane * C;
  const float *v0 = values + int64_t(kvHead) * D + lane * C;

  float qv[C];
  loadRow<C>(q + int64_t(head) * D + lane * C, qv);
  int64_t perSplit = (visible + splits - 1) / splits;
  int64_t begin = split * perSplit;
  int64_t end = min(visible, begin + perSplit);

  Online<C> state;
  for (int64_t base = begin + int64_t(warp) * P; base < end;
       base += int64_t(kWarps) * P) {
    float k[P][C], v[P][C], s[P];
#pragma unroll
    for (int p = 0; p < P; ++p) {
      int64_t row = min(base + p, end - 1); // In bounds; masked below.
      loadRow<C>(k0 + row * rowStride, k[p]);
      loadRow<C>(v0 + row * rowStride, v[p]);
    }
#pragma unroll
    for (int p = 0; p < P; ++p) {
      float dot = 0.f;
#pragma unroll
      for (int c = 0; c < C; ++c)
        dot = fmaf(qv[c], k[p][c], dot);
      s[p] = base + p < end ? warpSum(dot) * scale : -INFINITY;
    }
    state.add<P>(s, v);
  }

  // Merge the warps' states.
  if (lane == 0) {
    mergeM[warp] = state.m;
    mergeL[warp] = state.l;
  }
#pragma unroll
  for (int c = 0; c < C; ++c)
    mergeAcc[warp][lane * C + c] = state.acc[c];
  __syncthreads();
  if (warp != 0)
    return;
  float m = -INFINITY;
  for (int w = 0; w < kWarps; ++w)
    m = fmaxf(m, mergeM[w]);
  float l = 0.f, acc[C] = {};
  for (int w = 0; w < kWarps; ++w) {
    if (mergeM[w] == -INFINITY)
      continue;
    float scaleW = expf(mergeM[w] - m);
    l = fmaf(mergeL[w], scaleW, l);
#pragma unroll
    for (int c = 0; c < C; ++c)
      acc[c] = fmaf(mergeAcc[w][lane * C + c], scaleW, acc[c]);
  }
  if (splits == 1) {
#pragma unroll
    for (int c = 0; c < C; ++c)
      out[int64_t(head) * D + lane * C + c] = acc[c] / l;
    return;
  }
  // Partial state of (head, split): [m, l, acc[0..D)].
  float *slot = partial + (int64_t(head) * splits + split) * (D + 2);
  if (lane == 0) {
    slot[0] = m;
    slot[1] = l;
  }
#pragma unroll
  for (int c = 0; c < C; ++c)
    slot[2 + lane * C + c] = acc[c];
}

/// Prefill attention: queries [q0, q0 + kPrefillQueries) of head
/// `blockIdx.y`, each warp kPrefillQueries / kWarps of them.
template <int C>
__device__ void attentionPrefill(const float *__restrict__ q, int64_t tokens,
                                 const float *__restrict__ keys,
                                 const float *__restrict__ values,
                                 int64_t start, int heads, int kvHeads,
                                 float scale, float *__restrict__ out,
                                 float *shared) {
  constexpr int D = 32 * C, Q = int(kPrefillQueries), QW = Q / kWarps,
                KT = kKeyTile;
  auto qTile = reinterpret_cast<float(*)[D]>(shared);
  // Padded: lane l reads row l.
  auto kTile = reinterpret_cast<float(*)[D + 1]>(shared + Q * D);
  auto vTile = reinterpret_cast<float(*)[D]>(shared + Q * D + kKeyTile * (D + 1));
  int head = blockIdx.y;
  int64_t q0 = int64_t(blockIdx.x) * Q;
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  int kvHead = head / (heads / kvHeads);
  int64_t rowStride = int64_t(kvHeads) * D;
  int64_t qStride = int64_t(heads) * D;

  for (int i = threadIdx.x; i < Q * D; i += kLayerOpThreads) {
    int64_t token = q0 + i / D;
    qTile[i / D][i % D] =
        token < tokens ? q[token * qStride + int64_t(head) * D + i % D] : 0.f;
  }
  // The last position any query of the block sees.
  int64_t lastToken = min(tokens, q0 + Q) - 1;
  int64_t visible = start + lastToken + 1;

  Online<C> state[QW];
  for (int64_t tile = 0; tile < visible; tile += KT) {
    __syncthreads(); // The previous tile (and the query tile) are done.
    for (int i = threadIdx.x; i < KT * D; i += kLayerOpThreads) {
      int64_t row = tile + i / D;
      int64_t at = min(row, visible - 1) * rowStride + int64_t(kvHead) * D +
                   i % D;
      kTile[i / D][i % D] = keys[at];
      vTile[i / D][i % D] = values[at];
    }
    __syncthreads();
#pragma unroll
    for (int j = 0; j < QW; ++j) {
      int qi = warp * QW + j;
      int64_t token = q0 + qi;
      if (token >= tokens)
        break;
      float dot = 0.f;
#pragma unroll 8
      for (int d = 0; d < D; ++d)
        dot = fmaf(qTile[qi][d], kTile[lane][d], dot);
      bool isVisible = tile + lane <= start + token;
      float s = isVisible ? dot * scale : -INFINITY;
      // Fold the tile's 32 scores into the state: lane l's own dims.
      float mTile = warpMax(s);
      Online<C> &st = state[j];
      float mNew = fmaxf(st.m, mTile);
      float rescale = expf(st.m - mNew);
      float w = isVisible ? expf(s - mNew) : 0.f;
      st.l = st.l * rescale + warpSum(w);
#pragma unroll
      for (int c = 0; c < C; ++c)
        st.acc[c] *= rescale;
      for (int key = 0; key < KT; ++key) {
        float wk = __shfl_sync(0xffffffffu, w, key);
#pragma unroll
        for (int c = 0; c < C; ++c)
          st.acc[c] = fmaf(wk, vTile[key][lane + 32 * c], st.acc[c]);
      }
      st.m = mNew;
    }
  }
#pragma unroll
  for (int j = 0; j < QW; ++j) {
    int64_t token = q0 + warp * QW + j;
    if (token >= tokens)
      break;
#pragma unroll
    for (int c = 0; c < C; ++c)
      out[token * qStride + int64_t(head) * D + lane + 32 * c] =
          state[j].acc[c] / state[j].l;
  }
}

} // namespace

extern "C" __global__ void __launch_bounds__(kLayerOpThreads)
    pmpd_rms_norm(const float *__restrict__ x, int64_t hidden,
                  const uint16_t *__restrict__ weight, float epsilon,
                  float *__restrict__ y) {
  __shared__ float partial[kWarps];
  const float *row = x + int64_t(blockIdx.x) * hidden;
  float sum = 0.f;
  for (int64_t c = threadIdx.x; c < hidden; c += kLayerOpThreads)
    sum = fmaf(row[c], row[c], sum);
  sum = warpSum(sum);
  if (threadIdx.x % 32 == 0)
    partial[threadIdx.x / 32] = sum;
  __syncthreads();
  float total = 0.f;
#pragma unroll
  for (int w = 0; w < kWarps; ++w)
    total += partial[w];
  float inverse = rsqrtf(total / float(hidden) + epsilon);
  float *out = y + int64_t(blockIdx.x) * hidden;
  for (int64_t c = threadIdx.x; c < hidden; c += kLayerOpThreads)
    out[c] = halfBits(weight[c]) * (row[c] * inverse);
}

#define PMPD_HEAD_DIM_DISPATCH(headDim, CALL)                                  \
  switch (headDim) {                                                           \
  case 32: {                                                                   \
    constexpr int C = 1;                                                       \
    CALL;                                                                      \
    break;                                                                     \
  }                                                                            \
  case 64: {                                                                   \
    constexpr int C = 2;                                                       \
    CALL;                                                                      \
    break;                                                                     \
  }                                                                            \
  case 128: {                                                                  \
    constexpr int C = 4;                                                       \
    CALL;                                                                      \
    break;                                                                     \
  }                                                                            \
  default:                                                                     \
    __trap();                                                                  \
  }

extern "C" __global__ void __launch_bounds__(kLayerOpThreads)
    pmpd_attention_decode(const float *q, const float *keys,
                          const float *values, int64_t visible, int32_t heads,
                          int32_t kvHeads, int32_t headDim, float scale,
                          float *partial, float *out) {
  __shared__ float shared[kDecodeSharedFloats];
  PMPD_HEAD_DIM_DISPATCH(headDim,
                         attentionDecode<C>(q, keys, values, visible, heads,
                                            kvHeads, scale, partial, out,
                                            shared))
}

extern "C" __global__ void __launch_bounds__(kLayerOpThreads)
    pmpd_attention_combine(const float *partial, int32_t splits,
                           int32_t headDim, float *out) {
  // Block `head`, thread d < headDim: out[head][d].
  int head = blockIdx.x;
  const float *slots = partial + int64_t(head) * splits * (headDim + 2);
  float m = -INFINITY;
  for (int s = 0; s < splits; ++s)
    m = fmaxf(m, slots[s * (headDim + 2)]);
  for (int d = threadIdx.x; d < headDim; d += kLayerOpThreads) {
    float l = 0.f, acc = 0.f;
    for (int s = 0; s < splits; ++s) {
      const float *slot = slots + s * (headDim + 2);
      if (slot[0] == -INFINITY)
        continue;
      float w = expf(slot[0] - m);
      l = fmaf(slot[1], w, l);
      acc = fmaf(slot[2 + d], w, acc);
    }
    out[int64_t(head) * headDim + d] = acc / l;
  }
}

extern "C" __global__ void __launch_bounds__(kLayerOpThreads)
    pmpd_attention_prefill(const float *q, int64_t tokens, const float *keys,
                           const float *values, int64_t start, int32_t heads,
                           int32_t kvHeads, int32_t headDim, float scale,
                           float *out) {
  __shared__ float shared[kPrefillSharedFloats];
  PMPD_HEAD_DIM_DISPATCH(headDim,
                         attentionPrefill<C>(q, tokens, keys, values, start,
                                             heads, kvHeads, scale, out,
                                             shared))
}
