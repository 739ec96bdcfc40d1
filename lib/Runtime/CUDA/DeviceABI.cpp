//===- DeviceABI.cpp - mgpu* trampolines for compiled GPU artifacts -------===//
//
// Linked into every gpu-target artifact, so it depends on nothing but the C
// library: no LLVM, no C++ runtime (no exceptions, no RTTI, no operator new,
// no guarded statics). Each function MLIR's gpu-to-llvm lowering calls is
// forwarded through the table the runtime binds with pmpd_device_bind, so
// the device state lives once, in the runtime.
//
// The gpu.binary translation loads modules from a global constructor, i.e.
// at dlopen time, before anything is bound: mgpuModuleLoad only records the
// image, and the module is loaded on the first mgpuModuleGetFunction after
// binding. Kernel handles are cached per (module, name): compiled code looks
// the kernel up before every launch.
//
// All device work goes to the runtime's one stream, so events are not needed
// for ordering: they are tokens, and waiting on one waits for the stream.
// Only pmpd_device_bind is exported; the rest is hidden, so two artifacts in
// one process never resolve each other's trampolines.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/DeviceInterface.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PMPD_ABI_EXPORT extern "C" __attribute__((visibility("default")))
#define PMPD_ABI_HIDDEN extern "C" __attribute__((visibility("hidden")))

namespace {

struct FunctionEntry {
  const char *name; // The caller's string: compiled code passes a constant.
  void *function;
  FunctionEntry *next;
};

/// What mgpuModuleLoad returns to compiled code.
struct ModuleRecord {
  const void *data; // In the artifact's read-only data; not copied.
  uint64_t size;
  int32_t jitOptLevel;
  bool failed;  // The load failed; the runtime holds the error.
  void *module; // Loaded through `bound`, or null.
  FunctionEntry *functions;
  ModuleRecord *next;
};

// Opaque types, so that the signatures below read like upstream's.
using CUmodule = ModuleRecord *;
using CUfunction = void *;
using CUstream = void *;
using CUevent = void *;

const PMPDDeviceInterface *bound = nullptr;
ModuleRecord *modules = nullptr;
int lockWord = 0;
char eventToken = 0;

/// Guards `bound`, `modules` and the records. Compiled code normally runs on
/// one thread; the lock only keeps a second one from corrupting the caches.
struct Lock {
  Lock() {
    while (__atomic_exchange_n(&lockWord, 1, __ATOMIC_ACQUIRE))
      while (__atomic_load_n(&lockWord, __ATOMIC_RELAXED))
        ;
  }
  ~Lock() { __atomic_store_n(&lockWord, 0, __ATOMIC_RELEASE); }
  Lock(const Lock &) = delete;
  Lock &operator=(const Lock &) = delete;
};

[[noreturn]] void fatal(const char *function, const char *problem) {
  fprintf(stderr, "pmpd: %s: %s\n", function, problem);
  abort();
}

/// The bound table; aborts when compiled code runs outside the runtime.
const PMPDDeviceInterface *table(const char *function) {
  const PMPDDeviceInterface *current =
      __atomic_load_n(&bound, __ATOMIC_ACQUIRE);
  if (!current)
    fatal(function, "called before the runtime bound the device "
                    "(pmpd_device_bind); a gpu-target artifact runs only "
                    "inside the pmpd runtime");
  return current;
}

void forgetFunctions(ModuleRecord *record) {
  while (FunctionEntry *entry = record->functions) {
    record->functions = entry->next;
    free(entry);
  }
}

/// Drops what `record` holds from the bound table (lock held).
void resetRecord(ModuleRecord *record) {
  forgetFunctions(record);
  if (record->module && bound)
    bound->unloadModule(bound->context, record->module);
  record->module = nullptr;
  record->failed = false;
}

CUmodule recordModule(const void *data, uint64_t size, int32_t jitOptLevel) {
  auto *record = static_cast<ModuleRecord *>(calloc(1, sizeof(ModuleRecord)));
  if (!record)
    fatal("mgpuModuleLoad", "out of host memory");
  record->data = data;
  record->size = size;
  record->jitOptLevel = jitOptLevel;
  Lock lock;
  record->next = modules;
  modules = record;
  return record;
}

} // namespace

PMPD_ABI_EXPORT int pmpd_device_bind(const PMPDDeviceInterface *newTable) {
  if (newTable && (newTable->version != PMPD_DEVICE_INTERFACE_VERSION ||
                   newTable->size < sizeof(PMPDDeviceInterface)))
    return PMPD_DEVICE_INTERFACE_VERSION;
  Lock lock;
  for (ModuleRecord *record = modules; record; record = record->next)
    resetRecord(record);
  __atomic_store_n(&bound, newTable, __ATOMIC_RELEASE);
  return 0;
}

//===----------------------------------------------------------------------===//
// Modules and kernels
//===----------------------------------------------------------------------===//

PMPD_ABI_HIDDEN CUmodule mgpuModuleLoad(void *data, size_t gpuBlobSize) {
  return recordModule(data, gpuBlobSize, /*jitOptLevel=*/-1);
}

PMPD_ABI_HIDDEN CUmodule mgpuModuleLoadJIT(void *data, int optLevel) {
  // PTX text: the size is up to and including its NUL.
  size_t size = data ? strlen(static_cast<const char *>(data)) + 1 : 0;
  return recordModule(data, size, optLevel);
}

PMPD_ABI_HIDDEN void mgpuModuleUnload(CUmodule module) {
  if (!module)
    return;
  Lock lock;
  for (ModuleRecord **link = &modules; *link; link = &(*link)->next) {
    if (*link != module)
      continue;
    *link = module->next;
    // Unbound (e.g. the runtime is gone at exit): the driver module, if any,
    // went with the runtime's context.
    resetRecord(module);
    free(module);
    return;
  }
}

PMPD_ABI_HIDDEN CUfunction mgpuModuleGetFunction(CUmodule module,
                                                 const char *name) {
  const PMPDDeviceInterface *current = table("mgpuModuleGetFunction");
  if (!module || !name) {
    current->recordError(current->context,
                         "mgpuModuleGetFunction: no module or no name");
    return nullptr;
  }
  Lock lock;
  for (FunctionEntry *entry = module->functions; entry; entry = entry->next)
    if (entry->name == name || strcmp(entry->name, name) == 0)
      return entry->function;
  if (module->failed)
    return nullptr;
  if (!module->module) {
    module->module = current->loadModule(current->context, module->data,
                                         module->size, module->jitOptLevel);
    if (!module->module) {
      module->failed = true;
      return nullptr;
    }
  }
  void *function = current->getFunction(current->context, module->module, name);
  if (!function)
    return nullptr;
  auto *entry = static_cast<FunctionEntry *>(malloc(sizeof(FunctionEntry)));
  if (!entry)
    fatal("mgpuModuleGetFunction", "out of host memory");
  *entry = {name, function, module->functions};
  module->functions = entry;
  return function;
}

// Launch dimensions are intptr_t, MLIR's index type, as upstream's wrapper.
PMPD_ABI_HIDDEN void mgpuLaunchKernel(CUfunction function, intptr_t gridX,
                                      intptr_t gridY, intptr_t gridZ,
                                      intptr_t blockX, intptr_t blockY,
                                      intptr_t blockZ, int32_t smem,
                                      CUstream /*stream*/, void **params,
                                      void **extra, size_t /*paramsCount*/) {
  const PMPDDeviceInterface *current = table("mgpuLaunchKernel");
  if (smem < 0) {
    current->recordError(current->context,
                         "mgpuLaunchKernel: negative dynamic shared memory");
    return;
  }
  current->launchKernel(current->context, function, gridX, gridY, gridZ, blockX,
                        blockY, blockZ, uint32_t(smem), params, extra);
}

//===----------------------------------------------------------------------===//
// Streams and events: one stream, owned by the runtime
//===----------------------------------------------------------------------===//

PMPD_ABI_HIDDEN CUstream mgpuStreamCreate() {
  return table("mgpuStreamCreate")->stream;
}

PMPD_ABI_HIDDEN void mgpuStreamDestroy(CUstream /*stream*/) {}

// MLIR makes every launch synchronous (a stream synchronization after each
// one), but compiled code never reads device memory on the host: all its work
// is ordered on the runtime's one stream, and the runtime waits for that
// stream before it reads results. Waiting here would only stall the host
// between launches, so the synchronizations are free.
PMPD_ABI_HIDDEN void mgpuStreamSynchronize(CUstream /*stream*/) {
  table("mgpuStreamSynchronize");
}

PMPD_ABI_HIDDEN void mgpuStreamWaitEvent(CUstream /*stream*/,
                                         CUevent /*event*/) {}

PMPD_ABI_HIDDEN CUevent mgpuEventCreate() {
  table("mgpuEventCreate");
  return &eventToken;
}

PMPD_ABI_HIDDEN void mgpuEventDestroy(CUevent /*event*/) {}

PMPD_ABI_HIDDEN void mgpuEventSynchronize(CUevent /*event*/) {
  table("mgpuEventSynchronize");
}

PMPD_ABI_HIDDEN void mgpuEventRecord(CUevent /*event*/, CUstream /*stream*/) {}

/// The runtime chose the device; upstream's per-thread default is moot.
PMPD_ABI_HIDDEN void mgpuSetDefaultDevice(int32_t /*device*/) {}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

PMPD_ABI_HIDDEN void *mgpuMemAlloc(uint64_t sizeBytes, CUstream /*stream*/,
                                   bool isHostShared) {
  const PMPDDeviceInterface *current = table("mgpuMemAlloc");
  if (isHostShared) {
    current->recordError(current->context,
                         "mgpuMemAlloc: host_shared allocations (managed "
                         "memory) are not supported by the pmpd runtime");
    return nullptr;
  }
  return current->allocate(current->context, sizeBytes, /*alignment=*/0);
}

PMPD_ABI_HIDDEN void mgpuMemFree(void *ptr, CUstream /*stream*/) {
  const PMPDDeviceInterface *current = table("mgpuMemFree");
  current->deallocate(current->context, ptr);
}

PMPD_ABI_HIDDEN void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                                CUstream /*stream*/) {
  const PMPDDeviceInterface *current = table("mgpuMemcpy");
  current->copy(current->context, dst, src, sizeBytes);
}

PMPD_ABI_HIDDEN void mgpuMemset32(void *dst, unsigned int value, size_t count,
                                  CUstream /*stream*/) {
  const PMPDDeviceInterface *current = table("mgpuMemset32");
  current->fill(current->context, dst, value, /*elementBytes=*/4, count);
}

PMPD_ABI_HIDDEN void mgpuMemset16(void *dst, unsigned short value, size_t count,
                                  CUstream /*stream*/) {
  const PMPDDeviceInterface *current = table("mgpuMemset16");
  current->fill(current->context, dst, value, /*elementBytes=*/2, count);
}

// finalize-memref-to-llvm{use-generic-functions=true}: on the gpu target every
// memref the host code allocates is device memory, from the runtime's arena.
PMPD_ABI_HIDDEN void *_mlir_memref_to_llvm_alloc(uint64_t size) {
  const PMPDDeviceInterface *current = table("_mlir_memref_to_llvm_alloc");
  return current->allocate(current->context, size, /*alignment=*/0);
}

PMPD_ABI_HIDDEN void *_mlir_memref_to_llvm_aligned_alloc(uint64_t alignment,
                                                         uint64_t size) {
  const PMPDDeviceInterface *current =
      table("_mlir_memref_to_llvm_aligned_alloc");
  return current->allocate(current->context, size, alignment);
}

PMPD_ABI_HIDDEN void _mlir_memref_to_llvm_free(void *ptr) {
  const PMPDDeviceInterface *current = table("_mlir_memref_to_llvm_free");
  current->deallocate(current->context, ptr);
}
