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
 * - products: int16 x int16 multiply-accumulate into int32 lanes, flushed
 *   every 8 vectors into wider sums (their halfwords added apart), so that
 *   no lane can overflow whatever the data: each of the 32 lanes then holds
 *   at most 16 products of |x| <= 32767 and |w| <= 4096 (weights have
 *   12-bit integers);
 * - each row's sums are scaled back to fp32 on the scalar unit, with the
 *   bias.
 *
 * fp16 weights (the lm_head) take the same path: each row is converted to
 * 12-bit integers at the scale of its largest exponent (shifts by the
 * exponent differences, rounded), in vector registers.
 *
 * In prefill a row is decoded once into a staging buffer and multiplied by
 * the tokens four at a time, so the lookup is amortized over the prompt; a
 * decode step multiplies each slice of weights as it is decoded.
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
  kTokenTile = 4,
  /* Halfword vectors multiplied into the int32 lanes between flushes. */
  kFlushVectors = 8,
  /* The integer range of the weights: 16 * 32767 * kWeightRange < 2^31. */
  kWeightRange = 4096,
  /* Row lengths whose flushed sums stay within int32: 32 lanes of at most
   * kMaxColumns / 512 flushes of halfwords. */
  kMaxColumns = 1 << 19,
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

/* The integer range of the weights (the harness reports it to the tests). */
int32_t pmpd_hvx_weight_range(void) { return kWeightRange; }

/* x [tokens][cols] -> int16 with a per-token scale, max |x| -> 32767. */
static float tokenScale(const float *xt, int64_t cols, float *inverse) {
  float amax = 0;
  for (int64_t k = 0; k < cols; ++k) {
    float a = xt[k] < 0 ? -xt[k] : xt[k];
    if (a > amax)
      amax = a;
  }
  *inverse = amax > 0 ? 32767.0f / amax : 0.0f;
  return amax / 32767.0f;
}

/* x [tokens][cols] -> int16 in decode order [tokens][blocks][8][128], zero
 * past `cols`; scales[t] maps the integers back. */
static void quantizeActivations(const float *x, int64_t tokens, int64_t cols,
                                int64_t blocks, int16_t *xq, float *scales) {
  int64_t stride = blocks * kBlockColumns;
  for (int64_t t = 0; t < tokens; ++t) {
    const float *xt = x + t * cols;
    float inverse;
    scales[t] = tokenScale(xt, cols, &inverse);
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

/* A dot product's running sum, kept in vector registers: the int32 lanes
 * of a pair of vmpy accumulators are split at each flush into their low
 * halfwords (unsigned) and high halfwords (signed), added into two int32
 * vectors, which 2^15 flushes cannot overflow. */
typedef struct {
  HVX_Vector low, high;
} LaneSums;

static inline __attribute__((always_inline)) LaneSums laneSumsZero(void) {
  LaneSums z = {Q6_V_vzero(), Q6_V_vzero()};
  return z;
}

static inline __attribute__((always_inline)) void flush(LaneSums *sums,
                                                        HVX_VectorPair *acc) {
  HVX_Vector v = Q6_Vw_vadd_VwVw(Q6_V_lo_W(*acc), Q6_V_hi_W(*acc));
  sums->low =
      Q6_Vw_vadd_VwVw(sums->low, Q6_V_vand_VV(v, Q6_V_vsplat_R(0xffff)));
  sums->high = Q6_Vw_vadd_VwVw(sums->high, Q6_Vw_vasr_VwR(v, 16));
  *acc = Q6_W_vcombine_VV(Q6_V_vzero(), Q6_V_vzero());
}

/* The sum of a vector's 32 int32 lanes (which cannot overflow here). */
static inline __attribute__((always_inline)) int32_t reduceLanes(HVX_Vector v) {
  for (int bytes = 64; bytes >= 4; bytes /= 2)
    v = Q6_Vw_vadd_VwVw(v, Q6_V_vror_VR(v, bytes));
  return Q6_R_vextract_VR(v, 0);
}

static inline __attribute__((always_inline)) int64_t
total(const LaneSums *sums) {
  return (int64_t)reduceLanes(sums->low) +
         (int64_t)reduceLanes(sums->high) * 65536;
}

/* Where vlut16 reads entry e of a codebook: 16-entry segment g = e / 16 is
 * matched by Rt = g against the code's high nibble and read from table
 * vector g / 4, halfword 2 (e % 16 + 16 (g & 1)) + (g / 2) % 2. */
static int lutPosition(int e) {
  int g = e >> 4, v = e & 15;
  return (g >> 2) * 64 + 2 * (v + 16 * (g & 1)) + ((g >> 1) & 1);
}

/* Decodes row `n` into int16 weights in decode order and returns the row's
 * scale. Staged (`fused` 0): the weights go to `out`, for the tokens to be
 * multiplied by. Fused (one token, decode): they are multiplied by `xq` as
 * they are decoded, into *sum, and never stored. Inlined per bit width, so
 * that the plane loops unroll. */
static inline __attribute__((always_inline)) float
decodeRow(const uint8_t *planes, int64_t rows, int64_t rowBytes, int parentBits,
          const uint16_t *lut, const int bits, int64_t n, int64_t blocks,
          int32_t range, uint8_t *tail, const int fused, int16_t *out,
          const int16_t *xq, int64_t *sum) {
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
  HVX_VectorPair acc = Q6_W_vcombine_VV(Q6_V_vzero(), Q6_V_vzero());
  LaneSums lanes = laneSumsZero();
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
    /* Unrolled in full, so that the planes and masks stay in registers:
     * clang left the 4-bit loop rolled, with the planes on the stack (2.5x
     * the packets per block, scripts/hexagon-kernel-profile.py). */
#pragma clang loop unroll(full)
    for (int s = 0; s < 8; ++s) {
      /* Bit s of every byte of plane j to bit (bits - 1 - j) of the code. */
      HVX_Vector code = Q6_V_vzero();
#pragma clang loop unroll(full)
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
      if (fused) {
        const HVX_Vector *x = (const HVX_Vector *)(xq + (b * 8 + s) * kSlice);
        acc = Q6_Ww_vmpyacc_WwVhVh(acc, Q6_V_lo_W(w), x[0]);
        acc = Q6_Ww_vmpyacc_WwVhVh(acc, Q6_V_hi_W(w), x[1]);
        if ((s + 1) % (kFlushVectors / 2) == 0)
          flush(&lanes, &acc);
      } else {
        HVX_Vector *dst = (HVX_Vector *)(out + (b * 8 + s) * kSlice);
        dst[0] = Q6_V_lo_W(w);
        dst[1] = Q6_V_hi_W(w);
      }
    }
  }
  if (fused)
    *sum = total(&lanes);
  return amax / (float)range;
}

/* sums[t] = w . x_t for `count` (1..4) tokens `stride` halfwords apart;
 * `vectors` of 64 halfwords. */
static inline __attribute__((always_inline)) void
multiplyRow(const int16_t *w, const int16_t *xq, int64_t stride,
            int64_t vectors, int count, int64_t sums[kTokenTile]) {
  HVX_VectorPair acc[kTokenTile];
  LaneSums lanes[kTokenTile];
  for (int t = 0; t < count; ++t) {
    acc[t] = Q6_W_vcombine_VV(Q6_V_vzero(), Q6_V_vzero());
    lanes[t] = laneSumsZero();
  }
  const HVX_Vector *wv = (const HVX_Vector *)w;
  for (int64_t i = 0; i < vectors; ++i) {
    for (int t = 0; t < count; ++t) {
      const HVX_Vector *xv = (const HVX_Vector *)(xq + t * stride);
      acc[t] = Q6_Ww_vmpyacc_WwVhVh(acc[t], wv[i], xv[i]);
    }
    if ((i + 1) % kFlushVectors == 0 || i + 1 == vectors)
      for (int t = 0; t < count; ++t)
        flush(&lanes[t], &acc[t]);
  }
  for (int t = 0; t < count; ++t)
    sums[t] = total(&lanes[t]);
}

/* y[t][n] = sums * scales + bias for every token, the row decoded in w. */
static void multiplyTokens(const int16_t *w, const int16_t *xq, int64_t stride,
                           int64_t vectors, int64_t tokens, const float *scales,
                           float rowScale, float bias, float *y, int64_t rows,
                           int64_t n) {
  for (int64_t t0 = 0; t0 < tokens; t0 += kTokenTile) {
    int64_t sums[kTokenTile];
    int64_t left = tokens - t0;
    const int16_t *xt = xq + t0 * stride;
    if (left >= kTokenTile) {
      multiplyRow(w, xt, stride, vectors, kTokenTile, sums);
      left = kTokenTile;
    } else {
      for (int t = 0; t < left; ++t)
        multiplyRow(w, xt + t * stride, stride, vectors, 1, sums + t);
    }
    for (int t = 0; t < left; ++t)
      y[(t0 + t) * rows + n] =
          (float)sums[t] * scales[t0 + t] * rowScale + bias;
  }
}

static void checkColumns(int64_t cols) {
  if (cols > kMaxColumns) {
    pmpd_log("pmpd: the HVX kernels take rows of at most 2^19 columns\n");
    pmpd_exit(70);
  }
}

void pmpd_qlinear_f32(const float *x, int64_t tokens, int64_t cols,
                      const uint8_t *planes, int64_t rows, int32_t parentBits,
                      const uint16_t *lut, int32_t bits, const float *bias,
                      float *y) {
  checkColumns(cols);
  int64_t rowBytes = (cols + 7) / 8;
  int64_t blocks = (rowBytes + kVectorBytes - 1) / kVectorBytes;
  int64_t stride = blocks * kBlockColumns;
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
    int64_t sum;
    switch (bits) {
#define PMPD_DECODE(B)                                                         \
  case B:                                                                      \
    rowScale = tokens == 1                                                     \
                   ? decodeRow(planes, rows, rowBytes, parentBits, lut, B, n,  \
                               blocks, kWeightRange, tail, 1, 0, xq, &sum)     \
                   : decodeRow(planes, rows, rowBytes, parentBits, lut, B, n,  \
                               blocks, kWeightRange, tail, 0, w, 0, 0);        \
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
    if (tokens == 1) {
      y[n] = (float)sum * scales[0] * rowScale + (bias ? bias[n] : 0.0f);
      continue;
    }
    multiplyTokens(w, xq, stride, stride / 64, tokens, scales, rowScale,
                   bias ? bias[n] : 0.0f, y, rows, n);
  }
  free(xBase);
  free(scales);
  free(wBase);
  free(tailBase);
}

/* Converts fp16 row `h` (`cols` long) to integers of |q| <= kWeightRange
 * at the scale of its largest exponent; returns that scale. */
static float convertHalfRow(const uint16_t *h, int64_t cols, int64_t vectors,
                            int16_t *out, uint16_t *tail) {
  HVX_Vector exponentMask = Q6_Vh_vsplat_R(31);
  /* The chunk of 64 columns c, zero past the row. */
#define PMPD_CHUNK(c)                                                          \
  ((c + 1) * 64 <= cols                                                        \
       ? *(const HVX_UVector *)(h + (c)*64)                                    \
       : (memset(tail, 0, kVectorBytes),                                       \
          memcpy(tail, h + (c)*64, (size_t)(cols - (c)*64) * 2),               \
          *(const HVX_Vector *)tail))
  HVX_Vector maxExponent = Q6_V_vzero();
  for (int64_t c = 0; c < vectors; ++c) {
    HVX_Vector e =
        Q6_V_vand_VV(Q6_Vuh_vlsr_VuhR(PMPD_CHUNK(c), 10), exponentMask);
    maxExponent = Q6_Vuh_vmax_VuhVuh(maxExponent, e);
  }
  uint16_t lanes[64] __attribute__((aligned(128)));
  *(HVX_Vector *)lanes = maxExponent;
  int emax = 1;
  for (int i = 0; i < 64; ++i)
    if (lanes[i] > emax)
      emax = lanes[i];
  if (emax > 30) /* Infinities and NaNs are not weights. */
    emax = 30;

  /* |h| = m 2^(e - 25) with m = 1024 + mantissa (m = mantissa, e = 1 when
   * subnormal). q = round(m 2^(e - emax + 1)) <= 4094: shifted left by 2,
   * right by emax - e, then halved with rounding. */
  HVX_Vector one = Q6_Vh_vsplat_R(1), fifteen = Q6_Vh_vsplat_R(15);
  HVX_Vector mantissaMask = Q6_Vh_vsplat_R(0x3ff);
  HVX_Vector emaxVector = Q6_Vh_vsplat_R(emax);
  for (int64_t c = 0; c < vectors; ++c) {
    HVX_Vector v = PMPD_CHUNK(c);
    HVX_Vector e = Q6_V_vand_VV(Q6_Vuh_vlsr_VuhR(v, 10), exponentMask);
    /* The implicit bit: 1024 when e > 0. */
    HVX_Vector implicit = Q6_Vh_vasl_VhR(
        Q6_Vuh_vlsr_VuhR(Q6_Vh_vadd_VhVh(e, Q6_Vh_vsplat_R(31)), 5), 10);
    HVX_Vector m = Q6_V_vor_VV(Q6_V_vand_VV(v, mantissaMask), implicit);
    HVX_Vector shift = Q6_Vh_vmin_VhVh(
        Q6_Vh_vsub_VhVh(emaxVector, Q6_Vh_vmax_VhVh(e, one)), fifteen);
    HVX_Vector t = Q6_Vh_vlsr_VhVh(Q6_Vh_vasl_VhR(m, 2), shift);
    HVX_Vector q = Q6_Vuh_vlsr_VuhR(Q6_Vh_vadd_VhVh(t, one), 1);
    HVX_Vector sign = Q6_Vh_vasr_VhR(v, 15);
    ((HVX_Vector *)out)[c] = Q6_Vh_vsub_VhVh(Q6_V_vxor_VV(q, sign), sign);
  }
#undef PMPD_CHUNK
  /* value = q 2^(emax - 26) */
  union {
    uint32_t bits;
    float value;
  } scale = {(uint32_t)(emax - 26 + 127) << 23};
  return scale.value;
}

void pmpd_linear_f16_f32(const float *x, int64_t tokens, int64_t cols,
                         const uint16_t *w, int64_t rows, const float *bias,
                         float *y) {
  checkColumns(cols);
  int64_t vectors = (cols + 63) / 64, stride = vectors * 64;
  void *xBase, *wBase, *tailBase;
  int16_t *xq = alignedScratch((size_t)(tokens * stride * 2), &xBase);
  float *scales = malloc((size_t)tokens * sizeof(float));
  int16_t *wq = alignedScratch((size_t)stride * 2, &wBase);
  uint16_t *tail = alignedScratch(kVectorBytes, &tailBase);
  if (!xq || !scales || !wq || !tail) {
    pmpd_log("pmpd: out of memory in pmpd_linear_f16_f32\n");
    pmpd_exit(70);
  }
  for (int64_t t = 0; t < tokens; ++t) {
    const float *xt = x + t * cols;
    float inverse;
    scales[t] = tokenScale(xt, cols, &inverse);
    for (int64_t k = 0; k < stride; ++k)
      xq[t * stride + k] =
          (int16_t)(k < cols ? roundToInt(xt[k] * inverse) : 0);
  }
  for (int64_t n = 0; n < rows; ++n) {
    float rowScale = convertHalfRow(w + n * cols, cols, vectors, wq, tail);
    multiplyTokens(wq, xq, stride, vectors, tokens, scales, rowScale,
                   bias ? bias[n] : 0.0f, y, rows, n);
  }
  free(xBase);
  free(scales);
  free(wBase);
  free(tailBase);
}
