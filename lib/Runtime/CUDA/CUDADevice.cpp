//===- CUDADevice.cpp - The runtime's one CUDA device ---------------------===//
//
// The hooks of PMPDDeviceInterface run inside compiled code: they never fail
// loudly, they record the first error and make the rest of the call's device
// work a no-op, and endCall() (or endCapture()) reports it.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/CUDA/CUDADevice.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <iterator>
#include <utility>

using namespace pmpd::cuda;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// "3.2 GiB", "512.0 MiB", "12 bytes".
static std::string formatBytes(uint64_t bytes) {
  static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024)
    return std::to_string(bytes) + " bytes";
  double value = double(bytes) / 1024;
  unsigned unit = 0;
  for (; value >= 1024 && unit + 1 < std::size(units); ++unit)
    value /= 1024;
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f %s", value, units[unit]);
  return text;
}

static CUdeviceptr toDevice(const void *pointer) {
  return CUdeviceptr(reinterpret_cast<uintptr_t>(pointer));
}

//===----------------------------------------------------------------------===//
// Graph
//===----------------------------------------------------------------------===//

Graph &Graph::operator=(Graph &&other) noexcept {
  if (this != &other) {
    if (exec)
      driver->cuGraphExecDestroy(exec);
    driver = other.driver;
    exec = other.exec;
    other.exec = nullptr;
  }
  return *this;
}

Graph::~Graph() {
  if (exec)
    driver->cuGraphExecDestroy(exec);
}

//===----------------------------------------------------------------------===//
// Opening and closing
//===----------------------------------------------------------------------===//

llvm::Expected<std::unique_ptr<CUDADevice>> CUDADevice::open() {
  llvm::Expected<const Driver &> loaded = Driver::load();
  if (!loaded)
    return loaded.takeError();
  const Driver &api = *loaded;

  int count = 0;
  if (llvm::Error error =
          api.check(api.cuDeviceGetCount(&count), "cuDeviceGetCount"))
    return std::move(error);
  if (count == 0)
    return makeError("no CUDA device (cuDeviceGetCount returned 0)");

  int ordinal = 0;
  if (const char *env = std::getenv("PMPD_CUDA_DEVICE"); env && *env) {
    if (llvm::StringRef(env).trim().getAsInteger(10, ordinal) || ordinal < 0)
      return makeError(llvm::Twine("PMPD_CUDA_DEVICE=") + env +
                       " is not a device number");
    if (ordinal >= count)
      return makeError(llvm::Twine("PMPD_CUDA_DEVICE=") + env +
                       ", but the machine has " + llvm::Twine(count) +
                       " CUDA device(s), numbered from 0");
  }

  std::unique_ptr<CUDADevice> result(new CUDADevice(api));
  CUDADevice &self = *result;
  self.deviceOrdinal = ordinal;
  if (llvm::Error error =
          api.check(api.cuDeviceGet(&self.device, ordinal), "cuDeviceGet"))
    return std::move(error);
  if (llvm::Error error =
          api.check(api.cuDevicePrimaryCtxRetain(&self.context, self.device),
                    "cuDevicePrimaryCtxRetain"))
    return std::move(error);
  if (llvm::Error error = self.makeCurrent())
    return std::move(error);
  if (llvm::Error error = api.check(
          api.cuStreamCreate(&self.mainStream, CU_STREAM_NON_BLOCKING),
          "cuStreamCreate"))
    return std::move(error);

  size_t total = 0;
  if (api.cuDeviceTotalMem(&total, self.device) == CUDA_SUCCESS)
    self.totalBytes = total;
  char deviceName[256] = {};
  if (api.cuDeviceGetName(deviceName, sizeof(deviceName) - 1, self.device) !=
      CUDA_SUCCESS)
    std::snprintf(deviceName, sizeof(deviceName), "CUDA device");
  int major = 0, minor = 0, processors = 0;
  api.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                           self.device);
  api.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                           self.device);
  api.cuDeviceGetAttribute(
      &processors, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, self.device);
  self.description =
      std::string(deviceName) + " (device " + std::to_string(ordinal) +
      ", sm_" + std::to_string(major * 10 + minor) + ", " +
      std::to_string(processors) + " SMs, " + formatBytes(self.totalBytes) +
      ", driver " + std::to_string(api.version() / 1000) + "." +
      std::to_string(api.version() % 1000 / 10) + ")";

  self.table.version = PMPD_DEVICE_INTERFACE_VERSION;
  self.table.size = sizeof(PMPDDeviceInterface);
  self.table.context = &self;
  self.table.stream = self.mainStream;
  self.table.allocate = allocateHook;
  self.table.deallocate = deallocateHook;
  self.table.loadModule = loadModuleHook;
  self.table.unloadModule = unloadModuleHook;
  self.table.getFunction = getFunctionHook;
  self.table.launchKernel = launchKernelHook;
  self.table.copy = copyHook;
  self.table.fill = fillHook;
  self.table.recordError = recordErrorHook;
  return std::move(result);
}

CUDADevice::~CUDADevice() {
  if (!context)
    return;
  if (llvm::Error error = makeCurrent()) {
    llvm::consumeError(std::move(error));
    return;
  }
  if (mainStream) {
    if (capturing) {
      CUgraph graph = nullptr;
      if (api.cuStreamEndCapture(mainStream, &graph) == CUDA_SUCCESS && graph)
        api.cuGraphDestroy(graph);
    }
    api.cuStreamSynchronize(mainStream);
  }
  while (!libraries.empty())
    unbind(libraries.back().handle);
  freeScratchChunks();
  for (const auto &buffer : buffers)
    api.cuMemFree(buffer.first);
  if (mainStream)
    api.cuStreamDestroy(mainStream);
  api.cuDevicePrimaryCtxRelease(device);
}

llvm::Error CUDADevice::makeCurrent() const {
  CUcontext current = nullptr;
  if (api.cuCtxGetCurrent(&current) == CUDA_SUCCESS && current == context)
    return llvm::Error::success();
  return api.check(api.cuCtxSetCurrent(context), "cuCtxSetCurrent");
}

uint64_t CUDADevice::freeMemory() const {
  size_t free = 0, total = 0;
  if (llvm::Error error = makeCurrent()) {
    llvm::consumeError(std::move(error));
    return 0;
  }
  if (api.cuMemGetInfo(&free, &total) != CUDA_SUCCESS)
    return 0;
  return free;
}

std::string
CUDADevice::describeAllocationFailure(uint64_t bytes,
                                      const llvm::Twine &what) const {
  return (what + ": cannot allocate " + formatBytes(bytes) +
          " on the device (" + formatBytes(freeMemory()) + " free of " +
          formatBytes(totalBytes) + ")")
      .str();
}

//===----------------------------------------------------------------------===//
// Persistent buffers
//===----------------------------------------------------------------------===//

llvm::Expected<uint64_t> CUDADevice::allocate(size_t bytes,
                                              const llvm::Twine &what) {
  if (bytes == 0)
    return 0;
  if (llvm::Error error = makeCurrent())
    return std::move(error);
  if (capturing)
    return makeError(what + ": cannot allocate device memory during a CUDA "
                            "graph capture");
  CUdeviceptr address = 0;
  CUresult result = api.cuMemAlloc(&address, bytes);
  if (result != CUDA_SUCCESS)
    return makeError(describeAllocationFailure(bytes, what) + ": " +
                     api.describe(result));
  buffers[address] = bytes;
  return address;
}

void CUDADevice::release(uint64_t address) {
  if (!address || !buffers.erase(address))
    return;
  if (llvm::Error error = makeCurrent()) {
    llvm::consumeError(std::move(error));
    return;
  }
  api.cuMemFree(address);
}

llvm::Error CUDADevice::upload(uint64_t dst, const void *src, size_t bytes) {
  if (bytes == 0)
    return llvm::Error::success();
  if (capturing)
    return makeError("cannot upload to the device during a CUDA graph capture");
  if (llvm::Error error = makeCurrent())
    return error;
  if (llvm::Error error =
          api.check(api.cuMemcpyHtoDAsync(dst, src, bytes, mainStream),
                    "upload of " + formatBytes(bytes) + ": cuMemcpyHtoDAsync"))
    return error;
  return api.check(api.cuStreamSynchronize(mainStream),
                   "upload of " + formatBytes(bytes) + ": cuStreamSynchronize");
}

llvm::Error CUDADevice::download(void *dst, uint64_t src, size_t bytes) {
  if (bytes == 0)
    return llvm::Error::success();
  if (capturing)
    return makeError(
        "cannot download from the device during a CUDA graph capture");
  if (llvm::Error error = makeCurrent())
    return error;
  if (llvm::Error error = api.check(
          api.cuMemcpyDtoHAsync(dst, src, bytes, mainStream),
          "download of " + formatBytes(bytes) + ": cuMemcpyDtoHAsync"))
    return error;
  return api.check(api.cuStreamSynchronize(mainStream),
                   "download of " + formatBytes(bytes) +
                       ": cuStreamSynchronize");
}

llvm::Error CUDADevice::zero(uint64_t dst, size_t bytes) {
  if (bytes == 0)
    return llvm::Error::success();
  if (llvm::Error error = makeCurrent())
    return error;
  return api.check(api.cuMemsetD8Async(dst, 0, bytes, mainStream),
                   "zeroing " + formatBytes(bytes) + ": cuMemsetD8Async");
}

//===----------------------------------------------------------------------===//
// Calls and the scratch arena
//===----------------------------------------------------------------------===//

llvm::Error CUDADevice::bind(void *libraryHandle) {
  auto bindFn = reinterpret_cast<int (*)(const PMPDDeviceInterface *)>(
      dlsym(libraryHandle, "pmpd_device_bind"));
  if (!bindFn)
    return makeError("the compiled library does not export pmpd_device_bind: "
                     "it was not linked with the PMPDDeviceABI archive (is it "
                     "an artifact of the gpu target?)");
  if (int version = bindFn(&table))
    return makeError("the compiled library's device interface is version " +
                     llvm::Twine(version) + ", the runtime's is version " +
                     llvm::Twine(PMPD_DEVICE_INTERFACE_VERSION) +
                     "; recompile the artifact");
  for (const BoundLibrary &library : libraries)
    if (library.handle == libraryHandle)
      return llvm::Error::success();
  libraries.push_back({libraryHandle, bindFn});
  return llvm::Error::success();
}

void CUDADevice::unbind(void *libraryHandle) {
  auto it = std::find_if(libraries.begin(), libraries.end(),
                         [&](const BoundLibrary &library) {
                           return library.handle == libraryHandle;
                         });
  if (it == libraries.end())
    return;
  if (llvm::Error error = makeCurrent())
    llvm::consumeError(std::move(error));
  it->bind(nullptr);
  libraries.erase(it);
}

void CUDADevice::beginCall() {
  scratchChunk = 0;
  scratchOffset = 0;
  scratchBefore = 0;
  if (llvm::Error error = makeCurrent())
    recordError(llvm::toString(std::move(error)));
}

llvm::Error CUDADevice::endCall() {
  if (capturing)
    return makeError("endCall during a CUDA graph capture; call endCapture");
  llvm::Error synced = makeCurrent();
  if (!synced)
    synced = api.check(api.cuStreamSynchronize(mainStream),
                       "running compiled code on the device");
  if (!failed)
    return synced;
  llvm::consumeError(std::move(synced));
  failed = false;
  return makeError(std::exchange(firstError, std::string()));
}

void CUDADevice::recordError(const llvm::Twine &message) {
  if (failed)
    return;
  failed = true;
  firstError = message.str();
}

uint64_t CUDADevice::scratchCapacity() const {
  uint64_t bytes = 0;
  for (const ScratchChunk &chunk : scratch)
    bytes += chunk.bytes;
  return bytes;
}

void CUDADevice::freeScratchChunks() {
  for (const ScratchChunk &chunk : scratch)
    api.cuMemFree(chunk.base);
  scratch.clear();
  scratchChunk = 0;
  scratchOffset = 0;
  scratchBefore = 0;
}

llvm::Error CUDADevice::reserveScratch(uint64_t bytes) {
  if (capturing)
    return makeError("cannot reserve scratch memory during a CUDA graph "
                     "capture");
  if (llvm::Error error = makeCurrent())
    return error;
  if (llvm::Error error =
          api.check(api.cuStreamSynchronize(mainStream), "cuStreamSynchronize"))
    return error;
  freeScratchChunks();
  bytes = llvm::alignTo(std::max<uint64_t>(bytes, 1), kScratchAlignment);
  CUdeviceptr base = 0;
  CUresult result = api.cuMemAlloc(&base, bytes);
  if (result != CUDA_SUCCESS)
    return makeError(describeAllocationFailure(bytes, "scratch memory") + ": " +
                     api.describe(result));
  scratch.push_back({base, bytes});
  return llvm::Error::success();
}

void *CUDADevice::allocateScratch(uint64_t bytes, uint64_t alignment) {
  if (alignment & (alignment - 1)) {
    recordError("a temporary of compiled code asks for alignment " +
                llvm::Twine(alignment) + ", not a power of two");
    return nullptr;
  }
  alignment = std::max(alignment, kScratchAlignment);
  // Distinct allocations get distinct addresses, even empty ones.
  bytes = std::max<uint64_t>(bytes, 1);
  while (true) {
    for (; scratchChunk < scratch.size(); ++scratchChunk) {
      const ScratchChunk &chunk = scratch[scratchChunk];
      uint64_t offset =
          llvm::alignTo(chunk.base + scratchOffset, alignment) - chunk.base;
      if (offset <= chunk.bytes && bytes <= chunk.bytes - offset) {
        scratchOffset = offset + bytes;
        peakScratch = std::max(peakScratch, scratchBefore + scratchOffset);
        return reinterpret_cast<void *>(uintptr_t(chunk.base + offset));
      }
      scratchBefore += chunk.bytes;
      scratchOffset = 0;
    }
    if (capturing) {
      recordError("compiled code's temporaries need " + formatBytes(bytes) +
                  " more scratch memory during a CUDA graph capture; run the "
                  "call once before capturing it");
      return nullptr;
    }
    // Grow geometrically, so that a first call makes few chunks.
    uint64_t chunkBytes =
        scratch.empty() ? kInitialScratchBytes : scratch.back().bytes * 2;
    chunkBytes = std::max(chunkBytes,
                          llvm::alignTo(bytes + alignment, uint64_t(2) << 20));
    CUdeviceptr base = 0;
    CUresult result = api.cuMemAlloc(&base, chunkBytes);
    if (result != CUDA_SUCCESS) {
      recordError(describeAllocationFailure(
                      chunkBytes, "scratch memory for compiled code's "
                                  "temporaries") +
                  ": " + api.describe(result));
      return nullptr;
    }
    scratch.push_back({base, chunkBytes});
  }
}

//===----------------------------------------------------------------------===//
// PMPDDeviceInterface
//===----------------------------------------------------------------------===//

void *CUDADevice::allocateHook(void *context, uint64_t bytes,
                               uint64_t alignment) {
  return static_cast<CUDADevice *>(context)->allocateScratch(bytes, alignment);
}

void CUDADevice::deallocateHook(void *, void *) {
  // The arena is reset by the next beginCall().
}

void *CUDADevice::loadModuleHook(void *context, const void *data, uint64_t size,
                                 int32_t jitOptLevel) {
  auto &self = *static_cast<CUDADevice *>(context);
  const Driver &api = self.api;
  std::string what = "cannot load a GPU module of " + formatBytes(size);
  if (!data || size == 0) {
    self.recordError(what + ": the image is empty");
    return nullptr;
  }
  if (llvm::Error error = self.makeCurrent()) {
    self.recordError(what + ": " + llvm::toString(std::move(error)));
    return nullptr;
  }
  // The JIT's log says which line of PTX is wrong.
  char log[4096] = {};
  int options[3] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                    CU_JIT_OPTIMIZATION_LEVEL};
  void *values[3] = {log, reinterpret_cast<void *>(uintptr_t(sizeof(log))),
                     reinterpret_cast<void *>(uintptr_t(jitOptLevel))};
  unsigned count = jitOptLevel >= 0 ? 3 : 2;
  CUmodule module = nullptr;
  CUresult result =
      api.cuModuleLoadDataEx(&module, data, count, options, values);
  if (result != CUDA_SUCCESS) {
    std::string message =
        what + ": cuModuleLoadDataEx: " + api.describe(result);
    if (log[0])
      message += std::string(": ") + llvm::StringRef(log).trim().str();
    self.recordError(message);
    return nullptr;
  }
  return module;
}

void CUDADevice::unloadModuleHook(void *context, void *module) {
  auto &self = *static_cast<CUDADevice *>(context);
  if (llvm::Error error = self.makeCurrent()) {
    llvm::consumeError(std::move(error));
    return;
  }
  // The driver may hand out the same handles for another module's kernels.
  self.sharedLimits.clear();
  self.api.cuModuleUnload(static_cast<CUmodule>(module));
}

void *CUDADevice::getFunctionHook(void *context, void *module,
                                  const char *name) {
  auto &self = *static_cast<CUDADevice *>(context);
  CUfunction function = nullptr;
  CUresult result = self.api.cuModuleGetFunction(
      &function, static_cast<CUmodule>(module), name);
  if (result != CUDA_SUCCESS) {
    self.recordError(llvm::Twine("kernel ") + name +
                     ": cuModuleGetFunction: " + self.api.describe(result));
    return nullptr;
  }
  return function;
}

void CUDADevice::launchKernelHook(void *context, void *function, int64_t gridX,
                                  int64_t gridY, int64_t gridZ, int64_t blockX,
                                  int64_t blockY, int64_t blockZ,
                                  uint32_t sharedBytes, void **params,
                                  void **extra) {
  auto &self = *static_cast<CUDADevice *>(context);
  if (self.failed)
    return;
  if (!function) {
    self.recordError("launch of a kernel that could not be loaded");
    return;
  }
  const int64_t dims[] = {gridX, gridY, gridZ, blockX, blockY, blockZ};
  for (int64_t dim : dims) {
    if (dim < 1 || dim > int64_t(UINT32_MAX)) {
      self.recordError("kernel launch with grid (" + llvm::Twine(gridX) + ", " +
                       llvm::Twine(gridY) + ", " + llvm::Twine(gridZ) +
                       ") and block (" + llvm::Twine(blockX) + ", " +
                       llvm::Twine(blockY) + ", " + llvm::Twine(blockZ) +
                       "): every dimension must be in 1..2^32-1");
      return;
    }
  }
  const Driver &api = self.api;
  auto kernel = static_cast<CUfunction>(function);
  // Over 48 KiB of dynamic shared memory must be opted into per kernel.
  constexpr uint32_t kDefaultSharedLimit = 48 << 10;
  if (sharedBytes > kDefaultSharedLimit) {
    uint32_t &limit = self.sharedLimits[kernel];
    if (limit < sharedBytes) {
      CUresult result = api.cuFuncSetAttribute(
          kernel, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
          int(sharedBytes));
      if (result != CUDA_SUCCESS) {
        int most = 0;
        api.cuDeviceGetAttribute(
            &most, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
            self.device);
        self.recordError("a kernel asks for " + formatBytes(sharedBytes) +
                         " of shared memory, the device allows " +
                         formatBytes(uint64_t(most)) +
                         ": cuFuncSetAttribute: " + api.describe(result));
        return;
      }
      limit = sharedBytes;
    }
  }
  CUresult result = api.cuLaunchKernel(
      kernel, unsigned(gridX), unsigned(gridY), unsigned(gridZ),
      unsigned(blockX), unsigned(blockY), unsigned(blockZ), sharedBytes,
      self.mainStream, params, extra);
  if (result != CUDA_SUCCESS)
    self.recordError("cuLaunchKernel: " + api.describe(result));
}

void CUDADevice::copyHook(void *context, void *dst, const void *src,
                          uint64_t bytes) {
  auto &self = *static_cast<CUDADevice *>(context);
  if (self.failed || bytes == 0)
    return;
  CUresult result = self.api.cuMemcpyAsync(toDevice(dst), toDevice(src), bytes,
                                           self.mainStream);
  if (result != CUDA_SUCCESS)
    self.recordError(
        "copy of " + formatBytes(bytes) +
        " in compiled code: cuMemcpyAsync: " + self.api.describe(result));
}

void CUDADevice::fillHook(void *context, void *dst, uint32_t value,
                          uint32_t elementBytes, uint64_t count) {
  auto &self = *static_cast<CUDADevice *>(context);
  if (self.failed || count == 0)
    return;
  const Driver &api = self.api;
  CUdeviceptr address = toDevice(dst);
  CUresult result;
  switch (elementBytes) {
  case 1:
    result = api.cuMemsetD8Async(address, (unsigned char)value, count,
                                 self.mainStream);
    break;
  case 2:
    result = api.cuMemsetD16Async(address, (unsigned short)value, count,
                                  self.mainStream);
    break;
  case 4:
    result = api.cuMemsetD32Async(address, value, count, self.mainStream);
    break;
  default:
    self.recordError("fill with " + llvm::Twine(elementBytes) +
                     "-byte elements; only 1, 2 and 4 are supported");
    return;
  }
  if (result != CUDA_SUCCESS)
    self.recordError(
        "fill of " + llvm::Twine(count) + " " + llvm::Twine(elementBytes) +
        "-byte elements in compiled code: " + api.describe(result));
}

void CUDADevice::recordErrorHook(void *context, const char *message) {
  static_cast<CUDADevice *>(context)->recordError(message ? message
                                                          : "unknown error");
}

//===----------------------------------------------------------------------===//
// CUDA graphs
//===----------------------------------------------------------------------===//

llvm::Error CUDADevice::beginCapture() {
  if (capturing)
    return makeError("a CUDA graph capture is already under way");
  if (llvm::Error error = makeCurrent())
    return error;
  if (llvm::Error error =
          api.check(api.cuStreamBeginCapture(
                        mainStream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                    "cuStreamBeginCapture"))
    return error;
  capturing = true;
  return llvm::Error::success();
}

llvm::Expected<Graph> CUDADevice::endCapture() {
  if (!capturing)
    return makeError("endCapture without beginCapture");
  if (llvm::Error error = makeCurrent())
    return std::move(error);
  capturing = false;
  CUgraph graph = nullptr;
  CUresult ended = api.cuStreamEndCapture(mainStream, &graph);
  if (failed) {
    if (graph)
      api.cuGraphDestroy(graph);
    failed = false;
    return makeError(std::exchange(firstError, std::string()));
  }
  if (llvm::Error error = api.check(ended, "cuStreamEndCapture"))
    return std::move(error);
  CUgraphExec exec = nullptr;
  CUresult instantiated = api.cuGraphInstantiateWithFlags(&exec, graph, 0);
  api.cuGraphDestroy(graph);
  if (llvm::Error error =
          api.check(instantiated, "cuGraphInstantiateWithFlags"))
    return std::move(error);
  return Graph(&api, exec);
}

llvm::Error CUDADevice::launchGraph(const Graph &graph) {
  if (!graph)
    return makeError("launch of an empty CUDA graph");
  if (llvm::Error error = makeCurrent())
    return error;
  return api.check(api.cuGraphLaunch(graph.exec, mainStream), "cuGraphLaunch");
}
