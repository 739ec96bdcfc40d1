//===- ModelImporterTest.cpp - Model importer tests -----------------------===//
//
// The importer on configs with no weights (a Llama-2-7B shape, whose module
// must stay small and fast to build; Qwen2 biases; tied embeddings), on the
// fixture model, and on a packed model directory written here, checked
// against the configs and files rather than against the importer's own
// helpers.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Import/ModelImporter.h"
#include "pmpd/Dialect/PMPD/IR/PMPD.h"
#include "pmpd/Model/SafeTensors.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <chrono>
#include <map>
#include <set>

using namespace mlir;
using namespace pmpd;

static const char *kFixtureDir = PMPD_SOURCE_DIR "/fixtures/pmpd-tiny-llama";

static constexpr Projection kProjections[] = {
    Projection::Q,    Projection::K,  Projection::V,   Projection::O,
    Projection::Gate, Projection::Up, Projection::Down};

/// The published Llama-2-7B configuration.
static ModelConfig llama2_7b() {
  ModelConfig c;
  c.arch = ModelArch::Llama;
  c.architecture = "LlamaForCausalLM";
  c.hiddenSize = 4096;
  c.intermediateSize = 11008;
  c.numLayers = 32;
  c.numHeads = 32;
  c.numKVHeads = 32;
  c.headDim = 128;
  c.vocabSize = 32000;
  c.maxPositions = 4096;
  c.rmsNormEps = 1e-5;
  c.ropeTheta = 10000.0;
  return c;
}

/// A small GQA config (4 query heads over 2 KV heads).
static ModelConfig smallConfig() {
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.hiddenSize = 32;
  c.intermediateSize = 44;
  c.numLayers = 2;
  c.numHeads = 4;
  c.numKVHeads = 2;
  c.headDim = 8;
  c.vocabSize = 64;
  c.maxPositions = 128;
  return c;
}

static std::string print(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  op->print(os);
  return text;
}

/// The weight declarations of `module` by symbol.
static std::map<std::string, WeightOp> weightsOf(ModuleOp module) {
  std::map<std::string, WeightOp> weights;
  for (WeightOp w : module.getOps<WeightOp>())
    weights[w.getSymName().str()] = w;
  return weights;
}

/// The symbol a projection's weight operand reads.
static std::string weightSymbolOf(QLinearOp op) {
  auto get = op.getWeight().getDefiningOp<GetWeightOp>();
  return get ? get.getName().str() : std::string("<not a get_weight>");
}

static std::string layerSymbol(int64_t layer, Projection p) {
  return "layers." + std::to_string(layer) + "." + projectionName(p).str();
}

class ModelImporterTest : public ::testing::Test {
protected:
  ModelImporterTest() {
    DialectRegistry registry;
    registerImportDialects(registry);
    context.appendDialectRegistry(registry);
  }
  MLIRContext context;
};

TEST_F(ModelImporterTest, Llama2_7BPackedIsSmallAndFast) {
  ModelConfig c = llama2_7b();
  auto begin = std::chrono::steady_clock::now();
  auto module =
      importModel(context, c, WeightLayout::allPacked(c.numLayers, {4, 2}));
  auto imported = std::chrono::steady_clock::now();
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  std::string text = print(module->get());
  auto printed = std::chrono::steady_clock::now();
  double importSeconds =
      std::chrono::duration<double>(imported - begin).count();
  double printSeconds =
      std::chrono::duration<double>(printed - imported).count();
  llvm::outs() << "Llama-2-7B packed: " << text.size()
               << " bytes of text, import "
               << llvm::format("%.3f", importSeconds) << " s, print "
               << llvm::format("%.3f", printSeconds) << " s\n";
  RecordProperty("text_bytes", int(text.size()));
  EXPECT_LT(text.size(), 1u << 20);
  EXPECT_LT(importSeconds + printSeconds, 10.0);

  // Every projection of the 32 layers packed at the right shape, and the
  // rest fp16: 1 + 32 x 9 + 2 declarations.
  std::map<std::string, WeightOp> weights = weightsOf(**module);
  EXPECT_EQ(weights.size(), 291u);
  for (int64_t l = 0; l < c.numLayers; ++l)
    for (Projection p : kProjections) {
      WeightOp w = weights[layerSymbol(l, p)];
      ASSERT_TRUE(w) << layerSymbol(l, p);
      auto q = dyn_cast<QWeightType>(w.getType());
      ASSERT_TRUE(q) << layerSymbol(l, p);
      auto [rows, cols] = projectionShape(c, p);
      EXPECT_EQ(q.getRows(), rows);
      EXPECT_EQ(q.getCols(), cols);
      EXPECT_EQ(q.getParent(), 4u);
      EXPECT_EQ(q.getSeed(), 2u);
      EXPECT_EQ(w.getTensor(), projectionTensorName(l, p).substr(
                                   0, projectionTensorName(l, p).size() - 7));
    }
  EXPECT_EQ(weights["lm_head"].getType(),
            RankedTensorType::get({32000, 4096}, Float16Type::get(&context)));

  // The projections in program order: 7 per layer, then lm_head.
  SmallVector<QLinearOp> projections;
  (*module)->walk([&](QLinearOp op) { projections.push_back(op); });
  ASSERT_EQ(projections.size(), 32u * 7 + 1);
  for (int64_t l = 0; l < c.numLayers; ++l)
    for (size_t i = 0; i < 7; ++i)
      EXPECT_EQ(weightSymbolOf(projections[l * 7 + i]),
                layerSymbol(l, kProjections[i]));
  EXPECT_EQ(weightSymbolOf(projections.back()), "lm_head");
}

TEST_F(ModelImporterTest, ForwardSignature) {
  ModelConfig c = llama2_7b();
  auto module = importModel(context, c, WeightLayout::allFP16(c.numLayers));
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  auto forward = (*module)->lookupSymbol<func::FuncOp>("forward");
  ASSERT_TRUE(forward);
  std::string type;
  llvm::raw_string_ostream os(type);
  forward.getFunctionType().print(os);
  EXPECT_EQ(type, "(tensor<?xi64>, index, tensor<32x4096x32x128xf32>, "
                  "tensor<32x4096x32x128xf32>) -> (tensor<?x32000xf32>, "
                  "tensor<32x4096x32x128xf32>, tensor<32x4096x32x128xf32>)");
}

TEST_F(ModelImporterTest, RoundTripsThroughTheParser) {
  ModelConfig c = smallConfig();
  auto module =
      importModel(context, c, WeightLayout::allPacked(c.numLayers, {4, 2}));
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  std::string text = print(module->get());
  OwningOpRef<ModuleOp> parsed =
      parseSourceString<ModuleOp>(text, ParserConfig(&context));
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(succeeded(verify(*parsed)));
  EXPECT_EQ(print(parsed.get()), text);
}

TEST_F(ModelImporterTest, ModelAttribute) {
  ModelConfig c = smallConfig();
  c.rmsNormEps = 1e-6;
  c.ropeTheta = 500000.0;
  auto module = importModel(context, c, WeightLayout::allFP16(c.numLayers));
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  auto dict = (**module)->getAttrOfType<DictionaryAttr>("pmpd.model");
  ASSERT_TRUE(dict);
  auto integer = [&](StringRef key) {
    auto attr = dict.getAs<IntegerAttr>(key);
    return attr ? attr.getInt() : -1;
  };
  EXPECT_EQ(integer("hidden_size"), 32);
  EXPECT_EQ(integer("intermediate_size"), 44);
  EXPECT_EQ(integer("num_layers"), 2);
  EXPECT_EQ(integer("num_heads"), 4);
  EXPECT_EQ(integer("num_kv_heads"), 2);
  EXPECT_EQ(integer("head_dim"), 8);
  EXPECT_EQ(integer("vocab_size"), 64);
  EXPECT_EQ(integer("max_positions"), 128);
  EXPECT_EQ(dict.getAs<FloatAttr>("rms_norm_eps").getValueAsDouble(), 1e-6);
  EXPECT_EQ(dict.getAs<FloatAttr>("rope_theta").getValueAsDouble(), 500000.0);
  EXPECT_EQ(dict.getAs<StringAttr>("arch").getValue(), "LlamaForCausalLM");
}

TEST_F(ModelImporterTest, Qwen2Biases) {
  ModelConfig c = smallConfig();
  c.arch = ModelArch::Qwen2;
  c.architecture = "Qwen2ForCausalLM";
  c.attentionBias = true;
  auto module =
      importModel(context, c, WeightLayout::allPacked(c.numLayers, {4, 2}));
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  std::map<std::string, WeightOp> weights = weightsOf(**module);
  for (int64_t l = 0; l < c.numLayers; ++l)
    for (Projection p : {Projection::Q, Projection::K, Projection::V}) {
      std::string symbol = layerSymbol(l, p) + ".bias";
      WeightOp bias = weights[symbol];
      ASSERT_TRUE(bias) << symbol;
      EXPECT_EQ(bias.getType(),
                RankedTensorType::get({projectionShape(c, p).first},
                                      Float16Type::get(&context)));
      EXPECT_EQ(bias.getTensor(), "model.layers." + std::to_string(l) +
                                      ".self_attn." + projectionName(p).str() +
                                      ".bias");
    }
  EXPECT_EQ(weights.count("layers.0.o_proj.bias"), 0u);

  // q/k/v add an f32 bias widened from their own fp16 bias; the others none.
  unsigned withBias = 0;
  (*module)->walk([&](QLinearOp op) {
    std::string symbol = weightSymbolOf(op);
    bool isQKV = StringRef(symbol).ends_with("q_proj") ||
                 StringRef(symbol).ends_with("k_proj") ||
                 StringRef(symbol).ends_with("v_proj");
    EXPECT_EQ(bool(op.getBias()), isQKV) << symbol;
    if (!op.getBias())
      return;
    ++withBias;
    auto biasType = cast<RankedTensorType>(op.getBias().getType());
    EXPECT_TRUE(biasType.getElementType().isF32());
    auto widen = op.getBias().getDefiningOp<linalg::GenericOp>();
    ASSERT_TRUE(widen) << symbol;
    auto get = widen.getInputs()[0].getDefiningOp<GetWeightOp>();
    ASSERT_TRUE(get) << symbol;
    EXPECT_EQ(get.getName(), symbol + ".bias");
  });
  EXPECT_EQ(withBias, 3u * c.numLayers);
}

TEST_F(ModelImporterTest, TiedEmbeddings) {
  ModelConfig c = smallConfig();
  c.tieWordEmbeddings = true;
  auto module = importModel(context, c, WeightLayout::allFP16(c.numLayers));
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  std::map<std::string, WeightOp> weights = weightsOf(**module);
  EXPECT_EQ(weights.count("lm_head"), 0u);
  EXPECT_EQ(weights.count("embed_tokens"), 1u);
  SmallVector<QLinearOp> projections;
  (*module)->walk([&](QLinearOp op) { projections.push_back(op); });
  ASSERT_EQ(projections.size(), 2u * 7 + 1);
  EXPECT_EQ(weightSymbolOf(projections.back()), "embed_tokens");
  EXPECT_EQ(projections.back().getResult().getType(),
            RankedTensorType::get({ShapedType::kDynamic, 64},
                                  Float32Type::get(&context)));
}

TEST_F(ModelImporterTest, PerProjectionLayout) {
  // The low-level API takes any mix; only detection from a directory
  // insists on one form.
  ModelConfig c = smallConfig();
  WeightLayout layout = WeightLayout::allPacked(c.numLayers, {4, 2});
  layout.set(1, Projection::Down, std::nullopt);
  layout.set(0, Projection::V, PackedBits{8, 3});
  auto module = importModel(context, c, layout);
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  std::map<std::string, WeightOp> weights = weightsOf(**module);
  EXPECT_EQ(weights["layers.1.down_proj"].getType(),
            RankedTensorType::get({32, 44}, Float16Type::get(&context)));
  EXPECT_EQ(weights["layers.1.down_proj"].getTensor(),
            "model.layers.1.mlp.down_proj.weight");
  auto v = dyn_cast<QWeightType>(weights["layers.0.v_proj"].getType());
  ASSERT_TRUE(v);
  EXPECT_EQ(v.getParent(), 8u);
  EXPECT_EQ(v.getSeed(), 3u);
}

TEST_F(ModelImporterTest, RejectsConfigsItCannotBuild) {
  ModelConfig c = smallConfig();
  c.numKVHeads = 3;
  std::string message = llvm::toString(
      importModel(context, c, WeightLayout::allFP16(c.numLayers)).takeError());
  EXPECT_EQ(message, "cannot import model: num_attention_heads (4) is not a "
                     "multiple of num_key_value_heads (3)");

  c = smallConfig();
  c.headDim = 7;
  message = llvm::toString(
      importModel(context, c, WeightLayout::allFP16(c.numLayers)).takeError());
  EXPECT_EQ(message, "cannot import model: head_dim (7) is odd; rotary "
                     "embeddings need an even one");

  c = smallConfig();
  c.vocabSize = 0;
  message = llvm::toString(
      importModel(context, c, WeightLayout::allFP16(c.numLayers)).takeError());
  EXPECT_EQ(message, "cannot import model: vocab_size is 0; it must be "
                     "positive");

  c = smallConfig();
  message = llvm::toString(
      importModel(context, c, WeightLayout::allFP16(3)).takeError());
  EXPECT_EQ(message, "cannot import model: the weight layout has 3 layers, "
                     "the config 2");
}

TEST_F(ModelImporterTest, Fixture) {
  auto model = HFModel::open(kFixtureDir);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  auto layout = detectWeightLayout(**model);
  ASSERT_TRUE(bool(layout)) << llvm::toString(layout.takeError());
  for (int64_t l = 0; l < 6; ++l)
    for (Projection p : kProjections)
      EXPECT_FALSE(layout->get(l, p).has_value());

  auto module = importModel(context, **model);
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  // Every declaration names a tensor of the file, with the file's shape;
  // every tensor of the file is declared once.
  std::map<std::string, WeightOp> weights = weightsOf(**module);
  EXPECT_EQ(weights.size(), (*model)->allTensors().size());
  std::set<std::string> declared;
  for (auto &[symbol, weight] : weights) {
    const TensorView *tensor = (*model)->lookup(weight.getTensor());
    ASSERT_TRUE(tensor) << symbol;
    auto type = cast<RankedTensorType>(weight.getType());
    EXPECT_EQ(type.getShape(), ArrayRef<int64_t>(tensor->shape)) << symbol;
    EXPECT_TRUE(type.getElementType().isF16()) << symbol;
    EXPECT_TRUE(declared.insert(weight.getTensor().str()).second) << symbol;
  }
}

namespace {
/// A directory removed with its contents at the end of the test.
class TempDir {
public:
  TempDir() {
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("pmpd-import-test", dir));
  }
  ~TempDir() { llvm::sys::fs::remove_directories(dir); }
  std::string path(StringRef name) const {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }

private:
  llvm::SmallString<256> dir;
};
} // namespace

/// Writes the small config's model with every projection packed at
/// `parent`/`seed` bits.
static void writePackedModel(const TempDir &dir, const ModelConfig &c,
                             unsigned parent, unsigned seed) {
  std::string json;
  llvm::raw_string_ostream os(json);
  os << c.toJSON();
  {
    std::error_code ec;
    llvm::raw_fd_ostream file(dir.path("config.json"), ec);
    ASSERT_FALSE(ec);
    file << json;
  }
  SafeTensorsWriter writer;
  auto addF16 = [&](const std::string &name, ArrayRef<int64_t> shape) {
    int64_t count = 1;
    for (int64_t d : shape)
      count *= d;
    std::vector<uint8_t> zeros(count * 2);
    writer.addTensor(name, DType::F16, shape, zeros);
  };
  addF16("model.embed_tokens.weight", {c.vocabSize, c.hiddenSize});
  addF16("model.norm.weight", {c.hiddenSize});
  addF16("lm_head.weight", {c.vocabSize, c.hiddenSize});
  for (int64_t l = 0; l < c.numLayers; ++l) {
    std::string prefix = "model.layers." + std::to_string(l) + ".";
    addF16(prefix + "input_layernorm.weight", {c.hiddenSize});
    addF16(prefix + "post_attention_layernorm.weight", {c.hiddenSize});
    for (Projection p : kProjections) {
      auto [rows, cols] = projectionShape(c, p);
      std::string base = projectionPrefix(l, p);
      std::vector<uint8_t> planes(parent * rows * ((cols + 7) / 8));
      writer.addTensor(base + ".qweight.planes", DType::U8,
                       {int64_t(parent), rows, (cols + 7) / 8}, planes);
      for (unsigned b = seed; b <= parent; ++b)
        addF16(base + ".qweight.lut" + std::to_string(b),
               {rows, int64_t(1) << b});
    }
  }
  writer.addMetadata("pmpd.format", "any-precision");
  writer.addMetadata("pmpd.parent_bits", std::to_string(parent));
  writer.addMetadata("pmpd.seed_bits", std::to_string(seed));
  ASSERT_FALSE(bool(writer.write(dir.path("model.safetensors"))));
}

TEST_F(ModelImporterTest, PackedDirectory) {
  TempDir dir;
  ModelConfig c = smallConfig();
  writePackedModel(dir, c, /*parent=*/5, /*seed=*/3);
  auto model = HFModel::open(dir.path(""), /*requireProjections=*/false);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ(projectionPrefix(1, Projection::Gate),
            "model.layers.1.mlp.gate_proj");
  auto layout = detectWeightLayout(**model);
  ASSERT_TRUE(bool(layout)) << llvm::toString(layout.takeError());
  for (int64_t l = 0; l < c.numLayers; ++l)
    for (Projection p : kProjections) {
      std::optional<PackedBits> bits = layout->get(l, p);
      ASSERT_TRUE(bits.has_value());
      EXPECT_EQ(bits->parent, 5u);
      EXPECT_EQ(bits->seed, 3u);
    }
  auto module = importModel(context, **model);
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  std::map<std::string, WeightOp> weights = weightsOf(**module);
  auto q = dyn_cast<QWeightType>(weights["layers.1.down_proj"].getType());
  ASSERT_TRUE(q);
  EXPECT_EQ(q.getRows(), 32);
  EXPECT_EQ(q.getCols(), 44);
  EXPECT_EQ(q.getParent(), 5u);
  EXPECT_EQ(q.getSeed(), 3u);
  // The declared prefix is what the packed tensors' names start with.
  EXPECT_TRUE((*model)->lookup(weights["layers.1.down_proj"].getTensor().str() +
                               ".qweight.planes"));
}
