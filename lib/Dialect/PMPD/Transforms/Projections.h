//===- Projections.h - What the phase passes share -------------*- C++ -*-===//
//
// The three phase passes agree on what a projection is, which weights the
// schedule governs, which precisions a weight can serve, and how a module's
// schedule is read; this header keeps that agreement in one place.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_LIB_DIALECT_PMPD_TRANSFORMS_PROJECTIONS_H
#define PMPD_LIB_DIALECT_PMPD_TRANSFORMS_PROJECTIONS_H

#include "pmpd/Dialect/PMPD/IR/PMPD.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

#include <optional>
#include <string>

namespace pmpd {

/// A pmpd.qlinear and the weight declaration it reads.
struct Projection {
  QLinearOp op;
  WeightOp weight;
};

/// The projections of every function of `module`, in program order. Fails,
/// with an error on the projection, when a weight operand is not a
/// pmpd.get_weight of a declared weight.
mlir::FailureOr<llvm::SmallVector<Projection>>
collectProjections(mlir::ModuleOp module, mlir::SymbolTableCollection &symbols);

/// An fp16 tensor weight outside the layers (`@lm_head`, or `@embed_tokens`
/// when tied) always runs at 16 bits: the schedule does not govern it.
bool isAlwaysFP16(WeightOp weight);

/// Why `weight` cannot serve `bits` when `context` (e.g. "prefill",
/// "decode stage 2@64") asks for it, or nothing when it can.
std::optional<std::string> whyCannotServe(WeightOp weight, unsigned bits,
                                          llvm::StringRef context);

/// Checks every precision `schedule` asks for against the weight of every
/// scheduled projection (not always-fp16, no fixed `pmpd.precision`): one
/// error per precision on the first weight that cannot serve it.
mlir::LogicalResult
checkScheduleServable(llvm::ArrayRef<Projection> projections,
                      ScheduleAttr schedule);

/// The fixed precision pmpd-assign-precision attached to a projection.
PrecisionAttr getFixedPrecision(QLinearOp op);

/// The module's `pmpd.schedule`; fails with an error on the module naming
/// `passName` when it is missing.
mlir::FailureOr<ScheduleAttr> getModuleSchedule(mlir::ModuleOp module,
                                                llvm::StringRef passName);

/// The symbol of the decode variant specialized for `bits`.
std::string getDecodeVariantName(unsigned bits);

} // namespace pmpd

#endif // PMPD_LIB_DIALECT_PMPD_TRANSFORMS_PROJECTIONS_H
