//===- CUDADeviceTest.cpp - The CUDA driver, device and trampolines -------===//
//
// Without a GPU only the error paths run (a missing driver, the toolkit's stub
// library); everything else skips with the reason. With one, the device is
// driven the way a compiled artifact drives it: a global constructor records
// a module before anything is bound (as the gpu.binary translation does), and
// kernels are launched through the PMPDDeviceABI trampolines, which this
// executable links and exports pmpd_device_bind from, like an artifact.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/CUDA/CUDADevice.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <vector>

using namespace pmpd::cuda;

// The trampolines, with upstream's signatures (CUmodule, CUfunction and
// CUstream are pointers).
extern "C" {
void *mgpuModuleLoad(void *data, size_t gpuBlobSize);
void *mgpuModuleLoadJIT(void *data, int optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t paramsCount);
void *mgpuStreamCreate();
void mgpuStreamDestroy(void *stream);
void mgpuStreamSynchronize(void *stream);
void *mgpuMemAlloc(uint64_t sizeBytes, void *stream, bool isHostShared);
void mgpuMemFree(void *ptr, void *stream);
void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream);
void mgpuMemset32(void *dst, unsigned int value, size_t count, void *stream);
void mgpuMemset16(void *dst, unsigned short value, size_t count, void *stream);
void *_mlir_memref_to_llvm_alloc(uint64_t size);
void *_mlir_memref_to_llvm_aligned_alloc(uint64_t alignment, uint64_t size);
void _mlir_memref_to_llvm_free(void *ptr);
}

namespace {

/// data[i] += 1.0f for i < n; PTX for sm_50, so any newer GPU JITs it.
const char kAddOnePTX[] = R"(
.version 6.0
.target sm_50
.address_size 64

.visible .entry add_one(
	.param .u64 add_one_param_0,
	.param .u32 add_one_param_1
)
{
	.reg .pred %p<2>;
	.reg .b32 %r<6>;
	.reg .f32 %f<3>;
	.reg .b64 %rd<5>;

	ld.param.u64 %rd1, [add_one_param_0];
	ld.param.u32 %r2, [add_one_param_1];
	mov.u32 %r3, %ctaid.x;
	mov.u32 %r4, %ntid.x;
	mov.u32 %r5, %tid.x;
	mad.lo.s32 %r1, %r3, %r4, %r5;
	setp.ge.u32 %p1, %r1, %r2;
	@%p1 bra DONE;
	cvta.to.global.u64 %rd2, %rd1;
	mul.wide.u32 %rd3, %r1, 4;
	add.s64 %rd4, %rd2, %rd3;
	ld.global.f32 %f1, [%rd4];
	add.f32 %f2, %f1, 0f3F800000;
	st.global.f32 [%rd4], %f2;
DONE:
	ret;
}
)";

/// What the gpu.binary translation does: load at dlopen (here: start-up)
/// time, before the runtime could bind anything.
void *const ctorModule =
    mgpuModuleLoad(const_cast<char *>(kAddOnePTX), sizeof(kAddOnePTX));

/// Opens the real device, or says why the test cannot run here.
std::unique_ptr<CUDADevice> openOrSkip(std::string &reason) {
  llvm::Expected<std::unique_ptr<CUDADevice>> device = CUDADevice::open();
  if (device)
    return std::move(*device);
  reason = llvm::toString(device.takeError());
  return nullptr;
}

#define OPEN_DEVICE_OR_SKIP(device)                                            \
  std::string skipReason;                                                      \
  std::unique_ptr<CUDADevice> device = openOrSkip(skipReason);                 \
  if (!device) {                                                               \
    if (llvm::StringRef(skipReason).starts_with("no CUDA "))                   \
      GTEST_SKIP() << skipReason;                                              \
    FAIL() << skipReason;                                                      \
  }

/// In a child process (Driver::load decides once per process): opens the
/// device with `driverPath` as the driver and prints the error.
[[noreturn]] void openWithDriver(const char *driverPath) {
  setenv("PMPD_CUDA_DRIVER", driverPath, 1);
  llvm::Expected<std::unique_ptr<CUDADevice>> device = CUDADevice::open();
  if (device) {
    std::fprintf(stderr, "opened %s\n", (*device)->name().c_str());
    std::exit(1);
  }
  std::fprintf(stderr, "%s\n", llvm::toString(device.takeError()).c_str());
  std::exit(0);
}

/// Binds the device to the trampolines linked into this executable, the way
/// the runtime binds a dlopen'ed artifact; the device unbinds them when it
/// is destroyed.
void bindToThisExecutable(CUDADevice &device) {
  void *self = dlopen(nullptr, RTLD_NOW);
  ASSERT_NE(self, nullptr);
  llvm::Error error = device.bind(self);
  ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));
}

/// Runs add_one over `count` floats at `data` through the trampolines.
void launchAddOne(void *module, uint64_t data, uint32_t count) {
  void *function = mgpuModuleGetFunction(module, "add_one");
  void *stream = mgpuStreamCreate();
  void *params[] = {&data, &count};
  mgpuLaunchKernel(function, (count + 255) / 256, 1, 1, 256, 1, 1, 0, stream,
                   params, nullptr, 2);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
}

TEST(CUDADeviceTest, MissingDriverIsAClearError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(openWithDriver("/nonexistent/libcuda.so.1"),
              testing::ExitedWithCode(0),
              "no CUDA driver: cannot load /nonexistent/libcuda.so.1 \\(.*\\); "
              "the gpu target needs an NVIDIA GPU and its driver");
}

// The toolkit's stub exports every entry point, so this also checks that each
// exported name the driver table asks for exists. (The stub cannot name its
// own error either.)
TEST(CUDADeviceTest, StubLibraryIsNotADriver) {
  const char *stub = "/usr/local/cuda/lib64/stubs/libcuda.so";
  if (!llvm::sys::fs::exists(stub))
    GTEST_SKIP() << "no CUDA toolkit stub at " << stub;
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(openWithDriver(stub), testing::ExitedWithCode(0),
              "no CUDA driver: .* is the CUDA toolkit's stub library, not a "
              "driver \\(cuInit: CUDA(_ERROR_STUB_LIBRARY| error 34)");
}

TEST(CUDADeviceTest, NamesTheDevice) {
  OPEN_DEVICE_OR_SKIP(device);
  EXPECT_NE(device->name().find("sm_"), std::string::npos) << device->name();
  EXPECT_GT(device->totalMemory(), 0u);
  EXPECT_GT(device->freeMemory(), 0u);
}

TEST(CUDADeviceTest, UploadDownloadZero) {
  OPEN_DEVICE_OR_SKIP(device);
  const size_t count = 300000;
  std::vector<float> host(count);
  for (size_t i = 0; i < count; ++i)
    host[i] = float(i) * 0.5f - 7;
  llvm::Expected<uint64_t> buffer =
      device->allocate(count * sizeof(float), "test buffer");
  ASSERT_TRUE(bool(buffer)) << llvm::toString(buffer.takeError());
  ASSERT_NE(*buffer, 0u);
  ASSERT_FALSE(bool(device->upload(*buffer, host.data(), count * 4)));
  std::vector<float> back(count, -1);
  ASSERT_FALSE(bool(device->download(back.data(), *buffer, count * 4)));
  EXPECT_EQ(back, host);

  ASSERT_FALSE(bool(device->zero(*buffer + 400, 800)));
  ASSERT_FALSE(bool(device->download(back.data(), *buffer, count * 4)));
  for (size_t i = 0; i < count; ++i)
    ASSERT_EQ(back[i], i >= 100 && i < 300 ? 0.0f : host[i]) << i;
  device->release(*buffer);

  llvm::Expected<uint64_t> empty = device->allocate(0, "nothing");
  ASSERT_TRUE(bool(empty));
  EXPECT_EQ(*empty, 0u);
}

TEST(CUDADeviceTest, AllocationLargerThanTheDeviceIsAClearError) {
  OPEN_DEVICE_OR_SKIP(device);
  llvm::Expected<uint64_t> buffer =
      device->allocate(device->totalMemory() * 2, "KV cache");
  ASSERT_FALSE(bool(buffer));
  std::string message = llvm::toString(buffer.takeError());
  EXPECT_NE(message.find("KV cache: cannot allocate "), std::string::npos)
      << message;
  EXPECT_NE(message.find(" GiB on the device ("), std::string::npos) << message;
  EXPECT_NE(message.find(" free of "), std::string::npos) << message;
  EXPECT_NE(message.find("CUDA_ERROR_OUT_OF_MEMORY"), std::string::npos)
      << message;
}

TEST(CUDADeviceTest, ScratchArenaGivesTheSameAddressesEveryCall) {
  OPEN_DEVICE_OR_SKIP(device);
  const PMPDDeviceInterface *table = device->interface();
  bindToThisExecutable(*device);
  auto sequence = [&] {
    std::vector<uintptr_t> addresses;
    addresses.push_back(uintptr_t(table->allocate(table->context, 1000, 0)));
    addresses.push_back(uintptr_t(_mlir_memref_to_llvm_alloc(5000)));
    addresses.push_back(
        uintptr_t(_mlir_memref_to_llvm_aligned_alloc(4096, 12)));
    // Larger than the first chunk: the arena grows by a chunk.
    addresses.push_back(uintptr_t(mgpuMemAlloc(
        CUDADevice::kInitialScratchBytes + 1, mgpuStreamCreate(), false)));
    addresses.push_back(uintptr_t(_mlir_memref_to_llvm_alloc(0)));
    _mlir_memref_to_llvm_free(reinterpret_cast<void *>(addresses[1]));
    mgpuMemFree(reinterpret_cast<void *>(addresses[3]), nullptr);
    return addresses;
  };
  device->beginCall();
  std::vector<uintptr_t> first = sequence();
  ASSERT_FALSE(bool(device->endCall()));
  uint64_t capacity = device->scratchCapacity();
  for (uintptr_t address : first) {
    EXPECT_NE(address, 0u);
    EXPECT_EQ(address % CUDADevice::kScratchAlignment, 0u);
  }
  EXPECT_EQ(first[2] % 4096, 0u);
  EXPECT_GE(device->scratchPeak(), CUDADevice::kInitialScratchBytes + 1);

  device->beginCall();
  EXPECT_EQ(sequence(), first);
  ASSERT_FALSE(bool(device->endCall()));
  EXPECT_EQ(device->scratchCapacity(), capacity);

  // Scratch is device memory: compiled code fills and copies it.
  device->beginCall();
  void *a = _mlir_memref_to_llvm_alloc(64 * sizeof(uint32_t));
  void *b = _mlir_memref_to_llvm_alloc(64 * sizeof(uint32_t));
  mgpuMemset32(a, 0xdeadbeef, 64, nullptr);
  mgpuMemset16(a, 0x1234, 2, nullptr);
  mgpuMemcpy(b, a, 64 * sizeof(uint32_t), nullptr);
  ASSERT_FALSE(bool(device->endCall()));
  std::vector<uint32_t> back(64);
  ASSERT_FALSE(bool(device->download(back.data(), uint64_t(uintptr_t(b)),
                                     64 * sizeof(uint32_t))));
  EXPECT_EQ(back[0], 0x12341234u);
  for (size_t i = 1; i < back.size(); ++i)
    ASSERT_EQ(back[i], 0xdeadbeefu) << i;

  ASSERT_FALSE(bool(device->reserveScratch(device->scratchPeak())));
  EXPECT_EQ(
      device->scratchCapacity(),
      llvm::alignTo(device->scratchPeak(), CUDADevice::kScratchAlignment));
}

TEST(CUDADeviceTest, GarbageModuleIsAClearError) {
  OPEN_DEVICE_OR_SKIP(device);
  const PMPDDeviceInterface *table = device->interface();
  std::vector<char> garbage(256);
  for (size_t i = 0; i < garbage.size(); ++i)
    garbage[i] = char(i * 37 + 11);
  garbage.back() = 0; // Whatever the driver takes it for, it ends.

  // As compiled code would: through the table...
  device->beginCall();
  EXPECT_EQ(
      table->loadModule(table->context, garbage.data(), garbage.size(), -1),
      nullptr);
  llvm::Error error = device->endCall();
  ASSERT_TRUE(bool(error));
  std::string message = llvm::toString(std::move(error));
  EXPECT_NE(message.find("cannot load a GPU module of 256 bytes: "
                         "cuModuleLoadDataEx: CUDA_ERROR_"),
            std::string::npos)
      << message;

  // ... and through the trampolines, bound directly: the failed load is
  // reported once, and the launch that follows is skipped.
  ASSERT_EQ(pmpd_device_bind(table), 0);
  void *module = mgpuModuleLoad(garbage.data(), garbage.size());
  device->beginCall();
  void *function = mgpuModuleGetFunction(module, "add_one");
  EXPECT_EQ(function, nullptr);
  mgpuLaunchKernel(function, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  error = device->endCall();
  ASSERT_TRUE(bool(error));
  EXPECT_NE(llvm::toString(std::move(error)).find("cannot load a GPU module"),
            std::string::npos);
  mgpuModuleUnload(module);

  // The error was collected: the next call is clean.
  device->beginCall();
  EXPECT_FALSE(bool(device->endCall()));
  EXPECT_EQ(pmpd_device_bind(nullptr), 0);
}

TEST(CUDADeviceTest, KernelThroughTheTrampolines) {
  OPEN_DEVICE_OR_SKIP(device);
  // The library way: dlsym(pmpd_device_bind) in the executable's symbols.
  void *self = dlopen(nullptr, RTLD_NOW);
  ASSERT_NE(self, nullptr);
  ASSERT_FALSE(bool(device->bind(self)));

  const uint32_t count = 1000;
  std::vector<float> host(count);
  for (uint32_t i = 0; i < count; ++i)
    host[i] = float(i);
  llvm::Expected<uint64_t> buffer =
      device->allocate(count * sizeof(float), "kernel data");
  ASSERT_TRUE(bool(buffer)) << llvm::toString(buffer.takeError());
  ASSERT_FALSE(bool(device->upload(*buffer, host.data(), count * 4)));

  // The module recorded at start-up is loaded now, on first use.
  device->beginCall();
  launchAddOne(ctorModule, *buffer, count);
  launchAddOne(ctorModule, *buffer, count); // The cached kernel.
  ASSERT_FALSE(bool(device->endCall()));

  // PTX text through the JIT entry, and a captured graph replayed twice.
  void *jitModule = mgpuModuleLoadJIT(const_cast<char *>(kAddOnePTX), 3);
  device->beginCall();
  launchAddOne(jitModule, *buffer, count); // Loads outside the capture.
  ASSERT_FALSE(bool(device->endCall()));
  device->beginCall();
  ASSERT_FALSE(bool(device->beginCapture()));
  launchAddOne(jitModule, *buffer, count);
  llvm::Expected<Graph> graph = device->endCapture();
  ASSERT_TRUE(bool(graph)) << llvm::toString(graph.takeError());
  ASSERT_FALSE(bool(device->launchGraph(*graph)));
  ASSERT_FALSE(bool(device->launchGraph(*graph)));
  ASSERT_FALSE(bool(device->endCall()));
  mgpuModuleUnload(jitModule);

  std::vector<float> back(count);
  ASSERT_FALSE(bool(device->download(back.data(), *buffer, count * 4)));
  for (uint32_t i = 0; i < count; ++i)
    ASSERT_EQ(back[i], float(i) + 5) << i;

  // A kernel the module lacks.
  device->beginCall();
  EXPECT_EQ(mgpuModuleGetFunction(ctorModule, "no_such_kernel"), nullptr);
  llvm::Error error = device->endCall();
  ASSERT_TRUE(bool(error));
  std::string message = llvm::toString(std::move(error));
  EXPECT_NE(message.find("kernel no_such_kernel: cuModuleGetFunction: "
                         "CUDA_ERROR_NOT_FOUND"),
            std::string::npos)
      << message;

  device->release(*buffer);
  device->unbind(self);
  dlclose(self);
}

TEST(CUDADeviceTest, LibraryWithoutTheABIIsAClearError) {
  OPEN_DEVICE_OR_SKIP(device);
  void *libm = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(libm, nullptr);
  llvm::Error error = device->bind(libm);
  ASSERT_TRUE(bool(error));
  EXPECT_NE(
      llvm::toString(std::move(error)).find("does not export pmpd_device_bind"),
      std::string::npos);
  dlclose(libm);
}

} // namespace
