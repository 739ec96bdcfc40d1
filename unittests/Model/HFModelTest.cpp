//===- HFModelTest.cpp - Model directory tests ----------------------------===//
//
// The fixture model, and small model directories written here (single file
// and sharded) with one thing wrong at a time.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Model/HFModel.h"
#include "pmpd/Support/Half.h"
#include "pmpd/Support/Progress.h"

#include "TestUtil.h"

#include "llvm/Support/Endian.h"

#include <set>

using namespace pmpd;
using namespace pmpd::test;

static const char *kFixtureDir = PMPD_SOURCE_DIR "/fixtures/pmpd-tiny-llama";

TEST(HFModelTest, Names) {
  EXPECT_EQ(projectionName(Projection::Q), "q_proj");
  EXPECT_EQ(projectionName(Projection::Down), "down_proj");
  EXPECT_EQ(projectionTensorName(3, Projection::K),
            "model.layers.3.self_attn.k_proj.weight");
  EXPECT_EQ(projectionTensorName(0, Projection::Gate),
            "model.layers.0.mlp.gate_proj.weight");
  EXPECT_EQ(projectionTensorName(11, Projection::O),
            "model.layers.11.self_attn.o_proj.weight");
}

TEST(HFModelTest, OpensFixture) {
  auto model = HFModel::open(kFixtureDir);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  const ModelConfig &c = (*model)->config();
  EXPECT_EQ(c.numLayers, 6);
  EXPECT_EQ((*model)->dir(), kFixtureDir);
  EXPECT_EQ((*model)->allTensors().size(), 57u);
  EXPECT_EQ((*model)->files().size(), 1u);

  // Shapes the config implies, as HF's modules define them.
  EXPECT_EQ(projectionShape(c, Projection::Q), std::make_pair(512l, 512l));
  EXPECT_EQ(projectionShape(c, Projection::K), std::make_pair(256l, 512l));
  EXPECT_EQ(projectionShape(c, Projection::O), std::make_pair(512l, 512l));
  EXPECT_EQ(projectionShape(c, Projection::Up), std::make_pair(1408l, 512l));
  EXPECT_EQ(projectionShape(c, Projection::Down), std::make_pair(512l, 1408l));
  std::vector<TensorSpec> specs = expectedTensors(c);
  EXPECT_EQ(specs.size(), 57u);
  for (const TensorSpec &s : specs) {
    auto t = (*model)->tensor(s.name);
    ASSERT_TRUE(bool(t)) << s.name;
    EXPECT_EQ(t->shape, s.shape) << s.name;
  }

  auto k = (*model)->tensor("model.layers.3.self_attn.k_proj.weight");
  ASSERT_TRUE(bool(k));
  EXPECT_EQ(k->shape, (llvm::SmallVector<int64_t>{256, 512}));
  // Values numpy read from the same file.
  auto values = (*model)->tensorF32("model.layers.3.self_attn.k_proj.weight");
  ASSERT_TRUE(bool(values));
  EXPECT_EQ((*values)[17 * 512 + 300], 0.0036945343017578125f);
  EXPECT_EQ((*values)[255 * 512 + 511], 0.0657958984375f);
  EXPECT_EQ((*model)->fileOf("lm_head.weight")->path(),
            std::string(kFixtureDir) + "/model.safetensors");

  EXPECT_EQ((*model)->lookup("rotary.inv_freq"), nullptr);
  EXPECT_ERROR_NAMES(errorOf((*model)->tensor("rotary.inv_freq")),
                     kFixtureDir, "no tensor named 'rotary.inv_freq'");
  EXPECT_ERROR_NAMES(errorOf((*model)->tensorF32("nope")), kFixtureDir,
                     "'nope'");
}

//===----------------------------------------------------------------------===//
// Small models written by the test
//===----------------------------------------------------------------------===//

namespace {
/// A small model directory, with knobs to break it one way at a time.
struct SmallModel {
  ModelConfig config;
  std::set<std::string> skip;
  std::map<std::string, llvm::SmallVector<int64_t>> shapes;
  std::map<std::string, DType> dtypes;
  std::vector<std::string> extra;
  int numShards = 1;

  SmallModel() {
    config.arch = ModelArch::Llama;
    config.architecture = "LlamaForCausalLM";
    config.hiddenSize = 16;
    config.intermediateSize = 40;
    config.numLayers = 2;
    config.numHeads = 4;
    config.numKVHeads = 2;
    config.headDim = 4;
    config.vocabSize = 64;
    config.maxPositions = 32;
    config.rmsNormEps = 1e-5;
  }

  /// Element i of every tensor is i / 256 (exact in fp16 for i < 2048).
  static void add(SafeTensorsWriter &w, const std::string &name, DType dtype,
                  llvm::ArrayRef<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    std::vector<uint8_t> bytes(n * dtypeSize(dtype));
    for (int64_t i = 0; i < n; ++i) {
      float v = float(i % 2048) / 256.0f;
      if (dtype == DType::F16)
        llvm::support::endian::write16le(&bytes[2 * i], floatToHalf(v));
      else if (dtype == DType::F32)
        llvm::support::endian::write32le(&bytes[4 * i], floatToBits(v));
      else
        std::fill_n(&bytes[i * dtypeSize(dtype)], dtypeSize(dtype), 0);
    }
    w.addTensor(name, dtype, shape, bytes);
  }

  void write(const TempDir &dir) const {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << config.toJSON();
    writeFile(dir.path("config.json"), text);

    std::vector<SafeTensorsWriter> writers(numShards);
    std::vector<std::pair<std::string, int>> placed;
    int next = 0;
    auto place = [&](const std::string &name, DType dtype,
                     llvm::ArrayRef<int64_t> shape) {
      int shard = next++ % numShards;
      add(writers[shard], name, dtype, shape);
      placed.push_back({name, shard});
    };
    for (const TensorSpec &s : expectedTensors(config)) {
      if (skip.count(s.name))
        continue;
      auto shape = shapes.count(s.name) ? shapes.at(s.name) : s.shape;
      place(s.name, dtypes.count(s.name) ? dtypes.at(s.name) : DType::F16,
            shape);
    }
    for (const std::string &name : extra)
      place(name, DType::U8, {3});

    if (numShards == 1) {
      ASSERT_FALSE(bool(writers[0].write(dir.path("model.safetensors"))));
      return;
    }
    llvm::json::Object map;
    for (const auto &[name, shard] : placed)
      map[name] = shardName(shard);
    for (int i = 0; i < numShards; ++i)
      ASSERT_FALSE(bool(writers[i].write(dir.path(shardName(i)))));
    text.clear();
    os << llvm::json::Value(llvm::json::Object{
        {"metadata", llvm::json::Object{}}, {"weight_map", std::move(map)}});
    writeFile(dir.path("model.safetensors.index.json"), text);
  }

  std::string shardName(int i) const {
    return "model-0000" + std::to_string(i + 1) + "-of-0000" +
           std::to_string(numShards) + ".safetensors";
  }
};
} // namespace

TEST(HFModelTest, OpensSmallModel) {
  TempDir dir;
  SmallModel m;
  m.extra = {"model.rotary_emb.inv_freq", "pmpd.packed.layers.0.q_proj"};
  m.write(dir);
  auto model = HFModel::open(dir.path());
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_TRUE((*model)->config() == m.config);
  // 2 layers x 9 + 3, plus the two extra tensors (allowed, kept).
  EXPECT_EQ((*model)->allTensors().size(), 23u);
  EXPECT_NE((*model)->lookup("pmpd.packed.layers.0.q_proj"), nullptr);
  auto values = (*model)->tensorF32("model.layers.1.mlp.down_proj.weight");
  ASSERT_TRUE(bool(values));
  ASSERT_EQ(values->size(), 16u * 40);
  EXPECT_EQ((*values)[0], 0.0f);
  EXPECT_EQ((*values)[300], 300.0f / 256);
  // tensorF32 on a non-float extra tensor names the file.
  EXPECT_ERROR_NAMES(errorOf((*model)->tensorF32("model.rotary_emb.inv_freq")),
                     dir.path("model.safetensors"), "dtype U8");
}

TEST(HFModelTest, BiasesAndTiedEmbeddings) {
  TempDir dir;
  SmallModel m;
  m.config.arch = ModelArch::Qwen2;
  m.config.architecture = "Qwen2ForCausalLM";
  m.config.attentionBias = true;
  m.config.tieWordEmbeddings = true;
  m.write(dir);
  auto model = HFModel::open(dir.path());
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  // 2 layers x (9 + 3 biases) + embed + norm; no lm_head.
  EXPECT_EQ((*model)->allTensors().size(), 26u);
  EXPECT_EQ((*model)->lookup("lm_head.weight"), nullptr);
  auto bias = (*model)->tensor("model.layers.1.self_attn.k_proj.bias");
  ASSERT_TRUE(bool(bias));
  EXPECT_EQ(bias->shape, (llvm::SmallVector<int64_t>{8}));

  // Without the bias it is a missing tensor.
  TempDir dir2;
  m.skip = {"model.layers.0.self_attn.v_proj.bias"};
  m.write(dir2);
  EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir2.path())),
                     dir2.path("model.safetensors"),
                     "missing tensor 'model.layers.0.self_attn.v_proj.bias'",
                     "[8]");
}

TEST(HFModelTest, MissingTensor) {
  TempDir dir;
  SmallModel m;
  m.skip = {"model.layers.1.self_attn.o_proj.weight"};
  m.write(dir);
  EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir.path())),
                     dir.path("model.safetensors"),
                     "missing tensor 'model.layers.1.self_attn.o_proj.weight'",
                     "config.json implies shape [16, 16]");
  // lm_head of an untied model.
  TempDir dir2;
  m.skip = {"lm_head.weight"};
  m.write(dir2);
  EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir2.path())),
                     dir2.path("model.safetensors"),
                     "missing tensor 'lm_head.weight'", "[64, 16]");
}

TEST(HFModelTest, WrongShapeAndDType) {
  TempDir dir;
  SmallModel m;
  m.shapes["model.layers.0.self_attn.k_proj.weight"] = {16, 16};
  m.write(dir);
  EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir.path())),
                     dir.path("model.safetensors"),
                     "tensor 'model.layers.0.self_attn.k_proj.weight'",
                     "has shape [16, 16]", "config.json implies [8, 16]");

  TempDir dir2;
  SmallModel m2;
  m2.shapes["model.norm.weight"] = {16, 1};
  m2.write(dir2);
  EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir2.path())),
                     dir2.path("model.safetensors"), "'model.norm.weight'",
                     "[16, 1]", "[16]");

  TempDir dir3;
  SmallModel m3;
  m3.dtypes["model.embed_tokens.weight"] = DType::I32;
  m3.write(dir3);
  EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir3.path())),
                     dir3.path("model.safetensors"),
                     "'model.embed_tokens.weight' has dtype I32",
                     "float dtype");

  // F32 weights are fine.
  TempDir dir4;
  SmallModel m4;
  m4.dtypes["model.embed_tokens.weight"] = DType::F32;
  m4.write(dir4);
  EXPECT_TRUE(bool(HFModel::open(dir4.path())));
}

TEST(HFModelTest, PackedProjectionsMayBeAbsent) {
  TempDir dir;
  SmallModel m;
  for (int64_t l = 0; l < m.config.numLayers; ++l)
    for (Projection p : {Projection::Q, Projection::K, Projection::V,
                         Projection::O, Projection::Gate, Projection::Up,
                         Projection::Down})
      m.skip.insert(projectionTensorName(l, p));
  m.extra = {"pmpd.packed"};
  m.write(dir);
  EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir.path())),
                     dir.path("model.safetensors"), "missing tensor");
  auto model = HFModel::open(dir.path(), /*requireProjections=*/false);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ((*model)->allTensors().size(), 2u * 2 + 3 + 1);

  // Other tensors are still required, and present projections checked.
  TempDir dir2;
  m.skip.insert("model.norm.weight");
  m.write(dir2);
  EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir2.path(), false)),
                     dir2.path("model.safetensors"),
                     "missing tensor 'model.norm.weight'");
  TempDir dir3;
  SmallModel m3;
  m3.skip = {"model.layers.0.mlp.up_proj.weight"};
  m3.shapes["model.layers.0.mlp.gate_proj.weight"] = {40, 15};
  m3.write(dir3);
  EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir3.path(), false)),
                     dir3.path("model.safetensors"),
                     "'model.layers.0.mlp.gate_proj.weight' has shape [40, 15]");
}

TEST(HFModelTest, Sharded) {
  TempDir dir;
  SmallModel m;
  m.numShards = 3;
  m.extra = {"model.rotary_emb.inv_freq"};
  m.write(dir);
  auto model = HFModel::open(dir.path());
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ((*model)->files().size(), 3u);
  EXPECT_EQ((*model)->allTensors().size(), 22u);
  // Round-robin placement: the first tensor in shard 1, the second in 2.
  EXPECT_EQ((*model)->fileOf("model.embed_tokens.weight")->path(),
            dir.path(m.shardName(0)));
  EXPECT_EQ((*model)->fileOf("model.layers.0.input_layernorm.weight")->path(),
            dir.path(m.shardName(1)));
  auto values = (*model)->tensorF32("model.layers.0.self_attn.q_proj.weight");
  ASSERT_TRUE(bool(values));
  EXPECT_EQ((*values)[5], 5.0f / 256);
  // A stale single file next to an index is ignored.
  writeFile(dir.path("model.safetensors"), "junk");
  EXPECT_TRUE(bool(HFModel::open(dir.path())));
}

TEST(HFModelTest, ShardedErrors) {
  std::string index = "model.safetensors.index.json";
  {
    // A shard the map names is missing.
    TempDir dir;
    SmallModel m;
    m.numShards = 2;
    m.write(dir);
    llvm::sys::fs::remove(dir.path(m.shardName(1)));
    EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir.path())), dir.path(index),
                       "shard \"model-00002-of-00002.safetensors\"",
                       "does not exist");
  }
  {
    // The map places a tensor in a shard that does not have it.
    TempDir dir;
    SmallModel m;
    m.numShards = 2;
    m.write(dir);
    std::string text = readFile(dir.path(index));
    std::string key = "\"model.embed_tokens.weight\":\"model-00001";
    size_t at = text.find(key);
    ASSERT_NE(at, std::string::npos) << text;
    text.replace(at + key.size() - 1, 1, "2");
    writeFile(dir.path(index), text);
    EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir.path())), dir.path(index),
                       "'model.embed_tokens.weight' is mapped to "
                       "\"model-00002-of-00002.safetensors\"",
                       "has no such tensor");
  }
  {
    // A tensor in two shards.
    TempDir dir;
    SmallModel m;
    m.numShards = 2;
    m.write(dir);
    SafeTensorsWriter w;
    SmallModel::add(w, "model.norm.weight", DType::F16, {16});
    SmallModel::add(w, "model.embed_tokens.weight", DType::F16, {64, 16});
    ASSERT_FALSE(bool(w.write(dir.path(m.shardName(1)))));
    std::string msg = errorOf(HFModel::open(dir.path()));
    EXPECT_NE(msg.find("is also in"), std::string::npos) << msg;
  }
  const std::pair<const char *, const char *> badIndexes[] = {
      {"{\"weight_map\": ", "malformed JSON"},
      {"{\"metadata\": {}}", "weight_map: missing"},
      {"{\"weight_map\": {}}", "weight_map: empty"},
      {"{\"weight_map\": {\"a\": 3}}", "not a file name string"},
      {"{\"weight_map\": {\"a\": \"../x.safetensors\"}}",
       "not a file name in the model directory"},
      {"{\"weight_map\": {\"a\": \"/etc/passwd\"}}",
       "not a file name in the model directory"},
  };
  for (const auto &[text, fragment] : badIndexes) {
    TempDir dir;
    SmallModel m;
    m.write(dir);
    writeFile(dir.path(index), text);
    EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir.path())), dir.path(index),
                       fragment);
  }
}

TEST(HFModelTest, DirectoryErrors) {
  TempDir dir;
  // No config.
  EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir.path())),
                     dir.path("config.json"), "cannot read");
  // Config, no weights.
  SmallModel m;
  m.write(dir);
  llvm::sys::fs::remove(dir.path("model.safetensors"));
  EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir.path())), dir.path(),
                     "no model.safetensors or model.safetensors.index.json");
  // A malformed weights file is reported by the reader.
  writeFile(dir.path("model.safetensors"), "abc");
  EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir.path())),
                     dir.path("model.safetensors"), "too short");
  // A malformed config.
  writeFile(dir.path("config.json"), "{");
  EXPECT_ERROR_NAMES(errorOf(HFModel::open(dir.path())),
                     dir.path("config.json"), "malformed JSON");
}

//===----------------------------------------------------------------------===//
// Progress bar (lives in this library)
//===----------------------------------------------------------------------===//

TEST(ProgressTest, DrawsOnlyWhenEnabled) {
  std::string quiet;
  {
    llvm::raw_string_ostream os(quiet);
    ProgressBar bar("q", 100, false, os, /*enabled=*/false);
    bar.advance(50);
    bar.finish();
    EXPECT_EQ(bar.done(), 50u);
  }
  EXPECT_EQ(quiet, "");

  std::string shown;
  {
    llvm::raw_string_ostream os(shown);
    ProgressBar bar("write", 2000, /*bytes=*/true, os, /*enabled=*/true);
    bar.advance(500);
    bar.advance(1500);
  } // The destructor finishes the bar.
  EXPECT_NE(shown.find("write ["), std::string::npos) << shown;
  EXPECT_NE(shown.find("100%"), std::string::npos) << shown;
  EXPECT_NE(shown.find("2.00 KB / 2.00 KB"), std::string::npos) << shown;
  EXPECT_EQ(shown.back(), '\n');
}

TEST(ProgressTest, FormatsBytes) {
  EXPECT_EQ(formatBytes(0), "0 B");
  EXPECT_EQ(formatBytes(999), "999 B");
  EXPECT_EQ(formatBytes(1500), "1.50 KB");
  EXPECT_EQ(formatBytes(52186160), "52.2 MB");
  EXPECT_EQ(formatBytes(13476839424ull), "13.5 GB");
  EXPECT_EQ(formatBytes(123456789012ull), "123 GB");
}
