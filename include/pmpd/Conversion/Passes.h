//===- Passes.h - Lowerings out of the pmpd dialect -------------*- C++ -*-===//

#ifndef PMPD_CONVERSION_PASSES_H
#define PMPD_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace pmpd {

#define GEN_PASS_DECL
#include "pmpd/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "pmpd/Conversion/Passes.h.inc"

} // namespace pmpd

#endif // PMPD_CONVERSION_PASSES_H
