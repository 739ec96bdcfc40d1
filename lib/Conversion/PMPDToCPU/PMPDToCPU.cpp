//===- PMPDToCPU.cpp - pmpd.qlinear to the CPU micro-kernels --------------===//
//
// The CPU target runs the quantized projections in the runtime's
// micro-kernels; this pass rewrites each pmpd.qlinear into a call of the
// kernel of its precision, so that bufferization and MLIR's LLVM lowering
// handle everything else.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Conversion/Passes.h"
#include "pmpd/Conversion/QLinearLowering.h"

namespace pmpd {
#define GEN_PASS_DEF_PMPDLOWERTOCPU
#include "pmpd/Conversion/Passes.h.inc"
} // namespace pmpd

using namespace mlir;
using namespace pmpd;

namespace {

constexpr StringLiteral kPackedKernel = "pmpd_qlinear_f32";
constexpr StringLiteral kFP16Kernel = "pmpd_linear_f16_f32";

Value i64Constant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIntOp::create(b, loc, b.getI64Type(), value);
}

Value i32Constant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIntOp::create(b, loc, b.getI32Type(), value);
}

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

struct LowerToCPU : pmpd::impl::PMPDLowerToCPUBase<LowerToCPU> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(lowerProjections(module, lowerQLinear)))
      return signalPassFailure();

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
