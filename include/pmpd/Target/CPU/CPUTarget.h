//===- CPUTarget.h - From lowered IR to a shared library --------*- C++ -*-===//
//
// The CPU target's back half: the upstream lowering of a module that
// pmpd-lower-to-cpu has prepared, native code generation for the host CPU,
// and the link of the artifact's shared library with the runtime kernels.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_TARGET_CPU_CPUTARGET_H
#define PMPD_TARGET_CPU_CPUTARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Error.h"

#include <string>

namespace pmpd {

/// pmpd-lower-to-cpu, bufferization, and the conversions to the LLVM dialect.
void buildCPULoweringPipeline(mlir::OpPassManager &pm);

/// The CPU code is generated for (the host's, e.g. "sapphirerapids").
std::string hostCPUName();

/// Translates an LLVM-dialect module to LLVM IR, optimizes it at -O3 for the
/// host CPU and writes a position-independent object file.
llvm::Error emitCPUObject(mlir::ModuleOp module, llvm::StringRef objectPath);

/// Translates an LLVM-dialect module to (unoptimized) LLVM IR text.
llvm::Error emitLLVMIR(mlir::ModuleOp module, llvm::raw_ostream &os);

/// Links `objectPath` and the runtime kernels into a shared library with the
/// system's C++ compiler driver.
llvm::Error linkCPUSharedLibrary(llvm::StringRef objectPath,
                                 llvm::StringRef libraryPath);

} // namespace pmpd

#endif // PMPD_TARGET_CPU_CPUTARGET_H
