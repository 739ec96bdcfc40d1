//===- HexagonKernelsTest.cpp - HVX kernels under qemu-hexagon ------------===//
//
// The Hexagon runtime's projection kernel (runtime/hexagon/qlinear.c),
// compiled for Hexagon v67 with HVX, runs under qemu-hexagon in its test
// harness and is held to the CPU runtime's kernel on the same packed
// weights:
// - on random problems and the fixture's shapes, within the error its
//   integer numerics allow, computed here from the design (int16
//   activations with a per-token scale; 12-bit integer weights: a codebook
//   scaled per row to +-4096, or fp16 at the scale of the row's largest
//   exponent): |error| <= sum_k |x_k| ew + |w_k| ex + ex ew, where ex and ew
//   are half a quantization step;
// - on problems whose quantization is exact, to float rounding: that holds
//   the bit-plane decoding, the vlut16 lookup and the activations' order.
// Skipped where qemu-hexagon or the Hexagon build of the runtime is absent.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/Kernels.h"
#include "pmpd/Support/Half.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace pmpd;

namespace {

/// The integer range of the kernels' weights: 32 int32 lanes take 16
/// products of |x| <= 32767 and |w| <= W between flushes to 64 bits.
constexpr int64_t kWeightRange = 4096;
static_assert(16 * 32767 * kWeightRange < (int64_t(1) << 31), "overflow");

/// A packed weight (planes and codebooks), or with bits 16 an fp16 matrix
/// held in `lut`.
struct Problem {
  int64_t tokens, cols, rows;
  int parent, bits;
  std::vector<float> x, bias;
  std::vector<uint8_t> planes;
  std::vector<uint16_t> lut;

  int64_t rowBytes() const { return (cols + 7) / 8; }
  unsigned code(int64_t r, int64_t k) const {
    unsigned c = 0;
    for (int j = 0; j < bits; ++j)
      c = (c << 1) |
          ((planes[(size_t(j) * rows + r) * rowBytes() + k / 8] >> (k % 8)) &
           1);
    return c;
  }
  float weight(int64_t r, int64_t k) const {
    if (bits == 16)
      return halfToFloat(lut[r * cols + k]);
    return halfToFloat(lut[r * (int64_t(1) << bits) + code(r, k)]);
  }
  /// Half the quantization step of row r's integer weights.
  double weightHalfStep(int64_t r) const {
    if (bits == 16) {
      int emax = 1;
      for (int64_t k = 0; k < cols; ++k)
        emax = std::max(emax, (lut[r * cols + k] >> 10) & 31);
      return std::ldexp(1.0, emax - 26) / 2;
    }
    int64_t entries = int64_t(1) << bits;
    double wmax = 0;
    for (int64_t e = 0; e < entries; ++e)
      wmax =
          std::max(wmax, std::fabs(double(halfToFloat(lut[r * entries + e]))));
    return wmax / kWeightRange / 2;
  }
};

/// Random codes, pad bits zero as the format says.
void randomPlanes(Problem &p, std::mt19937 &rng) {
  int64_t rowBytes = p.rowBytes();
  p.planes.assign(size_t(p.parent) * p.rows * rowBytes, 0);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int j = 0; j < p.parent; ++j)
    for (int64_t r = 0; r < p.rows; ++r)
      for (int64_t b = 0; b < rowBytes; ++b) {
        uint8_t v = uint8_t(byte(rng));
        if (b == rowBytes - 1 && p.cols % 8)
          v &= uint8_t((1u << (p.cols % 8)) - 1);
        p.planes[(size_t(j) * p.rows + r) * rowBytes + b] = v;
      }
}

Problem randomProblem(int64_t tokens, int64_t cols, int64_t rows, int parent,
                      int bits, bool bias, std::mt19937 &rng) {
  Problem p{tokens, cols, rows, parent, bits, {}, {}, {}, {}};
  std::normal_distribution<float> normal(0.0f, 1.0f);
  if (bits != 16)
    randomPlanes(p, rng);
  p.x.resize(tokens * cols);
  for (float &v : p.x)
    v = normal(rng);
  // Activation outliers, as LLMs have: a few columns 30x the rest.
  for (int64_t t = 0; t < tokens; ++t)
    p.x[t * cols + (7 * t + 3) % cols] *= 30.0f;
  p.lut.resize(bits == 16 ? rows * cols : rows << bits);
  for (uint16_t &v : p.lut)
    v = floatToHalf(0.05f * normal(rng));
  if (bits == 16) // Subnormals and zeros too.
    for (int64_t r = 0; r < rows; ++r) {
      p.lut[r * cols] = floatToHalf(3e-6f);
      p.lut[r * cols + cols / 2] = 0;
    }
  if (bias) {
    p.bias.resize(rows);
    for (float &v : p.bias)
      v = normal(rng);
  }
  return p;
}

/// The Hexagon kernel's result and codebook range, from the harness under
/// qemu-hexagon.
struct HexagonResult {
  std::vector<float> y;
  int32_t range = 0;
};

llvm::Expected<HexagonResult> runOnHexagon(const Problem &p) {
  llvm::SmallString<128> in, out;
  llvm::sys::fs::createTemporaryFile("qlinear", "in", in);
  llvm::sys::fs::createTemporaryFile("qlinear", "out", out);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(in, ec);
    int64_t header[6] = {p.tokens, p.cols, p.rows,
                         p.parent, p.bits, int64_t(!p.bias.empty())};
    os.write(reinterpret_cast<const char *>(header), sizeof header);
    auto put = [&](const auto &v) {
      os.write(reinterpret_cast<const char *>(v.data()),
               v.size() * sizeof(v[0]));
    };
    put(p.x);
    put(p.planes);
    put(p.lut);
    put(p.bias);
  }
  std::string emulator = *llvm::sys::findProgramByName("qemu-hexagon");
  llvm::StringRef args[] = {emulator, PMPD_HEXAGON_QLINEAR_CHECK};
  std::optional<llvm::StringRef> redirects[] = {
      llvm::StringRef(in), llvm::StringRef(out), std::nullopt};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(emulator, args, std::nullopt,
                                         redirects, 0, 0, &message);
  auto bytes = llvm::MemoryBuffer::getFile(out);
  llvm::sys::fs::remove(in);
  llvm::sys::fs::remove(out);
  if (status != 0 || !bytes)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "harness failed with status %d: %s", status,
                                   message.c_str());
  size_t ys = size_t(p.tokens * p.rows);
  if ((*bytes)->getBufferSize() != ys * 4 + 4)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "harness wrote %zu bytes",
                                   (*bytes)->getBufferSize());
  HexagonResult r;
  r.y.resize(ys);
  memcpy(r.y.data(), (*bytes)->getBufferStart(), ys * 4);
  memcpy(&r.range, (*bytes)->getBufferStart() + ys * 4, 4);
  return r;
}

std::vector<float> runOnCPU(const Problem &p) {
  std::vector<float> y(p.tokens * p.rows);
  if (p.bits == 16) {
    pmpd_linear_f16_f32(p.x.data(), p.tokens, p.cols, p.lut.data(), p.rows,
                        p.bias.empty() ? nullptr : p.bias.data(), y.data());
    return y;
  }
  pmpd_qlinear_f32(p.x.data(), p.tokens, p.cols, p.planes.data(), p.rows,
                   p.parent, p.lut.data(), p.bits,
                   p.bias.empty() ? nullptr : p.bias.data(), y.data());
  return y;
}

class HexagonKernels : public ::testing::Test {
protected:
  void SetUp() override {
    if (llvm::StringRef(PMPD_HEXAGON_QLINEAR_CHECK).empty())
      GTEST_SKIP() << "built without the Hexagon runtime (clang-22, lld-22)";
    if (!llvm::sys::findProgramByName("qemu-hexagon"))
      GTEST_SKIP() << "qemu-hexagon is not installed (qemu-user)";
  }

  /// Runs `p` on both and checks every output against the design's bound;
  /// `slack` multiplies it. Returns the largest error relative to the bound.
  double compare(const Problem &p, double slack = 1.0) {
    auto hexagon = runOnHexagon(p);
    EXPECT_TRUE(bool(hexagon)) << llvm::toString(hexagon.takeError());
    if (!hexagon)
      return 0;
    std::vector<float> cpu = runOnCPU(p);
    EXPECT_EQ(hexagon->range, kWeightRange);
    double worst = 0;
    for (int64_t t = 0; t < p.tokens; ++t) {
      double amax = 0;
      for (int64_t k = 0; k < p.cols; ++k)
        amax = std::max(amax, std::fabs(double(p.x[t * p.cols + k])));
      double ex = amax / 32767 / 2;
      for (int64_t r = 0; r < p.rows; ++r) {
        double ew = p.weightHalfStep(r);
        double bound = 0, magnitude = 0;
        for (int64_t k = 0; k < p.cols; ++k) {
          double xk = std::fabs(double(p.x[t * p.cols + k]));
          double wk = std::fabs(double(p.weight(r, k)));
          bound += xk * ew + wk * ex + ex * ew;
          magnitude += xk * wk;
        }
        // Float rounding of both sides' sums and scalings.
        bound = slack * bound + 1e-5 * magnitude + 1e-6;
        double error = std::fabs(double(hexagon->y[t * p.rows + r]) -
                                 double(cpu[t * p.rows + r]));
        EXPECT_LE(error, bound) << "token " << t << ", row " << r;
        worst = std::max(worst, error / bound);
      }
    }
    return worst;
  }
};

TEST_F(HexagonKernels, RandomShapesEveryWidth) {
  std::mt19937 rng(11);
  struct Shape {
    int64_t tokens, cols, rows;
    int parent, bits;
    bool bias;
  };
  // Columns within one block, across blocks with a tail, not a multiple of
  // 8; token counts below, at and above the 4-token tile.
  const Shape shapes[] = {
      {1, 512, 33, 4, 4, true},
      {1, 512, 33, 4, 3, false},
      {1, 512, 33, 4, 2, true},
      {4, 1000, 17, 3, 2, false},
      {6, 1408, 21, 4, 3, true},
      {3, 2200, 9, 4, 4, false},
      {2, 4096, 5, 4, 2, true},
      {9, 77, 12, 4, 4, true},
      // Codebooks of more than 16 entries: one lookup per 16.
      {1, 600, 11, 8, 5, true},
      {2, 600, 11, 8, 6, false},
      {5, 600, 11, 8, 7, true},
      {1, 1300, 7, 8, 8, false},
  };
  for (const Shape &s : shapes) {
    SCOPED_TRACE(testing::Message()
                 << s.tokens << " tokens, " << s.rows << "x" << s.cols << ", "
                 << s.bits << " of " << s.parent << " bits");
    compare(
        randomProblem(s.tokens, s.cols, s.rows, s.parent, s.bits, s.bias, rng));
  }
}

TEST_F(HexagonKernels, HalfPrecisionWeights) {
  std::mt19937 rng(14);
  // Rows within a 64-column vector, across flushes, with a tail.
  const int64_t shapes[][3] = {
      {1, 40, 7}, {3, 512, 19}, {6, 1408, 9}, {1, 4100, 5}};
  for (const auto &s : shapes) {
    SCOPED_TRACE(testing::Message()
                 << s[0] << " tokens, " << s[2] << "x" << s[1] << " fp16");
    compare(randomProblem(s[0], s[1], s[2], 0, 16, s[0] % 2, rng));
  }
}

TEST_F(HexagonKernels, FixtureShapes) {
  // pmpd-tiny-llama: hidden 512, KV 256, MLP 1408; a decode step and a
  // prompt of 5 tokens.
  std::mt19937 rng(12);
  const int64_t shapes[][2] = {
      {512, 512}, {256, 512}, {1408, 512}, {512, 1408}};
  for (const auto &shape : shapes)
    for (int64_t tokens : {1, 5}) {
      SCOPED_TRACE(testing::Message()
                   << tokens << " tokens, " << shape[0] << "x" << shape[1]);
      compare(randomProblem(tokens, shape[1], shape[0], 4, 4 - tokens % 2, true,
                            rng));
    }
}

TEST_F(HexagonKernels, ExactWhenQuantizationIsExact) {
  // Activations on a grid whose largest value is 32767 steps and codebooks
  // whose largest entry is W steps: quantization loses nothing, so only
  // float rounding separates the kernels. A misplaced column or code would
  // not hide in the quantization error.
  std::mt19937 rng(13);
  Problem p = randomProblem(5, 1408, 24, 4, 3, false, rng);
  int64_t w = kWeightRange;
  // Even integers up to W, so that fp16 holds them exactly.
  std::uniform_int_distribution<int> xs(-32767, 32767),
      ws(-int(w / 2), int(w / 2));
  for (int64_t t = 0; t < p.tokens; ++t)
    for (int64_t k = 0; k < p.cols; ++k)
      p.x[t * p.cols + k] = float(k == t ? 32767 : xs(rng)) * (1.0f / 4096);
  int64_t entries = 8;
  for (int64_t r = 0; r < p.rows; ++r)
    for (int64_t e = 0; e < entries; ++e)
      p.lut[r * entries + e] =
          floatToHalf(float(e == 0 ? w : 2 * ws(rng)) * (1.0f / 1024));
  double worst = compare(p, /*slack=*/0.0);
  EXPECT_LT(worst, 1.0);
}

} // namespace
