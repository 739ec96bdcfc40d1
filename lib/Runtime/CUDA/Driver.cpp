//===- Driver.cpp - The CUDA driver API, loaded at run time ---------------===//
//
// dlopen + dlsym of every entry point, once per process. The library is never
// closed: driver state (contexts, modules) outlives any one user of it.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/CUDA/Driver.h"

#include <cstdlib>
#include <dlfcn.h>
#include <string>

using namespace pmpd::cuda;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

namespace {
/// The outcome of the one load attempt of the process.
struct LoadedDriver {
  const Driver *driver = nullptr;
  std::string error;
};

// cuda.h's values of the codes that get a message of their own.
enum : CUresult {
  kErrorStubLibrary = 34,
  kErrorInsufficientDriver = 35,
  kErrorNoDevice = 100,
};
} // namespace

llvm::Expected<const Driver &> Driver::load() {
  static const LoadedDriver loaded = []() -> LoadedDriver {
    LoadedDriver result;
    const char *env = std::getenv("PMPD_CUDA_DRIVER");
    std::string path = env && *env ? env : "libcuda.so.1";
    void *library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      const char *why = dlerror();
      result.error = "no CUDA driver: cannot load " + path + " (" +
                     (why ? why : "unknown error") +
                     "); the gpu target needs an NVIDIA GPU and its driver";
      return result;
    }
    auto *driver = new Driver();
    driver->library = library;
#define PMPD_CUDA_DRIVER_RESOLVE(Name, Symbol, Parameters)                     \
  driver->Name =                                                               \
      reinterpret_cast<decltype(driver->Name)>(dlsym(library, Symbol));        \
  if (!driver->Name) {                                                         \
    result.error = "the CUDA driver " + path +                                 \
                   " lacks " Symbol                                            \
                   "; it is too old for pmpd (update the NVIDIA driver)";      \
    delete driver;                                                             \
    return result;                                                             \
  }
    PMPD_CUDA_DRIVER_ENTRY_POINTS(PMPD_CUDA_DRIVER_RESOLVE)
#undef PMPD_CUDA_DRIVER_RESOLVE

    CUresult status = driver->cuInit(0);
    if (status != CUDA_SUCCESS) {
      std::string detail = "cuInit: " + driver->describe(status);
      if (status == kErrorNoDevice)
        result.error = "no CUDA device (" + detail + ")";
      else if (status == kErrorStubLibrary)
        result.error = "no CUDA driver: " + path +
                       " is the CUDA toolkit's stub library, not a driver (" +
                       detail + ")";
      else if (status == kErrorInsufficientDriver)
        result.error =
            "the NVIDIA driver is older than its CUDA library (" + detail + ")";
      else
        result.error = "cannot initialize the CUDA driver (" + detail + ")";
      delete driver;
      return result;
    }
    if (CUresult versionStatus =
            driver->cuDriverGetVersion(&driver->driverVersion);
        versionStatus != CUDA_SUCCESS)
      driver->driverVersion = 0;
    result.driver = driver;
    return result;
  }();
  if (!loaded.driver)
    return makeError(loaded.error);
  return *loaded.driver;
}

std::string Driver::describe(CUresult result) const {
  const char *name = nullptr;
  const char *text = nullptr;
  if (cuGetErrorName(result, &name) != CUDA_SUCCESS || !name)
    return "CUDA error " + std::to_string(result);
  std::string description = name;
  if (cuGetErrorString(result, &text) == CUDA_SUCCESS && text)
    description += std::string(" (") + text + ")";
  return description;
}

llvm::Error Driver::check(CUresult result, const llvm::Twine &what) const {
  if (result == CUDA_SUCCESS)
    return llvm::Error::success();
  return makeError(what + ": " + describe(result));
}
