//===- PMPDOps.cpp - pmpd operations --------------------------------------===//
//
// Verifiers: every disagreement between a projection, its weight and the
// precision asked of it is reported where it happens, with a note pointing at
// the declaration it disagrees with.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Dialect/PMPD/IR/LearnedScheduler.h"
#include "pmpd/Dialect/PMPD/IR/LinalgBuilder.h"
#include "pmpd/Dialect/PMPD/IR/PMPD.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>
#include <limits>

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
/// The source of `value`'s producer if that is a tensor.cast that only erases
/// static shape information, else `value`.
Value foldShapeErasingCast(Value value) {
  auto cast = value ? value.getDefiningOp<tensor::CastOp>() : nullptr;
  if (cast && tensor::canFoldIntoConsumerOp(cast))
    return cast.getSource();
  return value;
}

/// Replaces `op` by `refined`, casting back to the old result type.
void replaceRefined(PatternRewriter &rewriter, Operation *op,
                    Operation *refined) {
  refined->setDiscardableAttrs(op->getDiscardableAttrDictionary());
  Value result = refined->getResult(0);
  Type oldType = op->getResult(0).getType();
  if (result.getType() != oldType)
    result = tensor::CastOp::create(rewriter, op->getLoc(), oldType, result);
  rewriter.replaceOp(op, result);
}

struct RefineQLinearShapes : OpRewritePattern<QLinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QLinearOp op,
                                PatternRewriter &rewriter) const override {
    auto foldCast = foldShapeErasingCast;
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
    replaceRefined(rewriter, op, refined);
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
  if (schedule.isKVCacheLearned()) {
    // The classifiers ran before: the state holds the stages' first steps.
    auto stateType = RankedTensorType::get(
        {int64_t(schedule.getBits().size())}, Float32Type::get(getContext()));
    if (getFeatures().getType() != stateType)
      return emitOpError("the state of a kv_cache schedule must be ")
             << stateType << " ([decided, first step of each later stage]), "
             << "got " << getFeatures().getType();
    if (getClassifier())
      return emitOpError("a kv_cache schedule takes no classifier "
                         "attribute; its classifiers fill the state");
    return success();
  }
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

//===----------------------------------------------------------------------===//
// RMSNormOp
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  auto inputType = getInput().getType();
  auto resultType = getResult().getType();
  if (inputType.getRank() != 2)
    return emitOpError("input must be [tokens, hidden], got ") << inputType;
  int64_t hidden = inputType.getDimSize(1);
  if (ShapedType::isDynamic(hidden))
    return emitOpError("the hidden dimension must be static, got ")
           << inputType;
  auto weightType = getWeight().getType();
  if (weightType.getRank() != 1 || weightType.getDimSize(0) != hidden)
    return emitOpError("weight must be a vector of ")
           << hidden << " elements, got " << weightType;
  if (resultType.getRank() != 2 ||
      !dimsAgree(resultType.getDimSize(0), inputType.getDimSize(0)) ||
      resultType.getDimSize(1) != hidden)
    return emitOpError("result type ")
           << resultType << " differs from the input's " << inputType;
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError("epsilon must be positive, got ")
           << getEpsilon().convertToDouble();
  return success();
}

namespace {
struct RefineRMSNormShapes : OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RMSNormOp op,
                                PatternRewriter &rewriter) const override {
    Value input = foldShapeErasingCast(op.getInput());
    if (input.getType() == op.getResult().getType())
      return failure();
    auto refined =
        RMSNormOp::create(rewriter, op.getLoc(), input.getType(), input,
                          op.getWeight(), op.getEpsilonAttr());
    replaceRefined(rewriter, op, refined);
    return success();
  }
};
} // namespace

void RMSNormOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<RefineRMSNormShapes>(context);
}

/// The sizes of `shape`'s dynamic dimensions, `tokens` for each.
static SmallVector<Value> dynamicSizes(ArrayRef<int64_t> shape, Value tokens) {
  SmallVector<Value> sizes;
  for (int64_t d : shape)
    if (ShapedType::isDynamic(d))
      sizes.push_back(tokens);
  return sizes;
}

Value RMSNormOp::decompose(OpBuilder &builder) {
  ImplicitLocOpBuilder b(getLoc(), builder);
  LinalgBuilder l(b);
  Value x = getInput();
  auto type = getInput().getType();
  int64_t n = type.getDimSize(0), hidden = type.getDimSize(1);
  Value tokens = tensor::DimOp::create(b, x, 0);
  float epsilon = float(getEpsilon().convertToDouble());
  // squares: [n], the sum of squares of each row.
  Value squares = l.generic1(
      x, l.filled({n}, dynamicSizes({n}, tokens), 0.0),
      {l.dims(2, {0, 1}), l.dims(2, {0})}, {kPar, kRed},
      [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
        return {s.add(args[1], s.mul(args[0], args[0]))};
      });
  Value init = l.empty({n, hidden}, dynamicSizes({n}, tokens));
  return l.generic1(
      ValueRange{x, squares, getWeight()}, init,
      {l.dims(2, {0, 1}), l.dims(2, {0}), l.dims(2, {1}), l.dims(2, {0, 1})},
      {kPar, kPar}, [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
        Value mean = s.div(args[1], s.f32(double(hidden)));
        Value shifted = s.add(mean, s.f32(epsilon));
        Value normalized = s.mul(args[0], math::RsqrtOp::create(s.b, shifted));
        return {s.mul(s.widen(args[2]), normalized)};
      });
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  auto queryType = getQuery().getType();
  auto cacheType = getKeys().getType();
  auto resultType = getResult().getType();
  if (queryType.getRank() != 3)
    return emitOpError("query must be [tokens, heads, head_dim], got ")
           << queryType;
  if (cacheType.getRank() != 4 || !cacheType.hasStaticShape())
    return emitOpError("the caches must be static [layers, positions, "
                       "kv_heads, head_dim], got ")
           << cacheType;
  int64_t heads = queryType.getDimSize(1), kvHeads = getNumKVHeads(),
          headDim = getHeadDim();
  if (ShapedType::isDynamic(heads) || queryType.getDimSize(2) != headDim)
    return emitOpError("query ")
           << queryType << " must have static heads of the caches' head_dim "
           << headDim;
  if (heads % kvHeads != 0)
    return emitOpError("the ")
           << heads << " query heads are not a multiple of the " << kvHeads
           << " KV heads";
  if (resultType.getRank() != 2 ||
      !dimsAgree(resultType.getDimSize(0), queryType.getDimSize(0)) ||
      resultType.getDimSize(1) != heads * headDim)
    return emitOpError("result must be [tokens, ")
           << heads * headDim << "], got " << resultType;
  int64_t layer = getLayer();
  if (layer < 0 || layer >= cacheType.getDimSize(0))
    return emitOpError("layer ")
           << layer << " is outside the caches' " << cacheType.getDimSize(0)
           << " layers";
  return success();
}

namespace {
struct RefineAttentionShapes : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Value query = foldShapeErasingCast(op.getQuery());
    int64_t n = cast<RankedTensorType>(query.getType()).getDimSize(0);
    RankedTensorType oldType = op.getResult().getType();
    if (ShapedType::isDynamic(oldType.getDimSize(0)) && !ShapedType::isDynamic(n))
      oldType = RankedTensorType::get({n, oldType.getDimSize(1)},
                                      oldType.getElementType());
    if (query == op.getQuery() && oldType == op.getResult().getType())
      return failure();
    auto refined = AttentionOp::create(
        rewriter, op.getLoc(), oldType, query, op.getKeys(), op.getValues(),
        op.getStart(), op.getLayerAttr());
    replaceRefined(rewriter, op, refined);
    return success();
  }
};
} // namespace

void AttentionOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<RefineAttentionShapes>(context);
}

Value AttentionOp::decompose(OpBuilder &builder) {
  ImplicitLocOpBuilder b(getLoc(), builder);
  LinalgBuilder l(b);
  int64_t kv = getNumKVHeads(), heads = getNumHeads(), g = heads / kv,
          d = getHeadDim();
  int64_t n = getQuery().getType().getDimSize(0);
  Value start = getStart();
  Value numTokens = tensor::DimOp::create(b, getQuery(), 0);
  Value numVisible = arith::AddIOp::create(b, start, numTokens);
  float scale = float(std::pow(double(d), -0.5));
  float negInf = -std::numeric_limits<float>::infinity();

  // The cache rows this call attends to: [T, Nkv, D] = cache[layer, 0:T].
  auto slice = [&](Value cache) -> Value {
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(getLayer()),
                                         b.getIndexAttr(0), b.getIndexAttr(0),
                                         b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), numVisible,
                                       b.getIndexAttr(kv), b.getIndexAttr(d)};
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    return tensor::ExtractSliceOp::create(b, l.f32Tensor({kDynamic, kv, d}),
                                          cache, offsets, sizes, strides);
  };
  Value keys = slice(getKeys());
  Value values = slice(getValues());
  // q as [n, Nkv, G, D]: query head h = kv * G + g.
  SmallVector<OpFoldResult> groupedSizes = {
      OpFoldResult(numTokens), b.getIndexAttr(kv), b.getIndexAttr(g),
      b.getIndexAttr(d)};
  if (!ShapedType::isDynamic(n))
    groupedSizes[0] = b.getIndexAttr(n);
  Value q = tensor::ExpandShapeOp::create(
      b, l.f32Tensor({n, kv, g, d}), getQuery(),
      ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}}, groupedSizes);

  SmallVector<Value> nT = dynamicSizes({n}, numTokens);
  nT.push_back(numVisible);
  SmallVector<Value> nOnly = dynamicSizes({n}, numTokens);

  // scores: [Nkv, G, n, T] = q . k over D. Loops (kv, g, i, p, d).
  Value scores = l.generic1(
      ValueRange{q, keys}, l.filled({kv, g, n, kDynamic}, nT, 0.0),
      {l.dims(5, {2, 0, 1, 4}), l.dims(5, {3, 0, 4}), l.dims(5, {0, 1, 2, 3})},
      {kPar, kPar, kPar, kPar, kRed},
      [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
        return {s.add(args[2], s.mul(args[0], args[1]))};
      });

  // Whether cache position p (loop 3) is visible to query i (loop 2).
  auto visible = [&](Scalar &s) -> Value {
    Value last = arith::AddIOp::create(s.b, start, s.loopIndex(2));
    return arith::CmpIOp::create(s.b, arith::CmpIPredicate::ule, s.loopIndex(3),
                                 last);
  };
  // Loops (kv, g, i, p) for the softmax over p.
  AffineMap all = l.dims(4, {0, 1, 2, 3}), row = l.dims(4, {0, 1, 2});

  // rowMax: [Nkv, G, n], the max visible scaled score.
  Value rowMax = l.generic1(
      scores, l.filled({kv, g, n}, nOnly, negInf), {all, row},
      {kPar, kPar, kPar, kRed},
      [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
        // One op per statement: the order of the ops must not depend on the
        // order a compiler evaluates call arguments in.
        Value scaled = s.mul(args[0], s.f32(scale));
        Value isVisible = visible(s);
        Value masked = s.select(isVisible, scaled, s.f32(negInf));
        return {s.max(args[1], masked)};
      });
  // weights: [Nkv, G, n, T] = exp(scaled - max), 0 where masked.
  Value weights = l.generic1(
      ValueRange{scores, rowMax}, l.empty({kv, g, n, kDynamic}, nT),
      {all, row, all}, {kPar, kPar, kPar, kPar},
      [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
        Value shifted = s.sub(s.mul(args[0], s.f32(scale)), args[1]);
        Value weight = s.exp(shifted);
        Value isVisible = visible(s);
        return {s.select(isVisible, weight, s.f32(0.0))};
      });
  // rowSum: [Nkv, G, n], the softmax denominators.
  Value rowSum = l.generic1(
      weights, l.filled({kv, g, n}, nOnly, 0.0), {all, row},
      {kPar, kPar, kPar, kRed},
      [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
        return {s.add(args[1], args[0])};
      });
  // out: [n, Nkv, G, D] = softmax . v over T. Loops (i, kv, g, p, d): the
  // reduction over cache positions is outside the head dimension, so the
  // innermost loop runs along contiguous rows of v and out and vectorizes.
  Value out = l.generic1(
      ValueRange{weights, rowSum, values}, l.filled({n, kv, g, d}, nOnly, 0.0),
      {l.dims(5, {1, 2, 0, 3}), l.dims(5, {1, 2, 0}), l.dims(5, {3, 1, 4}),
       l.dims(5, {0, 1, 2, 4})},
      {kPar, kPar, kPar, kRed, kPar},
      [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
        Value probability = s.div(args[0], args[1]);
        return {s.add(args[3], s.mul(probability, args[2]))};
      });
  Value result = tensor::CollapseShapeOp::create(
      b, out, ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
  if (result.getType() != getResult().getType())
    result = tensor::CastOp::create(b, getResult().getType(), result);
  return result;
}
