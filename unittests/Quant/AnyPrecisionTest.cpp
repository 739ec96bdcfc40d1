//===- AnyPrecisionTest.cpp - Any-precision quantization ------------------===//
//
// The quantizer against brute force and hand-worked cases, the packed layout
// bit for bit, the safetensors round trip and its errors, and the bundled
// model's real projections against round-to-nearest.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Quant/AnyPrecision.h"
#include "pmpd/Support/Half.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Parallel.h"
#include "llvm/Support/Threading.h"
#include "gtest/gtest.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <tuple>

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
        best = std::min(best,
                        sse(members, 0, c) + sse(members, c, members.size()));
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
    double rtn = weightedSquaredError(w, roundToNearest(w, rows, cols, b), rows,
                                      cols, {});
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
  ASSERT_FALSE(
      llvm::sys::fs::createTemporaryFile("packed", "safetensors", path));
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

// Weighted SSE of `v` (with weights `h`) around its weighted mean: the
// reference cost, computed directly rather than from prefix sums.
double clusterCost(const std::vector<double> &v, const std::vector<double> &h) {
  double sh = 0, shv = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    sh += h[i];
    shv += h[i] * v[i];
  }
  if (sh <= 0)
    return 0;
  double mean = shv / sh, cost = 0;
  for (size_t i = 0; i < v.size(); ++i)
    cost += h[i] * (v[i] - mean) * (v[i] - mean);
  return cost;
}

/// The weighted SSE of row `r` when every element is replaced by the
/// weighted mean of its `bits`-bit cluster (no fp16 rounding).
double clusteringCost(const AnyPrecisionWeight &q, unsigned bits, int64_t r,
                      const std::vector<float> &w,
                      const std::vector<float> &h) {
  double total = 0;
  for (unsigned code = 0; code < (1u << bits); ++code) {
    std::vector<double> v, weights;
    for (int64_t c = 0; c < q.cols; ++c)
      if (q.code(bits, r, c) == code) {
        v.push_back(w[r * q.cols + c]);
        weights.push_back(h[r * q.cols + c]);
      }
    total += clusterCost(v, weights);
  }
  return total;
}

// The seed is the globally optimal weighted clustering: brute force over
// every way to cut the sorted row into 4 intervals finds nothing better.
TEST(AnyPrecisionTest, SeedIsGloballyOptimal) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::uniform_real_distribution<float> weight(0.05f, 3);
  const int64_t n = 11;
  for (int trial = 0; trial < 30; ++trial) {
    std::vector<float> w(n), h(n);
    for (int64_t i = 0; i < n; ++i) {
      w[i] = uniform(rng);
      h[i] = weight(rng);
    }
    AnyPrecisionWeight q = quantize(w, 1, n, h, 2, 2);
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return w[a] < w[b]; });
    auto cost = [&](int64_t a, int64_t b) {
      std::vector<double> v, weights;
      for (int64_t i = a; i < b; ++i) {
        v.push_back(w[order[i]]);
        weights.push_back(h[order[i]]);
      }
      return clusterCost(v, weights);
    };
    double best = INFINITY;
    for (int64_t b1 = 0; b1 <= n; ++b1)
      for (int64_t b2 = b1; b2 <= n; ++b2)
        for (int64_t b3 = b2; b3 <= n; ++b3)
          best = std::min(best, cost(0, b1) + cost(b1, b2) + cost(b2, b3) +
                                    cost(b3, n));
    EXPECT_NEAR(clusteringCost(q, 2, 0, w, h), best, 1e-9) << trial;
  }
}

// With per-element importance, every upscaling step still splits each
// cluster at the weighted optimum (brute force over the sorted members).
TEST(AnyPrecisionTest, WeightedSplitsAreOptimal) {
  std::mt19937 rng(12);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::uniform_real_distribution<float> weight(0.0f, 4);
  const int64_t rows = 4, cols = 40;
  std::vector<float> w(rows * cols), h(rows * cols);
  for (size_t i = 0; i < w.size(); ++i) {
    w[i] = uniform(rng);
    h[i] = weight(rng);
  }
  AnyPrecisionWeight q = quantize(w, rows, cols, h, 2, 5);
  for (int64_t r = 0; r < rows; ++r)
    for (unsigned b = 2; b < 5; ++b)
      for (unsigned parent = 0; parent < (1u << b); ++parent) {
        std::vector<std::pair<float, float>> members; // (value, weight)
        for (int64_t c = 0; c < cols; ++c)
          if (q.code(b, r, c) == parent)
            members.push_back({w[r * cols + c], h[r * cols + c]});
        std::sort(members.begin(), members.end());
        auto cost = [&](size_t a, size_t e) {
          std::vector<double> v, weights;
          for (size_t i = a; i < e; ++i) {
            v.push_back(members[i].first);
            weights.push_back(members[i].second);
          }
          return clusterCost(v, weights);
        };
        double best = cost(0, members.size());
        for (size_t c = 1; c < members.size(); ++c)
          best = std::min(best, cost(0, c) + cost(c, members.size()));
        double got = 0;
        for (unsigned child = 0; child < 2; ++child) {
          std::vector<double> v, weights;
          for (int64_t c = 0; c < cols; ++c)
            if (q.code(b + 1, r, c) == parent * 2 + child) {
              v.push_back(w[r * cols + c]);
              weights.push_back(h[r * cols + c]);
            }
          got += clusterCost(v, weights);
        }
        EXPECT_NEAR(got, best, 1e-9)
            << "row " << r << " bits " << b << " cluster " << parent;
      }
}

// Bytes do not depend on how many threads quantize: one thread (parallelFor
// then runs inline) gives what the default pool gives.
TEST(AnyPrecisionTest, DeterministicAcrossThreadCounts) {
  const int64_t rows = 300, cols = 75;
  std::vector<float> w = randomMatrix(rows, cols, 13);
  std::vector<float> h(cols);
  for (int64_t c = 0; c < cols; ++c)
    h[c] = 0.5f + float(c % 5);
  AnyPrecisionWeight parallel = quantize(w, rows, cols, h, 3, 6);
  llvm::ThreadPoolStrategy saved = llvm::parallel::strategy;
  llvm::parallel::strategy = llvm::hardware_concurrency(1);
  AnyPrecisionWeight serial = quantize(w, rows, cols, h, 3, 6);
  llvm::parallel::strategy = saved;
  EXPECT_EQ(parallel.planes, serial.planes);
  EXPECT_EQ(parallel.luts, serial.luts);
}

// Per-element importance that repeats one per-column vector is the same
// quantization as that vector.
TEST(AnyPrecisionTest, PerElementImportanceMatchesPerColumn) {
  const int64_t rows = 5, cols = 33;
  std::vector<float> w = randomMatrix(rows, cols, 14);
  std::vector<float> column(cols), element;
  for (int64_t c = 0; c < cols; ++c)
    column[c] = 1.0f + float((c * 7) % 11);
  for (int64_t r = 0; r < rows; ++r)
    element.insert(element.end(), column.begin(), column.end());
  AnyPrecisionWeight a = quantize(w, rows, cols, column);
  AnyPrecisionWeight b = quantize(w, rows, cols, element);
  EXPECT_EQ(a.planes, b.planes);
  EXPECT_EQ(a.luts, b.luts);
}

// Fewer distinct values than clusters, constant rows and rows of zero
// importance still give a finite table for every code, and the empty
// clusters repeat their parent's centroid.
TEST(AnyPrecisionTest, DegenerateRows) {
  // Row 0: three columns, fewer than the 4 seed clusters; row 1: constant.
  std::vector<float> w = {0.25f, -1.0f, 2.0f, 0.5f, 0.5f, 0.5f};
  AnyPrecisionWeight q = quantize(w, 2, 3, {}, 2, 4);
  for (unsigned b = 2; b <= 4; ++b) {
    std::vector<float> d = q.dequantize(b);
    for (size_t i = 0; i < w.size(); ++i)
      EXPECT_EQ(d[i], w[i]) << "bits " << b << " element " << i;
    for (uint16_t entry : q.luts[b - 2])
      EXPECT_TRUE(std::isfinite(halfToFloat(entry)));
    if (b > 2)
      for (int64_t r = 0; r < 2; ++r)
        for (unsigned code = 0; code < (1u << b); ++code) {
          bool used = false;
          for (int64_t c = 0; c < 3; ++c)
            used |= q.code(b, r, c) == code;
          if (!used) {
            EXPECT_EQ(q.luts[b - 2][r * (1 << b) + code],
                      q.luts[b - 3][r * (1 << (b - 1)) + code / 2])
                << "bits " << b << " row " << r << " code " << code;
          }
        }
  }
  // The constant row's seed table is that constant in every entry.
  for (int64_t i = 4; i < 8; ++i)
    EXPECT_EQ(q.luts[0][i], floatToHalf(0.5f)) << i;

  // A row whose importance is all zero: any clustering is optimal, the
  // tables fall back to plain means, and nothing is NaN.
  std::vector<float> h = {0, 0, 0, 1, 1, 1};
  std::vector<float> w2 = {1, 2, 3, 1, 2, 3};
  AnyPrecisionWeight z = quantize(w2, 2, 3, h, 2, 3);
  for (unsigned b = 2; b <= 3; ++b)
    for (uint16_t entry : z.luts[b - 2])
      EXPECT_TRUE(std::isfinite(halfToFloat(entry)));
}

// Columns past a multiple of 8 leave zero pad bits in every plane.
TEST(AnyPrecisionTest, PadBitsAreZero) {
  const int64_t rows = 7, cols = 13;
  AnyPrecisionWeight q = quantize(randomMatrix(rows, cols, 15), rows, cols);
  ASSERT_EQ(q.rowBytes(), 2);
  ASSERT_EQ(q.planes.size(), size_t(4 * rows * 2));
  for (size_t i = 1; i < q.planes.size(); i += 2)
    EXPECT_EQ(q.planes[i] & 0xE0, 0) << "byte " << i;
}

TEST(AnyPrecisionTest, WeightedError) {
  std::vector<float> w = {1, 2, 0, -2}, q = {1, 1, 1, -2};
  std::vector<float> h = {1, 2, 3, 4};
  // Error 2 * 1 + 3 * 1 = 5.
  EXPECT_DOUBLE_EQ(weightedSquaredError(w, q, 2, 2, h), 5.0);
  // Per column: weights 1, 2 for both rows; error 2 + 1 = 3.
  EXPECT_DOUBLE_EQ(weightedSquaredError(w, q, 2, 2, {1, 2}), 3.0);
  EXPECT_DOUBLE_EQ(weightedSquaredError({0, 0}, {1, 1}, 1, 2, {}), 2.0);
}

// More round-to-nearest groups worked by hand: a negative minimum moves the
// zero point, each group has its own range, a constant group is exact, and
// the fp16 scale is what dequantizes.
TEST(AnyPrecisionTest, RoundToNearestGroups) {
  // Range [-1, 2] at 2 bits: scale 1, zero 1; 0.5 rounds away from zero.
  EXPECT_EQ(roundToNearest({-1, 0, 0.5f, 2}, 1, 4, 2, 4),
            std::vector<float>({-1, 0, 1, 2}));
  // Two groups of 2 (the second one constant) and a short tail group.
  EXPECT_EQ(roundToNearest({0, 7, 5, 5, 3}, 1, 5, 3, 2),
            std::vector<float>({0, 7, 5, 5, 3}));
  // Range [0, 0.3] at 2 bits: the scale 0.1 is stored as fp16
  // 0.0999755859375, so 0.3 comes back as 3 * that.
  std::vector<float> q = roundToNearest({0, 0.3f, 0.1f, 0.21f}, 1, 4, 2, 4);
  float scale = halfToFloat(floatToHalf(0.3f / 3));
  EXPECT_EQ(scale, 0.0999755859375f);
  EXPECT_EQ(q, std::vector<float>({0, 3 * scale, scale, 2 * scale}));
  // Two rows are independent.
  EXPECT_EQ(roundToNearest({0, 3, 0, 6}, 2, 2, 2, 2),
            std::vector<float>({0, 3, 0, 6}));
  EXPECT_DOUBLE_EQ(roundToNearestBitsPerWeight(2, 64), 2 + 18 / 64.0);
}

/// A temporary safetensors file removed when the test ends.
struct TempFile {
  llvm::SmallString<128> path;
  TempFile() {
    EXPECT_FALSE(
        llvm::sys::fs::createTemporaryFile("packed", "safetensors", path));
  }
  ~TempFile() { llvm::sys::fs::remove(path); }
};

TEST(AnyPrecisionTest, ReadBackFromTheWeightsFile) {
  for (auto [seed, parent, cols] :
       {std::tuple<unsigned, unsigned, int64_t>{2, 4, 21},
        {3, 3, 16},
        {2, 8, 9}}) {
    AnyPrecisionWeight q =
        quantize(randomMatrix(6, cols, 16), 6, cols, {}, seed, parent);
    SafeTensorsWriter writer;
    q.addTensors(writer, "model.layers.3.mlp.down_proj");
    TempFile file;
    ASSERT_FALSE(static_cast<bool>(writer.write(file.path)));
    auto opened = SafeTensorsFile::open(file.path);
    ASSERT_TRUE(static_cast<bool>(opened))
        << llvm::toString(opened.takeError());
    auto back =
        readAnyPrecision(**opened, "model.layers.3.mlp.down_proj", cols);
    ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
    EXPECT_EQ(back->rows, 6);
    EXPECT_EQ(back->cols, cols);
    EXPECT_EQ(back->seedBits, seed);
    EXPECT_EQ(back->parentBits, parent);
    EXPECT_EQ(back->planes, q.planes);
    EXPECT_EQ(back->luts, q.luts);
    EXPECT_EQ(back->dequantize(parent), q.dequantize(parent));
  }
}

// Every malformed packed weight is an error naming the tensor (and the file).
TEST(AnyPrecisionTest, ReadErrors) {
  AnyPrecisionWeight q = quantize(randomMatrix(3, 12, 17), 3, 12);
  std::vector<uint8_t> planes = q.planes;
  auto lutBytes = [&](unsigned b) {
    const std::vector<uint16_t> &lut = q.luts[b - 2];
    return std::vector<uint8_t>(reinterpret_cast<const uint8_t *>(lut.data()),
                                reinterpret_cast<const uint8_t *>(lut.data()) +
                                    lut.size() * 2);
  };
  // Reads `tensors` (name, dtype, shape, bytes) under prefix "p" with
  // `cols`, returning the error message ("" on success).
  struct Tensor {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };
  auto read = [&](std::vector<Tensor> tensors, int64_t cols = 12) {
    SafeTensorsWriter writer;
    for (const Tensor &t : tensors)
      writer.addTensor(t.name, t.dtype, t.shape, t.bytes);
    TempFile file;
    EXPECT_FALSE(static_cast<bool>(writer.write(file.path)));
    auto opened = SafeTensorsFile::open(file.path);
    EXPECT_TRUE(static_cast<bool>(opened));
    auto w = readAnyPrecision(**opened, "p", cols);
    std::string message = w ? "" : llvm::toString(w.takeError());
    // Every error names the file first.
    if (!message.empty()) {
      EXPECT_EQ(message.find(file.path.str().str() + ": "), 0u) << message;
    }
    return message;
  };
  Tensor goodPlanes = {"p.qweight.planes", DType::U8, {4, 3, 2}, planes};
  Tensor lut2 = {"p.qweight.lut2", DType::F16, {3, 4}, lutBytes(2)};
  Tensor lut3 = {"p.qweight.lut3", DType::F16, {3, 8}, lutBytes(3)};
  Tensor lut4 = {"p.qweight.lut4", DType::F16, {3, 16}, lutBytes(4)};
  auto has = [](const std::string &message, const std::string &part) {
    return message.find(part) != std::string::npos;
  };

  EXPECT_EQ(read({goodPlanes, lut2, lut3, lut4}), "");
  // Without lut2 the seed is 3.
  EXPECT_EQ(read({goodPlanes, lut3, lut4}), "");
  EXPECT_TRUE(
      has(read({lut2, lut3, lut4}), "missing tensor 'p.qweight.planes'"));
  EXPECT_TRUE(has(read({goodPlanes, lut2, lut3}),
                  "missing tensor 'p.qweight.lut4' (the parent-width table"));
  Tensor wrongDType = {"p.qweight.planes", DType::I8, {4, 3, 2}, planes};
  EXPECT_TRUE(has(read({wrongDType, lut2, lut3, lut4}),
                  "tensor 'p.qweight.planes' is I8 [4, 3, 2]; bit-planes are "
                  "U8 [parent_bits, rows, ceil(cols / 8)]"));
  Tensor tooMany = {
      "p.qweight.planes", DType::U8, {9, 1, 2}, std::vector<uint8_t>(18, 0)};
  EXPECT_TRUE(has(read({tooMany}), "has 9 bit-planes; parent bits must be in "
                                   "[2, 8]"));
  // 17 columns need 3 bytes per row.
  EXPECT_TRUE(has(read({goodPlanes, lut2, lut3, lut4}, 17),
                  "tensor 'p.qweight.planes' is U8 [4, 3, 2]; a 3 x 17 weight "
                  "needs U8 [4, 3, 3]"));
  Tensor badLut = {"p.qweight.lut3", DType::F16, {3, 4}, lutBytes(2)};
  EXPECT_TRUE(has(read({goodPlanes, lut2, badLut, lut4}),
                  "tensor 'p.qweight.lut3' is F16 [3, 4]; the 3-bit table of 3 "
                  "rows needs F16 [3, 8]"));
  Tensor f32Lut = {"p.qweight.lut4", DType::F32, {3, 8}, lutBytes(4)};
  EXPECT_TRUE(has(read({goodPlanes, lut2, lut3, f32Lut}),
                  "tensor 'p.qweight.lut4' is F32 [3, 8]"));
  // A pad bit (column 13 of 12) set in plane 2, row 1.
  Tensor padded = goodPlanes;
  padded.bytes[(2 * 3 + 1) * 2 + 1] |= 0x20;
  EXPECT_TRUE(has(read({padded, lut2, lut3, lut4}),
                  "tensor 'p.qweight.planes' has a non-zero pad bit in plane "
                  "2, row 1 (columns >= 12)"));
  // 12 columns read as 10: columns 10 and 11 become pad bits, and some row
  // uses them.
  EXPECT_TRUE(
      has(read({goodPlanes, lut2, lut3, lut4}, 10), "non-zero pad bit"));
  Tensor nanLut = lut3;
  uint16_t nan = 0x7E00;
  std::memcpy(&nanLut.bytes[(1 * 8 + 5) * 2], &nan, 2);
  EXPECT_TRUE(has(read({goodPlanes, lut2, nanLut, lut4}),
                  "tensor 'p.qweight.lut3' entry [1, 5] is not finite"));
}

// The bundled model's real projections: any-precision (unweighted) against
// round-to-nearest g128 at the same bits, over every projection of every
// layer, and the time the quantization takes.
TEST(AnyPrecisionTest, FixtureModelBeatsRoundToNearest) {
  auto file = SafeTensorsFile::open(
      PMPD_SOURCE_DIR "/fixtures/pmpd-tiny-llama/model.safetensors");
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  const char *projections[] = {"self_attn.q_proj", "self_attn.k_proj",
                               "self_attn.v_proj", "self_attn.o_proj",
                               "mlp.gate_proj",    "mlp.up_proj",
                               "mlp.down_proj"};
  double apError[5] = {}, rtnError[5] = {}, energy = 0, seconds = 0;
  double apBits[5] = {}, rtnBits[5] = {};
  int64_t weights = 0;
  for (int layer = 0; layer < 6; ++layer)
    for (const char *projection : projections) {
      std::string name = "model.layers." + std::to_string(layer) + "." +
                         projection + ".weight";
      const TensorView *tensor = (*file)->lookup(name);
      ASSERT_NE(tensor, nullptr) << name;
      ASSERT_EQ(tensor->shape.size(), 2u);
      int64_t rows = tensor->shape[0], cols = tensor->shape[1];
      auto w = toFloat32(*tensor);
      ASSERT_TRUE(static_cast<bool>(w)) << llvm::toString(w.takeError());
      auto start = std::chrono::steady_clock::now();
      AnyPrecisionWeight q = quantize(*w, rows, cols);
      seconds += std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - start)
                     .count();
      weights += rows * cols;
      energy += weightedSquaredError(*w, std::vector<float>(w->size()), rows,
                                     cols, {});
      for (unsigned b = 2; b <= 4; ++b) {
        apError[b] += weightedSquaredError(*w, q.dequantize(b), rows, cols, {});
        rtnError[b] += weightedSquaredError(
            *w, roundToNearest(*w, rows, cols, b), rows, cols, {});
        apBits[b] += q.bitsPerWeight(b) * rows * cols;
        rtnBits[b] += roundToNearestBitsPerWeight(b) * rows * cols;
      }
    }
  std::printf("fixture: %lld weights quantized (s=2, p=4) in %.2f s on %u "
              "threads\n",
              (long long)weights, seconds,
              llvm::parallel::strategy.compute_thread_count());
  std::printf("bits  any-precision rel. SSE (bits/w)  RTN g128 rel. SSE "
              "(bits/w)\n");
  for (unsigned b = 4; b >= 2; --b) {
    std::printf("%u     %.6f (%.3f)                 %.6f (%.3f)\n", b,
                apError[b] / energy, apBits[b] / weights, rtnError[b] / energy,
                rtnBits[b] / weights);
    EXPECT_LT(apError[b], rtnError[b]) << "bits " << b;
  }
  EXPECT_LT(apError[4], apError[3]);
  EXPECT_LT(apError[3], apError[2]);
}

} // namespace
