//===- AttentionTest.cpp - The attention kernel against float64 ----------===//
//
// pmpd_attention_f32 (every implementation this machine runs) against a
// float64 computation of its definition: decode (one token) and prefill
// (several tokens, causal) at start positions 0 and later, grouped-query head
// mappings, head sizes of the vectorized path and one that falls back to the
// scalar loop, position counts around the 16-position blocks. Cache rows no
// query may read (later positions, other layers) are NaN, so reading one
// shows in the result.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/Kernels.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace pmpd;

namespace {

struct Case {
  int64_t tokens, start, heads, kvHeads, headDim;
};

constexpr int64_t kLayers = 3, kMaxPositions = 80, kLayer = 1;

struct Problem {
  Case c;
  std::vector<float> query, keys, values;

  Problem(const Case &c, std::mt19937 &rng) : c(c) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    query.resize(c.tokens * c.heads * c.headDim);
    for (float &x : query)
      x = 2.0f * normal(rng); // Peaked softmaxes, not only flat ones.
    size_t cache = size_t(kLayers * kMaxPositions * c.kvHeads * c.headDim);
    keys.assign(cache, NAN);
    values.assign(cache, NAN);
    for (int64_t p = 0; p < c.start + c.tokens; ++p)
      for (int64_t i = 0; i < c.kvHeads * c.headDim; ++i) {
        size_t at =
            size_t((kLayer * kMaxPositions + p) * c.kvHeads * c.headDim + i);
        keys[at] = normal(rng);
        values[at] = normal(rng);
      }
  }

  std::vector<double> reference() const {
    int64_t d = c.headDim, group = c.heads / c.kvHeads;
    std::vector<double> out(c.tokens * c.heads * d, 0.0);
    for (int64_t t = 0; t < c.tokens; ++t)
      for (int64_t h = 0; h < c.heads; ++h) {
        int64_t g = h / group, positions = c.start + t + 1;
        auto row = [&](const std::vector<float> &cache, int64_t p) {
          return &cache[(kLayer * kMaxPositions + p) * c.kvHeads * d + g * d];
        };
        const float *q = &query[(t * c.heads + h) * d];
        std::vector<double> score(positions);
        double maxScore = -INFINITY, sum = 0;
        for (int64_t p = 0; p < positions; ++p) {
          double dot = 0;
          for (int64_t i = 0; i < d; ++i)
            dot += double(q[i]) * row(keys, p)[i];
          score[p] = dot / std::sqrt(double(d));
          maxScore = std::max(maxScore, score[p]);
        }
        for (double &s : score)
          sum += s = std::exp(s - maxScore);
        double *o = &out[(t * c.heads + h) * d];
        for (int64_t p = 0; p < positions; ++p)
          for (int64_t i = 0; i < d; ++i)
            o[i] += score[p] / sum * row(values, p)[i];
      }
    return out;
  }

  std::vector<float> run() const {
    std::vector<float> out(c.tokens * c.heads * c.headDim, NAN);
    pmpd_attention_f32(query.data(), c.tokens, c.heads, keys.data(),
                       values.data(), kLayer, kMaxPositions, c.kvHeads,
                       c.headDim, c.start, out.data());
    return out;
  }
};

std::vector<KernelISA> availableISAs() {
  std::vector<KernelISA> isas = {KernelISA::Scalar};
  if (forceKernelISA(KernelISA::AVX512))
    isas.push_back(KernelISA::AVX512);
  return isas;
}

class AttentionTest : public ::testing::TestWithParam<Case> {
protected:
  void TearDown() override {
    forceKernelISA(KernelISA::AVX512) || forceKernelISA(KernelISA::Scalar);
    pmpd_set_num_threads(0);
  }
};

TEST_P(AttentionTest, MatchesFloat64Definition) {
  const Case &c = GetParam();
  std::mt19937 rng(c.tokens * 1000 + c.start * 10 + c.headDim);
  Problem problem(c, rng);
  std::vector<double> ref = problem.reference();
  for (KernelISA isa : availableISAs()) {
    ASSERT_TRUE(forceKernelISA(isa));
    std::vector<float> out = problem.run();
    double num = 0, den = 0, worst = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      ASSERT_TRUE(std::isfinite(out[i]))
          << "element " << i << " isa " << int(isa);
      num += (out[i] - ref[i]) * (out[i] - ref[i]);
      den += ref[i] * ref[i];
      worst = std::max(worst, std::fabs(out[i] - ref[i]));
    }
    EXPECT_LT(std::sqrt(num / den), 1e-5) << "isa " << int(isa);
    EXPECT_LT(worst, 1e-4) << "isa " << int(isa);
  }
}

TEST_P(AttentionTest, ResultIndependentOfThreadCount) {
  const Case &c = GetParam();
  std::mt19937 rng(c.tokens + c.headDim);
  Problem problem(c, rng);
  pmpd_set_num_threads(1);
  std::vector<float> one = problem.run();
  pmpd_set_num_threads(3);
  EXPECT_EQ(one, problem.run()); // Pairs are independent: bit-identical.
}

std::vector<Case> allCases() {
  std::vector<Case> cases;
  for (int64_t headDim : {64, 32, 128, 40})
    for (int64_t start : {0, 15, 33})
      for (int64_t tokens : {1, 4, 17})
        cases.push_back({tokens, start, 8, 4, headDim});
  cases.push_back({1, 63, 8, 8, 64}); // One KV head per query head.
  cases.push_back({5, 0, 8, 1, 64});  // One KV head for all.
  cases.push_back({1, 0, 2, 2, 96});  // One position.
  cases.push_back({3, 10, 8, 2, 32}); // Four heads per register group.
  return cases;
}

std::string caseName(const ::testing::TestParamInfo<Case> &info) {
  const Case &c = info.param;
  return "t" + std::to_string(c.tokens) + "_s" + std::to_string(c.start) +
         "_h" + std::to_string(c.heads) + "_kv" + std::to_string(c.kvHeads) +
         "_d" + std::to_string(c.headDim);
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionTest, ::testing::ValuesIn(allCases()),
                         caseName);

} // namespace
