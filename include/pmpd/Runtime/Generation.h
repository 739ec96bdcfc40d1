//===- Generation.h - Text generation and its statistics --------*- C++ -*-===//
//
// The decode loop over a Session: prefill the prompt, then one compiled decode
// step per token (the compiled switch point picks the precision), sampling
// greedily or with temperature and top-p, stopping at EOS. Statistics are what
// PMPD is judged by: prefill and per-precision decode speed, the average bits
// per decoded token, and where the precision switched.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_RUNTIME_GENERATION_H
#define PMPD_RUNTIME_GENERATION_H

#include "pmpd/Runtime/Session.h"

#include "llvm/Support/JSON.h"

#include <cstdint>
#include <vector>

namespace pmpd {

struct GenerationOptions {
  int64_t maxNewTokens = 64;
  float temperature = 0.0f; // 0: greedy.
  float topP = 1.0f;
  uint64_t seed = 0;
  int64_t eosId = -1; // < 0: never stop early.
  /// Keep every position's logits: the prompt's, then each decode step's.
  bool keepLogits = false;
};

/// Decode steps that ran at one precision, consecutively.
struct DecodeSegment {
  unsigned bits = 0;
  int64_t firstStep = 0;
  int64_t tokens = 0;
  double seconds = 0;
};

/// Why generation stopped.
enum class FinishReason {
  Length,   // maxNewTokens were generated.
  EOS,      // The model generated the EOS token.
  CacheFull // The KV cache has no position left.
};

/// "length", "eos" or "cache_full".
llvm::StringRef finishReasonName(FinishReason reason);

struct GenerationStats {
  FinishReason finishReason = FinishReason::Length;
  int64_t promptTokens = 0;
  double prefillSeconds = 0;
  std::vector<DecodeSegment> segments;
  std::vector<int64_t> switchSteps; // Steps whose precision differs from the
                                    // step before.
  int64_t decodeTokens() const;
  double decodeSeconds() const;
  double averageDecodeBits() const;
  llvm::json::Value toJSON() const;
};

struct GenerationResult {
  std::vector<int64_t> generated; // Includes the EOS that stopped it.
  GenerationStats stats;
  /// [prompt + decode steps][vocab] with GenerationOptions::keepLogits.
  std::vector<float> logits;
};

/// Picks the next token from `logits` (greedy when temperature is 0).
int64_t sampleToken(llvm::ArrayRef<float> logits, const GenerationOptions &,
                    uint64_t &rngState);

/// Generates from `prompt` on a fresh cache (the session is reset first).
llvm::Expected<GenerationResult> generate(Session &session,
                                          llvm::ArrayRef<int64_t> prompt,
                                          const GenerationOptions &options);

} // namespace pmpd

#endif // PMPD_RUNTIME_GENERATION_H
