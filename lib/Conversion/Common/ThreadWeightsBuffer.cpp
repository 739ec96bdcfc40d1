//===- ThreadWeightsBuffer.cpp - Weights as one buffer argument -----------===//
//
// Every target keeps the model's weights in one buffer (the artifact's
// weights file, mapped on the CPU or uploaded to the device) and passes it to
// the compiled entry points; this pass gives every function that buffer and
// turns tensor weights into views of it.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Conversion/Passes.h"
#include "pmpd/Conversion/KernelLowering.h"

namespace pmpd {
#define GEN_PASS_DEF_PMPDTHREADWEIGHTSBUFFER
#include "pmpd/Conversion/Passes.h.inc"
} // namespace pmpd

using namespace mlir;
using namespace pmpd;

namespace {

struct ThreadWeightsBuffer
    : pmpd::impl::PMPDThreadWeightsBufferBase<ThreadWeightsBuffer> {
  void runOnOperation() override;
};

/// Appends the weights buffer to every function defined in `module` and
/// passes it on at every call between them.
LogicalResult addWeightsArguments(ModuleOp module) {
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
    if (failed(func.insertArgument(func.getNumArguments(), bufferType,
                                   DictionaryAttr(), func.getLoc())))
      return func.emitOpError("cannot take the weights buffer argument");
  }
  module.walk([&](func::CallOp call) {
    auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
    if (callee && !callee.isExternal())
      call->insertOperands(call->getNumOperands(), weightsBufferOf(call));
  });
  return success();
}

/// Whether `use` is the weight operand of a pmpd.qlinear, which targets lower
/// to their own kernels.
bool isProjectionWeight(OpOperand &use) {
  auto qlinear = dyn_cast<QLinearOp>(use.getOwner());
  return qlinear && use.get() == qlinear.getWeight();
}

/// A tensor weight becomes a view of the buffer at its byte offset, except
/// where it feeds a projection.
void lowerGetWeight(GetWeightOp op, WeightOp weight) {
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
  op.getResult().replaceUsesWithIf(
      tensor, [](OpOperand &use) { return !isProjectionWeight(use); });
  if (op.use_empty())
    op.erase();
}

} // namespace

void ThreadWeightsBuffer::runOnOperation() {
  ModuleOp module = getOperation();
  SymbolTable symbols(module);
  if (failed(addWeightsArguments(module)))
    return signalPassFailure();

  SmallVector<GetWeightOp> getWeights;
  module.walk([&](GetWeightOp op) { getWeights.push_back(op); });
  for (GetWeightOp op : getWeights) {
    if (op.use_empty()) {
      op.erase();
      continue;
    }
    // Projections are the target's: its pmpd.qlinear lowering checks them.
    if (llvm::all_of(op->getUses(), isProjectionWeight))
      continue;
    if (isa<QWeightType>(op.getType())) {
      op.emitOpError("a packed weight can only feed pmpd.qlinear");
      return signalPassFailure();
    }
    auto weight = symbols.lookup<WeightOp>(op.getName());
    if (!weight || !weight.getByteOffsets()) {
      op.emitOpError("weight '")
          << op.getName() << "' is not bound to a weights file (no byte "
          << "offsets)";
      return signalPassFailure();
    }
    lowerGetWeight(op, weight);
  }
}
