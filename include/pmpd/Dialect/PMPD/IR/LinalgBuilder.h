//===- LinalgBuilder.h - Readable linalg-on-tensors construction -*- C++ -*-===//
//
// The importer writes the decoder's math as linalg on tensors, and the layer
// ops (pmpd.rms_norm, pmpd.attention) expand into the same kind of code; both
// build it with these helpers so that the math reads as math.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_DIALECT_PMPD_IR_LINALGBUILDER_H
#define PMPD_DIALECT_PMPD_IR_LINALGBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace pmpd {

constexpr int64_t kDynamic = mlir::ShapedType::kDynamic;
constexpr mlir::utils::IteratorType kPar = mlir::utils::IteratorType::parallel;
constexpr mlir::utils::IteratorType kRed = mlir::utils::IteratorType::reduction;

/// Scalar arithmetic inside linalg.generic bodies.
struct Scalar {
  mlir::ImplicitLocOpBuilder &b;

  mlir::Value f32(double v) {
    return mlir::arith::ConstantOp::create(b, b.getF32FloatAttr(float(v)));
  }
  mlir::Value index(int64_t v) {
    return mlir::arith::ConstantIndexOp::create(b, v);
  }
  mlir::Value add(mlir::Value x, mlir::Value y) {
    return mlir::arith::AddFOp::create(b, x, y);
  }
  mlir::Value sub(mlir::Value x, mlir::Value y) {
    return mlir::arith::SubFOp::create(b, x, y);
  }
  mlir::Value mul(mlir::Value x, mlir::Value y) {
    return mlir::arith::MulFOp::create(b, x, y);
  }
  mlir::Value div(mlir::Value x, mlir::Value y) {
    return mlir::arith::DivFOp::create(b, x, y);
  }
  mlir::Value neg(mlir::Value x) { return mlir::arith::NegFOp::create(b, x); }
  mlir::Value max(mlir::Value x, mlir::Value y) {
    return mlir::arith::MaximumFOp::create(b, x, y);
  }
  mlir::Value exp(mlir::Value x) { return mlir::math::ExpOp::create(b, x); }
  mlir::Value select(mlir::Value c, mlir::Value x, mlir::Value y) {
    return mlir::arith::SelectOp::create(b, c, x, y);
  }
  mlir::Value widen(mlir::Value f16) {
    return mlir::arith::ExtFOp::create(b, b.getF32Type(), f16);
  }
  /// The loop index of dimension `dim` of the enclosing linalg.generic.
  mlir::Value loopIndex(unsigned dim) {
    return mlir::linalg::IndexOp::create(b, dim);
  }
  /// An index as f32 (exact below 2^24, which positions and dims are).
  mlir::Value indexToF32(mlir::Value i) {
    mlir::Value i64 =
        mlir::arith::IndexCastOp::create(b, b.getI64Type(), i);
    return mlir::arith::SIToFPOp::create(b, b.getF32Type(), i64);
  }
};

using BodyFn =
    llvm::function_ref<llvm::SmallVector<mlir::Value>(Scalar &,
                                                      mlir::ValueRange)>;

/// Tensors, maps and linalg.generic ops at one builder's point.
class LinalgBuilder {
public:
  explicit LinalgBuilder(mlir::ImplicitLocOpBuilder &b) : b(b) {}

  mlir::RankedTensorType f32Tensor(llvm::ArrayRef<int64_t> shape) {
    return mlir::RankedTensorType::get(shape, b.getF32Type());
  }
  /// tensor.empty of f32 `shape`; `dynamicSizes` in order of its `?` dims.
  mlir::Value empty(llvm::ArrayRef<int64_t> shape,
                    mlir::ValueRange dynamicSizes);
  /// `empty(...)` filled with `value`, the initial value of a reduction.
  mlir::Value filled(llvm::ArrayRef<int64_t> shape,
                     mlir::ValueRange dynamicSizes, double value);
  /// The affine map (d0, ..., d<numDims-1>) -> (d<results[0]>, ...).
  mlir::AffineMap dims(unsigned numDims, llvm::ArrayRef<unsigned> results);
  /// A linalg.generic over `inputs` into `inits` (maps: inputs', then
  /// inits'); `body` gets the scalar block arguments and yields one value
  /// per init.
  mlir::ResultRange generic(mlir::ValueRange inputs, mlir::ValueRange inits,
                            llvm::ArrayRef<mlir::AffineMap> maps,
                            llvm::ArrayRef<mlir::utils::IteratorType> iterators,
                            BodyFn body);
  mlir::Value generic1(mlir::ValueRange inputs, mlir::Value init,
                       llvm::ArrayRef<mlir::AffineMap> maps,
                       llvm::ArrayRef<mlir::utils::IteratorType> iterators,
                       BodyFn body) {
    return generic(inputs, mlir::ValueRange{init}, maps, iterators, body)[0];
  }

private:
  mlir::ImplicitLocOpBuilder &b;
};

} // namespace pmpd

#endif // PMPD_DIALECT_PMPD_IR_LINALGBUILDER_H
