//===- Executor.cpp - The executors this runtime has ----------------------===//

#include "pmpd/Runtime/Executor.h"

#include "llvm/ADT/StringExtras.h"

using namespace pmpd;

Executor::~Executor() = default;

llvm::Error Executor::readCache(int64_t, int64_t, float *, float *) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "%s: reading the KV cache back is not "
                                 "supported on this target",
                                 describe().c_str());
}

namespace {
using Factory = llvm::Expected<std::unique_ptr<Executor>> (*)(
    const Manifest &, llvm::StringRef, const SessionOptions &);

struct Registered {
  llvm::StringLiteral target;
  Factory create;
};

/// One entry per target of pmpd-compile.
constexpr Registered kExecutors[] = {
    {"cpu", createCPUExecutor},
    {"gpu", createCUDAExecutor},
    {"hexagon", createNPUExecutor},
};
} // namespace

llvm::Expected<std::unique_ptr<Executor>>
pmpd::createExecutor(const Manifest &manifest, llvm::StringRef dir,
                     const SessionOptions &options) {
  for (const Registered &executor : kExecutors)
    if (executor.target == manifest.target)
      return executor.create(manifest, dir, options);
  std::string names = llvm::join(
      llvm::map_range(kExecutors,
                      [](const Registered &r) { return r.target.str(); }),
      ", ");
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(),
      "%s: artifact is for target '%s'; this runtime runs %s",
      dir.str().c_str(), manifest.target.c_str(), names.c_str());
}
