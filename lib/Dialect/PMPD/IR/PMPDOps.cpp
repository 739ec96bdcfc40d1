//===- PMPDOps.cpp - pmpd operations --------------------------------------===//
//
// Verifiers: every disagreement between a projection, its weight and the
// precision asked of it is reported where it happens, with a note pointing at
// the declaration it disagrees with.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Dialect/PMPD/IR/LearnedScheduler.h"
#include "pmpd/Dialect/PMPD/IR/PMPD.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace pmpd;

#define GET_OP_CLASSES
#include "pmpd/Dialect/PMPD/IR/PMPDOps.cpp.inc"

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

size_t WeightOp::getNumDataTensors() {
  if (auto qweight = dyn_cast<QWeightType>(getType()))
    return 1 + qweight.getParent() - qweight.getSeed() + 1;
  return 1;
}

LogicalResult WeightOp::verify() {
  if (getTensor().empty())
    return emitOpError("needs the name of a tensor in the weights file");
  if (auto tensor = dyn_cast<RankedTensorType>(getType())) {
    if (!tensor.hasStaticShape())
      return emitOpError("weight tensor must have a static shape, got ")
             << tensor;
  }
  if (auto offsets = getByteOffsets()) {
    if (offsets->size() != getNumDataTensors())
      return emitOpError("expects ")
             << getNumDataTensors() << " byte offsets for " << getType()
             << ", got " << offsets->size();
    for (int64_t offset : *offsets)
      if (offset < 0)
        return emitOpError("byte offset ") << offset << " is negative";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// GetWeightOp
//===----------------------------------------------------------------------===//

LogicalResult
GetWeightOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto weight =
      symbolTable.lookupNearestSymbolFrom<WeightOp>(*this, getNameAttr());
  if (!weight)
    return emitOpError("'") << getName() << "' does not name a pmpd.weight";
  if (weight.getType() != getType())
    return emitOpError("result type ")
               .append(getType(), " does not match the type ",
                       weight.getType(), " of weight '", getName(), "'")
               .attachNote(weight.getLoc())
           << "weight declared here";
  return success();
}

//===----------------------------------------------------------------------===//
// QLinearOp
//===----------------------------------------------------------------------===//

std::pair<int64_t, int64_t> QLinearOp::getWeightShape() {
  if (auto qweight = dyn_cast<QWeightType>(getWeight().getType()))
    return {qweight.getRows(), qweight.getCols()};
  auto tensor = cast<RankedTensorType>(getWeight().getType());
  return {tensor.getDimSize(0), tensor.getDimSize(1)};
}

/// Dimensions agree unless both are known and differ.
static bool dimsAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

LogicalResult QLinearOp::verify() {
  auto inputType = getInput().getType();
  auto resultType = getResult().getType();
  if (auto tensor = dyn_cast<RankedTensorType>(getWeight().getType())) {
    if (tensor.getRank() != 2)
      return emitOpError("weight tensor must be a matrix, got ") << tensor;
    if (!tensor.getElementType().isF16())
      return emitOpError("a tensor weight must be fp16, got ") << tensor;
  }
  if (inputType.getRank() < 1)
    return emitOpError("input must have at least one dimension");
  if (resultType.getRank() != inputType.getRank())
    return emitOpError("result rank ")
           << resultType.getRank() << " differs from input rank "
           << inputType.getRank();
  if (resultType.getElementType() != inputType.getElementType())
    return emitOpError("result element type ")
           << resultType.getElementType() << " differs from input's "
           << inputType.getElementType();

  auto [rows, cols] = getWeightShape();
  int64_t k = inputType.getShape().back();
  if (!dimsAgree(k, cols))
    return emitOpError("input has ")
           << k << " features but the weight has " << cols << " columns";
  int64_t n = resultType.getShape().back();
  if (!dimsAgree(n, rows))
    return emitOpError("result has ")
           << n << " features but the weight has " << rows << " rows";
  for (int64_t i = 0, e = inputType.getRank() - 1; i < e; ++i)
    if (!dimsAgree(inputType.getDimSize(i), resultType.getDimSize(i)))
      return emitOpError("result dimension ")
             << i << " (" << resultType.getDimSize(i)
             << ") differs from input's (" << inputType.getDimSize(i) << ")";

  if (Value bias = getBias()) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (biasType.getRank() != 1 || !dimsAgree(biasType.getDimSize(0), rows))
      return emitOpError("bias must be a vector of ")
             << rows << " elements, got " << biasType;
  }

  auto precision = getPrecisionAttr();
  if (!precision)
    return success();
  unsigned bits = precision.getBits();
  if (auto qweight = dyn_cast<QWeightType>(getWeight().getType())) {
    if (bits == 16)
      return emitOpError("fp16 precision requested of a packed-only weight");
    if (!qweight.supportsBits(bits))
      return emitOpError("precision ")
             << bits << " bits is outside the weight's range [seed = "
             << qweight.getSeed() << ", parent = " << qweight.getParent()
             << "]";
  } else if (bits != 16) {
    return emitOpError("an fp16 weight runs at precision 16, not ") << bits;
  }
  return success();
}

namespace {
/// Folds producer tensor.casts that only erase static shape information into
/// the projection and makes its result type as static as its input and weight
/// say it is. Consumers of the old type get a tensor.cast back, which their
/// own canonicalizations fold in turn: this is how one decode token's static
/// shape travels through a chain of projections.
struct RefineQLinearShapes : OpRewritePattern<QLinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QLinearOp op,
                                PatternRewriter &rewriter) const override {
    auto foldCast = [](Value value) -> Value {
      auto cast = value ? value.getDefiningOp<tensor::CastOp>() : nullptr;
      if (cast && tensor::canFoldIntoConsumerOp(cast))
        return cast.getSource();
      return value;
    };
    Value input = foldCast(op.getInput());
    Value bias = foldCast(op.getBias());
    auto inputType = cast<RankedTensorType>(input.getType());
    RankedTensorType oldType = op.getResult().getType();
    SmallVector<int64_t> shape(oldType.getShape());
    for (int64_t i = 0, e = oldType.getRank() - 1; i < e; ++i)
      if (ShapedType::isDynamic(shape[i]))
        shape[i] = inputType.getDimSize(i);
    if (ShapedType::isDynamic(shape.back()))
      shape.back() = op.getWeightShape().first;
    auto newType = RankedTensorType::get(shape, oldType.getElementType(),
                                         oldType.getEncoding());
    if (input == op.getInput() && bias == op.getBias() && newType == oldType)
      return failure();

    auto refined =
        QLinearOp::create(rewriter, op.getLoc(), newType, input, op.getWeight(),
                          bias, op.getPrecisionAttr());
    refined->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    Value result = refined.getResult();
    if (newType != oldType)
      result = tensor::CastOp::create(rewriter, op.getLoc(), oldType, result);
    rewriter.replaceOp(op, result);
    return success();
  }
};
} // namespace

void QLinearOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<RefineQLinearShapes>(context);
}

//===----------------------------------------------------------------------===//
// StepPrecisionOp
//===----------------------------------------------------------------------===//

LogicalResult StepPrecisionOp::verify() {
  ScheduleAttr schedule = getSchedule();
  if (!schedule.isLearned()) {
    if (getFeatures() || getClassifier())
      return emitOpError("a static schedule takes no features or classifier");
    return success();
  }
  if (!getFeatures())
    return emitOpError("a learned schedule needs the scheduler state as "
                       "features");
  auto stateType = RankedTensorType::get({LearnedScheduler::kStateSize},
                                         Float32Type::get(getContext()));
  if (getFeatures().getType() != stateType)
    return emitOpError("the scheduler state must be ")
           << stateType << ", got " << getFeatures().getType();
  if (!getClassifier())
    return emitOpError("a learned schedule needs its classifier; "
                       "pmpd-insert-switch-points reads it from '")
           << schedule.getLearned().getValue() << "'";
  int64_t transitions = schedule.getBits().size() - 1;
  auto classifierType = cast<ShapedType>(getClassifier()->getType());
  SmallVector<int64_t> expected{transitions,
                                1 + LearnedScheduler::kNumFeatures};
  if (classifierType.getShape() != ArrayRef<int64_t>(expected))
    return emitOpError("the classifier must have one row [bias, "
                       "w_confidence, w_entropy, w_step] per transition, "
                       "shape ")
           << transitions << "x" << expected[1] << ", got " << classifierType;
  return success();
}
