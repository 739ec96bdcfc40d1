//===- ModelConfigTest.cpp - config.json parsing tests --------------------===//
//
// The fixture's config (transformers 5), the older spellings, the three
// architectures, and every field whose unsupported value must be refused.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Model/ModelConfig.h"

#include "TestUtil.h"

using namespace pmpd;
using namespace pmpd::test;

static const char *kFixtureConfig =
    PMPD_SOURCE_DIR "/fixtures/pmpd-tiny-llama/config.json";

/// A LLaMA config in transformers-4 style, with the fields of `extra` (JSON
/// object members) added or replacing the base ones.
static std::string llama(const std::string &extra = "") {
  auto base = llvm::json::parse(R"({"architectures": ["LlamaForCausalLM"],
    "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,
    "num_attention_heads": 4, "vocab_size": 100,
    "max_position_embeddings": 128, "rms_norm_eps": 1e-6,
    "rope_theta": 500000.0})");
  auto more = llvm::json::parse("{" + extra + "}");
  EXPECT_TRUE(base && more) << extra;
  if (!base || !more) {
    llvm::consumeError(base.takeError());
    llvm::consumeError(more.takeError());
    return "{}";
  }
  for (auto &kv : *more->getAsObject())
    (*base->getAsObject())[kv.first] = kv.second;
  std::string text;
  llvm::raw_string_ostream os(text);
  os << *base;
  return text;
}

static ModelConfig parseOK(const std::string &json) {
  auto c = ModelConfig::parse(json, "config.json");
  EXPECT_TRUE(bool(c)) << (c ? "" : llvm::toString(c.takeError())) << "\n"
                       << json;
  return c ? *c : ModelConfig();
}

static std::string parseError(const std::string &json) {
  return errorOf(ModelConfig::parse(json, "dir/config.json"));
}

TEST(ModelConfigTest, ParsesFixture) {
  auto c = ModelConfig::load(kFixtureConfig);
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->arch, ModelArch::Llama);
  EXPECT_EQ(c->architecture, "LlamaForCausalLM");
  EXPECT_EQ(c->hiddenSize, 512);
  EXPECT_EQ(c->intermediateSize, 1408);
  EXPECT_EQ(c->numLayers, 6);
  EXPECT_EQ(c->numHeads, 8);
  EXPECT_EQ(c->numKVHeads, 4);
  EXPECT_EQ(c->headDim, 64);
  EXPECT_EQ(c->vocabSize, 8192);
  EXPECT_EQ(c->maxPositions, 1024);
  EXPECT_EQ(c->rmsNormEps, 1e-5);
  EXPECT_EQ(c->ropeTheta, 10000.0); // From rope_parameters.
  EXPECT_FALSE(c->tieWordEmbeddings);
  EXPECT_FALSE(c->attentionBias);
  EXPECT_EQ(c->bosTokenId, 1);
  EXPECT_EQ(c->eosTokenId, 2);
  // Python: sum of the fixture's tensor sizes.
  EXPECT_EQ(c->numParameters(), 26089984);
}

TEST(ModelConfigTest, RopeThetaSpellings) {
  // transformers 4: top level.
  EXPECT_EQ(parseOK(llama()).ropeTheta, 500000.0);
  // transformers 5: nested, and it wins over a stale top-level value.
  EXPECT_EQ(parseOK(llama(R"("rope_parameters": {"rope_theta": 1000000.0,
                                "rope_type": "default"})"))
                .ropeTheta,
            1000000.0);
  // Neither: HF's default.
  EXPECT_EQ(parseOK(R"({"model_type": "llama", "hidden_size": 8,
      "intermediate_size": 8, "num_hidden_layers": 1,
      "num_attention_heads": 2, "vocab_size": 4,
      "max_position_embeddings": 8})")
                .ropeTheta,
            10000.0);
  // Explicitly absent scaling is fine.
  EXPECT_EQ(parseOK(llama(R"("rope_scaling": null)")).ropeTheta, 500000.0);
  EXPECT_EQ(parseOK(llama(R"("rope_scaling": {"rope_type": "default"})"))
                .ropeTheta,
            500000.0);
}

TEST(ModelConfigTest, DefaultsAndDerivedFields) {
  ModelConfig c = parseOK(llama());
  EXPECT_EQ(c.numKVHeads, 4); // Default: multi-head attention.
  EXPECT_EQ(c.headDim, 16);   // hidden / heads.
  EXPECT_EQ(c.bosTokenId, -1);
  EXPECT_EQ(c.eosTokenId, -1);
  EXPECT_EQ(c.rmsNormEps, 1e-6);

  // GQA with an explicit head_dim that is not hidden / heads.
  c = parseOK(llama(R"("num_key_value_heads": 2, "head_dim": 32)"));
  EXPECT_EQ(c.numKVHeads, 2);
  EXPECT_EQ(c.headDim, 32);
  // Null head_dim (some exports write it) means the default.
  EXPECT_EQ(parseOK(llama(R"("head_dim": null)")).headDim, 16);

  c = parseOK(llama(R"("tie_word_embeddings": true, "eos_token_id": [7, 9],
                       "bos_token_id": 5)"));
  EXPECT_TRUE(c.tieWordEmbeddings);
  EXPECT_EQ(c.eosTokenId, 7); // The first of a list.
  EXPECT_EQ(c.bosTokenId, 5);
  EXPECT_EQ(parseOK(llama(R"("eos_token_id": null)")).eosTokenId, -1);
}

TEST(ModelConfigTest, Architectures) {
  std::string body = R"("hidden_size": 64, "intermediate_size": 160,
      "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100,
      "max_position_embeddings": 128)";
  ModelConfig c = parseOK(R"({"architectures": ["Qwen2ForCausalLM"], )" +
                          body + "}");
  EXPECT_EQ(c.arch, ModelArch::Qwen2);
  EXPECT_TRUE(c.attentionBias); // Qwen2 implies q/k/v biases...
  c = parseOK(R"({"architectures": ["Qwen2ForCausalLM"],
                  "attention_bias": false, )" +
              body + "}");
  EXPECT_FALSE(c.attentionBias); // ...unless stated.
  c = parseOK(R"({"architectures": ["Qwen2ForCausalLM"],
                  "sliding_window": 64, "use_sliding_window": false, )" +
              body + "}");
  EXPECT_EQ(c.arch, ModelArch::Qwen2);

  c = parseOK(R"({"architectures": ["MistralForCausalLM"],
                  "sliding_window": null, )" +
              body + "}");
  EXPECT_EQ(c.arch, ModelArch::Mistral);
  EXPECT_EQ(c.architecture, "MistralForCausalLM");
  EXPECT_FALSE(c.attentionBias);
  c = parseOK(R"({"architectures": ["MistralForCausalLM"],
                  "sliding_window": 128, )" +
              body + "}");
  EXPECT_EQ(c.arch, ModelArch::Mistral); // A window covering every position.

  // model_type when architectures is absent.
  c = parseOK(R"({"model_type": "mistral", "sliding_window": null, )" + body +
              "}");
  EXPECT_EQ(c.arch, ModelArch::Mistral);
  EXPECT_EQ(c.architecture, "MistralForCausalLM");
  EXPECT_EQ(parseOK(R"({"model_type": "qwen2", )" + body + "}").arch,
            ModelArch::Qwen2);
}

TEST(ModelConfigTest, ToJSONRoundTrips) {
  std::vector<ModelConfig> configs;
  auto fixture = ModelConfig::load(kFixtureConfig);
  ASSERT_TRUE(bool(fixture));
  configs.push_back(*fixture);
  ModelConfig qwen = *fixture;
  qwen.arch = ModelArch::Qwen2;
  qwen.architecture = "Qwen2ForCausalLM";
  qwen.attentionBias = true;
  qwen.tieWordEmbeddings = true;
  qwen.headDim = 128; // Not hidden / heads: must be written.
  qwen.rmsNormEps = 1e-6;
  qwen.ropeTheta = 1000000.0;
  qwen.bosTokenId = -1;
  configs.push_back(qwen);
  ModelConfig mistral = *fixture;
  mistral.arch = ModelArch::Mistral;
  mistral.architecture = "MistralForCausalLM";
  mistral.numKVHeads = 2;
  mistral.eosTokenId = -1;
  configs.push_back(mistral);

  for (const ModelConfig &c : configs) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << c.toJSON();
    auto back = ModelConfig::parse(text, "roundtrip.json");
    ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError()) << "\n"
                            << text;
    EXPECT_TRUE(*back == c) << text;
  }
  ModelConfig other = *fixture;
  other.ropeTheta = 1.0;
  EXPECT_TRUE(other != *fixture);
}

TEST(ModelConfigTest, RejectsUnsupportedAndMalformed) {
  const std::pair<std::string, std::vector<const char *>> cases[] = {
      {"{\"hidden_size\": 64,", {"malformed JSON"}},
      {"[1, 2]", {"expected a JSON object", "an array"}},
      {R"({"architectures": ["GPT2LMHeadModel"]})",
       {"architectures: unsupported architecture \"GPT2LMHeadModel\"",
        "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM"}},
      {R"({"architectures": "LlamaForCausalLM"})",
       {"architectures: expected an array of strings, got a string"}},
      {R"({"architectures": []})", {"architectures: empty list"}},
      {R"({"model_type": "gpt2"})",
       {"model_type: unsupported model type \"gpt2\""}},
      {R"({"hidden_size": 64})", {"architectures: missing"}},
      {R"({"architectures": ["LlamaForCausalLM"], "intermediate_size": 2})",
       {"hidden_size: missing required field"}},
      {llama(R"("hidden_size": "64")"),
       {"hidden_size: expected an integer, got a string"}},
      {llama(R"("num_hidden_layers": 2.5)"),
       {"num_hidden_layers: expected an integer, got a number"}},
      {llama(R"("vocab_size": 0)"), {"vocab_size: must be positive"}},
      {llama(R"("num_key_value_heads": 3)"),
       {"num_key_value_heads: 3 does not divide num_attention_heads (4)"}},
      {llama(R"("num_attention_heads": 5)"),
       {"num_attention_heads: 5 does not divide hidden_size (64)"}},
      {llama(R"("rms_norm_eps": "small")"),
       {"rms_norm_eps: expected a number, got a string"}},
      {llama(R"("rope_parameters": {"rope_theta": 500000.0,
                                    "rope_type": "llama3", "factor": 8.0})"),
       {"rope_parameters: rope_type \"llama3\" is not supported"}},
      {llama(R"("rope_parameters": {"rope_type": "yarn"})"),
       {"rope_parameters: rope_type \"yarn\" is not supported"}},
      {llama(R"("rope_parameters": 5)"),
       {"rope_parameters: expected an object, got a number"}},
      {llama(R"("rope_parameters": {"rope_theta": "big"})"),
       {"rope_parameters.rope_theta: expected a number"}},
      {llama(R"("rope_scaling": {"type": "linear", "factor": 2.0})"),
       {"rope_scaling: type \"linear\" is not supported"}},
      {llama(R"("rope_scaling": {"factor": 2.0})"),
       {"rope_scaling: RoPE scaling is not supported"}},
      {llama(R"("rope_theta": -1)"), {"rope_theta: must be positive"}},
      {llama(R"("hidden_act": "gelu")"),
       {"hidden_act: \"gelu\" is not supported (only \"silu\")"}},
      {llama(R"("mlp_bias": true)"), {"mlp_bias: true is not supported"}},
      {llama(R"("attention_bias": true)"),
       {"attention_bias: true is not supported for LlamaForCausalLM"}},
      {llama(R"("tie_word_embeddings": 1)"),
       {"tie_word_embeddings: expected a boolean, got a number"}},
      {llama(R"("eos_token_id": "2")"),
       {"eos_token_id: expected an integer or a list of integers"}},
      {llama(R"("architectures": ["MistralForCausalLM"],
                "sliding_window": 64)"),
       {"sliding_window: sliding-window attention is not supported",
        "64 < max_position_embeddings 128"}},
      // MistralConfig's default window is 4096 < 32768 positions.
      {llama(R"("architectures": ["MistralForCausalLM"],
                "max_position_embeddings": 32768)"),
       {"sliding_window: sliding-window attention is not supported"}},
      {llama(R"("architectures": ["Qwen2ForCausalLM"],
                "use_sliding_window": true, "sliding_window": 64)"),
       {"sliding_window: sliding-window attention is not supported"}},
      // Sizes no model has: refused before anything allocates for them.
      {llama(R"("num_hidden_layers": 1000000)"),
       {"num_hidden_layers: 1000000 is outside [1, 4096]"}},
      {llama(R"("vocab_size": 4611686018427387904)"),
       {"vocab_size: 4611686018427387904 is outside [1, 16777216]"}},
      {llama(R"("hidden_size": 4194304, "num_attention_heads": 4)"),
       {"hidden_size: 4194304 is outside [1, 1048576]"}},
      {llama(R"("max_position_embeddings": 100000000)"),
       {"max_position_embeddings: 100000000 is outside [1, 16777216]"}},
      {llama(R"("head_dim": 65536)"), {"head_dim: 65536 is outside [1, 4096]"}},
      // Found by fuzz/config.cpp: a number too large for a double.
      {R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64,
           "intermediate_size": 160, "num_hidden_layers": 2,
           "num_attention_heads": 4, "vocab_size": 100,
           "max_position_embeddings": 128, "rms_norm_eps": 1e705})",
       {"rms_norm_eps: must be positive and finite"}},
      {R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64,
           "intermediate_size": 160, "num_hidden_layers": 2,
           "num_attention_heads": 4, "vocab_size": 100,
           "max_position_embeddings": 128, "rope_theta": 1e400})",
       {"rope_theta: must be positive and finite"}},
      // Token ids outside the vocabulary.
      {llama(R"("bos_token_id": -4)"),
       {"bos_token_id: -4 is not a token id: the vocabulary is [0, 100)"}},
      {llama(R"("eos_token_id": 99999)"),
       {"eos_token_id: 99999 is not a token id: the vocabulary is [0, 100)"}},
      {llama(R"("eos_token_id": [100, 2])"),
       {"eos_token_id: 100 is not a token id"}},
  };
  for (const auto &[json, fragments] : cases) {
    SCOPED_TRACE(json);
    std::string msg = parseError(json);
    EXPECT_EQ(msg.rfind("dir/config.json: ", 0), 0u) << msg;
    for (const char *f : fragments)
      EXPECT_NE(msg.find(f), std::string::npos)
          << "missing \"" << f << "\" in: " << msg;
  }
}

TEST(ModelConfigTest, LoadErrors) {
  TempDir dir;
  std::string path = dir.path("config.json");
  EXPECT_ERROR_NAMES(errorOf(ModelConfig::load(path)), path, "cannot read");
  writeFile(path, "{not json");
  EXPECT_ERROR_NAMES(errorOf(ModelConfig::load(path)), path, "malformed JSON");
}
