//===- PMPDToCPU.cpp - pmpd ops to weights views and kernel calls ---------===//
//
// The CPU target keeps the model's weights in one mapped file and runs the
// quantized projections in the runtime's micro-kernels; this pass rewrites the
// pmpd ops into exactly that, so that bufferization and MLIR's LLVM lowering
// handle everything else.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Conversion/Passes.h"
#include "pmpd/Dialect/PMPD/IR/PMPD.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace pmpd {
#define GEN_PASS_DEF_PMPDLOWERTOCPU
#include "pmpd/Conversion/Passes.h.inc"
} // namespace pmpd

using namespace mlir;
using namespace pmpd;

namespace {

constexpr StringLiteral kPackedKernel = "pmpd_qlinear_f32";
constexpr StringLiteral kFP16Kernel = "pmpd_linear_f16_f32";

/// The weights buffer of the function enclosing `op` (its last argument).
Value weightsBufferOf(Operation *op) {
  auto func = op->getParentOfType<func::FuncOp>();
  return func.getArguments().back();
}

/// `memref`'s aligned data pointer plus `byteOffset`, as an !llvm.ptr.
Value pointerTo(OpBuilder &b, Location loc, Value memref,
                int64_t byteOffset = 0) {
  Value address = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  if (byteOffset)
    address = arith::AddIOp::create(
        b, loc, address, arith::ConstantIndexOp::create(b, loc, byteOffset));
  Value asInt = arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
  return LLVM::IntToPtrOp::create(b, loc, LLVM::LLVMPointerType::get(b.getContext()),
                                  asInt, LLVM::DereferenceableAttr());
}

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

struct LowerToCPU : pmpd::impl::PMPDLowerToCPUBase<LowerToCPU> {
  void runOnOperation() override;

  LogicalResult addWeightsArguments(ModuleOp module);
  LogicalResult lowerQLinear(QLinearOp op, SymbolTable &symbols);
  void lowerGetWeight(GetWeightOp op, WeightOp weight);
  LogicalResult lowerStepPrecision(StepPrecisionOp op);
};

} // namespace

/// Threads the weights buffer through every function defined in the module.
LogicalResult LowerToCPU::addWeightsArguments(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  Type bufferType =
      MemRefType::get({ShapedType::kDynamic}, IntegerType::get(ctx, 8));
  SmallVector<func::FuncOp> defined;
  for (auto func : module.getOps<func::FuncOp>())
    if (!func.isExternal())
      defined.push_back(func);
  for (func::FuncOp func : defined) {
    // The runtime calls public functions through MLIR's C interface.
    if (func.isPublic())
      func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                    UnitAttr::get(ctx));
    unsigned index = func.getNumArguments();
    if (failed(func.insertArgument(index, bufferType, DictionaryAttr(),
                                   func.getLoc())))
      return func.emitOpError("cannot take the weights buffer argument");
  }
  WalkResult result = module.walk([&](func::CallOp call) {
    auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
    if (!callee || callee.isExternal())
      return WalkResult::advance();
    call->insertOperands(call->getNumOperands(), weightsBufferOf(call));
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

LogicalResult LowerToCPU::lowerQLinear(QLinearOp op, SymbolTable &symbols) {
  auto getWeight = op.getWeight().getDefiningOp<GetWeightOp>();
  if (!getWeight)
    return op.emitOpError("weight must come from pmpd.get_weight to be "
                          "lowered to the CPU kernels");
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
    return op.emitOpError("the CPU kernels take f32 activations, got ")
           << inputType.getElementType();

  OpBuilder b(op);
  Location loc = op.getLoc();
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  Value weights = weightsBufferOf(op);
  ArrayRef<int64_t> offsets = *weight.getByteOffsets();
  auto [rows, cols] = op.getWeightShape();

  // Input as a contiguous read-only buffer; tokens = product of leading dims.
  auto inputBufferType =
      MemRefType::get(inputType.getShape(), inputType.getElementType());
  Value input = bufferization::ToBufferOp::create(b, loc, inputBufferType,
                                                  op.getInput(),
                                                  /*read_only=*/true);
  Value tokens = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0, e = inputType.getRank() - 1; i < e; ++i) {
    Value dim = memref::DimOp::create(b, loc, input, i);
    tokens = arith::MulIOp::create(b, loc, tokens, dim);
    if (op.getResult().getType().isDynamicDim(i))
      dynamicSizes.push_back(dim);
  }
  Value tokens64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), tokens);

  auto resultType = op.getResult().getType();
  auto outputType =
      MemRefType::get(resultType.getShape(), resultType.getElementType());
  Value output = memref::AllocOp::create(b, loc, outputType, dynamicSizes);

  Value bias;
  if (op.getBias()) {
    auto biasType = cast<RankedTensorType>(op.getBias().getType());
    if (!biasType.getElementType().isF32())
      return op.emitOpError("the CPU kernels take an f32 bias");
    Value biasBuffer = bufferization::ToBufferOp::create(
        b, loc, MemRefType::get(biasType.getShape(), biasType.getElementType()),
        op.getBias(), /*read_only=*/true);
    bias = pointerTo(b, loc, biasBuffer);
  } else {
    bias = LLVM::ZeroOp::create(b, loc, ptrType);
  }

  ModuleOp module = op->getParentOfType<ModuleOp>();
  SmallVector<Value> args;
  StringRef kernel;
  if (auto qweight = dyn_cast<QWeightType>(weight.getType())) {
    unsigned bits = precision.getBits();
    int64_t lutOffset = offsets[1 + bits - qweight.getSeed()];
    args = {pointerTo(b, loc, input),
            tokens64,
            i64Constant(b, loc, cols),
            pointerTo(b, loc, weights, offsets[0]),
            i64Constant(b, loc, rows),
            i32Constant(b, loc, qweight.getParent()),
            pointerTo(b, loc, weights, lutOffset),
            i32Constant(b, loc, bits),
            bias,
            pointerTo(b, loc, output)};
    kernel = kPackedKernel;
  } else {
    args = {pointerTo(b, loc, input),  tokens64,
            i64Constant(b, loc, cols), pointerTo(b, loc, weights, offsets[0]),
            i64Constant(b, loc, rows), bias,
            pointerTo(b, loc, output)};
    kernel = kFP16Kernel;
  }
  SmallVector<Type> argTypes;
  for (Value arg : args)
    argTypes.push_back(arg.getType());
  declareKernel(module, kernel, argTypes);
  func::CallOp::create(b, loc, kernel, TypeRange(), args);
  Value result = bufferization::ToTensorOp::create(
      b, loc, resultType, output, /*restrict=*/b.getUnitAttr(),
      /*writable=*/b.getUnitAttr());
  op.getResult().replaceAllUsesWith(result);
  op.erase();
  return success();
}

void LowerToCPU::lowerGetWeight(GetWeightOp op, WeightOp weight) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto tensorType = cast<RankedTensorType>(op.getType());
  auto viewType =
      MemRefType::get(tensorType.getShape(), tensorType.getElementType());
  Value shift =
      arith::ConstantIndexOp::create(b, loc, (*weight.getByteOffsets())[0]);
  Value view = memref::ViewOp::create(b, loc, viewType, weightsBufferOf(op),
                                      shift, ValueRange());
  Value tensor = bufferization::ToTensorOp::create(
      b, loc, tensorType, view, /*restrict=*/b.getUnitAttr());
  op.getResult().replaceAllUsesWith(tensor);
  op.erase();
}

/// The stage a learned schedule runs `op`'s step at: the state's stage, or
/// the next one when its first step is reached and its classifier fires.
static Value lowerLearnedStage(OpBuilder &b, StepPrecisionOp op) {
  Location loc = op.getLoc();
  ScheduleAttr schedule = op.getSchedule();
  Value state = op.getFeatures();
  auto stateAt = [&](int64_t i) -> Value {
    return tensor::ExtractOp::create(
        b, loc, state, ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
  };
  Type f32 = b.getF32Type();
  Value features[] = {stateAt(1), stateAt(2),
                      arith::SIToFPOp::create(b, loc, f32, op.getStep())};
  int64_t last = schedule.getBits().size() - 1;
  Value stage = arith::FPToSIOp::create(b, loc, b.getI32Type(), stateAt(0));
  stage = arith::MaxSIOp::create(b, loc, stage, i32Constant(b, loc, 0));
  stage = arith::MinSIOp::create(b, loc, stage, i32Constant(b, loc, last));

  auto rows = op.getClassifier()->getValues<float>();
  int64_t width = 1 + std::size(features);
  auto constF32 = [&](float v) {
    return arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32),
                                          APFloat(v));
  };
  Value advance = arith::ConstantIntOp::create(b, loc, b.getI1Type(), 0);
  for (int64_t i = 0; i < last; ++i) {
    Value z = constF32(rows[i * width]);
    for (auto [f, feature] : llvm::enumerate(features))
      z = arith::AddFOp::create(
          b, loc, z,
          arith::MulFOp::create(b, loc, constF32(rows[i * width + 1 + f]),
                                feature));
    Value here = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, stage,
                                       i32Constant(b, loc, i));
    Value allowed =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, op.getStep(),
                              i64Constant(b, loc, schedule.getSteps()[i + 1]));
    Value fires = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, z,
                                        constF32(0));
    Value go = arith::AndIOp::create(
        b, loc, here, arith::AndIOp::create(b, loc, allowed, fires));
    advance = arith::OrIOp::create(b, loc, advance, go);
  }
  Value step = arith::ExtUIOp::create(b, loc, b.getI32Type(), advance);
  return arith::AddIOp::create(b, loc, stage, step);
}

LogicalResult LowerToCPU::lowerStepPrecision(StepPrecisionOp op) {
  ScheduleAttr schedule = op.getSchedule();
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value bits = i32Constant(b, loc, schedule.getBits().front());
  // Stage i runs from its first step on (static), or when the learned
  // classifier has chosen it.
  Value stage = schedule.isLearned() ? lowerLearnedStage(b, op) : Value();
  for (size_t i = 1, e = schedule.getBits().size(); i < e; ++i) {
    Value chosen =
        stage ? arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, stage,
                                      i32Constant(b, loc, i))
              : arith::CmpIOp::create(
                    b, loc, arith::CmpIPredicate::sge, op.getStep(),
                    i64Constant(b, loc, schedule.getSteps()[i]));
    bits = arith::SelectOp::create(
        b, loc, chosen, i32Constant(b, loc, schedule.getBits()[i]), bits);
  }
  op.getResult().replaceAllUsesWith(bits);
  op.erase();
  return success();
}

void LowerToCPU::runOnOperation() {
  ModuleOp module = getOperation();
  SymbolTable symbols(module);
  if (failed(addWeightsArguments(module)))
    return signalPassFailure();

  SmallVector<QLinearOp> qlinears;
  module.walk([&](QLinearOp op) { qlinears.push_back(op); });
  for (QLinearOp op : qlinears)
    if (failed(lowerQLinear(op, symbols)))
      return signalPassFailure();

  SmallVector<GetWeightOp> getWeights;
  module.walk([&](GetWeightOp op) { getWeights.push_back(op); });
  for (GetWeightOp op : getWeights) {
    if (op.use_empty()) {
      op.erase();
      continue;
    }
    auto weight = symbols.lookup<WeightOp>(op.getName());
    if (!weight || !weight.getByteOffsets()) {
      op.emitOpError("weight '")
          << op.getName() << "' is not bound to a weights file (no byte "
          << "offsets)";
      return signalPassFailure();
    }
    if (isa<QWeightType>(op.getType())) {
      op.emitOpError("a packed weight can only feed pmpd.qlinear");
      return signalPassFailure();
    }
    lowerGetWeight(op, weight);
  }

  SmallVector<StepPrecisionOp> steps;
  module.walk([&](StepPrecisionOp op) { steps.push_back(op); });
  for (StepPrecisionOp op : steps)
    if (failed(lowerStepPrecision(op)))
      return signalPassFailure();

  for (auto weight : llvm::make_early_inc_range(module.getOps<WeightOp>()))
    weight.erase();

  // Let LLVM reassociate and contract float arithmetic, so that the
  // reductions of norms and attention vectorize. NaN and infinity semantics
  // stay (the causal mask relies on -inf).
  auto flags = arith::FastMathFlagsAttr::get(
      module.getContext(),
      arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
  module.walk([&](arith::ArithFastMathInterface op) {
    op->setAttr(op.getFastMathAttrName(), flags);
  });
}
