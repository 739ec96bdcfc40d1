//===- CUDADevice.h - The runtime's one CUDA device -------------*- C++ -*-===//
//
// Everything the gpu target does on the device goes through one CUDADevice:
// the persistent buffers the runtime owns (weights, KV cache, inputs and
// outputs), the scratch arena for compiled code's temporaries, the modules
// and kernel launches of compiled code (through PMPDDeviceInterface, which
// artifacts reach via their PMPDDeviceABI trampolines), and one stream that
// orders all of it.
//
// A call into compiled code is bracketed by beginCall() and endCall().
// beginCall() resets the scratch arena, so the same sequence of allocations
// gets the same addresses in every call: what a captured CUDA graph needs to
// replay. Errors inside compiled code cannot unwind through it; the first one
// is kept, later device work of the call is skipped, and endCall() returns it.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_RUNTIME_CUDA_CUDADEVICE_H
#define PMPD_RUNTIME_CUDA_CUDADEVICE_H

#include "pmpd/Runtime/CUDA/Driver.h"
#include "pmpd/Runtime/DeviceInterface.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pmpd {
namespace cuda {

/// An instantiated CUDA graph (a captured call), destroyed with the object.
class Graph {
public:
  Graph() = default;
  Graph(Graph &&other) noexcept { *this = std::move(other); }
  Graph &operator=(Graph &&other) noexcept;
  Graph(const Graph &) = delete;
  Graph &operator=(const Graph &) = delete;
  ~Graph();

  explicit operator bool() const { return exec != nullptr; }

private:
  friend class CUDADevice;
  Graph(const Driver *driver, CUgraphExec exec) : driver(driver), exec(exec) {}

  const Driver *driver = nullptr;
  CUgraphExec exec = nullptr;
};

class CUDADevice {
public:
  /// Scratch allocations are aligned to at least this many bytes.
  static constexpr uint64_t kScratchAlignment = 256;
  /// The first scratch chunk, unless reserveScratch() asked for another size.
  static constexpr uint64_t kInitialScratchBytes = 64ull << 20;

  /// Opens device PMPD_CUDA_DEVICE (default 0): its primary context and one
  /// non-blocking stream. Fails with a message saying why on machines without
  /// a driver or a device.
  static llvm::Expected<std::unique_ptr<CUDADevice>> open();
  /// Unbinds the libraries still bound (so destroy the device before
  /// dlclose'ing them, or unbind them first) and frees everything.
  ~CUDADevice();
  CUDADevice(const CUDADevice &) = delete;
  CUDADevice &operator=(const CUDADevice &) = delete;

  /// E.g. "NVIDIA H200 (device 0, sm_90, 132 SMs, 139.8 GiB, driver 12.8)".
  std::string name() const { return description; }
  int ordinal() const { return deviceOrdinal; }
  uint64_t totalMemory() const { return totalBytes; }
  /// Free device memory now, 0 if the driver cannot say.
  uint64_t freeMemory() const;
  const Driver &driver() const { return api; }
  CUstream stream() const { return mainStream; }

  //===--------------------------------------------------------------------===//
  // Persistent buffers
  //===--------------------------------------------------------------------===//

  /// Device memory until release(); `what` names it in the error, e.g.
  /// "KV cache: cannot allocate 3.2 GiB on the device (1.1 GiB free)". Zero
  /// bytes gives address 0.
  llvm::Expected<uint64_t> allocate(size_t bytes, const llvm::Twine &what);
  void release(uint64_t address);
  /// Copies to or from the device and waits for the copy (and for all work
  /// queued before it on the stream).
  llvm::Error upload(uint64_t dst, const void *src, size_t bytes);
  llvm::Error download(void *dst, uint64_t src, size_t bytes);
  /// Enqueues zeroing on the stream.
  llvm::Error zero(uint64_t dst, size_t bytes);

  //===--------------------------------------------------------------------===//
  // Calls into compiled code
  //===--------------------------------------------------------------------===//

  /// The table compiled code calls back into; valid while the device lives.
  const PMPDDeviceInterface *interface() const { return &table; }
  /// Binds the table to a dlopen'ed artifact through its pmpd_device_bind.
  llvm::Error bind(void *libraryHandle);
  /// Unbinds a library bound by bind(): its modules are unloaded.
  void unbind(void *libraryHandle);

  /// Resets the scratch arena. The error of a previous call that was not
  /// collected by endCall() is kept.
  void beginCall();
  /// Waits for the stream; returns the first error of the call, if any, and
  /// forgets it.
  llvm::Error endCall();

  /// Frees the scratch arena and allocates one chunk of `bytes` (e.g. the peak
  /// of a first call, so that later calls use one chunk). Only between calls;
  /// graphs captured before it are invalid afterwards.
  llvm::Error reserveScratch(uint64_t bytes);
  /// Bytes of scratch the arena holds, and the most any call used.
  uint64_t scratchCapacity() const;
  uint64_t scratchPeak() const { return peakScratch; }

  //===--------------------------------------------------------------------===//
  // CUDA graphs
  //===--------------------------------------------------------------------===//

  /// Records instead of running everything enqueued on the stream until
  /// endCapture(). Run the call once uncaptured first: modules are loaded and
  /// the scratch arena grows only outside a capture.
  llvm::Error beginCapture();
  /// Ends the capture; fails with the call's first error if there was one.
  llvm::Expected<Graph> endCapture();
  llvm::Error launchGraph(const Graph &graph);
  bool isCapturing() const { return capturing; }

private:
  CUDADevice(const Driver &api) : api(api) {}

  /// Makes the device's context current on the calling thread.
  llvm::Error makeCurrent() const;
  void recordError(const llvm::Twine &message);
  std::string describeAllocationFailure(uint64_t bytes,
                                        const llvm::Twine &what) const;
  void *allocateScratch(uint64_t bytes, uint64_t alignment);
  void freeScratchChunks();

  // The PMPDDeviceInterface functions; `context` is the device.
  static void *allocateHook(void *context, uint64_t bytes, uint64_t alignment);
  static void deallocateHook(void *context, void *pointer);
  static void *loadModuleHook(void *context, const void *data, uint64_t size,
                              int32_t jitOptLevel);
  static void unloadModuleHook(void *context, void *module);
  static void *getFunctionHook(void *context, void *module, const char *name);
  static void launchKernelHook(void *context, void *function, int64_t gridX,
                               int64_t gridY, int64_t gridZ, int64_t blockX,
                               int64_t blockY, int64_t blockZ,
                               uint32_t sharedBytes, void **params,
                               void **extra);
  static void copyHook(void *context, void *dst, const void *src,
                       uint64_t bytes);
  static void fillHook(void *context, void *dst, uint32_t value,
                       uint32_t elementBytes, uint64_t count);
  static void recordErrorHook(void *context, const char *message);

  const Driver &api;
  int deviceOrdinal = 0;
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUstream mainStream = nullptr;
  uint64_t totalBytes = 0;
  std::string description;
  PMPDDeviceInterface table = {};

  /// Persistent buffers and their sizes.
  llvm::DenseMap<uint64_t, uint64_t> buffers;

  struct ScratchChunk {
    CUdeviceptr base;
    uint64_t bytes;
  };
  std::vector<ScratchChunk> scratch;
  size_t scratchChunk = 0;    // Where the next allocation is tried.
  uint64_t scratchOffset = 0; // Bytes used of that chunk.
  uint64_t scratchBefore = 0; // Bytes of the chunks before it.
  uint64_t peakScratch = 0;

  /// Kernels whose dynamic shared memory limit was raised, and to what.
  llvm::DenseMap<CUfunction, uint32_t> sharedLimits;

  struct BoundLibrary {
    void *handle;
    int (*bind)(const PMPDDeviceInterface *);
  };
  llvm::SmallVector<BoundLibrary, 2> libraries;

  bool capturing = false;
  bool failed = false;
  std::string firstError;
};

} // namespace cuda
} // namespace pmpd

#endif // PMPD_RUNTIME_CUDA_CUDADEVICE_H
