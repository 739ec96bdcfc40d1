//===- Session.h - A loaded artifact and its KV cache -----------*- C++ -*-===//
//
// The runtime side of the compiled model: checks the manifest, maps the
// weights file, loads the shared library, owns the KV cache, and runs the
// compiled prefill and decode entry points. Precision switching happens inside
// the compiled decode entry; the session only reports what ran.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_RUNTIME_SESSION_H
#define PMPD_RUNTIME_SESSION_H

#include "pmpd/Runtime/Manifest.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <vector>

namespace pmpd {

class Session {
public:
  /// Loads the artifact in `dir`; every check of Manifest::load applies, and
  /// the library must export the manifest's entry points.
  static llvm::Expected<std::unique_ptr<Session>> open(llvm::StringRef dir);
  ~Session();

  const Manifest &manifest() const { return info; }
  int64_t vocabSize() const { return info.model.vocabSize; }
  int64_t maxPositions() const { return info.cachePositions; }
  /// Tokens already in the KV cache.
  int64_t position() const { return cached; }
  /// Forgets the cached tokens.
  void reset() { cached = 0; }

  /// Runs `ids` as prefill at the next positions; returns their logits,
  /// [ids.size()][vocab], valid until the next call.
  llvm::Expected<llvm::ArrayRef<float>> prefill(llvm::ArrayRef<int64_t> ids);

  /// Runs one decode step for `id` at the next position; `step` counts decode
  /// steps since prefill (the schedule's clock). Returns the logits [vocab]
  /// and sets `bits` to the precision the compiled switch point chose.
  llvm::Expected<llvm::ArrayRef<float>> decode(int64_t id, int64_t step,
                                               unsigned &bits);

private:
  Session() = default;
  /// `ids` fit in the cache and are in the vocabulary.
  llvm::Error checkTokens(llvm::ArrayRef<int64_t> ids) const;

  Manifest info;
  std::unique_ptr<llvm::MemoryBuffer> weights;
  void *library = nullptr;
  void *prefillFn = nullptr;
  void *decodeFn = nullptr;
  std::vector<float> kCache, vCache, logits;
  /// What a learned schedule's decode entry carries between steps.
  std::vector<float> schedulerState;
  int64_t cached = 0;
};

} // namespace pmpd

#endif // PMPD_RUNTIME_SESSION_H
