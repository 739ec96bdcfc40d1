//===- KernelsTest.cpp - CPU kernels against a float64 reference ----------===//
//
// Every implementation (scalar, AVX-512 where the CPU has it) on shapes that
// hit every tail: rows and columns that are not multiples of the 16-row tile,
// the 16-column word or the 64-column chunk, token counts on both sides of
// the fused/tiled switch and of the prefill's 12-token blocks, every bit
// width from 2 to the parent, with and without bias.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/Kernels.h"
#include "pmpd/Support/Half.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>
#include <vector>

using namespace pmpd;

namespace {

struct Case {
  int64_t rows, cols, tokens;
  int parent, bits;
  bool bias;
};

/// Random planes and LUTs for a packed weight, and its dequantized matrix.
struct RandomPacked {
  std::vector<uint8_t> planes;
  std::vector<uint16_t> lut;
  std::vector<double> dense;

  RandomPacked(const Case &c, std::mt19937 &rng) {
    int64_t rowBytes = (c.cols + 7) / 8;
    planes.assign(size_t(c.parent) * c.rows * rowBytes, 0);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int j = 0; j < c.parent; ++j)
      for (int64_t r = 0; r < c.rows; ++r)
        for (int64_t b = 0; b < rowBytes; ++b) {
          uint8_t v = uint8_t(byte(rng));
          // Pad bits beyond the last column stay 0, as the format says.
          if (b == rowBytes - 1 && c.cols % 8)
            v &= uint8_t((1u << (c.cols % 8)) - 1);
          planes[(size_t(j) * c.rows + r) * rowBytes + b] = v;
        }
    int64_t entries = int64_t(1) << c.bits;
    std::normal_distribution<float> normal(0.0f, 0.05f);
    lut.resize(c.rows * entries);
    for (uint16_t &v : lut)
      v = floatToHalf(normal(rng));
    dense.resize(c.rows * c.cols);
    for (int64_t r = 0; r < c.rows; ++r)
      for (int64_t k = 0; k < c.cols; ++k) {
        unsigned code = 0;
        for (int j = 0; j < c.bits; ++j)
          code = (code << 1) |
                 ((planes[(size_t(j) * c.rows + r) * rowBytes + k / 8] >>
                   (k % 8)) &
                  1);
        dense[r * c.cols + k] = halfToFloat(lut[r * entries + code]);
      }
  }
};

std::vector<float> randomVector(size_t n, std::mt19937 &rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = normal(rng);
  return v;
}

/// ||y - ref|| / ||ref|| against a float64 product.
double relativeError(const std::vector<float> &y,
                     const std::vector<double> &ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    EXPECT_TRUE(std::isfinite(y[i])) << "element " << i;
    num += (y[i] - ref[i]) * (y[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / den);
}

std::vector<double> referenceProduct(const std::vector<float> &x,
                                     const std::vector<double> &w,
                                     const std::vector<float> &bias,
                                     int64_t tokens, int64_t rows,
                                     int64_t cols) {
  std::vector<double> y(tokens * rows);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t n = 0; n < rows; ++n) {
      double acc = bias.empty() ? 0.0 : bias[n];
      for (int64_t k = 0; k < cols; ++k)
        acc += double(x[t * cols + k]) * w[n * cols + k];
      y[t * rows + n] = acc;
    }
  return y;
}

std::vector<KernelISA> availableISAs() {
  std::vector<KernelISA> isas = {KernelISA::Scalar};
  if (forceKernelISA(KernelISA::AVX512))
    isas.push_back(KernelISA::AVX512);
  return isas;
}

class KernelsTest : public ::testing::TestWithParam<Case> {
protected:
  void TearDown() override {
    forceKernelISA(KernelISA::AVX512) || forceKernelISA(KernelISA::Scalar);
  }
};

TEST_P(KernelsTest, PackedMatchesDequantizedProduct) {
  Case c = GetParam();
  std::mt19937 rng(c.rows * 131 + c.cols * 7 + c.tokens + c.bits);
  RandomPacked packed(c, rng);
  std::vector<float> x = randomVector(c.tokens * c.cols, rng);
  std::vector<float> bias = c.bias ? randomVector(c.rows, rng)
                                   : std::vector<float>();
  std::vector<double> ref =
      referenceProduct(x, packed.dense, bias, c.tokens, c.rows, c.cols);
  for (KernelISA isa : availableISAs()) {
    ASSERT_TRUE(forceKernelISA(isa));
    std::vector<float> y(c.tokens * c.rows, NAN); // Poisoned.
    pmpd_qlinear_f32(x.data(), c.tokens, c.cols, packed.planes.data(), c.rows,
                     c.parent, packed.lut.data(), c.bits,
                     c.bias ? bias.data() : nullptr, y.data());
    EXPECT_LT(relativeError(y, ref), 1e-5)
        << "isa " << int(isa) << " bits " << c.bits;
  }
}

TEST_P(KernelsTest, FP16MatchesProduct) {
  Case c = GetParam();
  std::mt19937 rng(c.rows + c.cols * 3 + c.tokens);
  std::vector<float> wf = randomVector(c.rows * c.cols, rng);
  std::vector<uint16_t> wh(wf.size());
  std::vector<double> dense(wf.size());
  for (size_t i = 0; i < wf.size(); ++i) {
    wh[i] = floatToHalf(wf[i]);
    dense[i] = halfToFloat(wh[i]);
  }
  std::vector<float> x = randomVector(c.tokens * c.cols, rng);
  std::vector<float> bias = c.bias ? randomVector(c.rows, rng)
                                   : std::vector<float>();
  std::vector<double> ref =
      referenceProduct(x, dense, bias, c.tokens, c.rows, c.cols);
  for (KernelISA isa : availableISAs()) {
    ASSERT_TRUE(forceKernelISA(isa));
    std::vector<float> y(c.tokens * c.rows, NAN);
    pmpd_linear_f16_f32(x.data(), c.tokens, c.cols, wh.data(), c.rows,
                        c.bias ? bias.data() : nullptr, y.data());
    EXPECT_LT(relativeError(y, ref), 1e-5) << "isa " << int(isa);
  }
}

std::vector<Case> allCases() {
  std::vector<Case> cases;
  // Fixture-like shapes, one and many tokens, every width of a 4-bit parent.
  for (int bits = 2; bits <= 4; ++bits)
    for (int64_t tokens : {1, 3, 4, 5, 33})
      cases.push_back({64, 128, tokens, 4, bits, bits == 3});
  // Tails: rows not a multiple of 16 or 4, columns not a multiple of 16 or 8.
  for (int64_t cols : {1, 7, 8, 15, 17, 37, 100})
    for (int64_t tokens : {1, 6})
      cases.push_back({23, cols, tokens, 4, 2 + int(cols % 3), tokens == 6});
  // Prefill's 12-token blocks and their remainders, decode's 64-column chunks
  // with a partial last one, 16-row tiles with a partial last one.
  for (int64_t tokens : {11, 12, 13, 25})
    cases.push_back({33, 200, tokens, 4, 2 + int(tokens % 3), tokens != 12});
  for (int bits = 2; bits <= 4; ++bits)
    cases.push_back({40, 136, 1, 4, bits, bits == 2});
  // Wide codebooks: permute (<= 4 bits), two-register permute (5), gather.
  for (int bits = 5; bits <= 8; ++bits)
    for (int64_t tokens : {2, 9})
      cases.push_back({19, 70, tokens, 8, bits, bits % 2 == 0});
  return cases;
}

std::string caseName(const ::testing::TestParamInfo<Case> &info) {
  const Case &c = info.param;
  return "r" + std::to_string(c.rows) + "_c" + std::to_string(c.cols) + "_t" +
         std::to_string(c.tokens) + "_p" + std::to_string(c.parent) + "_b" +
         std::to_string(c.bits) + (c.bias ? "_bias" : "");
}

INSTANTIATE_TEST_SUITE_P(Shapes, KernelsTest,
                         ::testing::ValuesIn(allCases()), caseName);

TEST(KernelThreadsTest, ResultIndependentOfThreadCount) {
  Case c{97, 256, 7, 4, 3, true};
  std::mt19937 rng(7);
  RandomPacked packed(c, rng);
  std::vector<float> x = randomVector(c.tokens * c.cols, rng);
  std::vector<float> bias = randomVector(c.rows, rng);
  std::vector<float> y1(c.tokens * c.rows), y4(c.tokens * c.rows);
  pmpd_set_num_threads(1);
  pmpd_qlinear_f32(x.data(), c.tokens, c.cols, packed.planes.data(), c.rows,
                   c.parent, packed.lut.data(), c.bits, bias.data(), y1.data());
  pmpd_set_num_threads(4);
  pmpd_qlinear_f32(x.data(), c.tokens, c.cols, packed.planes.data(), c.rows,
                   c.parent, packed.lut.data(), c.bits, bias.data(), y4.data());
  pmpd_set_num_threads(0);
  EXPECT_EQ(y1, y4); // Rows are independent: bit-identical.
}

} // namespace
