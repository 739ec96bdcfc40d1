//===- ModelConfig.cpp - Hugging Face decoder configurations --------------===//
//
// config.json files differ between architectures and between transformers
// versions (4.x writes `rope_theta`, 5.x writes `rope_parameters`). This file
// accepts exactly the variants whose model pmpd computes correctly and turns
// every other one into an error naming the field, because a silently ignored
// field (RoPE scaling, a sliding window, an MLP bias) gives a model that runs
// and produces wrong text.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Model/ModelConfig.h"

#include <cmath>
#include "pmpd/Support/JSONKind.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace llvm;

namespace pmpd {

namespace {
struct ArchInfo {
  ModelArch arch;
  StringLiteral architecture;
  StringLiteral modelType;
};
} // namespace

static constexpr ArchInfo kArchs[] = {
    {ModelArch::Llama, "LlamaForCausalLM", "llama"},
    {ModelArch::Mistral, "MistralForCausalLM", "mistral"},
    {ModelArch::Qwen2, "Qwen2ForCausalLM", "qwen2"},
};

StringRef archName(ModelArch arch) {
  for (const ArchInfo &info : kArchs)
    if (info.arch == arch)
      return info.architecture;
  llvm_unreachable("unknown architecture");
}

static StringRef modelTypeOf(ModelArch arch) {
  for (const ArchInfo &info : kArchs)
    if (info.arch == arch)
      return info.modelType;
  llvm_unreachable("unknown architecture");
}


namespace {
/// Typed access to the fields of one JSON object, with errors in the form
/// "<file>: <field>: <problem>".
class FieldReader {
public:
  FieldReader(StringRef file, const json::Object &obj, StringRef prefix = "")
      : file(file), obj(obj), prefix(prefix) {}

  Error fail(StringRef field, const Twine &problem) const {
    return createStringError(inconvertibleErrorCode(),
                             file + ": " + prefix + field + ": " + problem);
  }
  Error wrongType(StringRef field, const json::Value &v,
                  StringRef expected) const {
    return fail(field, "expected " + expected + ", got " + jsonKind(v));
  }

  /// The value, or nullptr when the field is absent or null.
  const json::Value *get(StringRef field) const {
    const json::Value *v = obj.get(field);
    return v && v->kind() != json::Value::Null ? v : nullptr;
  }

  Expected<int64_t> integer(StringRef field,
                            std::optional<int64_t> dflt = std::nullopt) const {
    const json::Value *v = get(field);
    if (!v) {
      if (dflt)
        return *dflt;
      return fail(field, "missing required field");
    }
    std::optional<int64_t> i = v->getAsInteger();
    if (!i)
      return wrongType(field, *v, "an integer");
    return *i;
  }

  Expected<int64_t> positive(StringRef field,
                             std::optional<int64_t> dflt = std::nullopt) const {
    Expected<int64_t> i = integer(field, dflt);
    if (i && *i <= 0)
      return fail(field, "must be positive, got " + Twine(*i));
    return i;
  }

  Expected<double> number(StringRef field, double dflt) const {
    const json::Value *v = get(field);
    if (!v)
      return dflt;
    std::optional<double> d = v->getAsNumber();
    if (!d)
      return wrongType(field, *v, "a number");
    return *d;
  }

  Expected<bool> boolean(StringRef field, bool dflt) const {
    const json::Value *v = get(field);
    if (!v)
      return dflt;
    std::optional<bool> b = v->getAsBoolean();
    if (!b)
      return wrongType(field, *v, "a boolean");
    return *b;
  }

  Expected<std::optional<StringRef>> string(StringRef field) const {
    const json::Value *v = get(field);
    if (!v)
      return std::optional<StringRef>();
    std::optional<StringRef> s = v->getAsString();
    if (!s)
      return wrongType(field, *v, "a string");
    return s;
  }

  /// A token id: an integer, null (-1), or a list whose first element is
  /// taken (generation may stop on any of them; the first is the canonical
  /// one).
  Expected<int64_t> tokenId(StringRef field) const {
    const json::Value *v = get(field);
    if (!v)
      return -1;
    if (const json::Array *list = v->getAsArray()) {
      if (list->empty())
        return -1;
      v = &list->front();
    }
    std::optional<int64_t> i = v->getAsInteger();
    if (!i)
      return wrongType(field, *v, "an integer or a list of integers");
    return *i;
  }

private:
  StringRef file;
  const json::Object &obj;
  std::string prefix;
};
} // namespace

/// The architecture from `architectures[0]`, or from `model_type` when the
/// list is absent.
static Expected<ModelArch> parseArch(const FieldReader &r,
                                     const json::Object &root) {
  std::string supported;
  for (const ArchInfo &info : kArchs)
    supported += (supported.empty() ? "" : ", ") + info.architecture.str();

  if (const json::Value *v = r.get("architectures")) {
    const json::Array *list = v->getAsArray();
    if (!list)
      return r.wrongType("architectures", *v, "an array of strings");
    if (list->empty())
      return r.fail("architectures", "empty list");
    std::optional<StringRef> name = list->front().getAsString();
    if (!name)
      return r.wrongType("architectures", list->front(), "a string");
    for (const ArchInfo &info : kArchs)
      if (info.architecture == *name)
        return info.arch;
    return r.fail("architectures", "unsupported architecture \"" + *name +
                                       "\" (supported: " + supported + ")");
  }
  Expected<std::optional<StringRef>> type = r.string("model_type");
  if (!type)
    return type.takeError();
  if (!*type)
    return r.fail("architectures",
                  "missing (and no model_type to fall back on)");
  for (const ArchInfo &info : kArchs)
    if (info.modelType == **type)
      return info.arch;
  return r.fail("model_type", "unsupported model type \"" + **type +
                                  "\" (supported: " + supported + ")");
}

/// A RoPE description (`rope_parameters` or an old `rope_scaling`) is
/// accepted only when it is plain RoPE: any scaling changes the frequencies.
static Error checkRopeType(const FieldReader &r, StringRef field,
                           const json::Object &rope) {
  FieldReader sub(StringRef(), rope);
  for (StringRef key : {"rope_type", "type"}) {
    const json::Value *v = sub.get(key);
    if (!v)
      continue;
    std::optional<StringRef> type = v->getAsString();
    if (!type)
      return r.fail(field, (key + " is ").str() + jsonKind(*v) +
                               ", expected a string");
    if (*type != "default")
      return r.fail(field, (key + " \"").str() + *type +
                               "\" is not supported (only \"default\": RoPE "
                               "scaling is not implemented)");
  }
  return Error::success();
}

Expected<ModelConfig> ModelConfig::parse(StringRef text, StringRef fileName) {
  Expected<json::Value> doc = json::parse(text);
  if (!doc)
    return createStringError(inconvertibleErrorCode(),
                             fileName + ": malformed JSON: " +
                                 toString(doc.takeError()));
  const json::Object *root = doc->getAsObject();
  if (!root)
    return createStringError(inconvertibleErrorCode(),
                             fileName + ": expected a JSON object, got " +
                                 jsonKind(*doc));
  FieldReader r(fileName, *root);
  ModelConfig c;

  Expected<ModelArch> arch = parseArch(r, *root);
  if (!arch)
    return arch.takeError();
  c.arch = *arch;
  c.architecture = archName(c.arch).str();

#define READ(dest, expr)                                                       \
  do {                                                                         \
    auto value = (expr);                                                       \
    if (!value)                                                                \
      return value.takeError();                                                \
    dest = *value;                                                             \
  } while (false)

  READ(c.hiddenSize, r.positive("hidden_size"));
  READ(c.intermediateSize, r.positive("intermediate_size"));
  READ(c.numLayers, r.positive("num_hidden_layers"));
  READ(c.numHeads, r.positive("num_attention_heads"));
  READ(c.numKVHeads, r.positive("num_key_value_heads", c.numHeads));
  READ(c.vocabSize, r.positive("vocab_size"));
  READ(c.maxPositions, r.positive("max_position_embeddings"));
  if (c.numHeads % c.numKVHeads != 0)
    return r.fail("num_key_value_heads",
                  Twine(c.numKVHeads) + " does not divide num_attention_heads (" +
                      Twine(c.numHeads) + ")");
  if (!r.get("head_dim") && c.hiddenSize % c.numHeads != 0)
    return r.fail("num_attention_heads",
                  Twine(c.numHeads) + " does not divide hidden_size (" +
                      Twine(c.hiddenSize) + ") and no head_dim is given");
  READ(c.headDim, r.positive("head_dim", c.hiddenSize / c.numHeads));

  READ(c.rmsNormEps, r.number("rms_norm_eps", 1e-6));
  if (!(c.rmsNormEps > 0) || !std::isfinite(c.rmsNormEps))
    return r.fail("rms_norm_eps", "must be positive and finite");

  // RoPE: transformers 5 nests theta and type in `rope_parameters`; older
  // files have a top-level `rope_theta` and maybe a `rope_scaling` object.
  READ(c.ropeTheta, r.number("rope_theta", 10000.0));
  if (const json::Value *v = r.get("rope_parameters")) {
    const json::Object *rope = v->getAsObject();
    if (!rope)
      return r.wrongType("rope_parameters", *v, "an object");
    if (Error err = checkRopeType(r, "rope_parameters", *rope))
      return std::move(err);
    FieldReader sub(fileName, *rope, "rope_parameters.");
    READ(c.ropeTheta, sub.number("rope_theta", c.ropeTheta));
  }
  if (const json::Value *v = r.get("rope_scaling")) {
    const json::Object *rope = v->getAsObject();
    if (!rope)
      return r.wrongType("rope_scaling", *v, "an object or null");
    if (Error err = checkRopeType(r, "rope_scaling", *rope))
      return std::move(err);
    // An old-style scaling object without a type still scales.
    if (!rope->get("rope_type") && !rope->get("type"))
      return r.fail("rope_scaling", "RoPE scaling is not supported");
  }
  if (!(c.ropeTheta > 0) || !std::isfinite(c.ropeTheta))
    return r.fail("rope_theta", "must be positive and finite");

  READ(c.tieWordEmbeddings, r.boolean("tie_word_embeddings", false));
  // Qwen2's q/k/v projections always have biases; its config has no field.
  READ(c.attentionBias,
       r.boolean("attention_bias", c.arch == ModelArch::Qwen2));
  // LLaMA and Mistral put attention_bias on o_proj as well, which the
  // q/k/v-bias model here does not represent.
  if (c.attentionBias && c.arch != ModelArch::Qwen2)
    return r.fail("attention_bias",
                  "true is not supported for " + c.architecture +
                      " (it adds an o_proj bias)");

  Expected<std::optional<StringRef>> act = r.string("hidden_act");
  if (!act)
    return act.takeError();
  if (*act && **act != "silu")
    return r.fail("hidden_act",
                  "\"" + **act + "\" is not supported (only \"silu\")");
  bool mlpBias = false;
  READ(mlpBias, r.boolean("mlp_bias", false));
  if (mlpBias)
    return r.fail("mlp_bias", "true is not supported");

  // Sliding-window attention: only a window covering every position (which
  // is full attention) is accepted.
  bool windowUsed = c.arch == ModelArch::Mistral;
  if (c.arch == ModelArch::Qwen2)
    READ(windowUsed, r.boolean("use_sliding_window", false));
  // MistralConfig's default window is 4096: an absent field is not "none".
  bool windowAbsent = !root->get("sliding_window");
  if (windowUsed && (r.get("sliding_window") ||
                     (windowAbsent && c.arch == ModelArch::Mistral))) {
    int64_t window = 0;
    READ(window, r.integer("sliding_window", 4096));
    if (window < c.maxPositions)
      return r.fail("sliding_window",
                    "sliding-window attention is not supported (window " +
                        Twine(window) + " < max_position_embeddings " +
                        Twine(c.maxPositions) + ")");
  }

  READ(c.bosTokenId, r.tokenId("bos_token_id"));
  READ(c.eosTokenId, r.tokenId("eos_token_id"));
#undef READ
  for (auto [field, id] : {std::pair{"bos_token_id", c.bosTokenId},
                           std::pair{"eos_token_id", c.eosTokenId}})
    if (r.get(field) && (id < 0 || id >= c.vocabSize))
      return r.fail(field, Twine(id) + " is not a token id: the vocabulary "
                                       "is [0, " +
                               Twine(c.vocabSize) + ")");
  if (Error error = c.checkLimits(fileName))
    return std::move(error);
  return c;
}

Error ModelConfig::checkLimits(StringRef fileName) const {
  struct Limit {
    const char *field;
    int64_t value, max;
  };
  const Limit limits[] = {
      {"hidden_size", hiddenSize, int64_t(1) << 20},
      {"intermediate_size", intermediateSize, int64_t(1) << 22},
      {"num_hidden_layers", numLayers, 4096},
      {"num_attention_heads", numHeads, 4096},
      {"num_key_value_heads", numKVHeads, 4096},
      {"head_dim", headDim, 4096},
      {"vocab_size", vocabSize, int64_t(1) << 24},
      {"max_position_embeddings", maxPositions, int64_t(1) << 24},
  };
  for (const Limit &limit : limits)
    if (limit.value < 1 || limit.value > limit.max)
      return createStringError(inconvertibleErrorCode(),
                               "%s: %s: %lld is outside [1, %lld]",
                               fileName.str().c_str(), limit.field,
                               (long long)limit.value, (long long)limit.max);
  return Error::success();
}

Expected<ModelConfig> ModelConfig::load(StringRef path) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return createStringError(inconvertibleErrorCode(),
                             path + ": cannot read: " +
                                 buffer.getError().message());
  return parse((*buffer)->getBuffer(), path);
}

json::Value ModelConfig::toJSON() const {
  json::Object o{
      {"architectures", json::Array{architecture.empty()
                                        ? archName(arch).str()
                                        : architecture}},
      {"model_type", modelTypeOf(arch)},
      {"hidden_size", hiddenSize},
      {"intermediate_size", intermediateSize},
      {"num_hidden_layers", numLayers},
      {"num_attention_heads", numHeads},
      {"num_key_value_heads", numKVHeads},
      {"head_dim", headDim},
      {"vocab_size", vocabSize},
      {"max_position_embeddings", maxPositions},
      {"rms_norm_eps", rmsNormEps},
      {"hidden_act", "silu"},
      {"tie_word_embeddings", tieWordEmbeddings},
      {"attention_bias", attentionBias},
      // Both spellings, so that transformers 4.x and 5.x read the same theta.
      {"rope_theta", ropeTheta},
      {"rope_parameters",
       json::Object{{"rope_theta", ropeTheta}, {"rope_type", "default"}}},
  };
  if (arch != ModelArch::Qwen2)
    o["mlp_bias"] = false;
  if (arch == ModelArch::Mistral)
    o["sliding_window"] = nullptr;
  if (arch == ModelArch::Qwen2)
    o["use_sliding_window"] = false;
  o["bos_token_id"] = bosTokenId >= 0 ? json::Value(bosTokenId) : nullptr;
  o["eos_token_id"] = eosTokenId >= 0 ? json::Value(eosTokenId) : nullptr;
  return o;
}

int64_t ModelConfig::numParameters() const {
  int64_t q = numHeads * headDim, kv = numKVHeads * headDim;
  int64_t perLayer = 2 * hiddenSize                  // the two norms
                     + hiddenSize * (q + 2 * kv)     // q, k, v
                     + q * hiddenSize                // o
                     + 3 * hiddenSize * intermediateSize;
  if (attentionBias)
    perLayer += q + 2 * kv;
  int64_t embed = vocabSize * hiddenSize;
  return numLayers * perLayer + embed + hiddenSize +
         (tieWordEmbeddings ? 0 : embed);
}

bool ModelConfig::operator==(const ModelConfig &o) const {
  return std::tie(arch, architecture, hiddenSize, intermediateSize, numLayers,
                  numHeads, numKVHeads, headDim, vocabSize, maxPositions,
                  rmsNormEps, ropeTheta, tieWordEmbeddings, attentionBias,
                  bosTokenId, eosTokenId) ==
         std::tie(o.arch, o.architecture, o.hiddenSize, o.intermediateSize,
                  o.numLayers, o.numHeads, o.numKVHeads, o.headDim,
                  o.vocabSize, o.maxPositions, o.rmsNormEps, o.ropeTheta,
                  o.tieWordEmbeddings, o.attentionBias, o.bosTokenId,
                  o.eosTokenId);
}

} // namespace pmpd
