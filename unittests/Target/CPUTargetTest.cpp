//===- CPUTargetTest.cpp - Compile, link, load and run on the CPU ---------===//
//
// The whole CPU back half on a small hand-written module: the CPU backend's
// lowering (pmpd-thread-weights-buffer, pmpd-lower-to-cpu, ...),
// bufferization and the LLVM lowering, native code generation, the link with
// the runtime kernels, dlopen, and a call through the C interface whose
// result is checked against a float64 product computed here.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Dialect/PMPD/IR/PMPD.h"
#include "pmpd/Runtime/MemRefDescriptor.h"
#include "pmpd/Support/Half.h"
#include "pmpd/Target/TargetBackend.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "gtest/gtest.h"

#include <cmath>
#include <dlfcn.h>
#include <random>

using namespace mlir;
using namespace pmpd;

namespace {

template <typename T, int N> using MemRef = MemRefDescriptor<T, N>;

// y = (x * norm) W^T at 3 bits of a 4-bit packed 16x32 weight, plus the
// decode precision of a step. Weights file: planes at 0 (4 x 16 x 4 bytes),
// LUTs for 2/3/4 bits at 256/384/640, the fp16 norm at 1152.
constexpr const char *kModule = R"mlir(
module {
  pmpd.weight @q = "q" at [0, 256, 384, 640] : !pmpd.qweight<16x32, parent = 4, seed = 2>
  pmpd.weight @n = "n" at [1152] : tensor<32xf16>
  func.func @f(%x: tensor<?x32xf32>, %step: i64) -> (tensor<?x16xf32>, i32) {
    %n = pmpd.get_weight @n : tensor<32xf16>
    %c0 = arith.constant 0 : index
    %d = tensor.dim %x, %c0 : tensor<?x32xf32>
    %e = tensor.empty(%d) : tensor<?x32xf32>
    %xn = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%x, %n : tensor<?x32xf32>, tensor<32xf16>) outs(%e : tensor<?x32xf32>) {
    ^bb0(%a: f32, %b: f16, %o: f32):
      %bf = arith.extf %b : f16 to f32
      %m = arith.mulf %a, %bf : f32
      linalg.yield %m : f32
    } -> tensor<?x32xf32>
    %w = pmpd.get_weight @q : !pmpd.qweight<16x32, parent = 4, seed = 2>
    %y = pmpd.qlinear %xn, %w precision <3> : tensor<?x32xf32>, !pmpd.qweight<16x32, parent = 4, seed = 2> -> tensor<?x16xf32>
    %bits = pmpd.step_precision %step schedule <prefill = 4, decode = [4 from 0, 3 from 64, 2 from 128]> : i64
    return %y, %bits : tensor<?x16xf32>, i32
  }
}
)mlir";

struct Result {
  MemRef<float, 2> y;
  int32_t bits;
};
using EntryFn = void (*)(Result *, MemRef<float, 2> *, int64_t,
                         MemRef<uint8_t, 1> *);

TEST(CPUTargetTest, CompilesLinksAndRuns) {
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<PMPDDialect>();
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(kModule, &context);
  ASSERT_TRUE(module);

  auto target = TargetRegistry::get().lookup("cpu");
  ASSERT_TRUE(static_cast<bool>(target)) << llvm::toString(target.takeError());
  TargetOptions options;
  PassManager pm(&context);
  target->buildLoweringPipeline(pm, options);
  ASSERT_TRUE(succeeded(pm.run(*module)));

  SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("pmpd-target", dir));
  std::string library = (dir + "/libmodel.so").str();
  llvm::Error linked = target->emitLibrary(*module, library, options);
  ASSERT_FALSE(static_cast<bool>(linked)) << llvm::toString(std::move(linked));

  void *handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto entry = reinterpret_cast<EntryFn>(dlsym(handle, "_mlir_ciface_f"));
  ASSERT_NE(entry, nullptr);

  // The weights file: random planes, random LUTs, a random norm.
  std::mt19937 rng(5);
  std::vector<uint8_t> weights(1152 + 64);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 256; ++i)
    weights[i] = uint8_t(byte(rng));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto putHalf = [&](size_t offset, float v) {
    uint16_t h = floatToHalf(v);
    std::memcpy(&weights[offset], &h, 2);
  };
  for (int i = 0; i < 16 * 8; ++i)
    putHalf(384 + 2 * i, normal(rng)); // The 3-bit tables.
  for (int i = 0; i < 32; ++i)
    putHalf(1152 + 2 * i, normal(rng));

  const int64_t tokens = 3;
  std::vector<float> x(tokens * 32);
  for (float &v : x)
    v = normal(rng);

  MemRef<float, 2> xDesc{x.data(), x.data(), 0, {tokens, 32}, {32, 1}};
  MemRef<uint8_t, 1> wDesc{weights.data(), weights.data(), 0,
                           {int64_t(weights.size())}, {1}};
  Result result;
  entry(&result, &xDesc, /*step=*/100, &wDesc);
  EXPECT_EQ(result.bits, 3);
  ASSERT_EQ(result.y.sizes[0], tokens);
  ASSERT_EQ(result.y.sizes[1], 16);

  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t n = 0; n < 16; ++n) {
      double ref = 0;
      for (int64_t k = 0; k < 32; ++k) {
        unsigned code = 0;
        for (int j = 0; j < 3; ++j)
          code = (code << 1) | ((weights[(j * 16 + n) * 4 + k / 8] >> (k % 8)) & 1);
        uint16_t lut, norm;
        std::memcpy(&lut, &weights[384 + 2 * (n * 8 + code)], 2);
        std::memcpy(&norm, &weights[1152 + 2 * k], 2);
        ref += double(x[t * 32 + k]) * halfToFloat(norm) * halfToFloat(lut);
      }
      float got = result.y.aligned[result.y.offset + t * result.y.strides[0] +
                                   n * result.y.strides[1]];
      EXPECT_NEAR(got, ref, 1e-4 * (1 + std::fabs(ref))) << t << "," << n;
    }
  free(result.y.allocated);

  entry(&result, &xDesc, /*step=*/5, &wDesc);
  EXPECT_EQ(result.bits, 4);
  free(result.y.allocated);
  entry(&result, &xDesc, /*step=*/128, &wDesc);
  EXPECT_EQ(result.bits, 2);
  free(result.y.allocated);

  dlclose(handle);
  llvm::sys::fs::remove_directories(dir);
}

} // namespace
