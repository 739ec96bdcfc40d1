//===- GPUKernelsTest.cpp - The GPU kernels against CPU references --------===//
//
// Loads the fatbin built from lib/Target/GPU/Kernels, launches every kernel
// with the geometry of pmpd/Target/GPU/KernelABI.h on random inputs and
// compares the projections with the CPU kernels (pmpd_qlinear_f32,
// pmpd_linear_f16_f32) and the layer ops with float64 references written
// here (RMSNorm; causal grouped-query attention over a cache layer).
// Skipped, with the reason, where there is no CUDA driver or device.
//
// Tolerance: both sides compute y = bias + sum_k x_k w_k in fp32 with the same
// (exact) fp16 -> fp32 weights, only the order of the additions differs (the
// tensor-core GEMM splits x into fp16 hi + lo parts, which keeps it to about
// 22 bits: within the same bound). Each
// fp32 sum's rounding error behaves like a random walk of K steps of at most
// u/2 * S, S = |bias| + sum_k |x_k w_k| and u = 2^-24, i.e. a standard
// deviation below 0.3 sqrt(K) u S; the difference of two such sums stays
// below 8 sqrt(K) u S (about 20 standard deviations) unless an element is
// decoded wrongly, which changes y by about S / K per element or more.
//
// PMPD_GPU_KERNELS_FATBIN=<file> overrides the build's fatbin path. Their speed
// is pmpd-gemv-bench's (tools/pmpd-gemv-bench).
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/CUDA/CUDADevice.h"
#include "pmpd/Runtime/CUDA/Driver.h"
#include "pmpd/Runtime/Kernels.h"
#include "pmpd/Support/Half.h"
#include "pmpd/Target/GPU/KernelABI.h"

#include "llvm/Support/MemoryBuffer.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace pmpd;
using namespace pmpd::cuda;
using namespace pmpd::gpu;

namespace {

/// The device and the loaded kernels, shared by the tests of this binary.
struct GPU {
  std::unique_ptr<CUDADevice> device;
  CUmodule module = nullptr;
  CUfunction qgemv[kMaxKernelBits + 1] = {};
  CUfunction qgemm = nullptr, linearF16 = nullptr;
  CUfunction rmsNorm = nullptr, attentionDecode = nullptr,
             attentionCombine = nullptr, attentionPrefill = nullptr;
  std::string skipReason;

  const Driver &api() const { return device->driver(); }
};

GPU &gpu() {
  static GPU *state = [] {
    auto *g = new GPU;
    llvm::Expected<std::unique_ptr<CUDADevice>> device = CUDADevice::open();
    if (!device) {
      g->skipReason = "no usable CUDA device: " + toString(device.takeError());
      return g;
    }
    g->device = std::move(*device);
    // The build's fatbin, or another one (e.g. copied to the GPU machine).
    std::string path = PMPD_GPU_KERNELS_FATBIN;
    if (const char *env = std::getenv("PMPD_GPU_KERNELS_FATBIN"); env && *env)
      path = env;
    if (path.empty()) {
      g->skipReason = "built without nvcc: no GPU kernels";
      return g;
    }
    auto file = llvm::MemoryBuffer::getFile(path);
    if (!file) {
      ADD_FAILURE() << "cannot read " << path << ": "
                    << file.getError().message();
      g->skipReason = "no kernels";
      return g;
    }
    const Driver &api = g->api();
    // The fatbin is not NUL-terminated text; the driver reads its header.
    if (llvm::Error error = api.check(
            api.cuModuleLoadData(&g->module, (*file)->getBufferStart()),
            "cuModuleLoadData")) {
      // A loaded device that cannot run the kernels is a failure, not a skip.
      ADD_FAILURE() << toString(std::move(error));
      g->skipReason = "the kernels did not load";
      return g;
    }
    auto get = [&](CUfunction &function, const char *name) {
      if (llvm::Error error =
              api.check(api.cuModuleGetFunction(&function, g->module, name),
                        llvm::Twine("cuModuleGetFunction ") + name))
        ADD_FAILURE() << toString(std::move(error));
    };
    for (int bits = kMinKernelBits; bits <= kMaxKernelBits; ++bits)
      get(g->qgemv[bits], qgemvKernelName(bits));
    get(g->qgemm, kQGemmKernel);
    get(g->linearF16, kLinearF16Kernel);
    get(g->rmsNorm, kRMSNormKernel);
    get(g->attentionDecode, kAttentionDecodeKernel);
    get(g->attentionCombine, kAttentionCombineKernel);
    get(g->attentionPrefill, kAttentionPrefillKernel);
    std::printf("GPU kernels on %s\n", g->device->name().c_str());
    return g;
  }();
  return *state;
}

#define REQUIRE_GPU()                                                          \
  do {                                                                         \
    if (!gpu().skipReason.empty())                                             \
      GTEST_SKIP() << gpu().skipReason;                                        \
  } while (false)

#define ASSERT_NO_ERROR(expr)                                                  \
  do {                                                                         \
    if (llvm::Error error = (expr))                                            \
      FAIL() << toString(std::move(error));                                    \
  } while (false)

/// A device copy of a host vector, released with the object. `offset` bytes
/// of padding in front misalign it on purpose.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  ~DeviceBuffer() {
    if (base)
      gpu().device->release(base);
  }

  llvm::Error allocate(size_t bytes, size_t offset = 0) {
    llvm::Expected<uint64_t> address =
        gpu().device->allocate(bytes + offset + 16, "test buffer");
    if (!address)
      return address.takeError();
    base = *address;
    pointer = base + offset;
    return gpu().device->zero(base, bytes + offset + 16);
  }
  template <typename T>
  llvm::Error upload(const std::vector<T> &host, size_t offset = 0) {
    if (llvm::Error error = allocate(host.size() * sizeof(T), offset))
      return error;
    return gpu().device->upload(pointer, host.data(), host.size() * sizeof(T));
  }
  template <typename T> llvm::Error download(std::vector<T> &host) const {
    return gpu().device->download(host.data(), pointer,
                                  host.size() * sizeof(T));
  }

  uint64_t pointer = 0; // 0 for a null argument.

private:
  uint64_t base = 0;
};

/// Launches on the device's stream and waits. `params` holds the address of
/// each kernel argument.
llvm::Error launch(CUfunction function, const LaunchGeometry &geometry,
                   void **params) {
  const Driver &api = gpu().api();
  if (llvm::Error error = api.check(
          api.cuLaunchKernel(function, unsigned(geometry.gridX),
                             unsigned(geometry.gridY), unsigned(geometry.gridZ),
                             unsigned(geometry.blockX), 1, 1, 0,
                             gpu().device->stream(), params, nullptr),
          "cuLaunchKernel"))
    return error;
  return api.check(api.cuStreamSynchronize(gpu().device->stream()),
                   "cuStreamSynchronize");
}

/// Random packed weights: parentBits planes with zero pad bits, a random fp16
/// codebook for `bits`.
struct Packed {
  int64_t rows, cols;
  int parentBits, bits;
  std::vector<uint8_t> planes;
  std::vector<uint16_t> lut;

  Packed(int64_t rows, int64_t cols, int parentBits, int bits,
         std::mt19937 &rng)
      : rows(rows), cols(cols), parentBits(parentBits), bits(bits) {
    int64_t rowBytes = (cols + 7) / 8;
    planes.resize(size_t(parentBits) * rows * rowBytes);
    std::uniform_int_distribution<int> byte(0, 255);
    for (uint8_t &b : planes)
      b = uint8_t(byte(rng));
    if (cols % 8)
      for (int64_t r = 0; r < parentBits * rows; ++r)
        planes[r * rowBytes + rowBytes - 1] &= uint8_t((1u << (cols % 8)) - 1);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    lut.resize(size_t(rows) << bits);
    for (uint16_t &h : lut)
      h = floatToHalf(value(rng));
  }

  float weight(int64_t row, int64_t col) const {
    int64_t rowBytes = (cols + 7) / 8;
    unsigned code = 0;
    for (int j = 0; j < bits; ++j)
      code = (code << 1) |
             ((planes[(j * rows + row) * rowBytes + col / 8] >> (col % 8)) & 1);
    return halfToFloat(lut[(row << bits) + code]);
  }
};

std::vector<float> randomVector(size_t n, std::mt19937 &rng) {
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float &f : v)
    f = value(rng);
  return v;
}

/// Compares with the CPU result within the tolerance of the file comment;
/// `weight(n, k)` gives the fp32 weights for the scale S.
template <typename WeightFn>
void expectClose(const std::vector<float> &got, const std::vector<float> &want,
                 const std::vector<float> &x, const float *bias, int64_t tokens,
                 int64_t rows, int64_t cols, WeightFn weight,
                 const std::string &what) {
  const double tolerance = 8.0 * std::sqrt(double(cols)) * std::ldexp(1.0, -24);
  // S for every output: cheap enough for the shapes here.
  int failures = 0;
  for (int64_t n = 0; n < rows; ++n) {
    std::vector<float> w(cols);
    for (int64_t k = 0; k < cols; ++k)
      w[k] = weight(n, k);
    for (int64_t t = 0; t < tokens; ++t) {
      double scale = bias ? std::fabs(bias[n]) : 0.0;
      for (int64_t k = 0; k < cols; ++k)
        scale += std::fabs(double(x[t * cols + k]) * w[k]);
      size_t i = size_t(t * rows + n);
      double error = std::fabs(double(got[i]) - double(want[i]));
      if (!(error <= tolerance * scale + 1e-30) && failures++ < 5)
        ADD_FAILURE() << what << ": y[" << t << "][" << n << "] = " << got[i]
                      << ", the CPU gives " << want[i] << " (error " << error
                      << " > " << tolerance * scale << ")";
    }
  }
  EXPECT_EQ(failures, 0) << what;
}

struct Shape {
  int64_t rows, cols;
};
// Not multiples of anything (100; 4104: rowBytes 513 takes the unaligned
// path and two x tiles), vectorizable ones (1408; 11008: three tiles), and
// row counts that leave partial blocks and tiles.
const Shape kShapes[] = {{1, 100},     {7, 100},     {1000, 100}, {1, 1408},
                         {7, 1408},    {1000, 1408}, {1, 4104},   {7, 4104},
                         {1000, 4104}, {7, 11008},   {33, 4096}};
const int64_t kTokens[] = {1, 3, 64, 130};

std::string describe(const char *kernel, const Shape &shape, int64_t tokens,
                     int parentBits, int bits, bool bias) {
  return std::string(kernel) + " rows=" + std::to_string(shape.rows) +
         " cols=" + std::to_string(shape.cols) +
         " tokens=" + std::to_string(tokens) +
         (bits ? " bits=" + std::to_string(bits) + "/" +
                     std::to_string(parentBits)
               : std::string()) +
         (bias ? " bias" : "");
}

TEST(GPUKernelsTest, QGemvMatchesCPU) {
  REQUIRE_GPU();
  std::mt19937 rng(7);
  for (const Shape &shape : kShapes)
    for (int bits = kMinKernelBits; bits <= kMaxKernelBits; ++bits)
      for (int parentBits : {bits, int(kMaxKernelBits)}) {
        if (parentBits == bits && bits == kMaxKernelBits)
          continue; // The loop's other iteration reads the same 8 of 8 bits.
        bool useBias = (bits + shape.rows) % 2 == 0;
        // Misaligned planes take the byte path.
        size_t planeOffset = parentBits != bits || shape.rows == 7 ? 3 : 0;
        Packed w(shape.rows, shape.cols, parentBits, bits, rng);
        std::vector<float> x = randomVector(shape.cols, rng);
        std::vector<float> bias = randomVector(shape.rows, rng);
        std::vector<float> want(shape.rows), got(shape.rows);
        pmpd_qlinear_f32(x.data(), 1, shape.cols, w.planes.data(), shape.rows,
                         parentBits, w.lut.data(), bits,
                         useBias ? bias.data() : nullptr, want.data());

        DeviceBuffer dx, dPlanes, dLut, dBias, dy;
        ASSERT_NO_ERROR(dx.upload(x));
        ASSERT_NO_ERROR(dPlanes.upload(w.planes, planeOffset));
        ASSERT_NO_ERROR(dLut.upload(w.lut));
        if (useBias)
          ASSERT_NO_ERROR(dBias.upload(bias));
        ASSERT_NO_ERROR(dy.upload(got));
        int64_t cols = shape.cols, rows = shape.rows;
        int32_t parent = parentBits;
        void *params[] = {&dx.pointer,    &cols,      &dPlanes.pointer,
                          &rows,          &parent,    &dLut.pointer,
                          &dBias.pointer, &dy.pointer};
        ASSERT_NO_ERROR(launch(gpu().qgemv[bits], qgemvLaunch(rows), params));
        ASSERT_NO_ERROR(dy.download(got));
        expectClose(
            got, want, x, useBias ? bias.data() : nullptr, 1, rows, cols,
            [&](int64_t n, int64_t k) { return w.weight(n, k); },
            describe(qgemvKernelName(bits), shape, 1, parentBits, bits,
                     useBias));
      }
}

TEST(GPUKernelsTest, QGemmMatchesCPU) {
  REQUIRE_GPU();
  std::mt19937 rng(11);
  for (const Shape &shape : kShapes)
    for (int bits = kMinKernelBits; bits <= kMaxKernelBits; ++bits)
      for (int64_t tokens : kTokens) {
        if (shape.rows * shape.cols * tokens > 200'000'000)
          continue; // Keeps the CPU reference quick.
        int parentBits = std::max(bits, int(kMaxKernelBits - tokens % 3));
        bool useBias = (bits + tokens) % 2 == 1;
        Packed w(shape.rows, shape.cols, parentBits, bits, rng);
        std::vector<float> x = randomVector(size_t(tokens) * shape.cols, rng);
        std::vector<float> bias = randomVector(shape.rows, rng);
        std::vector<float> want(size_t(tokens) * shape.rows), got(want.size());
        pmpd_qlinear_f32(x.data(), tokens, shape.cols, w.planes.data(),
                         shape.rows, parentBits, w.lut.data(), bits,
                         useBias ? bias.data() : nullptr, want.data());

        DeviceBuffer dx, dPlanes, dLut, dBias, dy;
        ASSERT_NO_ERROR(dx.upload(x));
        ASSERT_NO_ERROR(dPlanes.upload(w.planes, bits % 2));
        ASSERT_NO_ERROR(dLut.upload(w.lut));
        if (useBias)
          ASSERT_NO_ERROR(dBias.upload(bias));
        ASSERT_NO_ERROR(dy.upload(got));
        int64_t cols = shape.cols, rows = shape.rows;
        int32_t parent = parentBits, width = bits;
        void *params[] = {
            &dx.pointer, &tokens,       &cols,  &dPlanes.pointer, &rows,
            &parent,     &dLut.pointer, &width, &dBias.pointer,   &dy.pointer};
        ASSERT_NO_ERROR(launch(gpu().qgemm, qgemmLaunch(rows, tokens), params));
        ASSERT_NO_ERROR(dy.download(got));
        expectClose(
            got, want, x, useBias ? bias.data() : nullptr, tokens, rows, cols,
            [&](int64_t n, int64_t k) { return w.weight(n, k); },
            describe(kQGemmKernel, shape, tokens, parentBits, bits, useBias));
      }
}

TEST(GPUKernelsTest, LinearF16MatchesCPU) {
  REQUIRE_GPU();
  std::mt19937 rng(13);
  for (const Shape &shape : kShapes)
    for (int64_t tokens : kTokens)
      for (bool useBias : {false, true}) {
        if (shape.rows * shape.cols * tokens > 200'000'000)
          continue;
        std::vector<float> wf =
            randomVector(size_t(shape.rows) * shape.cols, rng);
        std::vector<uint16_t> w(wf.size());
        for (size_t i = 0; i < w.size(); ++i)
          w[i] = floatToHalf(wf[i]);
        std::vector<float> x = randomVector(size_t(tokens) * shape.cols, rng);
        std::vector<float> bias = randomVector(shape.rows, rng);
        std::vector<float> want(size_t(tokens) * shape.rows), got(want.size());
        pmpd_linear_f16_f32(x.data(), tokens, shape.cols, w.data(), shape.rows,
                            useBias ? bias.data() : nullptr, want.data());

        DeviceBuffer dx, dw, dBias, dy;
        // Misaligned weights (the scalar path) half of the time.
        ASSERT_NO_ERROR(dx.upload(x));
        ASSERT_NO_ERROR(dw.upload(w, useBias ? 2 : 0));
        if (useBias)
          ASSERT_NO_ERROR(dBias.upload(bias));
        ASSERT_NO_ERROR(dy.upload(got));
        int64_t cols = shape.cols, rows = shape.rows;
        void *params[] = {&dx.pointer, &tokens,        &cols,      &dw.pointer,
                          &rows,       &dBias.pointer, &dy.pointer};
        ASSERT_NO_ERROR(
            launch(gpu().linearF16, linearF16Launch(rows, tokens), params));
        ASSERT_NO_ERROR(dy.download(got));
        expectClose(
            got, want, x, useBias ? bias.data() : nullptr, tokens, rows, cols,
            [&](int64_t n, int64_t k) { return halfToFloat(w[n * cols + k]); },
            describe(kLinearF16Kernel, shape, tokens, 0, 0, useBias));
      }
}

TEST(GPUKernelsTest, RMSNormMatchesReference) {
  REQUIRE_GPU();
  std::mt19937 rng(17);
  for (int64_t hidden : {100, 512, 4096})
    for (int64_t tokens : {1, 3}) {
      std::vector<float> x = randomVector(size_t(tokens * hidden), rng);
      std::vector<float> wf = randomVector(size_t(hidden), rng);
      std::vector<uint16_t> w(wf.size());
      for (size_t i = 0; i < w.size(); ++i)
        w[i] = floatToHalf(wf[i]);
      float epsilon = 1e-5f;
      std::vector<float> got(x.size());
      DeviceBuffer dx, dw, dy;
      ASSERT_NO_ERROR(dx.upload(x));
      ASSERT_NO_ERROR(dw.upload(w));
      ASSERT_NO_ERROR(dy.upload(got));
      void *params[] = {&dx.pointer, &hidden, &dw.pointer, &epsilon,
                        &dy.pointer};
      ASSERT_NO_ERROR(launch(gpu().rmsNorm,
                             {tokens, 1, 1, kLayerOpThreads}, params));
      ASSERT_NO_ERROR(dy.download(got));
      for (int64_t t = 0; t < tokens; ++t) {
        double squares = 0;
        for (int64_t c = 0; c < hidden; ++c)
          squares += double(x[t * hidden + c]) * x[t * hidden + c];
        double inverse = 1.0 / std::sqrt(squares / double(hidden) + epsilon);
        for (int64_t c = 0; c < hidden; ++c) {
          double want = halfToFloat(w[c]) * (x[t * hidden + c] * inverse);
          // A few fp32 roundings of values of magnitude ~|w| * |x| * inverse.
          EXPECT_NEAR(got[t * hidden + c], want, 1e-5 * (1 + std::fabs(want)))
              << "hidden=" << hidden << " token " << t << " column " << c;
        }
      }
    }
}

/// Causal grouped-query attention in float64: queries [tokens][heads][dim] at
/// positions start.., one layer of caches [positions][kvHeads][dim].
std::vector<double> referenceAttention(const std::vector<float> &q,
                                       int64_t tokens,
                                       const std::vector<float> &keys,
                                       const std::vector<float> &values,
                                       int64_t start, int heads, int kvHeads,
                                       int dim) {
  std::vector<double> out(size_t(tokens) * heads * dim);
  double scale = 1.0 / std::sqrt(double(dim));
  for (int64_t t = 0; t < tokens; ++t)
    for (int h = 0; h < heads; ++h) {
      int kv = h / (heads / kvHeads);
      int64_t visible = start + t + 1;
      std::vector<double> scores(visible);
      double max = -INFINITY;
      for (int64_t p = 0; p < visible; ++p) {
        double dot = 0;
        for (int d = 0; d < dim; ++d)
          dot += double(q[(t * heads + h) * dim + d]) *
                 keys[(p * kvHeads + kv) * dim + d];
        scores[p] = dot * scale;
        max = std::max(max, scores[p]);
      }
      double sum = 0;
      for (double &score : scores)
        sum += score = std::exp(score - max);
      for (int d = 0; d < dim; ++d) {
        double acc = 0;
        for (int64_t p = 0; p < visible; ++p)
          acc += scores[p] * values[(p * kvHeads + kv) * dim + d];
        out[(t * heads + h) * dim + d] = acc / sum;
      }
    }
  return out;
}

struct AttentionCase {
  int heads, kvHeads, dim;
};
const AttentionCase kAttentionCases[] = {
    {4, 4, 32}, {8, 2, 64}, {8, 4, 128}, {32, 32, 128}};

/// Two cache layers of `positions` rows; the kernels read layer 1.
struct Caches {
  int64_t positions;
  std::vector<float> keys, values; // Layer 1 only, for the reference.
  DeviceBuffer dKeys, dValues;

  llvm::Error make(int64_t positions, int kvHeads, int dim, std::mt19937 &rng) {
    this->positions = positions;
    size_t layer = size_t(positions) * kvHeads * dim;
    std::vector<float> k = randomVector(2 * layer, rng),
                       v = randomVector(2 * layer, rng);
    keys.assign(k.begin() + layer, k.end());
    values.assign(v.begin() + layer, v.end());
    if (llvm::Error error = dKeys.upload(k))
      return error;
    return dValues.upload(v);
  }
  uint64_t layerOne(const DeviceBuffer &cache, int kvHeads, int dim) const {
    return cache.pointer + uint64_t(positions) * kvHeads * dim * sizeof(float);
  }
};

void expectAttention(const std::vector<float> &got,
                     const std::vector<double> &want, const std::string &what) {
  int failures = 0;
  for (size_t i = 0; i < want.size(); ++i)
    // Convex combinations of values in [-1, 1]: fp32 and expf roundings.
    if (!(std::fabs(got[i] - want[i]) <= 2e-5) && failures++ < 5)
      ADD_FAILURE() << what << ": out[" << i << "] = " << got[i]
                    << ", the reference gives " << want[i];
  EXPECT_EQ(failures, 0) << what;
}

TEST(GPUKernelsTest, AttentionDecodeMatchesReference) {
  REQUIRE_GPU();
  std::mt19937 rng(19);
  // One split, several, and more than kAttentionMaxSplits chunks' worth.
  for (const AttentionCase &c : kAttentionCases)
    for (int64_t start : {0, 5, 127, 128, 1000, 9000}) {
      int64_t visible = start + 1, splits = attentionSplits(visible);
      Caches caches;
      ASSERT_NO_ERROR(caches.make(visible + 3, c.kvHeads, c.dim, rng));
      std::vector<float> q = randomVector(size_t(c.heads) * c.dim, rng);
      std::vector<float> got(q.size());
      std::vector<float> partial(size_t(c.heads) * splits * (c.dim + 2));
      DeviceBuffer dq, dPartial, dOut;
      ASSERT_NO_ERROR(dq.upload(q));
      ASSERT_NO_ERROR(dPartial.upload(partial));
      ASSERT_NO_ERROR(dOut.upload(got));
      uint64_t keys = caches.layerOne(caches.dKeys, c.kvHeads, c.dim);
      uint64_t values = caches.layerOne(caches.dValues, c.kvHeads, c.dim);
      int32_t heads = c.heads, kvHeads = c.kvHeads, dim = c.dim,
              splitsArg = int32_t(splits);
      float scale = float(std::pow(double(c.dim), -0.5));
      void *params[] = {&dq.pointer, &keys,  &values,         &visible,
                        &heads,      &kvHeads, &dim,          &scale,
                        &dPartial.pointer, &dOut.pointer};
      ASSERT_NO_ERROR(launch(gpu().attentionDecode,
                             {heads, splits, 1, kLayerOpThreads}, params));
      if (splits > 1) {
        void *combine[] = {&dPartial.pointer, &splitsArg, &dim, &dOut.pointer};
        ASSERT_NO_ERROR(launch(gpu().attentionCombine,
                               {heads, 1, 1, kLayerOpThreads}, combine));
      }
      ASSERT_NO_ERROR(dOut.download(got));
      expectAttention(got,
                      referenceAttention(q, 1, caches.keys, caches.values,
                                         start, c.heads, c.kvHeads, c.dim),
                      "decode heads=" + std::to_string(c.heads) + "/" +
                          std::to_string(c.kvHeads) +
                          " dim=" + std::to_string(c.dim) +
                          " start=" + std::to_string(start));
    }
}

TEST(GPUKernelsTest, AttentionPrefillMatchesReference) {
  REQUIRE_GPU();
  std::mt19937 rng(23);
  for (const AttentionCase &c : kAttentionCases)
    for (int64_t tokens : {1, 7, 16, 37, 130})
      for (int64_t start : {0, 20}) {
        Caches caches;
        ASSERT_NO_ERROR(
            caches.make(start + tokens + 2, c.kvHeads, c.dim, rng));
        std::vector<float> q =
            randomVector(size_t(tokens) * c.heads * c.dim, rng);
        std::vector<float> got(q.size());
        DeviceBuffer dq, dOut;
        ASSERT_NO_ERROR(dq.upload(q));
        ASSERT_NO_ERROR(dOut.upload(got));
        uint64_t keys = caches.layerOne(caches.dKeys, c.kvHeads, c.dim);
        uint64_t values = caches.layerOne(caches.dValues, c.kvHeads, c.dim);
        int32_t heads = c.heads, kvHeads = c.kvHeads, dim = c.dim;
        float scale = float(std::pow(double(c.dim), -0.5));
        void *params[] = {&dq.pointer, &tokens, &keys,  &values, &start,
                          &heads,      &kvHeads, &dim,  &scale,  &dOut.pointer};
        ASSERT_NO_ERROR(
            launch(gpu().attentionPrefill,
                   {ceilDiv(tokens, kPrefillQueries), heads, 1,
                    kLayerOpThreads},
                   params));
        ASSERT_NO_ERROR(dOut.download(got));
        expectAttention(got,
                        referenceAttention(q, tokens, caches.keys,
                                           caches.values, start, c.heads,
                                           c.kvHeads, c.dim),
                        "prefill heads=" + std::to_string(c.heads) + "/" +
                            std::to_string(c.kvHeads) +
                            " dim=" + std::to_string(c.dim) +
                            " tokens=" + std::to_string(tokens) +
                            " start=" + std::to_string(start));
      }
}

} // namespace
