//===- KVCacheClassifier.h - PMPD's prompt-adaptive classifier --*- C++ -*-===//
//
// The classifiers of a kv-cache schedule (KVCacheScheduler.h) as linalg and
// arith on tensors, so that every target's lowering compiles them like the
// model's own layers. pmpd-insert-switch-points calls this once, for the
// decode entry's first step after a prefill.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_LIB_DIALECT_PMPD_TRANSFORMS_KVCACHECLASSIFIER_H
#define PMPD_LIB_DIALECT_PMPD_TRANSFORMS_KVCACHECLASSIFIER_H

#include "pmpd/Dialect/PMPD/IR/KVCacheScheduler.h"

#include "mlir/IR/Builders.h"

namespace pmpd {

/// The scheduler state the classifiers of `scheduler` choose from the last
/// layer of `kCache` and `vCache` ([layers][positions][kv heads][head dim],
/// f32), of which the rows [0, `position`) (an i64 or index) are the prompt's,
/// written into `state` (tensor<stages x f32>): 1 (decided), then the first
/// decode step of each later stage (+inf: never).
mlir::Value buildKVCacheSchedule(mlir::OpBuilder &b, mlir::Location loc,
                                 const KVCacheScheduler &scheduler,
                                 mlir::Value kCache, mlir::Value vCache,
                                 mlir::Value position, mlir::Value state);

} // namespace pmpd

#endif // PMPD_LIB_DIALECT_PMPD_TRANSFORMS_KVCACHECLASSIFIER_H
