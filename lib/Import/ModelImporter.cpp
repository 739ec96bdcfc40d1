//===- ModelImporter.cpp - A Hugging Face model as an MLIR module ---------===//
//
// Builds the imported module of the IR contract: weight declarations, the
// `pmpd.model` configuration, and `@forward`, the decoder's math written once
// for any number of tokens at any cache position, so that the phase passes
// can specialize it into prefill and decode without knowing the model.
//
// Notation in the shape comments: n tokens in this call, T = start + n cache
// positions visible to it, H hidden size, Nh query heads, Nkv KV heads,
// G = Nh / Nkv query heads per KV head, D head dim, I intermediate size,
// V vocabulary, L layers, M max positions. Everything is computed in f32;
// weights are fp16 (or packed) and widened where they are read.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Import/ModelImporter.h"
#include "pmpd/Dialect/PMPD/IR/PMPD.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Verifier.h"

#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace pmpd {

void registerImportDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, func::FuncDialect, linalg::LinalgDialect,
                  math::MathDialect, tensor::TensorDialect, PMPDDialect>();
}

namespace {

constexpr Projection kProjections[] = {
    Projection::Q,    Projection::K,  Projection::V,   Projection::O,
    Projection::Gate, Projection::Up, Projection::Down};

constexpr int64_t kDynamic = ShapedType::kDynamic;
using utils::IteratorType;
constexpr IteratorType kPar = IteratorType::parallel;
constexpr IteratorType kRed = IteratorType::reduction;

/// Scalar arithmetic inside linalg.generic bodies, to keep the math readable.
struct Scalar {
  ImplicitLocOpBuilder &b;

  Value f32(double v) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(float(v)));
  }
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, x, y); }
  Value neg(Value x) { return arith::NegFOp::create(b, x); }
  Value max(Value x, Value y) { return arith::MaximumFOp::create(b, x, y); }
  Value exp(Value x) { return math::ExpOp::create(b, x); }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }
  Value widen(Value f16) {
    return arith::ExtFOp::create(b, b.getF32Type(), f16);
  }
  /// The loop index of dimension `dim` of the enclosing linalg.generic.
  Value loopIndex(unsigned dim) { return linalg::IndexOp::create(b, dim); }
  /// An index as f32 (exact below 2^24, which positions and dims are).
  Value indexToF32(Value i) {
    Value i64 = arith::IndexCastOp::create(b, b.getI64Type(), i);
    return arith::SIToFPOp::create(b, b.getF32Type(), i64);
  }
};

using BodyFn = function_ref<SmallVector<Value>(Scalar &, ValueRange)>;

/// Builds @forward into a module whose weights are already declared.
class ForwardBuilder {
public:
  ForwardBuilder(ModuleOp module, const ModelConfig &config,
                 const WeightLayout &layout)
      : b(module.getLoc(), module.getContext()), c(config), layout(layout),
        module(module) {
    b.setInsertionPointToEnd(module.getBody());
  }

  void declareWeights();
  void buildForward();

private:
  // --- Weights ----------------------------------------------------------
  Type projectionType(int64_t layer, Projection p);
  void declare(const Twine &symbol, StringRef tensor, Type type);
  Value getWeight(StringRef symbol);
  static std::string layerSymbol(int64_t layer, StringRef what) {
    return ("layers." + Twine(layer) + "." + what).str();
  }

  // --- Building blocks --------------------------------------------------
  RankedTensorType f32Tensor(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getF32Type());
  }
  RankedTensorType f16Tensor(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getF16Type());
  }
  /// tensor.empty of f32 `shape`; `dynamicSizes` in order of its `?` dims.
  Value empty(ArrayRef<int64_t> shape, ValueRange dynamicSizes) {
    return tensor::EmptyOp::create(b, shape, b.getF32Type(), dynamicSizes);
  }
  /// `empty(...)` filled with `value`, the initial value of a reduction.
  Value filled(ArrayRef<int64_t> shape, ValueRange dynamicSizes, double value) {
    Value init = empty(shape, dynamicSizes);
    Value scalar =
        arith::ConstantOp::create(b, b.getF32FloatAttr(float(value)));
    return linalg::FillOp::create(b, ValueRange{scalar}, ValueRange{init})
        .getResult(0);
  }
  /// The affine map (d0, ..., d<numDims-1>) -> (d<results[0]>, ...).
  AffineMap dims(unsigned numDims, ArrayRef<unsigned> results) {
    SmallVector<AffineExpr> exprs;
    for (unsigned d : results)
      exprs.push_back(b.getAffineDimExpr(d));
    return AffineMap::get(numDims, 0, exprs, b.getContext());
  }
  /// A linalg.generic over `inputs` into `inits` (maps: inputs', then
  /// inits'); `body` gets the scalar block arguments and yields one value
  /// per init.
  ResultRange generic(ValueRange inputs, ValueRange inits,
                      ArrayRef<AffineMap> maps,
                      ArrayRef<IteratorType> iterators, BodyFn body);
  Value generic1(ValueRange inputs, Value init, ArrayRef<AffineMap> maps,
                 ArrayRef<IteratorType> iterators, BodyFn body) {
    return generic(inputs, ValueRange{init}, maps, iterators, body)[0];
  }
  Value add(Value x, Value y) {
    Value init = empty({kDynamic, c.hiddenSize}, {numTokens});
    return linalg::AddOp::create(b, TypeRange{init.getType()}, ValueRange{x, y},
                                 ValueRange{init})
        .getResult(0);
  }

  // --- The decoder ------------------------------------------------------
  Value embed(Value tokens, Value table);
  Value rmsNorm(Value x, StringRef weightSymbol);
  Value project(Value x, int64_t layer, Projection p);
  std::pair<Value, Value> ropeTables();
  Value rope(Value x, int64_t heads);
  Value splitHeads(Value x, int64_t heads);
  Value groupHeads(Value q);
  Value attention(Value q, Value keys, Value values);
  Value mlp(Value x, int64_t layer);
  Value cacheSlice(Value cache, int64_t layer);
  Value cacheInsert(Value cache, Value rows, int64_t layer);

  ImplicitLocOpBuilder b;
  const ModelConfig &c;
  const WeightLayout &layout;
  ModuleOp module;
  llvm::StringMap<Type> weightTypes;
  // Values of @forward that every layer uses.
  Value numTokens;  // n
  Value start;      // the cache position of the first token
  Value numVisible; // T = start + n
  Value cosTable;   // tensor<?xDxf32> [n, D]
  Value sinTable;   // tensor<?xDxf32> [n, D]
};

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

Type ForwardBuilder::projectionType(int64_t layer, Projection p) {
  auto [rows, cols] = projectionShape(c, p);
  if (std::optional<PackedBits> bits = layout.get(layer, p))
    return QWeightType::get(b.getContext(), {rows, cols}, bits->parent,
                            bits->seed);
  return f16Tensor({rows, cols});
}

void ForwardBuilder::declare(const Twine &symbol, StringRef tensor, Type type) {
  std::string name = symbol.str();
  WeightOp::create(b, name, tensor, type, /*byte_offsets=*/nullptr);
  weightTypes[name] = type;
}

Value ForwardBuilder::getWeight(StringRef symbol) {
  return GetWeightOp::create(b, weightTypes.lookup(symbol), symbol);
}

void ForwardBuilder::declareWeights() {
  Type table = f16Tensor({c.vocabSize, c.hiddenSize});
  Type norm = f16Tensor({c.hiddenSize});
  declare("embed_tokens", "model.embed_tokens.weight", table);
  for (int64_t l = 0; l < c.numLayers; ++l) {
    std::string prefix = "model.layers." + std::to_string(l) + ".";
    declare(layerSymbol(l, "input_layernorm"),
            prefix + "input_layernorm.weight", norm);
    declare(layerSymbol(l, "post_attention_layernorm"),
            prefix + "post_attention_layernorm.weight", norm);
    for (Projection p : kProjections) {
      Type type = projectionType(l, p);
      // A packed weight is named by its tensors' common prefix.
      std::string tensor = isa<QWeightType>(type) ? projectionPrefix(l, p)
                                                  : projectionTensorName(l, p);
      declare(layerSymbol(l, projectionName(p)), tensor, type);
    }
    if (c.attentionBias)
      for (Projection p : {Projection::Q, Projection::K, Projection::V})
        declare(layerSymbol(l, projectionName(p).str() + ".bias"),
                projectionPrefix(l, p) + ".bias",
                f16Tensor({projectionShape(c, p).first}));
  }
  declare("norm", "model.norm.weight", norm);
  if (!c.tieWordEmbeddings) {
    if (std::optional<PackedBits> bits = layout.getLMHead())
      declare("lm_head", "lm_head",
              QWeightType::get(b.getContext(), {c.vocabSize, c.hiddenSize},
                               bits->parent, bits->seed));
    else
      declare("lm_head", "lm_head.weight", table);
  }
}

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

ResultRange ForwardBuilder::generic(ValueRange inputs, ValueRange inits,
                                    ArrayRef<AffineMap> maps,
                                    ArrayRef<IteratorType> iterators,
                                    BodyFn body) {
  return linalg::GenericOp::create(
             b, TypeRange(inits), inputs, inits, maps, iterators,
             [&](OpBuilder &nested, Location loc, ValueRange args) {
               ImplicitLocOpBuilder ib(loc, nested);
               Scalar s{ib};
               linalg::YieldOp::create(ib, body(s, args));
             })
      .getResults();
}

//===----------------------------------------------------------------------===//
// The decoder
//===----------------------------------------------------------------------===//

/// tokens: tensor<?xi64> [n]; table: tensor<VxHxf16>.
/// Returns tensor<?xHxf32>: out[i, c] = f32(table[tokens[i], c]).
Value ForwardBuilder::embed(Value tokens, Value table) {
  Value init = empty({kDynamic, c.hiddenSize}, {numTokens});
  return generic1(tokens, init, {dims(2, {0}), dims(2, {0, 1})}, {kPar, kPar},
                  [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
                    Value row = arith::IndexCastOp::create(
                        s.b, s.b.getIndexType(), args[0]);
                    Value e = tensor::ExtractOp::create(
                        s.b, table, ValueRange{row, s.loopIndex(1)});
                    return {s.widen(e)};
                  });
}

/// x: tensor<?xHxf32> [n, H]; the weight: tensor<Hxf16>.
/// Returns tensor<?xHxf32>, HF's LlamaRMSNorm:
///   out[i, c] = w[c] * (x[i, c] * rsqrt(sum_c' x[i, c']^2 / H + eps)).
Value ForwardBuilder::rmsNorm(Value x, StringRef weightSymbol) {
  Value weight = getWeight(weightSymbol);
  // squares: tensor<?xf32> [n], the sum of squares of each row.
  Value squares = generic1(
      x, filled({kDynamic}, {numTokens}, 0.0), {dims(2, {0, 1}), dims(2, {0})},
      {kPar, kRed}, [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
        return {s.add(args[1], s.mul(args[0], args[0]))};
      });
  Value init = empty({kDynamic, c.hiddenSize}, {numTokens});
  return generic1(
      ValueRange{x, squares, weight}, init,
      {dims(2, {0, 1}), dims(2, {0}), dims(2, {1}), dims(2, {0, 1})},
      {kPar, kPar}, [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
        Value mean = s.div(args[1], s.f32(double(c.hiddenSize)));
        Value shifted = s.add(mean, s.f32(c.rmsNormEps));
        Value normalized = s.mul(args[0], math::RsqrtOp::create(s.b, shifted));
        return {s.mul(s.widen(args[2]), normalized)};
      });
}

/// x: tensor<?xKxf32> [n, K]. Returns tensor<?xNxf32> [n, N] = x * W^T
/// (+ bias for q/k/v of models with attention biases), W the layer's N x K
/// projection weight.
Value ForwardBuilder::project(Value x, int64_t layer, Projection p) {
  int64_t rows = projectionShape(c, p).first;
  std::string symbol = layerSymbol(layer, projectionName(p));
  Value weight = getWeight(symbol);
  Value bias;
  if (c.attentionBias &&
      (p == Projection::Q || p == Projection::K || p == Projection::V)) {
    // The bias is stored fp16; the projection adds it in f32.
    Value bias16 = getWeight(symbol + ".bias");
    bias =
        generic1(bias16, empty({rows}, {}), {dims(1, {0}), dims(1, {0})},
                 {kPar}, [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
                   return {s.widen(args[0])};
                 });
  }
  return QLinearOp::create(b, f32Tensor({kDynamic, rows}), x, weight, bias,
                           /*precision=*/nullptr);
}

/// The rotary tables of this call's positions, as HF's default RoPE builds
/// them: for token i at position p = start + i and d in [0, D),
///   inv_freq[j] = 1 / theta^(2j / D)   with j = d mod D/2,
///   cos[i, d] = cos(p * inv_freq[j]),  sin[i, d] = sin(p * inv_freq[j]).
/// Both tensor<?xDxf32> [n, D].
std::pair<Value, Value> ForwardBuilder::ropeTables() {
  int64_t d = c.headDim;
  Value cosInit = empty({kDynamic, d}, {numTokens});
  Value sinInit = empty({kDynamic, d}, {numTokens});
  ResultRange tables = generic(
      {}, {cosInit, sinInit}, {dims(2, {0, 1}), dims(2, {0, 1})}, {kPar, kPar},
      [&](Scalar &s, ValueRange) -> SmallVector<Value> {
        Value position = arith::AddIOp::create(s.b, start, s.loopIndex(0));
        Value column = s.loopIndex(1);
        Value j = arith::RemUIOp::create(s.b, column, s.index(d / 2));
        Value twoJ = arith::MulIOp::create(s.b, j, s.index(2));
        Value twoJF32 = s.indexToF32(twoJ);
        Value exponent = s.div(twoJF32, s.f32(double(d)));
        Value power = math::PowFOp::create(s.b, s.f32(c.ropeTheta), exponent);
        Value invFreq = s.div(s.f32(1.0), power);
        Value angle = s.mul(s.indexToF32(position), invFreq);
        return {math::CosOp::create(s.b, angle),
                math::SinOp::create(s.b, angle)};
      });
  return {tables[0], tables[1]};
}

/// x: tensor<?xheadsxDxf32> [n, heads, D]. Returns the same shape, HF's
/// apply_rotary_pos_emb: out = x * cos + rotate_half(x) * sin, where
/// rotate_half(x)[d] = -x[d + D/2] for d < D/2 and x[d - D/2] otherwise.
Value ForwardBuilder::rope(Value x, int64_t heads) {
  int64_t half = c.headDim / 2;
  Value init = empty({kDynamic, heads, c.headDim}, {numTokens});
  return generic1(
      ValueRange{x, cosTable, sinTable}, init,
      {dims(3, {0, 1, 2}), dims(3, {0, 2}), dims(3, {0, 2}),
       dims(3, {0, 1, 2})},
      {kPar, kPar, kPar},
      [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
        Value i = s.loopIndex(0), head = s.loopIndex(1), d = s.loopIndex(2);
        Value halfDim = s.index(half);
        Value lower =
            arith::CmpIOp::create(s.b, arith::CmpIPredicate::ult, d, halfDim);
        Value above = arith::AddIOp::create(s.b, d, halfDim);
        Value below = arith::SubIOp::create(s.b, d, halfDim);
        Value partner = s.select(lower, above, below);
        Value other =
            tensor::ExtractOp::create(s.b, x, ValueRange{i, head, partner});
        Value rotated = s.select(lower, s.neg(other), other);
        Value straight = s.mul(args[0], args[1]);
        return {s.add(straight, s.mul(rotated, args[2]))};
      });
}

/// x: tensor<?x(heads*D)xf32> [n, heads * D]. Returns x viewed as
/// tensor<?xheadsxDxf32> [n, heads, D] (HF's view(n, heads, D)).
Value ForwardBuilder::splitHeads(Value x, int64_t heads) {
  SmallVector<OpFoldResult> sizes = {numTokens, b.getIndexAttr(heads),
                                     b.getIndexAttr(c.headDim)};
  return tensor::ExpandShapeOp::create(
      b, f32Tensor({kDynamic, heads, c.headDim}), x,
      ArrayRef<ReassociationIndices>{{0}, {1, 2}}, sizes);
}

/// q: tensor<?xNhxDxf32> [n, Nh, D]. Returns q viewed as
/// tensor<?xNkvxGxDxf32> [n, Nkv, G, D]: query head h = kv * G + g.
Value ForwardBuilder::groupHeads(Value q) {
  int64_t kv = c.numKVHeads, g = c.numHeads / c.numKVHeads;
  SmallVector<OpFoldResult> sizes = {numTokens, b.getIndexAttr(kv),
                                     b.getIndexAttr(g),
                                     b.getIndexAttr(c.headDim)};
  return tensor::ExpandShapeOp::create(
      b, f32Tensor({kDynamic, kv, g, c.headDim}), q,
      ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}}, sizes);
}

/// The cache rows this call may attend to: cache: tensor<LxMxNkvxDxf32>.
/// Returns tensor<?xNkvxDxf32> [T, Nkv, D] = cache[layer, 0:T].
Value ForwardBuilder::cacheSlice(Value cache, int64_t layer) {
  SmallVector<OpFoldResult> offsets = {b.getIndexAttr(layer), b.getIndexAttr(0),
                                       b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), numVisible,
                                     b.getIndexAttr(c.numKVHeads),
                                     b.getIndexAttr(c.headDim)};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(
      b, f32Tensor({kDynamic, c.numKVHeads, c.headDim}), cache, offsets, sizes,
      strides);
}

/// rows: tensor<?xNkvxDxf32> [n, Nkv, D]. Returns the cache with
/// cache[layer, start:start+n] = rows.
Value ForwardBuilder::cacheInsert(Value cache, Value rows, int64_t layer) {
  SmallVector<OpFoldResult> offsets = {b.getIndexAttr(layer), start,
                                       b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), numTokens,
                                     b.getIndexAttr(c.numKVHeads),
                                     b.getIndexAttr(c.headDim)};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, rows, cache, offsets, sizes, strides);
}

/// Causal grouped-query attention of this call's queries over the cache.
///   q:      tensor<?xNkvxGxDxf32> [n, Nkv, G, D] (rotated; query head
///           h = kv * G + g, so it reads KV head h / G as HF's repeat_kv)
///   keys:   tensor<?xNkvxDxf32>   [T, Nkv, D] (rotated)
///   values: tensor<?xNkvxDxf32>   [T, Nkv, D]
/// Cache position p is visible to query i iff p <= start + i. Returns
/// tensor<?x(Nh*D)xf32> [n, Nh * D], heads concatenated as HF's o_proj
/// input.
Value ForwardBuilder::attention(Value q, Value keys, Value values) {
  int64_t kv = c.numKVHeads, g = c.numHeads / c.numKVHeads, d = c.headDim;
  float scale = float(std::pow(double(d), -0.5));
  float negInf = -std::numeric_limits<float>::infinity();
  SmallVector<Value, 2> nT = {numTokens, numVisible};

  // scores: tensor<NkvxGx?x?xf32> [Nkv, G, n, T] = q . k over D.
  // Loops (kv, g, i, p, d).
  Value scores = generic1(
      ValueRange{q, keys}, filled({kv, g, kDynamic, kDynamic}, nT, 0.0),
      {dims(5, {2, 0, 1, 4}), dims(5, {3, 0, 4}), dims(5, {0, 1, 2, 3})},
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
  AffineMap all = dims(4, {0, 1, 2, 3}), row = dims(4, {0, 1, 2});

  // rowMax: tensor<NkvxGx?xf32> [Nkv, G, n], the max visible scaled score.
  Value rowMax =
      generic1(scores, filled({kv, g, kDynamic}, numTokens, negInf), {all, row},
               {kPar, kPar, kPar, kRed},
               [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
                 Value scaled = s.mul(args[0], s.f32(scale));
                 Value isVisible = visible(s);
                 Value masked = s.select(isVisible, scaled, s.f32(negInf));
                 return {s.max(args[1], masked)};
               });
  // weights: tensor<NkvxGx?x?xf32> [Nkv, G, n, T] = exp(scaled - max),
  // 0 where masked.
  Value weights = generic1(
      ValueRange{scores, rowMax}, empty({kv, g, kDynamic, kDynamic}, nT),
      {all, row, all}, {kPar, kPar, kPar, kPar},
      [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
        Value shifted = s.sub(s.mul(args[0], s.f32(scale)), args[1]);
        Value weight = s.exp(shifted);
        Value isVisible = visible(s);
        return {s.select(isVisible, weight, s.f32(0.0))};
      });
  // rowSum: tensor<NkvxGx?xf32> [Nkv, G, n], the softmax denominators.
  Value rowSum =
      generic1(weights, filled({kv, g, kDynamic}, numTokens, 0.0), {all, row},
               {kPar, kPar, kPar, kRed},
               [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
                 return {s.add(args[1], args[0])};
               });
  // out: tensor<?xNkvxGxDxf32> [n, Nkv, G, D] = softmax . v over T.
  // Loops (i, kv, g, p, d): the reduction over cache positions is outside
  // the head dimension, so the innermost loop runs along contiguous rows of
  // v and out and vectorizes.
  Value out = generic1(ValueRange{weights, rowSum, values},
                       filled({kDynamic, kv, g, d}, numTokens, 0.0),
                       {dims(5, {1, 2, 0, 3}), dims(5, {1, 2, 0}),
                        dims(5, {3, 1, 4}), dims(5, {0, 1, 2, 4})},
                       {kPar, kPar, kPar, kRed, kPar},
                       [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
                         Value probability = s.div(args[0], args[1]);
                         return {s.add(args[3], s.mul(probability, args[2]))};
                       });
  return tensor::CollapseShapeOp::create(
      b, out, ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
}

/// x: tensor<?xHxf32> (normalized). Returns tensor<?xHxf32>
/// = down(silu(gate(x)) * up(x)), silu(a) = a / (1 + exp(-a)).
Value ForwardBuilder::mlp(Value x, int64_t layer) {
  Value gate = project(x, layer, Projection::Gate); // [n, I]
  Value up = project(x, layer, Projection::Up);     // [n, I]
  Value init = empty({kDynamic, c.intermediateSize}, {numTokens});
  Value hidden = generic1(
      ValueRange{gate, up}, init,
      {dims(2, {0, 1}), dims(2, {0, 1}), dims(2, {0, 1})}, {kPar, kPar},
      [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
        Value expNeg = s.exp(s.neg(args[0]));
        Value sigmoidDenominator = s.add(s.f32(1.0), expNeg);
        Value silu = s.div(args[0], sigmoidDenominator);
        return {s.mul(silu, args[1])};
      });
  return project(hidden, layer, Projection::Down);
}

void ForwardBuilder::buildForward() {
  int64_t kv = c.numKVHeads;
  auto cacheType =
      f32Tensor({c.numLayers, c.maxPositions, c.numKVHeads, c.headDim});
  auto tokensType = RankedTensorType::get({kDynamic}, b.getI64Type());
  auto logitsType = f32Tensor({kDynamic, c.vocabSize});
  auto type =
      b.getFunctionType({tokensType, b.getIndexType(), cacheType, cacheType},
                        {logitsType, cacheType, cacheType});
  auto func = func::FuncOp::create(b, "forward", type);
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);

  Value tokens = entry->getArgument(0);
  start = entry->getArgument(1);
  Value kCache = entry->getArgument(2);
  Value vCache = entry->getArgument(3);
  numTokens = tensor::DimOp::create(b, tokens, 0);
  numVisible = arith::AddIOp::create(b, start, numTokens);
  std::tie(cosTable, sinTable) = ropeTables();

  Value x = embed(tokens, getWeight("embed_tokens")); // [n, H]
  for (int64_t l = 0; l < c.numLayers; ++l) {
    b.setLoc(NameLoc::get(b.getStringAttr("layers." + Twine(l))));
    Value normed = rmsNorm(x, layerSymbol(l, "input_layernorm")); // [n, H]
    Value q = rope(splitHeads(project(normed, l, Projection::Q), c.numHeads),
                   c.numHeads); // [n, Nh, D]
    Value k = rope(splitHeads(project(normed, l, Projection::K), kv),
                   kv);                                          // [n, Nkv, D]
    Value v = splitHeads(project(normed, l, Projection::V), kv); // [n, Nkv, D]
    kCache = cacheInsert(kCache, k, l);                      // [L, M, Nkv, D]
    vCache = cacheInsert(vCache, v, l);                      // [L, M, Nkv, D]
    Value keys = cacheSlice(kCache, l);                      // [T, Nkv, D]
    Value values = cacheSlice(vCache, l);                    // [T, Nkv, D]
    Value attended = attention(groupHeads(q), keys, values); // [n, Nh * D]
    x = add(x, project(attended, l, Projection::O));         // [n, H]
    normed = rmsNorm(x, layerSymbol(l, "post_attention_layernorm"));
    x = add(x, mlp(normed, l)); // [n, H]
  }
  b.setLoc(module.getLoc());
  Value normed = rmsNorm(x, "norm"); // [n, H]
  Value head = getWeight(c.tieWordEmbeddings ? "embed_tokens" : "lm_head");
  Value logits = QLinearOp::create(b, logitsType, normed, head,
                                   /*bias=*/Value(), /*precision=*/nullptr);
  func::ReturnOp::create(b, ValueRange{logits, kCache, vCache});
}

} // namespace

static llvm::Error importError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "cannot import model: " + message);
}

/// Why the forward cannot be built for `c`, if it cannot.
static llvm::Error checkConfig(const ModelConfig &c,
                               const WeightLayout &layout) {
  std::pair<StringRef, int64_t> sizes[] = {
      {"hidden_size", c.hiddenSize},
      {"intermediate_size", c.intermediateSize},
      {"num_hidden_layers", c.numLayers},
      {"num_attention_heads", c.numHeads},
      {"num_key_value_heads", c.numKVHeads},
      {"head_dim", c.headDim},
      {"vocab_size", c.vocabSize},
      {"max_position_embeddings", c.maxPositions}};
  for (auto [name, value] : sizes)
    if (value <= 0)
      return importError(name + " is " + Twine(value) +
                         "; it must be positive");
  if (c.numHeads % c.numKVHeads)
    return importError("num_attention_heads (" + Twine(c.numHeads) +
                       ") is not a multiple of num_key_value_heads (" +
                       Twine(c.numKVHeads) + ")");
  if (c.headDim % 2)
    return importError("head_dim (" + Twine(c.headDim) +
                       ") is odd; rotary embeddings need an even one");
  if (!(c.ropeTheta > 0) || !(c.rmsNormEps >= 0))
    return importError("rope_theta must be positive and rms_norm_eps not "
                       "negative");
  if (layout.numLayers() != c.numLayers)
    return importError("the weight layout has " + Twine(layout.numLayers()) +
                       " layers, the config " + Twine(c.numLayers));
  return llvm::Error::success();
}

/// The `pmpd.model` dictionary: what later stages need of config.json.
static DictionaryAttr modelAttr(Builder &b, const ModelConfig &c) {
  SmallVector<NamedAttribute> entries = {
      b.getNamedAttr("arch", b.getStringAttr(archName(c.arch))),
      b.getNamedAttr("hidden_size", b.getI64IntegerAttr(c.hiddenSize)),
      b.getNamedAttr("intermediate_size",
                     b.getI64IntegerAttr(c.intermediateSize)),
      b.getNamedAttr("num_layers", b.getI64IntegerAttr(c.numLayers)),
      b.getNamedAttr("num_heads", b.getI64IntegerAttr(c.numHeads)),
      b.getNamedAttr("num_kv_heads", b.getI64IntegerAttr(c.numKVHeads)),
      b.getNamedAttr("head_dim", b.getI64IntegerAttr(c.headDim)),
      b.getNamedAttr("vocab_size", b.getI64IntegerAttr(c.vocabSize)),
      b.getNamedAttr("max_positions", b.getI64IntegerAttr(c.maxPositions)),
      b.getNamedAttr("rms_norm_eps", b.getF64FloatAttr(c.rmsNormEps)),
      b.getNamedAttr("rope_theta", b.getF64FloatAttr(c.ropeTheta)),
      b.getNamedAttr("tie_word_embeddings", b.getBoolAttr(c.tieWordEmbeddings)),
      b.getNamedAttr("attention_bias", b.getBoolAttr(c.attentionBias))};
  return b.getDictionaryAttr(entries);
}

llvm::Expected<OwningOpRef<ModuleOp>> importModel(MLIRContext &context,
                                                  const ModelConfig &config,
                                                  const WeightLayout &layout) {
  if (llvm::Error err = checkConfig(config, layout))
    return std::move(err);
  context.loadDialect<arith::ArithDialect, func::FuncDialect,
                      linalg::LinalgDialect, math::MathDialect,
                      tensor::TensorDialect, PMPDDialect>();

  Builder builder(&context);
  OwningOpRef<ModuleOp> module = ModuleOp::create(
      NameLoc::get(builder.getStringAttr(archName(config.arch))));
  (*module)->setAttr(PMPDDialect::getModelAttrName(),
                     modelAttr(builder, config));
  ForwardBuilder forward(*module, config, layout);
  forward.declareWeights();
  forward.buildForward();

  // A module that does not verify is an importer bug; report the verifier's
  // words rather than hand a broken module on.
  std::string diagnostics;
  {
    llvm::raw_string_ostream os(diagnostics);
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      os << "\n  " << diag;
      return success();
    });
    if (failed(verify(*module)))
      return importError("the imported module does not verify:" + diagnostics);
  }
  return std::move(module);
}

llvm::Expected<OwningOpRef<ModuleOp>> importModel(MLIRContext &context,
                                                  const HFModel &model) {
  llvm::Expected<WeightLayout> layout = detectWeightLayout(model);
  if (!layout)
    return layout.takeError();
  return importModel(context, model.config(), *layout);
}

} // namespace pmpd
