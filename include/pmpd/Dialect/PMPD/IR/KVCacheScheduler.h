//===- KVCacheScheduler.h - PMPD's prompt-adaptive scheduler ----*- C++ -*-===//
//
// PMPD's learned scheduler (the `kv_cache` scheduler of SamsungLabs/PMPD):
// once per generation, after the prompt is prefilled, one classifier per
// pair of consecutive decode precisions reads the prompt's last-layer KV
// cache and picks the decode step at which that pair's switch happens, out
// of a few candidates. A schedule `decode=kv-cache:FILE` compiles the
// classifiers of FILE into the decode entry (pmpd-insert-switch-points).
//
// Each classifier, with Q = heads, D = head_dim, T the prompt's positions:
//   k[t, d], v[t, d]   the last layer's keys and values averaged over the
//                      cache's KV heads
//   a[i, j, t]         = softmax_t(sum_d query[i, j, d] k[t, d] / sqrt(D))
//   x[d * Q + i]       = mean_j sum_t a[i, j, t] v[t, d]
//   logits             = out(relu(hidden(layer_norm(x))))
//   class              = argmax(logits) (the first of equal ones)
// Class c < switch_steps.size() switches at decode step switch_steps[c];
// the last class never switches. Stage i + 1 starts at the largest switch
// step chosen for the pairs up to i, so precision only steps down.
//
// The file is JSON (every matrix row-major, [out][in] for the linears):
//
//   {"format": "pmpd-kv-cache-scheduler", "version": 1,
//    "bits": [4, 3, 2], "switch_steps": [0, 21, 42],
//    "heads": 4, "head_dim": 64, "norm_epsilon": 1e-5,
//    "classifiers": [{"high": 4, "low": 3,
//                     "query": [Q*Q*D], "norm_weight": [Q*D],
//                     "norm_bias": [Q*D], "hidden_weight": [Q*D * Q*D],
//                     "hidden_bias": [Q*D],
//                     "out_weight": [classes * Q*D], "out_bias": [classes]},
//                    ...]}
//
// scripts/train_kv_scheduler.py writes it; python/pmpd/kv_scheduler.py is
// the same classifier in numpy.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_DIALECT_PMPD_IR_KVCACHESCHEDULER_H
#define PMPD_DIALECT_PMPD_IR_KVCACHESCHEDULER_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace pmpd {

struct KVCacheScheduler {
  static constexpr int64_t kFormatVersion = 1;
  static constexpr llvm::StringLiteral kFormat = "pmpd-kv-cache-scheduler";

  /// The classifier of the switch from `high` to `low` bits.
  struct Classifier {
    int64_t high = 0, low = 0;
    std::vector<float> query;                     // [Q][Q][D]
    std::vector<float> normWeight, normBias;      // [Q*D]
    std::vector<float> hiddenWeight, hiddenBias;  // [Q*D][Q*D], [Q*D]
    std::vector<float> outWeight, outBias;        // [classes][Q*D], [classes]
  };

  /// The decode precisions, strictly falling; classifiers[i] decides the
  /// switch from bits[i] to bits[i + 1].
  llvm::SmallVector<int64_t> bits;
  /// The candidate switch step of each class but the last ("never").
  llvm::SmallVector<int64_t> switchSteps;
  int64_t heads = 0, headDim = 0;
  double normEpsilon = 1e-5;
  std::vector<Classifier> classifiers;

  int64_t features() const { return heads * headDim; }
  int64_t classes() const { return int64_t(switchSteps.size()) + 1; }
  /// The decode entry's state: whether the classifiers have run since the
  /// last prefill (0 or 1), then the first step of each later stage.
  int64_t stateSize() const { return int64_t(bits.size()); }

  /// Parses and checks the JSON text of a scheduler file; errors name `path`
  /// and the field.
  static llvm::Expected<KVCacheScheduler> parse(llvm::StringRef json,
                                                llvm::StringRef path);
  /// Reads and parses the scheduler file at `path`.
  static llvm::Expected<KVCacheScheduler> load(llvm::StringRef path);
};

} // namespace pmpd

#endif // PMPD_DIALECT_PMPD_IR_KVCACHESCHEDULER_H
