//===- HalfTest.cpp - fp16/bf16 conversion tests --------------------------===//

#include "pmpd/Support/Half.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace pmpd;

// Every finite half converts to fp32 and back to itself.
TEST(HalfTest, RoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = halfToFloat(uint16_t(h));
    if (std::isnan(f))
      continue;
    EXPECT_EQ(floatToHalf(f), uint16_t(h)) << "half bits " << h;
  }
}

// Hand-computed cases: ties to even, overflow, subnormals.
TEST(HalfTest, RoundsToNearestEven) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00);         // Rounds up to infinity.
  EXPECT_EQ(floatToHalf(1.0f + 1.0f / 2048), 0x3c00); // Tie, even stays.
  EXPECT_EQ(floatToHalf(1.0f + 3.0f / 2048), 0x3c02); // Tie, rounds up.
  EXPECT_EQ(floatToHalf(5.960464477539063e-08f), 0x0001); // Smallest subnormal.
  EXPECT_FLOAT_EQ(halfToFloat(0x0001), 5.960464477539063e-08f);
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(NAN))));
}

TEST(HalfTest, BFloat16) {
  EXPECT_EQ(floatToBF16(1.0f), 0x3f80);
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(floatToBF16(1.0f + 1.0f / 256), 0x3f80); // Tie to even.
  EXPECT_EQ(floatToBF16(1.0f + 3.0f / 256), 0x3f82);
}
