//===- PMPDToCPU.cpp - pmpd ops to the CPU micro-kernels ------------------===//
//
// The CPU target runs the quantized projections and the attention over the
// KV cache in the runtime's micro-kernels; this pass rewrites each
// pmpd.qlinear and pmpd.attention into a call of its kernel, and expands the
// remaining layer ops (RMSNorm) into linalg, so that bufferization and MLIR's
// LLVM lowering handle everything else.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Conversion/KernelLowering.h"
#include "pmpd/Conversion/Passes.h"

namespace pmpd {
#define GEN_PASS_DEF_PMPDLOWERTOCPU
#include "pmpd/Conversion/Passes.h.inc"
} // namespace pmpd

using namespace mlir;
using namespace pmpd;

namespace {

constexpr StringLiteral kPackedKernel = "pmpd_qlinear_f32";
constexpr StringLiteral kFP16Kernel = "pmpd_linear_f16_f32";
constexpr StringLiteral kAttentionKernel = "pmpd_attention_f32";

/// Declares a kernel of the runtime, once.
void declareKernel(ModuleOp module, StringRef name, TypeRange inputs) {
  if (module.lookupSymbol(name))
    return;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto type = b.getFunctionType(inputs, {});
  auto func = func::FuncOp::create(b, module.getLoc(), name, type);
  func.setPrivate();
}

LogicalResult lowerQLinear(QLinearOp op, SymbolTable &symbols) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  FailureOr<QLinearOperands> operands = prepareQLinear(b, op, symbols, "CPU");
  if (failed(operands))
    return failure();
  const QLinearOperands &q = *operands;
  SmallVector<Value> args;
  StringRef kernel;
  if (q.packed) {
    Value input = pointerTo(b, loc, q.input);
    Value cols = i64Constant(b, loc, q.cols);
    Value planes = pointerTo(b, loc, q.weights, q.dataOffset());
    Value rows = i64Constant(b, loc, q.rows);
    Value parent = i32Constant(b, loc, q.packed.getParent());
    Value lut = pointerTo(b, loc, q.weights, q.lutOffset());
    Value bits = i32Constant(b, loc, q.bits);
    Value output = pointerTo(b, loc, q.output);
    args = {input,  q.tokens, cols, planes, rows,
            parent, lut,      bits, q.bias, output};
    kernel = kPackedKernel;
  } else {
    Value input = pointerTo(b, loc, q.input);
    Value cols = i64Constant(b, loc, q.cols);
    Value matrix = pointerTo(b, loc, q.weights, q.dataOffset());
    Value rows = i64Constant(b, loc, q.rows);
    Value output = pointerTo(b, loc, q.output);
    args = {input, q.tokens, cols, matrix, rows, q.bias, output};
    kernel = kFP16Kernel;
  }
  SmallVector<Type> argTypes;
  for (Value arg : args)
    argTypes.push_back(arg.getType());
  declareKernel(op->getParentOfType<ModuleOp>(), kernel, argTypes);
  func::CallOp::create(b, loc, kernel, TypeRange(), args);
  replaceQLinear(b, op, q);
  return success();
}

/// pmpd.attention as a call of pmpd_attention_f32, which reads the layer's
/// rows of the caches in place and writes a fresh buffer.
LogicalResult lowerAttention(AttentionOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto queryType = op.getQuery().getType();
  auto cacheType = cast<RankedTensorType>(op.getKeys().getType());
  if (!cacheType.hasStaticShape() || queryType.isDynamicDim(1) ||
      queryType.isDynamicDim(2))
    return op.emitOpError("the CPU attention kernel needs static head counts, "
                          "head size and cache shape");
  Value query = readOnlyBuffer(b, loc, op.getQuery());
  Value keys = readOnlyBuffer(b, loc, op.getKeys());
  Value values = readOnlyBuffer(b, loc, op.getValues());
  Value tokens = memref::DimOp::create(b, loc, query, 0);
  Value output = allocRows(b, loc, op.getResult().getType(), tokens);
  SmallVector<Value> args = {
      pointerTo(b, loc, query),
      arith::IndexCastOp::create(b, loc, b.getI64Type(), tokens),
      i64Constant(b, loc, op.getNumHeads()),
      pointerTo(b, loc, keys),
      pointerTo(b, loc, values),
      i64Constant(b, loc, op.getLayer()),
      i64Constant(b, loc, op.getMaxPositions()),
      i64Constant(b, loc, op.getNumKVHeads()),
      i64Constant(b, loc, op.getHeadDim()),
      arith::IndexCastOp::create(b, loc, b.getI64Type(), op.getStart()),
      pointerTo(b, loc, output)};
  SmallVector<Type> argTypes;
  for (Value arg : args)
    argTypes.push_back(arg.getType());
  declareKernel(op->getParentOfType<ModuleOp>(), kAttentionKernel, argTypes);
  func::CallOp::create(b, loc, kAttentionKernel, TypeRange(), args);
  replaceWithBuffer(b, op, output);
  return success();
}

struct LowerToCPU : pmpd::impl::PMPDLowerToCPUBase<LowerToCPU> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(lowerProjections(module, lowerQLinear)))
      return signalPassFailure();
    SmallVector<AttentionOp> attentions;
    module.walk([&](AttentionOp op) { attentions.push_back(op); });
    for (AttentionOp op : attentions)
      if (failed(lowerAttention(op)))
        return signalPassFailure();
    // The other layer ops (RMSNorm) as linalg, as pmpd-decompose-layer-ops
    // expands them.
    SmallVector<RMSNormOp> norms;
    module.walk([&](RMSNormOp op) { norms.push_back(op); });
    for (RMSNormOp op : norms)
      decomposeLayerOp(op);

    // Let LLVM reassociate and contract float arithmetic, so that the
    // reductions of norms and attention vectorize. NaN and infinity
    // semantics stay (the causal mask relies on -inf).
    auto flags = arith::FastMathFlagsAttr::get(
        module.getContext(),
        arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
    module.walk([&](arith::ArithFastMathInterface op) {
      op->setAttr(op.getFastMathAttrName(), flags);
    });
  }
};

} // namespace
