//===- AnyPrecisionTest.cpp - Any-precision quantization ------------------===//

#include "pmpd/Quant/AnyPrecision.h"
#include "pmpd/Support/Half.h"

#include "llvm/Support/FileSystem.h"
#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace pmpd;

namespace {

std::vector<float> randomMatrix(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = normal(rng);
  return w;
}

AnyPrecisionWeight quantize(const std::vector<float> &w, int64_t rows,
                            int64_t cols, std::vector<float> importance = {},
                            unsigned seed = 2, unsigned parent = 4) {
  AnyPrecisionOptions options;
  options.seedBits = seed;
  options.parentBits = parent;
  auto q = quantizeAnyPrecision(w, rows, cols, importance, options);
  EXPECT_TRUE(static_cast<bool>(q)) << llvm::toString(q.takeError());
  return std::move(*q);
}

// Four well-separated groups are found exactly by the 2-bit seed, and each
// table entry is its group's mean (exact in fp16 here).
TEST(AnyPrecisionTest, SeparatedClustersAreExact) {
  std::vector<float> w = {-3, 1, 5, -3, 9, 1, 5, 9, -3, 1, 5, 9};
  AnyPrecisionWeight q = quantize(w, 1, 12, {}, 2, 2);
  std::vector<float> d = q.dequantize(2);
  for (size_t i = 0; i < w.size(); ++i)
    EXPECT_EQ(d[i], w[i]) << i;
  // Codes follow the sorted order of the centroids.
  EXPECT_EQ(q.code(2, 0, 0), 0u);
  EXPECT_EQ(q.code(2, 0, 1), 1u);
  EXPECT_EQ(q.code(2, 0, 2), 2u);
  EXPECT_EQ(q.code(2, 0, 4), 3u);
}

// The top b bits of every code are the b-bit code, for every b.
TEST(AnyPrecisionTest, NestedCodes) {
  std::vector<float> w = randomMatrix(13, 77, 1);
  AnyPrecisionWeight q = quantize(w, 13, 77, {}, 2, 5);
  for (int64_t r = 0; r < 13; ++r)
    for (int64_t c = 0; c < 77; ++c)
      for (unsigned b = 2; b <= 5; ++b)
        EXPECT_EQ(q.code(b, r, c), q.code(5, r, c) >> (5 - b));
}

// Each table entry is the (importance-)weighted mean of its members,
// rounded to fp16.
TEST(AnyPrecisionTest, TablesAreWeightedMeans) {
  const int64_t rows = 3, cols = 64;
  std::vector<float> w = randomMatrix(rows, cols, 2);
  std::vector<float> h(cols);
  for (int64_t c = 0; c < cols; ++c)
    h[c] = 0.1f + float(c % 7);
  AnyPrecisionWeight q = quantize(w, rows, cols, h);
  for (unsigned b = 2; b <= 4; ++b)
    for (int64_t r = 0; r < rows; ++r)
      for (unsigned code = 0; code < (1u << b); ++code) {
        double sum = 0, weight = 0;
        for (int64_t c = 0; c < cols; ++c)
          if (q.code(b, r, c) == code) {
            sum += h[c] * w[r * cols + c];
            weight += h[c];
          }
        if (weight == 0)
          continue;
        uint16_t entry = q.luts[b - 2][r * (1 << b) + code];
        EXPECT_EQ(entry, floatToHalf(float(sum / weight)))
            << "bits " << b << " row " << r << " code " << code;
      }
}

// The bit-plane layout on a hand-made example: one row of 10 columns whose
// 2-bit codes are 0,1,2,3,0,1,2,3,3,2.
TEST(AnyPrecisionTest, PlaneLayout) {
  std::vector<float> w = {0, 10, 20, 30, 0, 10, 20, 30, 30, 20};
  AnyPrecisionWeight q = quantize(w, 1, 10, {}, 2, 2);
  ASSERT_EQ(q.planes.size(), 2u * 2u); // 2 planes x 1 row x 2 bytes.
  // Plane 0 holds the high bit: columns 2,3,6,7,8,9.
  EXPECT_EQ(q.planes[0], 0b11001100);
  EXPECT_EQ(q.planes[1], 0b11);
  // Plane 1 holds the low bit: columns 1,3,5,7,8.
  EXPECT_EQ(q.planes[2], 0b10101010);
  EXPECT_EQ(q.planes[3], 0b01);
}

// The split is the exact optimum: brute force over every split point of a
// single 1-bit seed cluster gives the same cost.
TEST(AnyPrecisionTest, SplitsAreOptimal) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-1, 1);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<float> w(24);
    for (float &v : w)
      v = uniform(rng);
    AnyPrecisionWeight q = quantize(w, 1, 24, {}, 2, 3);
    // Within each 2-bit cluster, the 3-bit split must minimise the SSE.
    for (unsigned parent = 0; parent < 4; ++parent) {
      std::vector<float> members;
      for (int64_t c = 0; c < 24; ++c)
        if (q.code(2, 0, c) == parent)
          members.push_back(w[c]);
      std::sort(members.begin(), members.end());
      auto sse = [](const std::vector<float> &v, size_t a, size_t b) {
        double m = 0;
        for (size_t i = a; i < b; ++i)
          m += v[i];
        m /= std::max<size_t>(1, b - a);
        double s = 0;
        for (size_t i = a; i < b; ++i)
          s += (v[i] - m) * (v[i] - m);
        return s;
      };
      double best = sse(members, 0, members.size());
      for (size_t c = 1; c < members.size(); ++c)
        best = std::min(best, sse(members, 0, c) + sse(members, c, members.size()));
      double got = 0;
      for (unsigned child = 0; child < 2; ++child) {
        std::vector<float> part;
        for (int64_t c = 0; c < 24; ++c)
          if (q.code(3, 0, c) == parent * 2 + child)
            part.push_back(w[c]);
        got += sse(part, 0, part.size());
      }
      EXPECT_NEAR(got, best, 1e-9);
    }
  }
}

TEST(AnyPrecisionTest, ErrorFallsWithBitsAndBeatsRoundToNearest) {
  const int64_t rows = 32, cols = 256;
  std::vector<float> w = randomMatrix(rows, cols, 4);
  AnyPrecisionWeight q = quantize(w, rows, cols);
  double previous = INFINITY;
  for (unsigned b = 2; b <= 4; ++b) {
    double ap = weightedSquaredError(w, q.dequantize(b), rows, cols, {});
    double rtn =
        weightedSquaredError(w, roundToNearest(w, rows, cols, b), rows, cols, {});
    EXPECT_LT(ap, previous);
    EXPECT_LT(ap, rtn) << "bits " << b;
    previous = ap;
  }
}

// Weighting by importance lowers the importance-weighted error.
TEST(AnyPrecisionTest, WeightedBeatsUnweighted) {
  const int64_t rows = 16, cols = 128;
  std::vector<float> w = randomMatrix(rows, cols, 5);
  std::vector<float> h(cols, 0.01f);
  for (int64_t c = 0; c < cols; c += 8)
    h[c] = 100.0f; // A few salient input channels.
  AnyPrecisionWeight weighted = quantize(w, rows, cols, h);
  AnyPrecisionWeight plain = quantize(w, rows, cols);
  for (unsigned b = 2; b <= 4; ++b)
    EXPECT_LT(weightedSquaredError(w, weighted.dequantize(b), rows, cols, h),
              weightedSquaredError(w, plain.dequantize(b), rows, cols, h))
        << "bits " << b;
}

TEST(AnyPrecisionTest, Deterministic) {
  std::vector<float> w = randomMatrix(40, 100, 6);
  AnyPrecisionWeight a = quantize(w, 40, 100), b = quantize(w, 40, 100);
  EXPECT_EQ(a.planes, b.planes);
  EXPECT_EQ(a.luts, b.luts);
}

TEST(AnyPrecisionTest, BitsPerWeight) {
  AnyPrecisionWeight q = quantize(randomMatrix(2, 512, 7), 2, 512);
  EXPECT_DOUBLE_EQ(q.bitsPerWeight(2), 2 + 4 * 16 / 512.0);
  EXPECT_DOUBLE_EQ(q.bitsPerWeight(4), 4 + 16 * 16 / 512.0);
  EXPECT_DOUBLE_EQ(roundToNearestBitsPerWeight(4), 4 + 20 / 128.0);
}

// Round-to-nearest on a hand-computed group: range [0, 3] at 2 bits has
// scale 1 and zero 0, so the integers are exact and 1.4 rounds to 1.
TEST(AnyPrecisionTest, RoundToNearestHandCase) {
  std::vector<float> w = {0, 3, 1.4f, 2.6f};
  std::vector<float> q = roundToNearest(w, 1, 4, 2, 4);
  EXPECT_EQ(q, std::vector<float>({0, 3, 1, 3}));
}

TEST(AnyPrecisionTest, Errors) {
  AnyPrecisionOptions options;
  std::vector<float> w(8, 1.0f);
  auto message = [&](llvm::ArrayRef<float> h, AnyPrecisionOptions o) {
    auto q = quantizeAnyPrecision(w, 2, 4, h, o);
    return q ? std::string() : llvm::toString(q.takeError());
  };
  AnyPrecisionOptions bad = options;
  bad.seedBits = 5;
  EXPECT_NE(message({}, bad).find("need 2 <= seed <= parent <= 8"),
            std::string::npos);
  bad = options;
  bad.parentBits = 9;
  EXPECT_NE(message({}, bad).find("unsupported any-precision widths"),
            std::string::npos);
  EXPECT_NE(message({1, 2, 3}, options).find("importance has 3 values"),
            std::string::npos);
  EXPECT_NE(message({1, -1, 1, 1}, options).find("non-negative"),
            std::string::npos);
  w[5] = NAN;
  EXPECT_NE(message({}, options).find("weight element (1, 1) is not finite"),
            std::string::npos);
}

TEST(AnyPrecisionTest, TensorsForTheWeightsFile) {
  AnyPrecisionWeight q = quantize(randomMatrix(3, 20, 8), 3, 20);
  SafeTensorsWriter writer;
  q.addTensors(writer, "model.layers.0.mlp.up_proj");
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("packed", "safetensors", path));
  ASSERT_FALSE(static_cast<bool>(writer.write(path)));
  auto file = SafeTensorsFile::open(path);
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  const TensorView *planes =
      (*file)->lookup("model.layers.0.mlp.up_proj.qweight.planes");
  ASSERT_NE(planes, nullptr);
  EXPECT_EQ(planes->dtype, DType::U8);
  EXPECT_EQ(llvm::ArrayRef<int64_t>(planes->shape),
            llvm::ArrayRef<int64_t>({4, 3, 3}));
  for (unsigned b = 2; b <= 4; ++b) {
    const TensorView *lut = (*file)->lookup(
        "model.layers.0.mlp.up_proj.qweight.lut" + std::to_string(b));
    ASSERT_NE(lut, nullptr);
    EXPECT_EQ(lut->dtype, DType::F16);
    EXPECT_EQ(llvm::ArrayRef<int64_t>(lut->shape),
              llvm::ArrayRef<int64_t>({3, int64_t(1) << b}));
  }
  llvm::sys::fs::remove(path);
}

} // namespace
