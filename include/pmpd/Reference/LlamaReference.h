//===- LlamaReference.h - fp32 forward pass of a LLaMA decoder --*- C++ -*-===//
//
// The numbers every compiled model is judged against: a plain fp32 forward
// pass of a LLaMA-family decoder (LLaMA, Mistral, Qwen2) over a whole
// sequence, with no cache and no quantization of its own. The seven
// projections of each layer can be replaced (by dequantized any-precision
// weights, say) to measure what quantization costs, and observed (their
// input activations) to calibrate a quantizer.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_REFERENCE_LLAMAREFERENCE_H
#define PMPD_REFERENCE_LLAMAREFERENCE_H

#include "pmpd/Model/HFModel.h"
#include "pmpd/Model/ModelConfig.h"
#include "pmpd/Reference/Gemm.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace pmpd {

/// Sees the input activations of every projection during a forward pass.
struct ProjectionObserver {
  virtual ~ProjectionObserver();
  /// `x` is row-major [tokens, features]; `features` is the projection's
  /// input size. Called on the thread that called `forward`, in layer order
  /// and, within a layer, in the order Q, K, V, O, Gate, Up, Down (Q, K and
  /// V see the same activations, as do Gate and Up). `x` is valid only for
  /// the duration of the call.
  virtual void observe(int64_t layer, Projection p, const float *x,
                       int64_t tokens, int64_t features) = 0;
};

class LlamaReference {
public:
  /// Converts every weight of `model` to fp32; `model` is not referenced
  /// afterwards.
  static llvm::Expected<std::unique_ptr<LlamaReference>>
  create(const HFModel &model);

  const ModelConfig &config() const { return cfg; }

  /// Replaces a projection's weight by `w`, row-major [out, in] as Hugging
  /// Face stores it (see projectionShape). Fails, changing nothing, if the
  /// layer does not exist or `w` has the wrong number of elements.
  llvm::Error setProjection(int64_t layer, Projection p,
                            llvm::ArrayRef<float> w);
  /// The projection's current weight, row-major [out, in].
  std::vector<float> projection(int64_t layer, Projection p) const;

  /// Fails if an id is outside the vocabulary, naming it and its position.
  llvm::Error checkIds(llvm::ArrayRef<int32_t> ids) const;

  /// Logits, row-major [ids.size(), vocab], of a sequence starting at
  /// position 0. Every id must be in the vocabulary (see checkIds).
  std::vector<float> forward(llvm::ArrayRef<int32_t> ids,
                             ProjectionObserver *observer = nullptr) const;

  /// Sum over t in [0, n-2] of -log p(ids[t+1] | ids[0..t]); `count` is set
  /// to the number of terms, n - 1 (0 when n < 2, with a sum of 0).
  double sequenceNLL(llvm::ArrayRef<int32_t> ids, int64_t &count) const;

  /// The gradient of sequenceNLL(ids) with respect to each projection's
  /// weight, row-major [out, in] like `projection`, by backpropagation in
  /// fp32. `sink` sees each projection once, from the last layer to the
  /// first, on the calling thread; the gradient is valid during the call.
  /// Fails for fewer than 2 ids or an id outside the vocabulary.
  llvm::Error
  projectionGradients(llvm::ArrayRef<int32_t> ids,
                      llvm::function_ref<void(int64_t layer, Projection p,
                                              llvm::ArrayRef<float> gradient)>
                          sink) const;

private:
  LlamaReference() = default;
  struct Trace;
  std::vector<float> forward(llvm::ArrayRef<int32_t> ids,
                             ProjectionObserver *observer, Trace *trace) const;

  struct Layer {
    std::vector<float> inputNorm, postAttentionNorm;
    PackedMatrix proj[kNumProjections];
    std::vector<float> bias[3]; // Q, K, V; empty without attention bias.
  };

  ModelConfig cfg;
  std::vector<float> embedding; // [vocab, hidden]
  std::vector<Layer> layers;
  std::vector<float> finalNorm;
  PackedMatrix lmHead;
  std::vector<double> invFreq; // [headDim / 2]
};

/// Perplexity of a model over documents, as fixtures/README.md defines it.
struct PerplexityOptions {
  /// Documents are truncated to their first `maxLength` ids.
  int64_t maxLength = 512;
  /// Documents with fewer ids (after truncation) are skipped.
  int64_t minLength = 32;
};

struct PerplexityResult {
  double totalNLL = 0.0; // Summed next-token negative log-likelihood.
  int64_t tokens = 0;    // Predicted tokens.
  int64_t documents = 0; // Documents scored (not skipped).
  double perplexity() const;
};

/// For each document in order: truncate, skip if short, sum the NLL of
/// positions 1..n-1. Fails if a document holds an id outside the vocabulary
/// (naming the document), or if the options are not at least 2.
llvm::Expected<PerplexityResult>
evaluatePerplexity(const LlamaReference &model,
                   llvm::ArrayRef<std::vector<int32_t>> docs,
                   const PerplexityOptions &options = {});

} // namespace pmpd

#endif // PMPD_REFERENCE_LLAMAREFERENCE_H
