//===- ModelConfig.h - Hugging Face decoder configurations ------*- C++ -*-===//
//
// What pmpd needs of a config.json of a LLaMA-family decoder, with every
// unsupported architecture or field turned into an error that names it.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_MODEL_MODELCONFIG_H
#define PMPD_MODEL_MODELCONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <string>

namespace pmpd {

enum class ModelArch { Llama, Mistral, Qwen2 };

struct ModelConfig {
  ModelArch arch = ModelArch::Llama;
  std::string architecture; // e.g. "LlamaForCausalLM"
  int64_t hiddenSize = 0;
  int64_t intermediateSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKVHeads = 0;
  int64_t headDim = 0;
  int64_t vocabSize = 0;
  int64_t maxPositions = 0;
  double rmsNormEps = 1e-6;
  double ropeTheta = 10000.0;
  bool tieWordEmbeddings = false;
  bool attentionBias = false; // q/k/v biases (Qwen2)
  int64_t bosTokenId = -1;
  int64_t eosTokenId = -1;

  /// Parses config.json text; `fileName` only labels errors.
  static llvm::Expected<ModelConfig> parse(llvm::StringRef json,
                                           llvm::StringRef fileName);
  static llvm::Expected<ModelConfig> load(llvm::StringRef path);
  /// The HF config.json form (what `parse` reads back to an equal config).
  llvm::json::Value toJSON() const;

  /// Parameters of the decoder this config describes (embeddings, norms,
  /// projections, biases, and lm_head unless tied).
  int64_t numParameters() const;

  /// Checks every size against limits far above any released model
  /// (hidden 2^20, intermediate 2^22, layers and heads 4096, head size 4096,
  /// vocabulary and positions 2^24), so that no size computed from a config
  /// overflows and no reader allocates for an absurd one; the error names
  /// the field. `parse` applies it; so must whoever builds a config.
  llvm::Error checkLimits(llvm::StringRef fileName) const;

  bool operator==(const ModelConfig &other) const;
  bool operator!=(const ModelConfig &other) const { return !(*this == other); }
};

/// "LlamaForCausalLM", "MistralForCausalLM" or "Qwen2ForCausalLM".
llvm::StringRef archName(ModelArch arch);

} // namespace pmpd

#endif // PMPD_MODEL_MODELCONFIG_H
