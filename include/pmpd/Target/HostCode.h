//===- HostCode.h - LLVM-dialect modules to shared libraries ----*- C++ -*-===//
//
// Every target's artifact holds a shared library of host code compiled from
// the LLVM dialect (on the GPU target it embeds the device binaries and
// launches them): translation to LLVM IR, -O3 code generation for an x86-64
// CPU, and the link with the target's runtime archive.
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

/// Translates an LLVM-dialect module to LLVM IR, optimizes it at -O3 for
/// `cpu` (this machine's CPU and features when empty) and writes a
/// position-independent object file.
llvm::Error emitHostObject(mlir::ModuleOp module, llvm::StringRef cpu,
                           llvm::StringRef objectPath);

/// Compiles the LLVM-dialect `module` for `cpu` (as emitHostObject) and
/// links it with the static `archive` (the target's runtime part) into the
/// shared library at `libraryPath`, with the system's C++ compiler driver.
llvm::Error emitHostLibrary(mlir::ModuleOp module, llvm::StringRef cpu,
                            llvm::StringRef archive,
                            llvm::StringRef libraryPath);

} // namespace pmpd

#endif // PMPD_TARGET_HOSTCODE_H
