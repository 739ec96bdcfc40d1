//===- KernelLowering.h - What kernel calls and launches need ---*- C++ -*-===//
//
// Targets lower pmpd.qlinear (and some layer ops) to their own kernels, but
// every one of them reads the same things: the inputs as buffers, the token
// count, the bound weight's byte offsets in the weights buffer
// (pmpd-thread-weights-buffer), the precision, the bias, and a fresh output
// buffer that becomes the op's result. This is that shared part; a target
// only emits the call or launch.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_CONVERSION_KERNELLOWERING_H
#define PMPD_CONVERSION_KERNELLOWERING_H

#include "pmpd/Dialect/PMPD/IR/PMPD.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace pmpd {

/// The weights buffer of the function enclosing `op`: the trailing
/// `memref<?xi8>` argument pmpd-thread-weights-buffer adds.
mlir::Value weightsBufferOf(mlir::Operation *op);

/// Integer constants of kernel arguments.
mlir::Value i32Constant(mlir::OpBuilder &b, mlir::Location loc, int64_t value);
mlir::Value i64Constant(mlir::OpBuilder &b, mlir::Location loc, int64_t value);

/// `tensor` as a read-only buffer of its own (identity-layout) type.
mlir::Value readOnlyBuffer(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value tensor);

/// A fresh buffer of `type` ([rows, ...]); `rows` is its leading size where
/// `type`'s is dynamic.
mlir::Value allocRows(mlir::OpBuilder &b, mlir::Location loc,
                      mlir::RankedTensorType type, mlir::Value rows);

/// Replaces `op`'s one result by the tensor of `buffer`, which the kernels
/// emitted before `op` write, and erases `op`.
void replaceWithBuffer(mlir::OpBuilder &b, mlir::Operation *op,
                       mlir::Value buffer);

/// Replaces a layer op (pmpd.rms_norm, pmpd.attention) by its linalg form,
/// the op's `decompose()`.
void decomposeLayerOp(mlir::Operation *op);

/// `memref`'s aligned data pointer plus `byteOffset`, as an !llvm.ptr.
mlir::Value pointerTo(mlir::OpBuilder &b, mlir::Location loc,
                      mlir::Value memref, int64_t byteOffset = 0);

/// The operands of one pmpd.qlinear, in the form kernels take them.
struct QLinearOperands {
  mlir::Value input;   // Contiguous read-only buffer of the activations.
  mlir::Value tokens;  // i64: product of the input's leading dimensions.
  mlir::Value weights; // The function's weights buffer.
  mlir::Value bias;    // !llvm.ptr to f32 [rows], or null.
  mlir::Value output;  // Fresh buffer of the result's shape.
  int64_t rows = 0, cols = 0;
  /// Bit width the projection runs at (16 = fp16 weights).
  unsigned bits = 16;
  /// Set for an any-precision weight: its parent and seed.
  QWeightType packed;
  /// Byte offsets of the weight's tensors in the weights buffer: the fp16
  /// matrix, or the planes followed by one lookup table per bit width from
  /// the seed up.
  llvm::ArrayRef<int64_t> offsets;

  /// Offset of the planes (or the fp16 matrix).
  int64_t dataOffset() const { return offsets[0]; }
  /// Offset of the lookup table of the bit width the projection runs at.
  int64_t lutOffset() const { return offsets[1 + bits - packed.getSeed()]; }
};

/// Checks that `op` can be lowered (bound weight, precision, f32 activations
/// and bias) and materializes its operands before it; emits a diagnostic
/// naming `target` and fails otherwise.
mlir::FailureOr<QLinearOperands> prepareQLinear(mlir::OpBuilder &b,
                                                QLinearOp op,
                                                mlir::SymbolTable &symbols,
                                                llvm::StringRef target);

/// Replaces `op` by the tensor of `operands.output` once the target's code
/// has written it.
void replaceQLinear(mlir::OpBuilder &b, QLinearOp op,
                    const QLinearOperands &operands);

/// Lowers every pmpd.qlinear of `module` with `lower` (a target's call or
/// launch, built on prepareQLinear and replaceQLinear), then erases the
/// pmpd.weight declarations and the pmpd.get_weight ops left unused.
mlir::LogicalResult lowerProjections(
    mlir::ModuleOp module,
    llvm::function_ref<mlir::LogicalResult(QLinearOp, mlir::SymbolTable &)>
        lower);

} // namespace pmpd

#endif // PMPD_CONVERSION_KERNELLOWERING_H
