//===- Session.h - A loaded artifact and its KV cache -----------*- C++ -*-===//
//
// The runtime side of the compiled model, the same for every target: checks
// the manifest, picks the executor of the artifact's target (which holds the
// weights, the KV cache and the compiled code), checks every token before it
// runs, and keeps the position. Precision switching happens inside the
// compiled decode entry; the session only reports what ran.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_RUNTIME_SESSION_H
#define PMPD_RUNTIME_SESSION_H

#include "pmpd/Artifact/Manifest.h"
#include "pmpd/Runtime/Executor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <algorithm>
#include <memory>
#include <vector>

namespace pmpd {

class Session {
public:
  /// Loads the artifact in `dir`; every check of Manifest::load applies, and
  /// the target's executor must be able to run it.
  static llvm::Expected<std::unique_ptr<Session>>
  open(llvm::StringRef dir, const SessionOptions &options = {});

  const Manifest &manifest() const { return info; }
  const Executor &executor() const { return *runner; }
  int64_t vocabSize() const { return info.model.vocabSize; }
  int64_t maxPositions() const { return info.cachePositions; }
  /// Tokens already in the KV cache.
  int64_t position() const { return cached; }
  /// Forgets the cached tokens.
  void reset() { cached = 0; }
  /// Forgets the tokens cached at positions `position` and later (none if
  /// fewer are cached); the schedule's state is kept.
  void rewind(int64_t position) {
    cached = std::min(cached, std::max<int64_t>(position, 0));
  }

  /// Runs `ids` as prefill at the next positions; returns their logits,
  /// [ids.size()][vocab], valid until the next call.
  llvm::Expected<llvm::ArrayRef<float>> prefill(llvm::ArrayRef<int64_t> ids);

  /// Runs one decode step for `id` at the next position; `step` counts decode
  /// steps since prefill (the schedule's clock). Returns the logits [vocab]
  /// and sets `bits` to the precision the compiled switch point chose.
  llvm::Expected<llvm::ArrayRef<float>> decode(int64_t id, int64_t step,
                                               unsigned &bits);

  /// Copies the cached keys and values of `layer` at positions
  /// [0, count), each [count][kvHeads][headDim] floats; `count` may not
  /// exceed position().
  llvm::Error readCache(int64_t layer, int64_t count, float *keys,
                        float *values);

private:
  Session() = default;
  /// `ids` fit in the cache and are in the vocabulary.
  llvm::Error checkTokens(llvm::ArrayRef<int64_t> ids) const;

  Manifest info;
  std::unique_ptr<Executor> runner;
  std::vector<float> logits;
  int64_t cached = 0;
};

} // namespace pmpd

#endif // PMPD_RUNTIME_SESSION_H
