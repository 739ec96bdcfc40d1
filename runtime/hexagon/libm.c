/*===- libm.c - The float math the lowered model calls --------------------===*
 *
 * MLIR lowers math.exp, math.powf, math.sin and math.cos to libm calls, the
 * Hexagon backend square roots to __hexagon_sqrtf and fp16 -> fp32 to
 * __extendhfsf2; without a C library the artifact defines them. float
 * arithmetic on the scalar unit: exp and the trigonometric functions within
 * a few ulp (argument reduction in three parts), the square root correctly
 * rounded (as the CPU's), powf as exp(y log x), whose relative error grows
 * with |y log x| (RoPE's frequencies: below 1e-6).
 *
 *===----------------------------------------------------------------------===*/

#include <stdint.h>

static uint32_t bitsOf(float f) {
  union {
    float f;
    uint32_t u;
  } v = {f};
  return v.u;
}
static float floatOf(uint32_t u) {
  union {
    uint32_t u;
    float f;
  } v = {u};
  return v.f;
}

/* 2^n for -126 <= n <= 127. */
static float pow2i(int n) { return floatOf((uint32_t)(n + 127) << 23); }

static float nearest(float x) {
  return (float)(int32_t)(x >= 0 ? x + 0.5f : x - 0.5f);
}

float expf(float x) {
  if (x != x)
    return x;
  if (x > 88.72283935546875f)
    return floatOf(0x7f800000u);
  if (x < -103.97f)
    return 0.0f;
  /* x = n ln2 + r, |r| <= ln2 / 2; e^r by its Taylor polynomial. */
  float n = nearest(x * 1.44269504088896341f);
  float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  float p =
      1.0f +
      r * (1.0f +
           r * (0.5f + r * (1.0f / 6 +
                            r * (1.0f / 24 +
                                 r * (1.0f / 120 +
                                      r * (1.0f / 720 + r * (1.0f / 5040)))))));
  int e = (int)n;
  if (e < -126) /* Subnormal results: scale in two steps. */
    return p * pow2i(e + 64) * pow2i(-64);
  if (e > 127)
    return p * pow2i(e - 1) * 2.0f;
  return p * pow2i(e);
}

float logf(float x) {
  uint32_t u = bitsOf(x);
  if (x != x || u == 0x7f800000u)
    return x;
  if (x < 0)
    return floatOf(0x7fc00000u);
  if (x == 0)
    return floatOf(0xff800000u);
  int e = 0;
  if ((u >> 23) == 0) { /* Subnormal. */
    x *= 16777216.0f;
    u = bitsOf(x);
    e = -24;
  }
  e += (int)(u >> 23) - 127;
  float m = floatOf((u & 0x7fffffu) | 0x3f800000u); /* [1, 2) */
  if (m > 1.41421356f) {
    m *= 0.5f;
    ++e;
  }
  /* log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172. */
  float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
  float p = 2.0f * s *
            (1.0f + s2 * (1.0f / 3 +
                          s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9)))));
  return (float)e * 0.693145751953125f +
         ((float)e * 1.428606765330187e-06f + p);
}

float powf(float x, float y) {
  if (y == 0 || x == 1)
    return 1.0f;
  if (x != x || y != y)
    return x + y;
  if (x == 0)
    return y > 0 ? 0.0f : floatOf(0x7f800000u);
  if (x < 0) {
    float yi = nearest(y);
    if (yi != y)
      return floatOf(0x7fc00000u);
    float r = expf(y * logf(-x));
    return ((int64_t)yi & 1) ? -r : r;
  }
  return expf(y * logf(x));
}

/* sin and cos of r, |r| <= pi/4. */
static float sinPoly(float r) {
  float r2 = r * r;
  return r + r * r2 *
                 (-1.0f / 6 + r2 * (1.0f / 120 + r2 * (-1.0f / 5040 +
                                                       r2 * (1.0f / 362880))));
}
static float cosPoly(float r) {
  float r2 = r * r;
  return 1.0f +
         r2 * (-0.5f + r2 * (1.0f / 24 + r2 * (-1.0f / 720 +
                                               r2 * (1.0f / 40320 +
                                                     r2 * (-1.0f / 3628800)))));
}

/* x = q pi/2 + r, |r| <= pi/4 (for |x| below 2^19; the model's angles are
 * positions times frequencies <= 1). */
static float reduce(float x, int *quadrant) {
  float q = nearest(x * 0.636619772367581343f);
  *quadrant = (int)((int64_t)q & 3);
  return ((x - q * 1.5703125f) - q * 4.83751296997070312e-04f) -
         q * 7.54978995489188216e-08f;
}

float sinf(float x) {
  if (x != x || (bitsOf(x) & 0x7fffffffu) == 0x7f800000u)
    return x - x; /* NaN */
  int quadrant;
  float r = reduce(x, &quadrant);
  switch (quadrant) {
  case 0:
    return sinPoly(r);
  case 1:
    return cosPoly(r);
  case 2:
    return -sinPoly(r);
  default:
    return -cosPoly(r);
  }
}

float cosf(float x) {
  if (x != x || (bitsOf(x) & 0x7fffffffu) == 0x7f800000u)
    return x - x;
  int quadrant;
  float r = reduce(x, &quadrant);
  switch (quadrant) {
  case 0:
    return cosPoly(r);
  case 1:
    return -sinPoly(r);
  case 2:
    return -cosPoly(r);
  default:
    return sinPoly(r);
  }
}

/* Correctly rounded, by the integer square root of the significand. */
float __hexagon_sqrtf(float x) {
  uint32_t u = bitsOf(x);
  if (x != x || u == 0x7f800000u || x == 0)
    return x;
  if (u >> 31)
    return floatOf(0x7fc00000u);
  int e = (int)(u >> 23);
  uint32_t m = u & 0x7fffffu;
  if (e == 0) { /* Subnormal: normalize. */
    while (!(m & 0x800000u)) {
      m <<= 1;
      --e;
    }
    ++e;
  } else {
    m |= 0x800000u;
  }
  e -= 127;
  /* x = m 2^(e - 23); make the exponent even. */
  uint64_t n = (uint64_t)m << ((e & 1) ? 26 : 25);
  int re = (e - (e & 1)) / 2;
  /* Digit-by-digit root of n: 25 or 26 significant bits, then round. */
  uint64_t root = 0, rem = 0;
  for (int i = 62; i >= 0; i -= 2) {
    rem = (rem << 2) | ((n >> i) & 3);
    uint64_t trial = (root << 2) | 1;
    root <<= 1;
    if (rem >= trial) {
      rem -= trial;
      root |= 1;
    }
  }
  /* root has 25 bits: 24 of the result and one to round by; the rest
   * decides ties. */
  uint32_t r = (uint32_t)root;
  uint32_t result = r >> 1;
  if ((r & 1) && (rem != 0 || (result & 1)))
    ++result;
  if (result >> 24) {
    result >>= 1;
    ++re;
  }
  return floatOf(((uint32_t)(re + 127) << 23) | (result & 0x7fffffu));
}

/* fp16 -> fp32: the embedding rows of fp16 models. */
float __extendhfsf2(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  if (exponent == 0) {
    float value = (float)mantissa * (1.0f / 16777216.0f);
    return sign ? -value : value;
  }
  if (exponent == 31)
    return floatOf(sign | 0x7f800000u | (mantissa << 13));
  return floatOf(sign | ((exponent + 112) << 23) | (mantissa << 13));
}
