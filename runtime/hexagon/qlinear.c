/*===- qlinear.c - HVX kernels of the quantized projections ---------------===*
 *
 * The Hexagon target's projections, with the C ABI of the CPU micro-kernels
 * (include/pmpd/Runtime/Kernels.h), so that one lowering serves both. HVX v67
 * has no floating point, so the kernels are integer:
 *
 * - activations: each token quantized to int16 with its own scale
 *   (max |x| -> 32767), once per call, into the order the weights are decoded
 *   in;
 * - weights: a row's b-bit codebook (fp16, 2^b entries) quantized to int16
 *   with a per-row scale; the row's codes are assembled from its bit-planes
 *   with shifts and masks (128 bytes of a plane = 1024 columns, one bit
 *   position at a time) and turned into int16 weights by `vlut16`, the HVX
 *   table lookup, 128 weights per instruction (per 16 entries of the
 *   codebook: 5 to 8 bits take 2 to 16 lookups);
 * - products: int16 x int16 multiply-accumulate into int32 lanes. The
 *   codebook's integer range is chosen per matrix so that no lane can
 *   overflow whatever the data: each of the 32 lanes sums at most
 *   32 * blocks products of |x| <= 32767 and |w| <= W.
 * - each row's 32 lanes are summed in 64 bits and scaled back to fp32 on the
 *   scalar unit, with the bias.
 *
 * A row is decoded once into a staging buffer and multiplied by the tokens
 * four at a time, so prefill amortizes the lookup over the prompt.
 *
 *===----------------------------------------------------------------------===*/

#include "sys.h"

#include <hexagon_types.h>
#include <hvx_hexagon_protos.h>

void *malloc(size_t n);
void free(void *p);
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int value, size_t n);

enum {
  kVectorBytes = 128,
  /* Columns per block: 128 bytes of each plane, 8 columns a byte. */
  kBlockColumns = 8 * kVectorBytes,
  /* Halfwords of one bit position of a block: the even and odd byte lanes
   * of vlut16's result. */
  kSlice = 128,
  kLanes = 32,
  kTokenTile = 4,
};

static float halfToFloat(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  union {
    uint32_t bits;
    float value;
  } u;
  if (exponent == 0) {
    float value = (float)mantissa * (1.0f / 16777216.0f);
    return sign ? -value : value;
  }
  if (exponent == 31)
    u.bits = sign | 0x7f800000u | (mantissa << 13);
  else
    u.bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  return u.value;
}

static int32_t roundToInt(float v) {
  return (int32_t)(v >= 0 ? v + 0.5f : v - 0.5f);
}

/* 128-byte aligned scratch from malloc; *base is what to free. */
static void *alignedScratch(size_t bytes, void **base) {
  char *p = malloc(bytes + kVectorBytes);
  *base = p;
  if (!p)
    return 0;
  return (void *)(((uintptr_t)p + kVectorBytes - 1) &
                  ~(uintptr_t)(kVectorBytes - 1));
}

/* The integer range of the codebook for rows of `blocks` blocks: the largest
 * W with 32 * blocks * 32767 * W < 2^31. */
int32_t pmpd_hvx_weight_range(int64_t blocks) {
  int64_t products = 32 * blocks;
  int64_t w = 2147483647LL / (32767LL * products);
  return (int32_t)(w > 32767 ? 32767 : w);
}

/* x [tokens][cols] -> int16 in decode order [tokens][blocks][8][128], zero
 * past `cols`; scales[t] maps the integers back. */
static void quantizeActivations(const float *x, int64_t tokens, int64_t cols,
                                int64_t blocks, int16_t *xq, float *scales) {
  int64_t stride = blocks * kBlockColumns;
  for (int64_t t = 0; t < tokens; ++t) {
    const float *xt = x + t * cols;
    float amax = 0;
    for (int64_t k = 0; k < cols; ++k) {
      float a = xt[k] < 0 ? -xt[k] : xt[k];
      if (a > amax)
        amax = a;
    }
    float inverse = amax > 0 ? 32767.0f / amax : 0.0f;
    scales[t] = amax / 32767.0f;
    int16_t *out = xq + t * stride;
    for (int64_t b = 0; b < blocks; ++b)
      for (int s = 0; s < 8; ++s)
        for (int m = 0; m < 64; ++m)
          for (int half = 0; half < 2; ++half) {
            int64_t col = b * kBlockColumns + 16 * m + 8 * half + s;
            int32_t q = col < cols ? roundToInt(xt[col] * inverse) : 0;
            out[(b * 8 + s) * kSlice + 64 * half + m] = (int16_t)q;
          }
  }
}

/* Where vlut16 reads entry e of a codebook: 16-entry segment g = e / 16 is
 * matched by Rt = g against the code's high nibble and read from table
 * vector g / 4, halfword 2 (e % 16 + 16 (g & 1)) + (g / 2) % 2. */
static int lutPosition(int e) {
  int g = e >> 4, v = e & 15;
  return (g >> 2) * 64 + 2 * (v + 16 * (g & 1)) + ((g >> 1) & 1);
}

/* Decodes row `n` into int16 weights in decode order; returns the row's
 * scale. Inlined per bit width, so that the plane loops unroll. */
static inline __attribute__((always_inline)) float
decodeRow(const uint8_t *planes, int64_t rows, int64_t rowBytes, int parentBits,
          const uint16_t *lut, const int bits, int64_t n, int64_t blocks,
          int32_t range, int16_t *out, uint8_t *tail) {
  const int entries = 1 << bits, segments = entries > 16 ? entries / 16 : 1;
  const uint16_t *rowLut = lut + n * entries;
  float table[256], amax = 0;
  for (int e = 0; e < entries; ++e) {
    table[e] = halfToFloat(rowLut[e]);
    float a = table[e] < 0 ? -table[e] : table[e];
    if (a > amax)
      amax = a;
  }
  HVX_Vector lutVectors[4];
  int16_t *lutq = (int16_t *)lutVectors;
  for (int i = 0; i < (segments + 3) / 4; ++i)
    lutVectors[i] = Q6_V_vzero();
  float inverse = amax > 0 ? (float)range / amax : 0.0f;
  for (int e = 0; e < entries; ++e)
    lutq[lutPosition(e)] = (int16_t)roundToInt(table[e] * inverse);

  const uint8_t *planesEnd = planes + (int64_t)parentBits * rows * rowBytes;
  for (int64_t b = 0; b < blocks; ++b) {
    HVX_Vector plane[8];
    for (int j = 0; j < bits; ++j) {
      const uint8_t *p =
          planes + ((int64_t)j * rows + n) * rowBytes + b * kVectorBytes;
      if (p + kVectorBytes <= planesEnd) {
        /* Bytes past the row belong to the next one; their columns meet
         * zero activations. */
        plane[j] = *(const HVX_UVector *)p;
      } else {
        int64_t valid = rowBytes - b * kVectorBytes;
        memset(tail, 0, kVectorBytes);
        memcpy(tail, p, (size_t)valid);
        plane[j] = *(const HVX_Vector *)tail;
      }
    }
    for (int s = 0; s < 8; ++s) {
      /* Bit s of every byte of plane j to bit (bits - 1 - j) of the code. */
      HVX_Vector code = Q6_V_vzero();
      for (int j = 0; j < bits; ++j) {
        int target = bits - 1 - j, shift = s - target;
        HVX_Vector moved = shift >= 0 ? Q6_Vuh_vlsr_VuhR(plane[j], shift)
                                      : Q6_Vh_vasl_VhR(plane[j], -shift);
        HVX_Vector mask = Q6_Vb_vsplat_R(1 << target);
        code = Q6_V_vor_VV(code, Q6_V_vand_VV(moved, mask));
      }
      HVX_VectorPair w = Q6_Wh_vlut16_VbVhR(code, lutVectors[0], 0);
      for (int g = 1; g < segments; ++g)
        w = Q6_Wh_vlut16or_WhVbVhR(w, code, lutVectors[g >> 2], g);
      HVX_Vector *dst = (HVX_Vector *)(out + (b * 8 + s) * kSlice);
      dst[0] = Q6_V_lo_W(w);
      dst[1] = Q6_V_hi_W(w);
    }
  }
  return amax / (float)range;
}

static int64_t sumLanes(HVX_VectorPair acc) {
  int32_t lanes[kLanes] __attribute__((aligned(128)));
  *(HVX_Vector *)lanes = Q6_Vw_vadd_VwVw(Q6_V_lo_W(acc), Q6_V_hi_W(acc));
  int64_t sum = 0;
  for (int i = 0; i < kLanes; ++i)
    sum += lanes[i];
  return sum;
}

/* y[t][n] for `count` (1..4) tokens starting at t0. */
static inline __attribute__((always_inline)) void
multiplyRow(const int16_t *w, const int16_t *xq, int64_t stride, int64_t slices,
            int count, int64_t sums[kTokenTile]) {
  HVX_VectorPair acc[kTokenTile];
  for (int t = 0; t < count; ++t)
    acc[t] = Q6_W_vcombine_VV(Q6_V_vzero(), Q6_V_vzero());
  for (int64_t i = 0; i < slices; ++i) {
    const HVX_Vector *wv = (const HVX_Vector *)(w + i * kSlice);
    for (int t = 0; t < count; ++t) {
      const HVX_Vector *xv = (const HVX_Vector *)(xq + t * stride + i * kSlice);
      acc[t] = Q6_Ww_vmpyacc_WwVhVh(acc[t], wv[0], xv[0]);
      acc[t] = Q6_Ww_vmpyacc_WwVhVh(acc[t], wv[1], xv[1]);
    }
  }
  for (int t = 0; t < count; ++t)
    sums[t] = sumLanes(acc[t]);
}

void pmpd_qlinear_f32(const float *x, int64_t tokens, int64_t cols,
                      const uint8_t *planes, int64_t rows, int32_t parentBits,
                      const uint16_t *lut, int32_t bits, const float *bias,
                      float *y) {
  int64_t rowBytes = (cols + 7) / 8;
  int64_t blocks = (rowBytes + kVectorBytes - 1) / kVectorBytes;
  int64_t stride = blocks * kBlockColumns, slices = blocks * 8;
  int32_t range = pmpd_hvx_weight_range(blocks);
  void *xBase, *wBase, *tailBase;
  int16_t *xq = alignedScratch((size_t)(tokens * stride * 2), &xBase);
  float *scales = malloc((size_t)tokens * sizeof(float));
  int16_t *w = alignedScratch((size_t)stride * 2, &wBase);
  uint8_t *tail = alignedScratch(kVectorBytes, &tailBase);
  if (!xq || !scales || !w || !tail) {
    pmpd_log("pmpd: out of memory in pmpd_qlinear_f32\n");
    pmpd_exit(70);
  }
  quantizeActivations(x, tokens, cols, blocks, xq, scales);
  for (int64_t n = 0; n < rows; ++n) {
    float rowScale;
    switch (bits) {
#define PMPD_DECODE(B)                                                         \
  case B:                                                                      \
    rowScale = decodeRow(planes, rows, rowBytes, parentBits, lut, B, n,        \
                         blocks, range, w, tail);                              \
    break;
      PMPD_DECODE(2)
      PMPD_DECODE(3)
      PMPD_DECODE(4)
      PMPD_DECODE(5)
      PMPD_DECODE(6)
      PMPD_DECODE(7)
      PMPD_DECODE(8)
#undef PMPD_DECODE
    default:
      pmpd_log("pmpd: pmpd_qlinear_f32 reads 2 to 8 bits\n");
      pmpd_exit(70);
    }
    float b = bias ? bias[n] : 0.0f;
    for (int64_t t0 = 0; t0 < tokens; t0 += kTokenTile) {
      int64_t sums[kTokenTile];
      int64_t left = tokens - t0;
      const int16_t *xt = xq + t0 * stride;
      if (left >= kTokenTile) {
        multiplyRow(w, xt, stride, slices, kTokenTile, sums);
        left = kTokenTile;
      } else {
        for (int t = 0; t < left; ++t)
          multiplyRow(w, xt + t * stride, stride, slices, 1, sums + t);
      }
      for (int t = 0; t < left; ++t)
        y[(t0 + t) * rows + n] = (float)sums[t] * scales[t0 + t] * rowScale + b;
    }
  }
  free(xBase);
  free(scales);
  free(wBase);
  free(tailBase);
}

void pmpd_linear_f16_f32(const float *x, int64_t tokens, int64_t cols,
                         const uint16_t *w, int64_t rows, const float *bias,
                         float *y) {
  for (int64_t n = 0; n < rows; ++n) {
    const uint16_t *row = w + n * cols;
    for (int64_t t = 0; t < tokens; ++t) {
      const float *xt = x + t * cols;
      float acc = 0;
      for (int64_t k = 0; k < cols; ++k)
        acc += xt[k] * halfToFloat(row[k]);
      y[t * rows + n] = acc + (bias ? bias[n] : 0.0f);
    }
  }
}
