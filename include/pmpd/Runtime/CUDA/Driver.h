//===- Driver.h - The CUDA driver API, loaded at run time -------*- C++ -*-===//
//
// The runtime never links libcuda: it is dlopen'ed on first use, so that every
// binary builds and runs on machines without an NVIDIA GPU, and only the gpu
// target fails there (with a message saying why). The few driver types pmpd
// needs are declared here with the driver's ABI, so no header of the CUDA
// toolkit is needed either. IREE's runtime/src/iree/hal/drivers/cuda/
// dynamic_symbols is the model.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_RUNTIME_CUDA_DRIVER_H
#define PMPD_RUNTIME_CUDA_DRIVER_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <cstdint>

namespace pmpd {
namespace cuda {

// The driver's types, ABI-compatible with cuda.h.
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = uint64_t;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;

// The enumerators pmpd passes, with cuda.h's values.
enum : CUresult { CUDA_SUCCESS = 0 };
enum : unsigned { CU_STREAM_NON_BLOCKING = 0x1 };
enum : int {
  CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
  CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
};
enum : int { CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8 };
enum : int {
  CU_JIT_ERROR_LOG_BUFFER = 5,
  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
  CU_JIT_OPTIMIZATION_LEVEL = 7,
};
enum : int { CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1 };

/// X(member, exported symbol, parameters): every entry point pmpd uses. The
/// member is the API name; the symbol is the version that cuda.h's macros
/// select (cuMemAlloc is cuMemAlloc_v2, ...), without the per-thread default
/// stream variants: pmpd always passes its own stream. Every entry returns a
/// CUresult.
#define PMPD_CUDA_DRIVER_ENTRY_POINTS(X)                                       \
  X(cuInit, "cuInit", (unsigned flags))                                        \
  X(cuDriverGetVersion, "cuDriverGetVersion", (int *version))                  \
  X(cuGetErrorName, "cuGetErrorName", (CUresult error, const char **name))     \
  X(cuGetErrorString, "cuGetErrorString", (CUresult error, const char **text)) \
  X(cuDeviceGetCount, "cuDeviceGetCount", (int *count))                        \
  X(cuDeviceGet, "cuDeviceGet", (CUdevice * device, int ordinal))              \
  X(cuDeviceGetName, "cuDeviceGetName",                                        \
    (char *name, int length, CUdevice device))                                 \
  X(cuDeviceGetAttribute, "cuDeviceGetAttribute",                              \
    (int *value, int attribute, CUdevice device))                              \
  X(cuDeviceTotalMem, "cuDeviceTotalMem_v2",                                   \
    (size_t * bytes, CUdevice device))                                         \
  X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain",                      \
    (CUcontext * context, CUdevice device))                                    \
  X(cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2",                 \
    (CUdevice device))                                                         \
  X(cuCtxSetCurrent, "cuCtxSetCurrent", (CUcontext context))                   \
  X(cuCtxGetCurrent, "cuCtxGetCurrent", (CUcontext * context))                 \
  X(cuCtxDestroy, "cuCtxDestroy_v2", (CUcontext context))                      \
  X(cuMemGetInfo, "cuMemGetInfo_v2", (size_t * free, size_t * total))          \
  X(cuMemAlloc, "cuMemAlloc_v2", (CUdeviceptr * pointer, size_t bytes))        \
  X(cuMemFree, "cuMemFree_v2", (CUdeviceptr pointer))                          \
  X(cuMemcpyHtoD, "cuMemcpyHtoD_v2",                                           \
    (CUdeviceptr dst, const void *src, size_t bytes))                          \
  X(cuMemcpyDtoH, "cuMemcpyDtoH_v2",                                           \
    (void *dst, CUdeviceptr src, size_t bytes))                                \
  X(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2",                                 \
    (CUdeviceptr dst, const void *src, size_t bytes, CUstream stream))         \
  X(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2",                                 \
    (void *dst, CUdeviceptr src, size_t bytes, CUstream stream))               \
  X(cuMemcpyAsync, "cuMemcpyAsync",                                            \
    (CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream))         \
  X(cuMemsetD8, "cuMemsetD8_v2",                                               \
    (CUdeviceptr dst, unsigned char value, size_t count))                      \
  X(cuMemsetD32, "cuMemsetD32_v2",                                             \
    (CUdeviceptr dst, unsigned value, size_t count))                           \
  X(cuMemsetD8Async, "cuMemsetD8Async",                                        \
    (CUdeviceptr dst, unsigned char value, size_t count, CUstream stream))     \
  X(cuMemsetD16Async, "cuMemsetD16Async",                                      \
    (CUdeviceptr dst, unsigned short value, size_t count, CUstream stream))    \
  X(cuMemsetD32Async, "cuMemsetD32Async",                                      \
    (CUdeviceptr dst, unsigned value, size_t count, CUstream stream))          \
  X(cuModuleLoadData, "cuModuleLoadData",                                      \
    (CUmodule * module, const void *image))                                    \
  X(cuModuleLoadDataEx, "cuModuleLoadDataEx",                                  \
    (CUmodule * module, const void *image, unsigned count, int *options,       \
     void **values))                                                           \
  X(cuModuleUnload, "cuModuleUnload", (CUmodule module))                       \
  X(cuModuleGetFunction, "cuModuleGetFunction",                                \
    (CUfunction * function, CUmodule module, const char *name))                \
  X(cuFuncSetAttribute, "cuFuncSetAttribute",                                  \
    (CUfunction function, int attribute, int value))                           \
  X(cuLaunchKernel, "cuLaunchKernel",                                          \
    (CUfunction function, unsigned gridX, unsigned gridY, unsigned gridZ,      \
     unsigned blockX, unsigned blockY, unsigned blockZ, unsigned sharedBytes,  \
     CUstream stream, void **params, void **extra))                            \
  X(cuStreamCreate, "cuStreamCreate", (CUstream * stream, unsigned flags))     \
  X(cuStreamDestroy, "cuStreamDestroy_v2", (CUstream stream))                  \
  X(cuStreamSynchronize, "cuStreamSynchronize", (CUstream stream))             \
  X(cuStreamBeginCapture, "cuStreamBeginCapture_v2",                           \
    (CUstream stream, int mode))                                               \
  X(cuStreamEndCapture, "cuStreamEndCapture",                                  \
    (CUstream stream, CUgraph * graph))                                        \
  X(cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags",                \
    (CUgraphExec * exec, CUgraph graph, unsigned long long flags))             \
  X(cuGraphLaunch, "cuGraphLaunch", (CUgraphExec exec, CUstream stream))       \
  X(cuGraphExecDestroy, "cuGraphExecDestroy", (CUgraphExec exec))              \
  X(cuGraphDestroy, "cuGraphDestroy", (CUgraph graph))

/// The loaded driver: one per process, never unloaded.
class Driver {
public:
  /// Loads libcuda.so.1 (or the file named by PMPD_CUDA_DRIVER), resolves
  /// every entry point and calls cuInit. The first call decides; later calls
  /// return the same driver or the same error.
  static llvm::Expected<const Driver &> load();

  /// Success for CUDA_SUCCESS; otherwise an error such as
  /// "cuModuleLoadData: CUDA_ERROR_INVALID_IMAGE (device kernel image is
  /// invalid)".
  llvm::Error check(CUresult result, const llvm::Twine &what) const;
  /// "CUDA_ERROR_INVALID_IMAGE (device kernel image is invalid)".
  std::string describe(CUresult result) const;

  /// The driver's CUDA version, e.g. 12080 for 12.8.
  int version() const { return driverVersion; }

#define PMPD_CUDA_DRIVER_MEMBER(Name, Symbol, Parameters)                      \
  CUresult(*Name) Parameters = nullptr;
  PMPD_CUDA_DRIVER_ENTRY_POINTS(PMPD_CUDA_DRIVER_MEMBER)
#undef PMPD_CUDA_DRIVER_MEMBER

private:
  Driver() = default;
  Driver(const Driver &) = delete;
  Driver &operator=(const Driver &) = delete;

  void *library = nullptr;
  int driverVersion = 0;
};

} // namespace cuda
} // namespace pmpd

#endif // PMPD_RUNTIME_CUDA_DRIVER_H
