//===- KernelLowering.cpp - What kernel calls and launches need -----------===//

#include "pmpd/Conversion/KernelLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace pmpd;

Value pmpd::weightsBufferOf(Operation *op) {
  auto func = op->getParentOfType<func::FuncOp>();
  return func.getArguments().back();
}

Value pmpd::i32Constant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIntOp::create(b, loc, b.getI32Type(), value);
}

Value pmpd::i64Constant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIntOp::create(b, loc, b.getI64Type(), value);
}

Value pmpd::readOnlyBuffer(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  return bufferization::ToBufferOp::create(
      b, loc, MemRefType::get(type.getShape(), type.getElementType()), tensor,
      /*read_only=*/true);
}

Value pmpd::allocRows(OpBuilder &b, Location loc, RankedTensorType type,
                      Value rows) {
  SmallVector<Value> sizes;
  if (type.isDynamicDim(0))
    sizes.push_back(rows);
  return memref::AllocOp::create(
      b, loc, MemRefType::get(type.getShape(), type.getElementType()), sizes);
}

void pmpd::replaceWithBuffer(OpBuilder &b, Operation *op, Value buffer) {
  Value result = bufferization::ToTensorOp::create(
      b, op->getLoc(), op->getResult(0).getType(), buffer,
      /*restrict=*/b.getUnitAttr(), /*writable=*/b.getUnitAttr());
  op->getResult(0).replaceAllUsesWith(result);
  op->erase();
}

void pmpd::decomposeLayerOp(Operation *op) {
  OpBuilder b(op);
  Value result = TypeSwitch<Operation *, Value>(op)
                     .Case<RMSNormOp, AttentionOp>(
                         [&](auto layerOp) { return layerOp.decompose(b); });
  op->getResult(0).replaceAllUsesWith(result);
  op->erase();
}

Value pmpd::pointerTo(OpBuilder &b, Location loc, Value memref,
                      int64_t byteOffset) {
  Value address =
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  if (byteOffset)
    address = arith::AddIOp::create(
        b, loc, address, arith::ConstantIndexOp::create(b, loc, byteOffset));
  Value asInt = arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
  return LLVM::IntToPtrOp::create(b, loc,
                                  LLVM::LLVMPointerType::get(b.getContext()),
                                  asInt, LLVM::DereferenceableAttr());
}

FailureOr<QLinearOperands> pmpd::prepareQLinear(OpBuilder &b, QLinearOp op,
                                                SymbolTable &symbols,
                                                StringRef target) {
  auto getWeight = op.getWeight().getDefiningOp<GetWeightOp>();
  if (!getWeight)
    return op.emitOpError("weight must come from pmpd.get_weight to be "
                          "lowered to the ")
           << target << " kernels";
  auto weight = symbols.lookup<WeightOp>(getWeight.getName());
  if (!weight || !weight.getByteOffsets())
    return op.emitOpError("weight '")
           << getWeight.getName()
           << "' is not bound to a weights file (no byte offsets)";
  auto precision = op.getPrecisionAttr();
  if (!precision)
    return op.emitOpError("has no precision; run pmpd-specialize-phases "
                          "before lowering");
  auto inputType = op.getInput().getType();
  if (!inputType.getElementType().isF32())
    return op.emitOpError("the ")
           << target << " kernels take f32 activations, got "
           << inputType.getElementType();

  Location loc = op.getLoc();
  QLinearOperands result;
  result.weights = weightsBufferOf(op);
  result.offsets = *weight.getByteOffsets();
  std::tie(result.rows, result.cols) = op.getWeightShape();
  result.bits = precision.getBits();
  result.packed = dyn_cast<QWeightType>(weight.getType());

  // Input as a contiguous read-only buffer; tokens = product of leading dims.
  result.input = readOnlyBuffer(b, loc, op.getInput());
  Value tokens = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0, e = inputType.getRank() - 1; i < e; ++i) {
    Value dim = memref::DimOp::create(b, loc, result.input, i);
    tokens = arith::MulIOp::create(b, loc, tokens, dim);
    if (op.getResult().getType().isDynamicDim(i))
      dynamicSizes.push_back(dim);
  }
  result.tokens = arith::IndexCastOp::create(b, loc, b.getI64Type(), tokens);

  auto resultType = op.getResult().getType();
  result.output = memref::AllocOp::create(
      b, loc,
      MemRefType::get(resultType.getShape(), resultType.getElementType()),
      dynamicSizes);

  if (op.getBias()) {
    auto biasType = cast<RankedTensorType>(op.getBias().getType());
    if (!biasType.getElementType().isF32())
      return op.emitOpError("the ") << target << " kernels take an f32 bias";
    result.bias = pointerTo(b, loc, readOnlyBuffer(b, loc, op.getBias()));
  } else {
    result.bias = LLVM::ZeroOp::create(
        b, loc, LLVM::LLVMPointerType::get(b.getContext()));
  }
  return result;
}

void pmpd::replaceQLinear(OpBuilder &b, QLinearOp op,
                          const QLinearOperands &operands) {
  replaceWithBuffer(b, op, operands.output);
}

LogicalResult pmpd::lowerProjections(
    ModuleOp module,
    llvm::function_ref<LogicalResult(QLinearOp, SymbolTable &)> lower) {
  SymbolTable symbols(module);
  SmallVector<QLinearOp> qlinears;
  module.walk([&](QLinearOp op) { qlinears.push_back(op); });
  for (QLinearOp op : qlinears)
    if (failed(lower(op, symbols)))
      return failure();
  SmallVector<GetWeightOp> unused;
  module.walk([&](GetWeightOp op) {
    if (op.use_empty())
      unused.push_back(op);
  });
  for (GetWeightOp op : unused)
    op.erase();
  for (auto weight : llvm::make_early_inc_range(module.getOps<WeightOp>()))
    weight.erase();
  return success();
}
