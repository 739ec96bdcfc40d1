//===- Half.h - IEEE half and bfloat16 conversions --------------*- C++ -*-===//
//
// The one place that converts between fp32 and the 16-bit float formats that
// weights files use. Exact round-to-nearest-even in both directions, so that
// quantization and export are bit-reproducible.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_SUPPORT_HALF_H
#define PMPD_SUPPORT_HALF_H

#include <cstdint>
#include <cstring>

namespace pmpd {

inline float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

inline uint32_t floatToBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

/// IEEE binary16 to binary32 (exact).
inline float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  if (exp == 0) {
    if (mant == 0)
      return bitsToFloat(sign);
    // Subnormal: value = mant * 2^-24.
    float f = float(mant) * (1.0f / 16777216.0f);
    return sign ? -f : f;
  }
  if (exp == 31)
    return bitsToFloat(sign | 0x7f800000u | (mant << 13));
  return bitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
}

/// IEEE binary32 to binary16, round to nearest even, overflow to infinity.
inline uint16_t floatToHalf(float f) {
  uint32_t x = floatToBits(f);
  uint16_t sign = uint16_t((x >> 16) & 0x8000);
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) // Inf or NaN.
    return sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0);
  if (absx >= 0x477ff000u) // Rounds to >= 65520: infinity.
    return sign | 0x7c00;
  if (absx < 0x38800000u) { // Below the smallest normal half: subnormal.
    // Adding 0.5 aligns the mantissa so that float addition rounds to even.
    float shifted = bitsToFloat(absx) + 0.5f;
    return sign | uint16_t(floatToBits(shifted) - 0x3f000000u);
  }
  uint32_t mantOdd = (absx >> 13) & 1;
  absx += 0xc8000fffu + mantOdd; // Rebias exponent and round to even.
  return sign | uint16_t(absx >> 13);
}

/// bfloat16 to binary32 (exact).
inline float bf16ToFloat(uint16_t h) { return bitsToFloat(uint32_t(h) << 16); }

/// binary32 to bfloat16, round to nearest even; NaN stays NaN.
inline uint16_t floatToBF16(float f) {
  uint32_t x = floatToBits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return uint16_t((x >> 16) | 0x40);
  x += 0x7fffu + ((x >> 16) & 1);
  return uint16_t(x >> 16);
}

} // namespace pmpd

#endif // PMPD_SUPPORT_HALF_H
