//===- PMPD.h - The pmpd dialect --------------------------------*- C++ -*-===//
//
// One header for the dialect, its attributes, types and operations.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_DIALECT_PMPD_IR_PMPD_H
#define PMPD_DIALECT_PMPD_IR_PMPD_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "pmpd/Dialect/PMPD/IR/PMPDOpsDialect.h.inc"

#include "pmpd/Dialect/PMPD/IR/PMPDEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "pmpd/Dialect/PMPD/IR/PMPDAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "pmpd/Dialect/PMPD/IR/PMPDOpsTypes.h.inc"

#define GET_OP_CLASSES
#include "pmpd/Dialect/PMPD/IR/PMPDOps.h.inc"

namespace pmpd {

/// Weight precisions the project supports: 2..8 bits and 16 (fp16).
inline bool isSupportedBits(unsigned bits) {
  return (bits >= 2 && bits <= 8) || bits == 16;
}

} // namespace pmpd

#endif // PMPD_DIALECT_PMPD_IR_PMPD_H
