//===- HostCode.h - LLVM-dialect modules to object code ---------*- C++ -*-===//
//
// Every target's artifact holds code compiled from the LLVM dialect:
// translation to LLVM IR, -O3 code generation, and a link with the target's
// runtime archive. The cpu and gpu targets make a shared library of x86-64
// host code (on the GPU target it embeds the device binaries and launches
// them); the hexagon target an object for the NPU, linked into a static ELF.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_TARGET_HOSTCODE_H
#define PMPD_TARGET_HOSTCODE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace pmpd {

/// The CPU of this machine, e.g. "sapphirerapids".
std::string hostCPUName();

/// Translates an LLVM-dialect module to (unoptimized) LLVM IR text.
llvm::Error emitLLVMIR(mlir::ModuleOp module, llvm::raw_ostream &os);

/// What object code is generated for.
struct ObjectTarget {
  /// The target triple; empty: this process's (host code).
  std::string triple;
  /// The CPU; empty: this machine's CPU with all its features (host code
  /// only).
  std::string cpu;
  /// Subtarget features, e.g. "+hvxv67,+hvx-length128b".
  std::string features;
  /// Position-independent code (shared libraries) or static.
  bool positionIndependent = true;
};

/// Translates an LLVM-dialect module to LLVM IR, optimizes it at -O3 for
/// `target` and writes an object file.
llvm::Error emitObject(mlir::ModuleOp module, const ObjectTarget &target,
                       llvm::StringRef objectPath);

/// Compiles the LLVM-dialect `module` for the host's `cpu` (as emitObject) and
/// links it with the static `archive` (the target's runtime part) into the
/// shared library at `libraryPath`, with the system's C++ compiler driver.
llvm::Error emitHostLibrary(mlir::ModuleOp module, llvm::StringRef cpu,
                            llvm::StringRef archive,
                            llvm::StringRef libraryPath);

} // namespace pmpd

#endif // PMPD_TARGET_HOSTCODE_H
