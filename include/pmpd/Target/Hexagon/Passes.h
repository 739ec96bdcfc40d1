//===- Passes.h - Passes of the hexagon target ------------------*- C++ -*-===//

#ifndef PMPD_TARGET_HEXAGON_PASSES_H
#define PMPD_TARGET_HEXAGON_PASSES_H

#include "pmpd/Artifact/NPUWorkload.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace pmpd {

#define GEN_PASS_DECL
#include "pmpd/Target/Hexagon/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "pmpd/Target/Hexagon/Passes.h.inc"

/// The module attribute pmpd-record-npu-workload sets (a JSON string). Not
/// under the pmpd prefix: the dialect verifies its own attributes, and this
/// one is read and dropped by the hexagon backend before code generation.
constexpr llvm::StringLiteral kNPUWorkloadAttrName = "npu.workload";

/// What each entry point of a specialized module (layer ops decomposed into
/// linalg) does; the kernel profile is the built-in one.
llvm::Expected<NPUWorkload> extractNPUWorkload(mlir::ModuleOp module);

/// The HVX kernels' work per tile, measured from the kernels this build
/// links (runtime/hexagon/kernel-profile.json).
const NPUKernelProfile &getHexagonKernelProfile();

} // namespace pmpd

#endif // PMPD_TARGET_HEXAGON_PASSES_H
