//===- KVCacheClassifier.cpp - PMPD's prompt-adaptive classifier in IR ----===//
//
// Every step is a linalg.generic on static shapes: the whole cache's
// positions are computed on and the rows at or past the prompt's length are
// masked out of the softmax (their scores are -inf), so the code needs no
// dynamic shapes and the masked rows cost only arithmetic. The operations
// follow python/pmpd/kv_scheduler.py one for one, so that the two agree on
// every decision (test/e2e/kv-cache-schedule.test).
//
//===----------------------------------------------------------------------===//

#include "KVCacheClassifier.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace pmpd;

namespace {

using utils::IteratorType;
constexpr IteratorType kPar = IteratorType::parallel;
constexpr IteratorType kRed = IteratorType::reduction;

/// Small builders over one insertion point, so that each step of the
/// classifier reads as its formula.
class ClassifierBuilder {
public:
  ClassifierBuilder(OpBuilder &b, Location loc)
      : b(b), loc(loc), f32(b.getF32Type()) {}

  Value constF32(double v) {
    return arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32),
                                          APFloat(float(v)));
  }
  Value constIndex(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  /// A tensor of `shape` filled with `v`.
  Value filled(ArrayRef<int64_t> shape, double v) {
    Value empty = tensor::EmptyOp::create(b, loc, shape, f32);
    return linalg::FillOp::create(b, loc, constF32(v), empty).getResult(0);
  }
  Value empty(ArrayRef<int64_t> shape) {
    return tensor::EmptyOp::create(b, loc, shape, f32);
  }
  /// The classifier's weights, as a constant of `shape`.
  Value weights(ArrayRef<int64_t> shape, ArrayRef<float> values) {
    auto type = RankedTensorType::get(shape, f32);
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, values));
  }
  /// The map from `dims` loop dimensions to the listed ones.
  AffineMap map(unsigned dims, ArrayRef<unsigned> results) {
    SmallVector<AffineExpr> exprs;
    for (unsigned d : results)
      exprs.push_back(b.getAffineDimExpr(d));
    return AffineMap::get(dims, 0, exprs, b.getContext());
  }
  /// A linalg.generic over `inputs` into `init` (the last of `maps`).
  Value generic(ValueRange inputs, Value init, ArrayRef<AffineMap> maps,
                ArrayRef<IteratorType> iterators,
                function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
    auto op = linalg::GenericOp::create(
        b, loc, init.getType(), inputs, init, maps, iterators,
        [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
          Value result = body(nested, nestedLoc, args);
          linalg::YieldOp::create(nested, nestedLoc, result);
        });
    return op.getResult(0);
  }

  OpBuilder &b;
  Location loc;
  Type f32;
};

Value add(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::AddFOp::create(b, loc, x, y);
}
Value mul(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::MulFOp::create(b, loc, x, y);
}

/// One classifier's class for keys and values averaged over heads, `k` and
/// `v` [positions][D], of which the first `rows` (index) are the prompt's:
/// the i32 index of its largest logit.
Value buildClass(ClassifierBuilder &cb, const KVCacheScheduler &scheduler,
                 const KVCacheScheduler::Classifier &c, Value k, Value v,
                 Value rows) {
  OpBuilder &b = cb.b;
  Location loc = cb.loc;
  int64_t q = scheduler.heads, d = scheduler.headDim;
  int64_t m = cast<RankedTensorType>(k.getType()).getDimSize(0);
  int64_t n = scheduler.features(), classes = scheduler.classes();

  // s[i, j, t] = sum_d query[i, j, d] k[t, d]
  Value query = cb.weights({q, q, d}, c.query);
  Value scores = cb.generic(
      {query, k}, cb.filled({q, q, m}, 0),
      {cb.map(4, {0, 1, 3}), cb.map(4, {2, 3}), cb.map(4, {0, 1, 2})},
      {kPar, kPar, kPar, kRed}, [&](OpBuilder &b, Location loc, ValueRange a) {
        Value p = mul(b, loc, a[0], a[1]);
        return add(b, loc, a[2], p);
      });
  // z = s / sqrt(D) on the prompt's rows, -inf past them.
  Value scale = cb.constF32(1.0 / std::sqrt(double(d)));
  Value minusInf = cb.constF32(-std::numeric_limits<double>::infinity());
  AffineMap id3 = cb.map(3, {0, 1, 2});
  Value z = cb.generic({scores}, cb.empty({q, q, m}), {id3, id3},
                       {kPar, kPar, kPar},
                       [&](OpBuilder &b, Location loc, ValueRange a) {
                         Value t = linalg::IndexOp::create(b, loc, 2);
                         Value inPrompt = arith::CmpIOp::create(
                             b, loc, arith::CmpIPredicate::slt, t, rows);
                         Value scaled = mul(b, loc, a[0], scale);
                         return arith::SelectOp::create(b, loc, inPrompt,
                                                        scaled, minusInf)
                             .getResult();
                       });
  // The softmax over t.
  AffineMap rowOf3 = cb.map(3, {0, 1});
  Value maxZ = cb.generic({z}, cb.filled({q, q}, -INFINITY), {id3, rowOf3},
                          {kPar, kPar, kRed},
                          [&](OpBuilder &b, Location loc, ValueRange a) {
                            return arith::MaximumFOp::create(b, loc, a[1], a[0])
                                .getResult();
                          });
  Value e = cb.generic({z, maxZ}, cb.empty({q, q, m}), {id3, rowOf3, id3},
                       {kPar, kPar, kPar},
                       [&](OpBuilder &b, Location loc, ValueRange a) {
                         Value diff = arith::SubFOp::create(b, loc, a[0], a[1]);
                         return math::ExpOp::create(b, loc, diff).getResult();
                       });
  Value sum = cb.generic({e}, cb.filled({q, q}, 0), {id3, rowOf3},
                         {kPar, kPar, kRed},
                         [&](OpBuilder &b, Location loc, ValueRange a) {
                           return add(b, loc, a[1], a[0]);
                         });
  Value att = cb.generic({e, sum}, cb.empty({q, q, m}), {id3, rowOf3, id3},
                         {kPar, kPar, kPar},
                         [&](OpBuilder &b, Location loc, ValueRange a) {
                           return arith::DivFOp::create(b, loc, a[0], a[1])
                               .getResult();
                         });
  // o[i, j, d] = sum_t att[i, j, t] v[t, d]; x[d, i] = mean_j o[i, j, d].
  Value attended = cb.generic(
      {att, v}, cb.filled({q, q, d}, 0),
      {cb.map(4, {0, 1, 3}), cb.map(4, {3, 2}), cb.map(4, {0, 1, 2})},
      {kPar, kPar, kPar, kRed}, [&](OpBuilder &b, Location loc, ValueRange a) {
        Value p = mul(b, loc, a[0], a[1]);
        return add(b, loc, a[2], p);
      });
  Value summed = cb.generic({attended}, cb.filled({d, q}, 0),
                            {cb.map(3, {1, 2, 0}), cb.map(3, {0, 1})},
                            {kPar, kPar, kRed},
                            [&](OpBuilder &b, Location loc, ValueRange a) {
                              return add(b, loc, a[1], a[0]);
                            });
  Value heads = cb.constF32(double(q));
  AffineMap id2 = cb.map(2, {0, 1});
  Value meanOverJ = cb.generic({summed}, cb.empty({d, q}), {id2, id2},
                               {kPar, kPar},
                               [&](OpBuilder &b, Location loc, ValueRange a) {
                                 return arith::DivFOp::create(b, loc, a[0],
                                                              heads)
                                     .getResult();
                               });
  SmallVector<ReassociationIndices> flat{{0, 1}};
  Value x = tensor::CollapseShapeOp::create(b, loc, meanOverJ, flat);

  // Layer norm over the n features (biased variance, as torch's).
  AffineMap id1 = cb.map(1, {0}), all1 = cb.map(1, {});
  Value count = cb.constF32(double(n));
  auto reduceToScalar = [&](Value in) {
    Value total = cb.generic({in}, cb.filled({}, 0), {id1, all1}, {kRed},
                             [&](OpBuilder &b, Location loc, ValueRange a) {
                               return add(b, loc, a[1], a[0]);
                             });
    Value scalar = tensor::ExtractOp::create(b, loc, total, ValueRange{});
    return arith::DivFOp::create(b, loc, scalar, count).getResult();
  };
  Value mean = reduceToScalar(x);
  Value centered = cb.generic({x}, cb.empty({n}), {id1, id1}, {kPar},
                              [&](OpBuilder &b, Location loc, ValueRange a) {
                                return arith::SubFOp::create(b, loc, a[0], mean)
                                    .getResult();
                              });
  Value squares = cb.generic({centered}, cb.empty({n}), {id1, id1}, {kPar},
                             [&](OpBuilder &b, Location loc, ValueRange a) {
                               return mul(b, loc, a[0], a[0]);
                             });
  Value variance = reduceToScalar(squares);
  Value epsilon = cb.constF32(scheduler.normEpsilon);
  Value shifted = arith::AddFOp::create(b, loc, variance, epsilon);
  Value deviation = math::SqrtOp::create(b, loc, shifted);
  Value normWeight = cb.weights({n}, c.normWeight);
  Value normBias = cb.weights({n}, c.normBias);
  Value normed = cb.generic(
      {centered, normWeight, normBias}, cb.empty({n}), {id1, id1, id1, id1},
      {kPar}, [&](OpBuilder &b, Location loc, ValueRange a) {
        Value unit = arith::DivFOp::create(b, loc, a[0], deviation);
        Value scaled = mul(b, loc, unit, a[1]);
        return add(b, loc, scaled, a[2]);
      });

  // Linear -> ReLU -> Linear.
  auto linear = [&](Value in, int64_t outs, ArrayRef<float> weight,
                    ArrayRef<float> bias, bool relu) {
    Value w = cb.weights({outs, n}, weight);
    Value dot = cb.generic(
        {w, in}, cb.filled({outs}, 0),
        {cb.map(2, {0, 1}), cb.map(2, {1}), cb.map(2, {0})}, {kPar, kRed},
        [&](OpBuilder &b, Location loc, ValueRange a) {
          Value p = mul(b, loc, a[0], a[1]);
          return add(b, loc, a[2], p);
        });
    Value bv = cb.weights({outs}, bias);
    Value zero = cb.constF32(0);
    return cb.generic({dot, bv}, cb.empty({outs}), {id1, id1, id1}, {kPar},
                      [&](OpBuilder &b, Location loc, ValueRange a) {
                        Value biased = add(b, loc, a[0], a[1]);
                        if (!relu)
                          return biased;
                        return arith::MaximumFOp::create(b, loc, biased, zero)
                            .getResult();
                      });
  };
  Value hidden = linear(normed, n, c.hiddenWeight, c.hiddenBias, true);
  Value logits = linear(hidden, classes, c.outWeight, c.outBias, false);

  // The first largest logit, as numpy's and torch's argmax take it.
  auto logitAt = [&](int64_t i) -> Value {
    return tensor::ExtractOp::create(b, loc, logits,
                                     ValueRange{cb.constIndex(i)});
  };
  Value best = logitAt(0);
  Value index = arith::ConstantIntOp::create(b, loc, 0, 32);
  for (int64_t i = 1; i < classes; ++i) {
    Value candidate = logitAt(i);
    Value larger = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                         candidate, best);
    best = arith::SelectOp::create(b, loc, larger, candidate, best);
    Value here = arith::ConstantIntOp::create(b, loc, i, 32);
    index = arith::SelectOp::create(b, loc, larger, here, index);
  }
  return index;
}

} // namespace

Value pmpd::buildKVCacheSchedule(OpBuilder &b, Location loc,
                                 const KVCacheScheduler &scheduler,
                                 Value kCache, Value vCache, Value position,
                                 Value state) {
  ClassifierBuilder cb(b, loc);
  auto cacheType = cast<RankedTensorType>(kCache.getType());
  int64_t layers = cacheType.getDimSize(0), m = cacheType.getDimSize(1),
          h = cacheType.getDimSize(2), d = cacheType.getDimSize(3);
  Value rows = position.getType().isIndex()
                   ? position
                   : arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                                position)
                         .getResult();

  // The last layer's keys and values averaged over the KV heads, [m][d].
  Value kvHeads = cb.constF32(double(h));
  auto meanOverHeads = [&](Value cache) {
    SmallVector<OpFoldResult> offsets{b.getIndexAttr(layers - 1),
                                      b.getIndexAttr(0), b.getIndexAttr(0),
                                      b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), b.getIndexAttr(m),
                                    b.getIndexAttr(h), b.getIndexAttr(d)};
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    auto sliceType = RankedTensorType::get({m, h, d}, cb.f32);
    Value last = tensor::ExtractSliceOp::create(b, loc, sliceType, cache,
                                                offsets, sizes, strides);
    Value sum = cb.generic({last}, cb.filled({m, d}, 0),
                           {cb.map(3, {0, 1, 2}), cb.map(3, {0, 2})},
                           {kPar, kRed, kPar},
                           [&](OpBuilder &b, Location loc, ValueRange a) {
                             return add(b, loc, a[1], a[0]);
                           });
    AffineMap id2 = cb.map(2, {0, 1});
    return cb.generic({sum}, cb.empty({m, d}), {id2, id2}, {kPar, kPar},
                      [&](OpBuilder &b, Location loc, ValueRange a) {
                        return arith::DivFOp::create(b, loc, a[0], kvHeads)
                            .getResult();
                      });
  };
  Value k = meanOverHeads(kCache);
  Value v = meanOverHeads(vCache);

  // Stage i + 1 starts at the latest switch step chosen up to pair i.
  SmallVector<Value> values{cb.constF32(1)};
  Value first = cb.constF32(0);
  for (const KVCacheScheduler::Classifier &c : scheduler.classifiers) {
    Value index = buildClass(cb, scheduler, c, k, v, rows);
    Value step = cb.constF32(std::numeric_limits<double>::infinity());
    for (auto [i, s] : llvm::enumerate(scheduler.switchSteps)) {
      Value is = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::eq, index,
          arith::ConstantIntOp::create(b, loc, int64_t(i), 32));
      step = arith::SelectOp::create(b, loc, is, cb.constF32(double(s)), step);
    }
    first = arith::MaximumFOp::create(b, loc, first, step);
    values.push_back(first);
  }
  // Written into the state itself, so that it is updated in place.
  for (auto [i, value] : llvm::enumerate(values))
    state = tensor::InsertOp::create(b, loc, value, state,
                                     ValueRange{cb.constIndex(i)});
  return state;
}
