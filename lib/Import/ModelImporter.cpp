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
#include "pmpd/Dialect/PMPD/IR/LinalgBuilder.h"
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


using namespace mlir;

namespace pmpd {

void registerImportDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, func::FuncDialect, linalg::LinalgDialect,
                  math::MathDialect, tensor::TensorDialect, PMPDDialect>();
}

namespace {

using utils::IteratorType;

constexpr Projection kProjections[] = {
    Projection::Q,    Projection::K,  Projection::V,   Projection::O,
    Projection::Gate, Projection::Up, Projection::Down};

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
  RankedTensorType f16Tensor(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getF16Type());
  }
  Value add(Value x, Value y) {
    Value init = lin.empty({kDynamic, c.hiddenSize}, {numTokens});
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
  Value mlp(Value x, int64_t layer);
  Value cacheInsert(Value cache, Value rows, int64_t layer);

  ImplicitLocOpBuilder b;
  LinalgBuilder lin{b};
  const ModelConfig &c;
  const WeightLayout &layout;
  ModuleOp module;
  llvm::StringMap<Type> weightTypes;
  // Values of @forward that every layer uses.
  Value numTokens;  // n
  Value start;      // the cache position of the first token
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
  for (int64_t layer = 0; layer < c.numLayers; ++layer) {
    std::string prefix = "model.layers." + std::to_string(layer) + ".";
    declare(layerSymbol(layer, "input_layernorm"),
            prefix + "input_layernorm.weight", norm);
    declare(layerSymbol(layer, "post_attention_layernorm"),
            prefix + "post_attention_layernorm.weight", norm);
    for (Projection p : kProjections) {
      Type type = projectionType(layer, p);
      // A packed weight is named by its tensors' common prefix.
      std::string tensor = isa<QWeightType>(type) ? projectionPrefix(layer, p)
                                                  : projectionTensorName(layer, p);
      declare(layerSymbol(layer, projectionName(p)), tensor, type);
    }
    if (c.attentionBias)
      for (Projection p : {Projection::Q, Projection::K, Projection::V})
        declare(layerSymbol(layer, projectionName(p).str() + ".bias"),
                projectionPrefix(layer, p) + ".bias",
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
// The decoder
//===----------------------------------------------------------------------===//

/// tokens: tensor<?xi64> [n]; table: tensor<VxHxf16>.
/// Returns tensor<?xHxf32>: out[i, c] = f32(table[tokens[i], c]).
Value ForwardBuilder::embed(Value tokens, Value table) {
  Value init = lin.empty({kDynamic, c.hiddenSize}, {numTokens});
  return lin.generic1(tokens, init, {lin.dims(2, {0}), lin.dims(2, {0, 1})}, {kPar, kPar},
                  [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
                    Value row = arith::IndexCastOp::create(
                        s.b, s.b.getIndexType(), args[0]);
                    Value e = tensor::ExtractOp::create(
                        s.b, table, ValueRange{row, s.loopIndex(1)});
                    return {s.widen(e)};
                  });
}

/// x: tensor<?xHxf32> [n, H]. Returns HF's LlamaRMSNorm of x with the
/// weight `weightSymbol` (pmpd.rms_norm).
Value ForwardBuilder::rmsNorm(Value x, StringRef weightSymbol) {
  return RMSNormOp::create(b, x.getType(), x, getWeight(weightSymbol),
                           b.getF64FloatAttr(c.rmsNormEps));
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
        lin.generic1(bias16, lin.empty({rows}, {}), {lin.dims(1, {0}), lin.dims(1, {0})},
                 {kPar}, [&](Scalar &s, ValueRange args) -> SmallVector<Value> {
                   return {s.widen(args[0])};
                 });
  }
  return QLinearOp::create(b, lin.f32Tensor({kDynamic, rows}), x, weight, bias,
                           /*precision=*/nullptr);
}

/// The rotary tables of this call's positions, as HF's default RoPE builds
/// them: for token i at position p = start + i and d in [0, D),
///   inv_freq[j] = 1 / theta^(2j / D)   with j = d mod D/2,
///   cos[i, d] = cos(p * inv_freq[j]),  sin[i, d] = sin(p * inv_freq[j]).
/// Both tensor<?xDxf32> [n, D].
std::pair<Value, Value> ForwardBuilder::ropeTables() {
  int64_t d = c.headDim;
  Value cosInit = lin.empty({kDynamic, d}, {numTokens});
  Value sinInit = lin.empty({kDynamic, d}, {numTokens});
  ResultRange tables = lin.generic(
      {}, {cosInit, sinInit}, {lin.dims(2, {0, 1}), lin.dims(2, {0, 1})}, {kPar, kPar},
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
  Value init = lin.empty({kDynamic, heads, c.headDim}, {numTokens});
  return lin.generic1(
      ValueRange{x, cosTable, sinTable}, init,
      {lin.dims(3, {0, 1, 2}), lin.dims(3, {0, 2}), lin.dims(3, {0, 2}),
       lin.dims(3, {0, 1, 2})},
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
      b, lin.f32Tensor({kDynamic, heads, c.headDim}), x,
      ArrayRef<ReassociationIndices>{{0}, {1, 2}}, sizes);
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

/// x: tensor<?xHxf32> (normalized). Returns tensor<?xHxf32>
/// = down(silu(gate(x)) * up(x)), silu(a) = a / (1 + exp(-a)).
Value ForwardBuilder::mlp(Value x, int64_t layer) {
  Value gate = project(x, layer, Projection::Gate); // [n, I]
  Value up = project(x, layer, Projection::Up);     // [n, I]
  Value init = lin.empty({kDynamic, c.intermediateSize}, {numTokens});
  Value hidden = lin.generic1(
      ValueRange{gate, up}, init,
      {lin.dims(2, {0, 1}), lin.dims(2, {0, 1}), lin.dims(2, {0, 1})}, {kPar, kPar},
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
      lin.f32Tensor({c.numLayers, c.maxPositions, c.numKVHeads, c.headDim});
  auto tokensType = RankedTensorType::get({kDynamic}, b.getI64Type());
  auto logitsType = lin.f32Tensor({kDynamic, c.vocabSize});
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
  std::tie(cosTable, sinTable) = ropeTables();

  Value x = embed(tokens, getWeight("embed_tokens")); // [n, H]
  for (int64_t layer = 0; layer < c.numLayers; ++layer) {
    b.setLoc(NameLoc::get(b.getStringAttr("layers." + Twine(layer))));
    Value normed = rmsNorm(x, layerSymbol(layer, "input_layernorm")); // [n, H]
    Value q = rope(splitHeads(project(normed, layer, Projection::Q), c.numHeads),
                   c.numHeads); // [n, Nh, D]
    Value k = rope(splitHeads(project(normed, layer, Projection::K), kv),
                   kv);                                          // [n, Nkv, D]
    Value v = splitHeads(project(normed, layer, Projection::V), kv); // [n, Nkv, D]
    kCache = cacheInsert(kCache, k, layer); // [L, M, Nkv, D]
    vCache = cacheInsert(vCache, v, layer); // [L, M, Nkv, D]
    Value attended = AttentionOp::create(
        b, lin.f32Tensor({kDynamic, c.numHeads * c.headDim}), q, kCache, vCache,
        start, b.getI64IntegerAttr(layer)); // [n, Nh * D]
    x = add(x, project(attended, layer, Projection::O));         // [n, H]
    normed = rmsNorm(x, layerSymbol(layer, "post_attention_layernorm"));
    x = add(x, mlp(normed, layer)); // [n, H]
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
