//===- Passes.h - pmpd dialect passes ---------------------------*- C++ -*-===//
//
// Declarations of the passes that specialize an imported model into phases
// and precisions (generated from Passes.td), and the pipeline pmpd-compile
// runs them in.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_DIALECT_PMPD_TRANSFORMS_PASSES_H
#define PMPD_DIALECT_PMPD_TRANSFORMS_PASSES_H

#include "pmpd/Dialect/PMPD/IR/PMPD.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace pmpd {

#define GEN_PASS_DECL
#include "pmpd/Dialect/PMPD/Transforms/Passes.h.inc"

/// Adds pmpd-assign-precision (with `schedule` and `overrides`, as the pass
/// options take them), pmpd-specialize-phases and pmpd-insert-switch-points
/// to `pm`, followed by canonicalization and CSE of the result.
void buildPMPDPhasePipeline(mlir::OpPassManager &pm, llvm::StringRef schedule,
                            llvm::StringRef overrides);

/// Registers `pmpd-phase-pipeline` (options `schedule` and `overrides`) for
/// pmpd-opt; the passes themselves are registered by the generated
/// registerPMPDPasses().
void registerPMPDPhasePipeline();

#define GEN_PASS_REGISTRATION
#include "pmpd/Dialect/PMPD/Transforms/Passes.h.inc"

} // namespace pmpd

#endif // PMPD_DIALECT_PMPD_TRANSFORMS_PASSES_H
