/*===- DeviceInterface.h - What compiled GPU code calls back into -*- C -*-===*\
|*                                                                            *|
|* A compiled GPU artifact calls MLIR's mgpu* functions and, for its host     *|
|* temporaries, _mlir_memref_to_llvm_*. Their only implementation lives in    *|
|* the runtime; the artifact links a small trampoline archive (PMPDDeviceABI) *|
|* that forwards through this table, which the runtime hands to the library's *|
|* pmpd_device_bind after dlopen. So the process holds one device state, not  *|
|* one per library.                                                           *|
|*                                                                            *|
|* Plain C so that both sides agree on the layout whatever compiled them. A   *|
|* table is valid from bind until it is unbound (pmpd_device_bind(NULL)).     *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef PMPD_RUNTIME_DEVICEINTERFACE_H
#define PMPD_RUNTIME_DEVICEINTERFACE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Changes whenever a field changes meaning or position. */
#define PMPD_DEVICE_INTERFACE_VERSION 2

/* Every function gets `context` as its first argument. None of them returns
 * an error: compiled code cannot handle one, so a failure is recorded in the
 * runtime (the first one sticks), later work on the device is skipped, and
 * the runtime reports the error when the compiled call returns. Functions
 * that return a pointer return NULL after a failure. */
typedef struct PMPDDeviceInterface {
  /* PMPD_DEVICE_INTERFACE_VERSION and sizeof(PMPDDeviceInterface) of the
   * runtime that filled the table. */
  uint32_t version;
  uint32_t size;
  void *context;
  /* The one stream all device work is ordered on (a CUstream for CUDA); what
   * mgpuStreamCreate returns. The streams compiled code passes back are
   * ignored: everything goes to this one. */
  void *stream;

  /* Scratch memory on the device for compiled code's temporaries, valid
   * until the runtime's next call into compiled code. `alignment` is a power
   * of two or 0 for the default; the runtime aligns to at least 256 bytes. */
  void *(*allocate)(void *context, uint64_t bytes, uint64_t alignment);
  /* Frees scratch memory (the runtime may do nothing until the call ends). */
  void (*deallocate)(void *context, void *pointer);

  /* Loads a GPU module image (cubin, fatbin, or NUL-terminated PTX text) of
   * `size` bytes; `jitOptLevel` is the PTX JIT optimization level, or -1 for
   * the driver's default. Returns an opaque module handle. */
  void *(*loadModule)(void *context, const void *data, uint64_t size,
                      int32_t jitOptLevel);
  void (*unloadModule)(void *context, void *module);
  /* Returns an opaque kernel handle, NULL if the module has no such kernel. */
  void *(*getFunction)(void *context, void *module, const char *name);
  /* Enqueues a kernel on the stream; arguments as cuLaunchKernel's. */
  void (*launchKernel)(void *context, void *function, int64_t gridX,
                       int64_t gridY, int64_t gridZ, int64_t blockX,
                       int64_t blockY, int64_t blockZ, uint32_t sharedBytes,
                       void **params, void **extra);

  /* Enqueues a copy of `bytes` bytes; either side may be device memory. */
  void (*copy)(void *context, void *dst, const void *src, uint64_t bytes);
  /* Enqueues a fill of `count` elements of `elementBytes` (1, 2 or 4) bytes
   * with the low bytes of `value`. */
  void (*fill)(void *context, void *dst, uint32_t value, uint32_t elementBytes,
               uint64_t count);
  /* Records a failure the trampolines detect themselves. */
  void (*recordError)(void *context, const char *message);
} PMPDDeviceInterface;

/* Exported by every library linked with PMPDDeviceABI. Binds `table` (NULL
 * unbinds: modules loaded through the previous table are unloaded first).
 * Returns 0, or the library's PMPD_DEVICE_INTERFACE_VERSION when `table` has
 * another version or is too small. */
int pmpd_device_bind(const PMPDDeviceInterface *table);

#ifdef __cplusplus
}
#endif

#endif /* PMPD_RUNTIME_DEVICEINTERFACE_H */
