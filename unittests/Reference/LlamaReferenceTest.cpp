//===- LlamaReferenceTest.cpp - Tests of the fp32 reference forward pass --===//
//
// The reference is what everything else is compared with, so it is checked
// against outside evidence: Hugging Face's logits and greedy tokens for the
// fixture model, the perplexity that scripts/eval_ppl.py (numpy, sharing no
// code) computes, and, for the paths the fixture does not exercise (q/k/v
// bias, tied embeddings, ragged sizes), a naive double-precision forward pass
// written here from the Hugging Face definitions.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Reference/LlamaReference.h"
#include "pmpd/Reference/Documents.h"
#include "pmpd/Reference/Gemm.h"
#include "pmpd/Tokenizer/Tokenizer.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

using namespace llvm;
using namespace pmpd;

namespace {

const char *const kFixtureModel = PMPD_SOURCE_DIR "/fixtures/pmpd-tiny-llama";
const char *const kRefs = PMPD_SOURCE_DIR "/fixtures/refs";
const char *const kDocsVal = PMPD_SOURCE_DIR "/fixtures/docs-val.jsonl.xz";

constexpr Projection kAll[] = {
    Projection::Q,    Projection::K,  Projection::V,   Projection::O,
    Projection::Gate, Projection::Up, Projection::Down};

#define ASSERT_OK_AND_ASSIGN(var, expr)                                        \
  auto var##OrErr = (expr);                                                    \
  ASSERT_TRUE(bool(var##OrErr)) << toString(var##OrErr.takeError());           \
  auto &var = *var##OrErr

/// The message of an error that is expected.
std::string errorMessage(Error e) {
  EXPECT_TRUE(bool(e)) << "expected an error";
  return toString(std::move(e));
}
template <typename T> std::string errorMessage(Expected<T> v) {
  EXPECT_FALSE(bool(v)) << "expected an error";
  return v ? std::string() : toString(v.takeError());
}

class TempDir {
public:
  TempDir() {
    std::error_code ec = sys::fs::createUniqueDirectory("pmpd-ref-test", dir);
    EXPECT_FALSE(ec) << ec.message();
  }
  ~TempDir() { sys::fs::remove_directories(dir); }
  std::string path(StringRef name) const {
    SmallString<256> p(dir);
    sys::path::append(p, name);
    return std::string(p);
  }

private:
  SmallString<256> dir;
};

void writeFile(const std::string &path, StringRef bytes) {
  std::error_code ec;
  raw_fd_ostream os(path, ec);
  ASSERT_FALSE(ec) << ec.message();
  os << bytes;
}

json::Value readJSON(const std::string &path) {
  auto buffer = MemoryBuffer::getFile(path);
  EXPECT_TRUE(bool(buffer)) << path;
  if (!buffer)
    return nullptr;
  Expected<json::Value> v = json::parse((*buffer)->getBuffer());
  EXPECT_TRUE(bool(v)) << path;
  return v ? std::move(*v) : json::Value(nullptr);
}

std::vector<int32_t> idsOf(const json::Value &v) {
  std::vector<int32_t> ids;
  for (const json::Value &e : *v.getAsArray())
    ids.push_back(int32_t(*e.getAsInteger()));
  return ids;
}

/// A little-endian float32 .npy file: its shape and data.
struct Npy {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

Expected<Npy> readNpy(const std::string &path) {
  auto fail = [&](const Twine &msg) {
    return createStringError(inconvertibleErrorCode(), path + ": " + msg);
  };
  auto buffer = MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buffer)
    return fail("cannot read");
  StringRef bytes = (*buffer)->getBuffer();
  if (!bytes.starts_with("\x93NUMPY") || bytes.size() < 10)
    return fail("not an .npy file");
  uint8_t major = bytes[6];
  size_t headerLen, offset;
  if (major == 1) {
    headerLen = uint8_t(bytes[8]) | uint8_t(bytes[9]) << 8;
    offset = 10;
  } else {
    if (bytes.size() < 12)
      return fail("truncated header");
    headerLen = 0;
    for (int i = 0; i < 4; ++i)
      headerLen |= size_t(uint8_t(bytes[8 + i])) << (8 * i);
    offset = 12;
  }
  if (offset + headerLen > bytes.size())
    return fail("truncated header");
  StringRef header = bytes.substr(offset, headerLen);
  if (!header.contains("'descr': '<f4'") ||
      !header.contains("'fortran_order': False"))
    return fail("not a C-ordered little-endian float32 array: " + header);
  size_t open = header.find("'shape': (");
  if (open == StringRef::npos)
    return fail("no shape");
  StringRef dims = header.substr(open + 10);
  dims = dims.take_until([](char c) { return c == ')'; });
  Npy npy;
  int64_t count = 1;
  SmallVector<StringRef> parts;
  dims.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (StringRef part : parts) {
    int64_t d;
    if (part.trim().getAsInteger(10, d))
      return fail("bad shape " + dims);
    npy.shape.push_back(d);
    count *= d;
  }
  StringRef payload = bytes.substr(offset + headerLen);
  if (payload.size() != size_t(count) * 4)
    return fail("data size does not match the shape");
  npy.data.resize(count);
  std::memcpy(npy.data.data(), payload.data(), payload.size());
  return npy;
}

//===----------------------------------------------------------------------===//
// GEMM
//===----------------------------------------------------------------------===//

std::vector<float> randomVector(int64_t n, std::mt19937 &rng,
                                float scale = 1.0f) {
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

TEST(Gemm, MatchesNaiveProductOnRaggedShapes) {
  std::mt19937 rng(1);
  // Rows around the 6-row kernel and 96-row task block, columns around the
  // 16-wide panel, depths around the 256-deep K chunk.
  for (int64_t m : {1, 5, 6, 7, 97, 200})
    for (int64_t n : {1, 15, 16, 17, 40, 130})
      for (int64_t k : {0, 1, 31, 256, 300, 513}) {
        std::vector<float> x = randomVector(m * (k + 3), rng);
        std::vector<float> w = randomVector(n * k, rng);
        std::vector<float> bias = randomVector(n, rng);
        PackedMatrix packed = PackedMatrix::fromRowsNK(w.data(), n, k);
        ASSERT_EQ(packed.rows(), k);
        ASSERT_EQ(packed.cols(), n);
        EXPECT_EQ(packed.unpackRowsNK(), w);
        for (bool withBias : {false, true}) {
          // Y rows have a stride past n: columns beyond n must not be
          // touched.
          int64_t ldy = n + 5;
          std::vector<float> y(m * ldy, 42.0f);
          gemm(x.data(), k + 3, packed, withBias ? bias.data() : nullptr,
               y.data(), ldy, m, /*parallel=*/(m + n) % 2 == 0);
          for (int64_t i = 0; i < m; ++i) {
            for (int64_t j = 0; j < n; ++j) {
              double ref = withBias ? bias[j] : 0.0;
              for (int64_t l = 0; l < k; ++l)
                ref += double(x[i * (k + 3) + l]) * w[j * k + l];
              ASSERT_NEAR(y[i * ldy + j], ref, 1e-4 * (1 + std::sqrt(k)))
                  << "m=" << m << " n=" << n << " k=" << k << " at " << i << ","
                  << j;
            }
            for (int64_t j = n; j < ldy; ++j)
              ASSERT_EQ(y[i * ldy + j], 42.0f) << "wrote past column n";
          }
        }
      }
}

TEST(Gemm, PartialUsesLeadingRowsAndColumnsOfB) {
  std::mt19937 rng(2);
  const int64_t m = 9, k = 70, n = 50, ldb = 53;
  std::vector<float> b = randomVector(k * ldb, rng);
  PackedMatrix packed = PackedMatrix::fromKN(b.data(), k, n, ldb);
  std::vector<float> x = randomVector(m * k, rng);
  for (auto [kk, nn] : {std::pair<int64_t, int64_t>{70, 50},
                        {33, 17},
                        {1, 1},
                        {0, 20},
                        {64, 48}}) {
    std::vector<float> y(m * nn, -1.0f);
    gemmPartial(x.data(), k, packed, kk, nn, nullptr, y.data(), nn, m);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < nn; ++j) {
        double ref = 0.0;
        for (int64_t l = 0; l < kk; ++l)
          ref += double(x[i * k + l]) * b[l * ldb + j];
        ASSERT_NEAR(y[i * nn + j], ref, 1e-4) << kk << "x" << nn;
      }
  }
}

//===----------------------------------------------------------------------===//
// The fixture model against Hugging Face's outputs
//===----------------------------------------------------------------------===//

class FixtureTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    Expected<std::unique_ptr<HFModel>> model = HFModel::open(kFixtureModel);
    ASSERT_TRUE(bool(model)) << toString(model.takeError());
    Expected<std::unique_ptr<LlamaReference>> ref =
        LlamaReference::create(**model);
    ASSERT_TRUE(bool(ref)) << toString(ref.takeError());
    reference = std::move(*ref);
  }
  static void TearDownTestSuite() { reference.reset(); }

  static int32_t argmax(const float *row, int64_t n) {
    return int32_t(std::max_element(row, row + n) - row);
  }

  static std::unique_ptr<LlamaReference> reference;
};
std::unique_ptr<LlamaReference> FixtureTest::reference;

TEST_F(FixtureTest, LogitsMatchHuggingFace) {
  ASSERT_TRUE(reference);
  json::Value greedy = readJSON(std::string(kRefs) + "/ref_greedy.json");
  std::vector<int32_t> prompt =
      idsOf((*greedy.getAsObject()->getArray("prompts"))[0]);
  ASSERT_EQ(prompt.size(), 48u);
  ASSERT_OK_AND_ASSIGN(npy,
                       readNpy(std::string(kRefs) + "/ref_logits_prompt0.npy"));
  ASSERT_EQ(npy.shape, (std::vector<int64_t>{1, 48, 8192}));

  auto start = std::chrono::steady_clock::now();
  std::vector<float> logits = reference->forward(prompt);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  ASSERT_EQ(logits.size(), npy.data.size());
  double maxDiff = 0.0;
  for (size_t i = 0; i < logits.size(); ++i)
    maxDiff = std::max(maxDiff, double(std::fabs(logits[i] - npy.data[i])));
  // HF ran the fp16 model in fp16 (fp32 accumulation); we run its weights in
  // fp32 throughout.
  EXPECT_LT(maxDiff, 0.05);
  std::printf("[ measure  ] prompt 0: max |logit - HF| = %.4g (%.3f s)\n",
              maxDiff, seconds);
}

TEST_F(FixtureTest, GreedyDecodingMatchesHuggingFace) {
  ASSERT_TRUE(reference);
  json::Value greedy = readJSON(std::string(kRefs) + "/ref_greedy.json");
  const json::Array &prompts = *greedy.getAsObject()->getArray("prompts");
  const json::Array &outputs = *greedy.getAsObject()->getArray("greedy_ids");
  ASSERT_EQ(prompts.size(), 8u);
  const int64_t V = reference->config().vocabSize, steps = 16;
  int matched = 0, nearTies = 0;
  for (size_t p = 0; p < prompts.size(); ++p) {
    std::vector<int32_t> seq = idsOf(prompts[p]);
    std::vector<int32_t> expected = idsOf(outputs[p]);
    ASSERT_GE(expected.size(), size_t(steps));
    for (int64_t s = 0; s < steps; ++s) {
      std::vector<float> logits = reference->forward(seq);
      const float *last = logits.data() + (seq.size() - 1) * V;
      int32_t ours = argmax(last, V);
      if (ours == expected[s]) {
        ++matched;
      } else {
        // A disagreement is acceptable only where fp16 rounding can flip
        // the order: our top two logits nearly tie.
        std::vector<float> row(last, last + V);
        std::partial_sort(row.begin(), row.begin() + 2, row.end(),
                          std::greater<float>());
        EXPECT_LT(row[0] - row[1], 0.1f)
            << "prompt " << p << " step " << s << ": ours " << ours << ", HF "
            << expected[s];
        ++nearTies;
      }
      // Follow HF's tokens so that later steps are still comparable.
      seq.push_back(expected[s]);
    }
  }
  std::printf("[ measure  ] greedy: %d of %d tokens equal, %d near ties\n",
              matched, int(prompts.size() * steps), nearTies);
}

/// Records every call, and checks the first layer's Q input independently:
/// it must be RMSNorm(embedding) with the layer's input_layernorm weight.
struct RecordingObserver : ProjectionObserver {
  struct Call {
    int64_t layer;
    Projection p;
    int64_t tokens, features;
    double sum;
  };
  std::vector<Call> calls;
  std::vector<float> firstQInput;
  void observe(int64_t layer, Projection p, const float *x, int64_t tokens,
               int64_t features) override {
    double sum = 0.0;
    for (int64_t i = 0; i < tokens * features; ++i)
      sum += x[i];
    calls.push_back({layer, p, tokens, features, sum});
    if (layer == 0 && p == Projection::Q)
      firstQInput.assign(x, x + tokens * features);
  }
};

TEST_F(FixtureTest, ObserverSeesEveryProjectionInput) {
  ASSERT_TRUE(reference);
  const ModelConfig &c = reference->config();
  std::vector<int32_t> ids = {1, 300, 17, 4000, 8191, 5, 5, 0, 2, 123};
  RecordingObserver observer;
  std::vector<float> observed = reference->forward(ids, &observer);
  EXPECT_EQ(observed, reference->forward(ids)) << "observing changed logits";

  ASSERT_EQ(observer.calls.size(), size_t(kNumProjections * c.numLayers));
  for (int64_t l = 0; l < c.numLayers; ++l)
    for (unsigned i = 0; i < kNumProjections; ++i) {
      const RecordingObserver::Call &call =
          observer.calls[l * kNumProjections + i];
      EXPECT_EQ(call.layer, l);
      EXPECT_EQ(call.p, kAll[i]);
      EXPECT_EQ(call.tokens, int64_t(ids.size()));
      EXPECT_EQ(call.features, projectionShape(c, kAll[i]).second);
    }
  // Q, K and V share an input, as do Gate and Up.
  for (int64_t l = 0; l < c.numLayers; ++l) {
    const auto *call = &observer.calls[l * kNumProjections];
    EXPECT_EQ(call[0].sum, call[1].sum);
    EXPECT_EQ(call[0].sum, call[2].sum);
    EXPECT_EQ(call[4].sum, call[5].sum);
  }

  ASSERT_OK_AND_ASSIGN(model, HFModel::open(kFixtureModel));
  ASSERT_OK_AND_ASSIGN(embed, model->tensorF32("model.embed_tokens.weight"));
  ASSERT_OK_AND_ASSIGN(
      norm, model->tensorF32("model.layers.0.input_layernorm.weight"));
  const int64_t H = c.hiddenSize;
  ASSERT_EQ(observer.firstQInput.size(), ids.size() * H);
  for (size_t t = 0; t < ids.size(); ++t) {
    const float *e = embed.data() + ids[t] * H;
    double ms = 0.0;
    for (int64_t i = 0; i < H; ++i)
      ms += double(e[i]) * e[i] / H;
    for (int64_t i = 0; i < H; ++i)
      ASSERT_NEAR(observer.firstQInput[t * H + i],
                  e[i] / std::sqrt(ms + c.rmsNormEps) * norm[i], 1e-5);
  }
}

TEST_F(FixtureTest, ReplacingProjections) {
  ASSERT_TRUE(reference);
  const ModelConfig &c = reference->config();
  std::vector<int32_t> ids = {1, 42, 43, 44, 45, 46, 47, 48};
  std::vector<float> before = reference->forward(ids);

  // projection() gives back the loaded weights.
  ASSERT_OK_AND_ASSIGN(model, HFModel::open(kFixtureModel));
  for (Projection p : kAll) {
    ASSERT_OK_AND_ASSIGN(w, model->tensorF32(projectionTensorName(3, p)));
    EXPECT_EQ(reference->projection(3, p), w) << projectionName(p).str();
  }

  for (Projection p : kAll) {
    std::vector<float> original = reference->projection(2, p);
    auto [rows, cols] = projectionShape(c, p);
    ASSERT_FALSE(bool(
        reference->setProjection(2, p, std::vector<float>(rows * cols, 0.0f))));
    std::vector<float> zeroed = reference->forward(ids);
    double diff = 0.0;
    for (size_t i = 0; i < before.size(); ++i)
      diff = std::max(diff, double(std::fabs(zeroed[i] - before[i])));
    EXPECT_GT(diff, 1e-3) << "zeroing " << projectionName(p).str()
                          << " did not change the logits";
    ASSERT_FALSE(bool(reference->setProjection(2, p, original)));
    EXPECT_EQ(reference->forward(ids), before)
        << "restoring " << projectionName(p).str();
  }

  // Zeroing V of every layer removes attention's contribution entirely, so
  // the logits of a token no longer depend on the tokens before it.
  std::vector<std::vector<float>> saved;
  for (int64_t l = 0; l < c.numLayers; ++l) {
    saved.push_back(reference->projection(l, Projection::V));
    auto [rows, cols] = projectionShape(c, Projection::V);
    ASSERT_FALSE(bool(reference->setProjection(
        l, Projection::V, std::vector<float>(rows * cols, 0.0f))));
  }
  std::vector<float> a = reference->forward({1, 7, 99});
  std::vector<float> b = reference->forward({1, 8000, 99});
  const int64_t V = c.vocabSize;
  for (int64_t j = 0; j < V; ++j)
    ASSERT_NEAR(a[2 * V + j], b[2 * V + j], 1e-4);
  for (int64_t l = 0; l < c.numLayers; ++l)
    ASSERT_FALSE(bool(reference->setProjection(l, Projection::V, saved[l])));
  EXPECT_EQ(reference->forward(ids), before);

  EXPECT_EQ(errorMessage(reference->setProjection(
                6, Projection::Q, std::vector<float>(512 * 512))),
            "setProjection: layer 6 out of range (the model has 6)");
  EXPECT_EQ(errorMessage(reference->setProjection(-1, Projection::Q, {})),
            "setProjection: layer -1 out of range (the model has 6)");
  EXPECT_EQ(errorMessage(reference->setProjection(
                0, Projection::K, std::vector<float>(512 * 512))),
            "setProjection: model.layers.0.self_attn.k_proj.weight must have "
            "256x512 = 131072 elements, got 262144");
  EXPECT_EQ(reference->forward(ids), before) << "a failed set changed weights";
}

TEST_F(FixtureTest, SequenceNLLIsLogSoftmaxOfForward) {
  ASSERT_TRUE(reference);
  std::vector<int32_t> ids = {1, 2000, 77, 1234, 9, 8000, 31};
  std::vector<float> logits = reference->forward(ids);
  const int64_t V = reference->config().vocabSize;
  double expected = 0.0;
  for (size_t t = 0; t + 1 < ids.size(); ++t) {
    double sum = 0.0;
    for (int64_t j = 0; j < V; ++j)
      sum += std::exp(double(logits[t * V + j]));
    expected += std::log(sum) - logits[t * V + ids[t + 1]];
  }
  int64_t count = -1;
  EXPECT_NEAR(reference->sequenceNLL(ids, count), expected, 1e-6 * expected);
  EXPECT_EQ(count, int64_t(ids.size() - 1));
  EXPECT_EQ(reference->sequenceNLL({1}, count), 0.0);
  EXPECT_EQ(count, 0);
  EXPECT_EQ(reference->sequenceNLL({}, count), 0.0);
  EXPECT_EQ(count, 0);
  EXPECT_TRUE(reference->forward({}).empty());
}

// Backpropagation against central differences of sequenceNLL, on the
// largest gradient entries of every projection of the first and last layer.
TEST_F(FixtureTest, ProjectionGradientsMatchFiniteDifferences) {
  ASSERT_TRUE(reference);
  const ModelConfig &c = reference->config();
  std::vector<int32_t> ids = {1, 2000, 77, 1234, 9, 8000, 31, 415, 16, 2};
  std::map<std::pair<int64_t, Projection>, std::vector<float>> gradients;
  int calls = 0;
  ASSERT_FALSE(bool(reference->projectionGradients(
      ids, [&](int64_t layer, Projection p, llvm::ArrayRef<float> g) {
        ++calls;
        if (layer == 0 || layer == c.numLayers - 1)
          gradients[{layer, p}].assign(g.begin(), g.end());
      })));
  EXPECT_EQ(calls, c.numLayers * int(std::size(kAll)));

  int64_t count = 0;
  for (auto &[key, g] : gradients) {
    auto [layer, p] = key;
    auto [rows, cols] = projectionShape(c, p);
    ASSERT_EQ(int64_t(g.size()), rows * cols);
    std::vector<float> w = reference->projection(layer, p);
    // The three entries of largest gradient.
    std::vector<size_t> order(g.size());
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(
        order.begin(), order.begin() + 3, order.end(),
        [&](size_t a, size_t b) { return std::fabs(g[a]) > std::fabs(g[b]); });
    for (size_t i : llvm::ArrayRef(order).take_front(3)) {
      const float eps = 1e-2f;
      std::vector<float> shifted = w;
      shifted[i] = w[i] + eps;
      ASSERT_FALSE(bool(reference->setProjection(layer, p, shifted)));
      double plus = reference->sequenceNLL(ids, count);
      shifted[i] = w[i] - eps;
      ASSERT_FALSE(bool(reference->setProjection(layer, p, shifted)));
      double minus = reference->sequenceNLL(ids, count);
      double numeric = (plus - minus) / (2 * eps);
      EXPECT_NEAR(g[i], numeric, 0.01 * std::fabs(numeric) + 1e-3)
          << "layer " << layer << " " << projectionName(p).str() << " entry "
          << i;
    }
    ASSERT_FALSE(bool(reference->setProjection(layer, p, w)));
  }

  auto ignore = [](int64_t, Projection, llvm::ArrayRef<float>) {};
  llvm::Error tooShort = reference->projectionGradients({1}, ignore);
  EXPECT_NE(llvm::toString(std::move(tooShort)).find("at least 2 ids"),
            std::string::npos);
  llvm::Error bad =
      reference->projectionGradients({1, int32_t(c.vocabSize)}, ignore);
  EXPECT_NE(llvm::toString(std::move(bad)).find("outside the vocabulary"),
            std::string::npos);
}

TEST_F(FixtureTest, CheckIdsNamesTheBadId) {
  ASSERT_TRUE(reference);
  EXPECT_FALSE(bool(reference->checkIds({0, 1, 8191})));
  EXPECT_EQ(errorMessage(reference->checkIds({1, 2, 8192})),
            "token id 8192 at position 2 is outside the vocabulary (size "
            "8192)");
  EXPECT_EQ(errorMessage(reference->checkIds({-3})),
            "token id -3 at position 0 is outside the vocabulary (size 8192)");
}

//===----------------------------------------------------------------------===//
// Perplexity against scripts/eval_ppl.py
//===----------------------------------------------------------------------===//

TEST_F(FixtureTest, PerplexityOfTokenizedDocumentsMatchesNumpy) {
  ASSERT_TRUE(reference);
  // The reference tokenizer's ids of 40 val documents; the first 10 give,
  // with `scripts/eval_ppl.py fixtures/pmpd-tiny-llama --ids-json
  // fixtures/refs/tokenizer-val.json --max-docs 10`, ppl 27.75925 over 3795
  // tokens (test/Reference/eval-ppl-ids.test checks that number).
  json::Value val = readJSON(std::string(kRefs) + "/tokenizer-val.json");
  std::vector<std::vector<int32_t>> docs;
  for (const json::Value &doc : *val.getAsObject()->getArray("docs")) {
    docs.push_back(idsOf(*doc.getAsObject()->get("ids")));
    if (docs.size() == 10)
      break;
  }
  ASSERT_OK_AND_ASSIGN(result, evaluatePerplexity(*reference, docs));
  EXPECT_EQ(result.tokens, 3795);
  EXPECT_EQ(result.documents, 10);
  EXPECT_NEAR(result.perplexity(), 27.75925, 27.75925 * 1e-5);
}

TEST_F(FixtureTest, PerplexityProtocolTruncatesAndSkips) {
  ASSERT_TRUE(reference);
  std::vector<int32_t> longDoc(600), shortDoc(31), edgeDoc(32);
  for (size_t i = 0; i < longDoc.size(); ++i)
    longDoc[i] = int32_t(1 + (i * 131) % 8000);
  std::copy_n(longDoc.begin(), 31, shortDoc.begin());
  std::copy_n(longDoc.begin() + 100, 32, edgeDoc.begin());
  ASSERT_OK_AND_ASSIGN(
      result, evaluatePerplexity(*reference, {longDoc, shortDoc, edgeDoc}));
  EXPECT_EQ(result.documents, 2);
  EXPECT_EQ(result.tokens, 511 + 31);
  int64_t n1, n2;
  double expected =
      reference->sequenceNLL(ArrayRef<int32_t>(longDoc).take_front(512), n1) +
      reference->sequenceNLL(edgeDoc, n2);
  EXPECT_NEAR(result.totalNLL, expected, 1e-9 * expected);
  EXPECT_NEAR(result.perplexity(), std::exp(expected / 542), 1e-9);

  PerplexityOptions options;
  options.maxLength = 40;
  options.minLength = 2;
  ASSERT_OK_AND_ASSIGN(
      small, evaluatePerplexity(*reference, {longDoc, shortDoc}, options));
  EXPECT_EQ(small.documents, 2);
  EXPECT_EQ(small.tokens, 39 + 30);

  ASSERT_OK_AND_ASSIGN(none, evaluatePerplexity(*reference, {shortDoc}));
  EXPECT_EQ(none.tokens, 0);
  EXPECT_TRUE(std::isnan(none.perplexity()));

  std::vector<int32_t> bad = edgeDoc;
  bad[20] = 9000;
  EXPECT_EQ(errorMessage(evaluatePerplexity(*reference, {edgeDoc, bad})),
            "perplexity: document 1: token id 9000 at position 20 is outside "
            "the vocabulary (size 8192)");
  // Beyond the truncation point a bad id is never read.
  std::vector<int32_t> badTail = longDoc;
  badTail[550] = -1;
  EXPECT_TRUE(bool(evaluatePerplexity(*reference, {badTail})));
  options.minLength = 1;
  EXPECT_EQ(errorMessage(evaluatePerplexity(*reference, {edgeDoc}, options)),
            "perplexity: maximum and minimum document lengths must be at "
            "least 2");
}

/// The whole protocol on docs-val, against fixtures/README.md: 18.579 over
/// 42,336 tokens (scripts/eval_ppl.py gives 18.578839).
TEST_F(FixtureTest, PerplexityOfDocsVal) {
  ASSERT_TRUE(reference);
  auto start = std::chrono::steady_clock::now();
  ASSERT_OK_AND_ASSIGN(texts, readJsonlTexts(kDocsVal));
  ASSERT_EQ(texts.size(), 95u);
  ASSERT_OK_AND_ASSIGN(tokenizer, Tokenizer::load(kFixtureModel));
  std::vector<std::vector<int32_t>> docs;
  for (const std::string &text : texts) {
    ASSERT_OK_AND_ASSIGN(ids, tokenizer->encode(text));
    docs.push_back(std::move(ids));
  }
  ASSERT_OK_AND_ASSIGN(result, evaluatePerplexity(*reference, docs));
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_EQ(result.tokens, 42336);
  EXPECT_NEAR(result.perplexity(), 18.578839, 18.578839 * 1e-5);
  std::printf("[ measure  ] docs-val: ppl %.6f over %lld tokens, %lld docs, "
              "%.1f s (%.0f tokens/s)\n",
              result.perplexity(), (long long)result.tokens,
              (long long)result.documents, seconds, result.tokens / seconds);
}

TEST_F(FixtureTest, ForwardThroughput) {
  ASSERT_TRUE(reference);
  std::vector<int32_t> ids(512);
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = int32_t((i * 37 + 5) % 8192);
  double best = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    auto start = std::chrono::steady_clock::now();
    std::vector<float> logits = reference->forward(ids);
    best = std::min(best, std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - start)
                              .count());
    ASSERT_TRUE(std::isfinite(logits.back()));
  }
  std::printf("[ measure  ] forward of 512 tokens: %.3f s (%.0f tokens/s)\n",
              best, 512 / best);
  // Generous: two shared cores take ~0.2 s.
  EXPECT_LT(best, 5.0);
}

//===----------------------------------------------------------------------===//
// Synthetic models against a naive double-precision forward pass
//===----------------------------------------------------------------------===//

struct SyntheticSpec {
  StringRef arch;
  bool tied;
  bool bias;
};

void PrintTo(const SyntheticSpec &spec, std::ostream *os) {
  *os << spec.arch.str() << (spec.tied ? " tied" : "")
      << (spec.bias ? " bias" : "");
}

/// Writes a small model with random fp32 weights and ragged sizes (vocab and
/// FFN not multiples of 16, head_dim 12) to `dir`.
void writeSyntheticModel(const TempDir &dir, const SyntheticSpec &spec,
                         ModelConfig &config) {
  std::string json;
  raw_string_ostream os(json);
  os << "{\"architectures\": [\"" << spec.arch << "\"], "
     << "\"hidden_size\": 48, \"intermediate_size\": 40, "
     << "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
     << "\"num_key_value_heads\": 2, \"vocab_size\": 37, "
     << "\"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-5, "
     << "\"rope_theta\": 500.0, \"hidden_act\": \"silu\", "
     << "\"tie_word_embeddings\": " << (spec.tied ? "true" : "false");
  if (spec.arch == "Qwen2ForCausalLM")
    os << ", \"attention_bias\": " << (spec.bias ? "true" : "false");
  os << "}";
  writeFile(dir.path("config.json"), json);
  Expected<ModelConfig> parsed = ModelConfig::parse(json, "config.json");
  ASSERT_TRUE(bool(parsed)) << toString(parsed.takeError());
  config = *parsed;

  std::mt19937 rng(7);
  SafeTensorsWriter writer;
  for (const TensorSpec &t : expectedTensors(config)) {
    int64_t n = 1;
    for (int64_t d : t.shape)
      n *= d;
    bool isNorm = StringRef(t.name).ends_with("norm.weight");
    std::vector<float> v = randomVector(n, rng, isNorm ? 0.5f : 0.4f);
    if (isNorm)
      for (float &x : v)
        x += 1.0f;
    writer.addTensor(
        t.name, DType::F32, t.shape,
        ArrayRef<uint8_t>(reinterpret_cast<uint8_t *>(v.data()), v.size() * 4));
  }
  Error e = writer.write(dir.path("model.safetensors"));
  ASSERT_FALSE(bool(e)) << toString(std::move(e));
}

/// Logits [T, vocab] in double, straight from the Hugging Face modeling code:
/// no packing, no blocking, full attention matrix with an explicit mask.
std::vector<double> naiveForward(const HFModel &model, ArrayRef<int32_t> ids) {
  const ModelConfig &c = model.config();
  auto get = [&](const std::string &name) {
    Expected<std::vector<float>> t = model.tensorF32(name);
    EXPECT_TRUE(bool(t)) << name;
    if (!t) {
      consumeError(t.takeError());
      return std::vector<double>();
    }
    return std::vector<double>(t->begin(), t->end());
  };
  using Mat = std::vector<std::vector<double>>;
  const int64_t T = ids.size(), H = c.hiddenSize, D = c.headDim;
  auto linear = [&](const Mat &x, const std::vector<double> &w, int64_t out,
                    const std::vector<double> *b) {
    int64_t in = w.size() / out;
    Mat y(x.size(), std::vector<double>(out));
    for (size_t t = 0; t < x.size(); ++t)
      for (int64_t o = 0; o < out; ++o) {
        double s = b ? (*b)[o] : 0.0;
        for (int64_t i = 0; i < in; ++i)
          s += x[t][i] * w[o * in + i];
        y[t][o] = s;
      }
    return y;
  };
  auto norm = [&](const Mat &x, const std::vector<double> &w) {
    Mat y = x;
    for (auto &row : y) {
      double ms = 0.0;
      for (double v : row)
        ms += v * v / row.size();
      for (size_t i = 0; i < row.size(); ++i)
        row[i] = row[i] / std::sqrt(ms + c.rmsNormEps) * w[i];
    }
    return y;
  };
  auto rope = [&](Mat &x, int64_t heads) {
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < heads; ++h) {
        std::vector<double> v(x[t].begin() + h * D, x[t].begin() + (h + 1) * D);
        for (int64_t i = 0; i < D; ++i) {
          int64_t f = i % (D / 2);
          double angle = t * std::pow(c.ropeTheta, -2.0 * f / D);
          // rotate_half(v) = cat(-v[D/2:], v[:D/2])
          double rotated = i < D / 2 ? -v[i + D / 2] : v[i - D / 2];
          x[t][h * D + i] = v[i] * std::cos(angle) + rotated * std::sin(angle);
        }
      }
  };

  std::vector<double> embed = get("model.embed_tokens.weight");
  Mat x(T, std::vector<double>(H));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < H; ++i)
      x[t][i] = embed[ids[t] * H + i];
  for (int64_t l = 0; l < c.numLayers; ++l) {
    std::string prefix = "model.layers." + std::to_string(l) + ".";
    auto w = [&](Projection p) { return get(projectionTensorName(l, p)); };
    auto bias = [&](StringRef n) {
      return get(prefix + "self_attn." + n.str() + "_proj.bias");
    };
    Mat h = norm(x, get(prefix + "input_layernorm.weight"));
    std::vector<double> bq, bk, bv;
    if (c.attentionBias) {
      bq = bias("q");
      bk = bias("k");
      bv = bias("v");
    }
    Mat q = linear(h, w(Projection::Q), c.numHeads * D,
                   c.attentionBias ? &bq : nullptr);
    Mat k = linear(h, w(Projection::K), c.numKVHeads * D,
                   c.attentionBias ? &bk : nullptr);
    Mat v = linear(h, w(Projection::V), c.numKVHeads * D,
                   c.attentionBias ? &bv : nullptr);
    rope(q, c.numHeads);
    rope(k, c.numKVHeads);
    Mat attn(T, std::vector<double>(c.numHeads * D, 0.0));
    for (int64_t hd = 0; hd < c.numHeads; ++hd) {
      int64_t kv = hd / (c.numHeads / c.numKVHeads);
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> s(T);
        for (int64_t u = 0; u < T; ++u) {
          double dot = 0.0;
          for (int64_t i = 0; i < D; ++i)
            dot += q[t][hd * D + i] * k[u][kv * D + i];
          s[u] = u <= t ? dot / std::sqrt(double(D)) : -INFINITY;
        }
        double m = *std::max_element(s.begin(), s.end()), z = 0.0;
        for (double &e : s)
          z += (e = std::exp(e - m));
        for (int64_t u = 0; u < T; ++u)
          for (int64_t i = 0; i < D; ++i)
            attn[t][hd * D + i] += s[u] / z * v[u][kv * D + i];
      }
    }
    Mat o = linear(attn, w(Projection::O), H, nullptr);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < H; ++i)
        x[t][i] += o[t][i];
    h = norm(x, get(prefix + "post_attention_layernorm.weight"));
    Mat g = linear(h, w(Projection::Gate), c.intermediateSize, nullptr);
    Mat u = linear(h, w(Projection::Up), c.intermediateSize, nullptr);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < c.intermediateSize; ++i)
        g[t][i] = g[t][i] / (1.0 + std::exp(-g[t][i])) * u[t][i];
    Mat d = linear(g, w(Projection::Down), H, nullptr);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < H; ++i)
        x[t][i] += d[t][i];
  }
  Mat f = norm(x, get("model.norm.weight"));
  Mat logits = linear(f, c.tieWordEmbeddings ? embed : get("lm_head.weight"),
                      c.vocabSize, nullptr);
  std::vector<double> flat;
  for (auto &row : logits)
    flat.insert(flat.end(), row.begin(), row.end());
  return flat;
}

class SyntheticTest : public ::testing::TestWithParam<SyntheticSpec> {};

TEST_P(SyntheticTest, ForwardMatchesNaiveDoublePrecision) {
  TempDir dir;
  ModelConfig config;
  writeSyntheticModel(dir, GetParam(), config);
  ASSERT_OK_AND_ASSIGN(model, HFModel::open(dir.path("")));
  EXPECT_EQ(model->config().attentionBias, GetParam().bias);
  EXPECT_EQ(model->config().tieWordEmbeddings, GetParam().tied);
  ASSERT_OK_AND_ASSIGN(ref, LlamaReference::create(*model));
  // 150 tokens: three query blocks, the last one partial.
  std::vector<int32_t> ids(150);
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = int32_t((i * 7 + i / 5) % 37);
  std::vector<float> logits = ref->forward(ids);
  std::vector<double> expected = naiveForward(*model, ids);
  ASSERT_EQ(logits.size(), expected.size());
  double maxDiff = 0.0, maxAbs = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    maxDiff = std::max(maxDiff, std::fabs(logits[i] - expected[i]));
    maxAbs = std::max(maxAbs, std::fabs(expected[i]));
  }
  EXPECT_LT(maxDiff, 1e-4 * std::max(1.0, maxAbs)) << "max |logit| " << maxAbs;
}

INSTANTIATE_TEST_SUITE_P(
    Architectures, SyntheticTest,
    ::testing::Values(SyntheticSpec{"LlamaForCausalLM", false, false},
                      SyntheticSpec{"LlamaForCausalLM", true, false},
                      SyntheticSpec{"Qwen2ForCausalLM", false, true},
                      SyntheticSpec{"Qwen2ForCausalLM", true, false}),
    [](const ::testing::TestParamInfo<SyntheticSpec> &info) {
      return (info.param.arch.take_until([](char c) { return c == 'F'; }) +
              (info.param.tied ? "Tied" : "") + (info.param.bias ? "Bias" : ""))
          .str();
    });

TEST(LlamaReferenceCreate, MissingTensorIsAnError) {
  TempDir dir;
  ModelConfig config;
  writeSyntheticModel(dir, {"LlamaForCausalLM", false, false}, config);
  // Without projections the directory opens (their weights are stored
  // elsewhere) but the reference cannot be built from it.
  SafeTensorsWriter writer;
  for (const TensorSpec &t : expectedTensors(config)) {
    if (StringRef(t.name).contains("_proj"))
      continue;
    int64_t n = 1;
    for (int64_t d : t.shape)
      n *= d;
    std::vector<float> v(n, 1.0f);
    writer.addTensor(
        t.name, DType::F32, t.shape,
        ArrayRef<uint8_t>(reinterpret_cast<uint8_t *>(v.data()), v.size() * 4));
  }
  ASSERT_FALSE(bool(writer.write(dir.path("model.safetensors"))));
  ASSERT_OK_AND_ASSIGN(
      model, HFModel::open(dir.path(""), /*requireProjections=*/false));
  std::string message = errorMessage(LlamaReference::create(*model));
  EXPECT_NE(message.find("model.layers.0.self_attn.q_proj.weight"),
            std::string::npos)
      << message;
}

//===----------------------------------------------------------------------===//
// Documents
//===----------------------------------------------------------------------===//

TEST(Documents, ReadsTheXzFixture) {
  ASSERT_OK_AND_ASSIGN(texts, readJsonlTexts(kDocsVal));
  ASSERT_EQ(texts.size(), 95u);
  for (const std::string &t : texts)
    EXPECT_FALSE(t.empty());
}

TEST(Documents, ReadsPlainJsonl) {
  TempDir dir;
  std::string path = dir.path("docs.jsonl");
  writeFile(path, "{\"path\": \"a\", \"text\": \"one\\nline\"}\n"
                  "\n"
                  "{\"text\": \"\\u00e9t\\u00e9 \\ud83d\\ude00\"}\r\n"
                  "{\"text\": \"\"}");
  ASSERT_OK_AND_ASSIGN(texts, readJsonlTexts(path));
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_EQ(texts[0], "one\nline");
  EXPECT_EQ(texts[1], "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_EQ(texts[2], "");
}

TEST(Documents, ErrorsNameTheFileAndLine) {
  TempDir dir;
  std::string path = dir.path("bad.jsonl");
  auto check = [&](StringRef contents, StringRef expected) {
    writeFile(path, contents);
    std::string message = errorMessage(readJsonlTexts(path));
    EXPECT_TRUE(StringRef(message).starts_with((path + expected).str()))
        << message;
  };
  check("{\"text\": \"a\"}\n{\"text\": 3}\n",
        ":2: field \"text\" is not a string");
  check("{\"text\": \"a\"}\n\n{\"path\": \"x\"}\n", ":3: no field \"text\"");
  check("[1, 2]\n", ":1: not a JSON object");
  check("{\"text\": \"a\"\n", ":1: malformed JSON: ");
  check("{\"text\": \"\xff\"}\n", ":1: malformed JSON: ");

  std::string missing = dir.path("missing.jsonl");
  std::string message = errorMessage(readJsonlTexts(missing));
  EXPECT_TRUE(StringRef(message).starts_with(missing + ": cannot read: "))
      << message;

  auto fixture = MemoryBuffer::getFile(kDocsVal, /*IsText=*/false);
  ASSERT_TRUE(bool(fixture));
  StringRef xz = (*fixture)->getBuffer();
  std::string xzPath = dir.path("bad.jsonl.xz");
  writeFile(xzPath, xz.take_front(xz.size() / 2));
  EXPECT_EQ(errorMessage(readJsonlTexts(xzPath)),
            xzPath + ": truncated xz data");
  std::string corrupt = xz.str();
  for (size_t i = 1000; i < 1100; ++i)
    corrupt[i] = char(corrupt[i] ^ 0x5a);
  writeFile(xzPath, corrupt);
  EXPECT_EQ(errorMessage(readJsonlTexts(xzPath)), xzPath + ": corrupt xz data");
}

} // namespace
