//===- LearnedScheduler.h - A learned decode scheduler ----------*- C++ -*-===//
//
// A learned schedule (`decode=learned:FILE`) lets a classifier decide when
// decode steps down to the next precision, instead of fixed step thresholds.
// The classifier is a logistic regression per transition over features of the
// previous decode step's output distribution; the compiled decode entry
// evaluates it in IR and carries its state between steps (see
// pmpd-insert-switch-points).
//
// The file is JSON:
//
//   {"format": "pmpd-learned-scheduler", "version": 1,
//    "stages": [{"bits": 4, "from": 0}, {"bits": 3, "from": 16}, ...],
//    "transitions": [{"bias": -2.5,
//                     "weights": {"confidence": 4.1, "entropy": -0.7,
//                                 "step": 0.01}}, ...]}
//
// Stage i+1 may start no earlier than its `from` step; while decode is in
// stage i and that step is reached, the step switches when
// bias + sum(weights * features) > 0. Precisions only step down.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_DIALECT_PMPD_IR_LEARNEDSCHEDULER_H
#define PMPD_DIALECT_PMPD_IR_LEARNEDSCHEDULER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>

namespace pmpd {

struct LearnedScheduler {
  static constexpr int64_t kFormatVersion = 1;
  static constexpr llvm::StringLiteral kFormat = "pmpd-learned-scheduler";

  /// The classifier's features, in the order of `Transition::weights`:
  /// the previous step's largest softmax probability, the entropy of its
  /// softmax in nats, and the decode step (as a float).
  static constexpr std::array<llvm::StringLiteral, 3> kFeatures = {
      "confidence", "entropy", "step"};
  static constexpr unsigned kNumFeatures = kFeatures.size();

  /// The state the decode entry carries between steps: the current stage
  /// index, then the previous step's confidence and entropy.
  static constexpr int64_t kStateSize = 3;

  struct Stage {
    unsigned bits;
    int64_t from;
  };
  struct Transition {
    float bias = 0;
    std::array<float, kNumFeatures> weights{};
  };

  llvm::SmallVector<Stage> stages;
  /// transitions[i] decides the step from stages[i] to stages[i + 1].
  llvm::SmallVector<Transition> transitions;

  /// Parses and checks the JSON text of a scheduler file; errors name `path`.
  static llvm::Expected<LearnedScheduler> parse(llvm::StringRef json,
                                                llvm::StringRef path);
  /// Reads and parses the scheduler file at `path`.
  static llvm::Expected<LearnedScheduler> load(llvm::StringRef path);
};

} // namespace pmpd

#endif // PMPD_DIALECT_PMPD_IR_LEARNEDSCHEDULER_H
