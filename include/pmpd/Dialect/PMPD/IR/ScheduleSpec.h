//===- ScheduleSpec.h - The textual schedule of CLIs and manifests -*- C++ -*-===//
//
// One schedule syntax everywhere a user writes one (command lines, pass
// options, manifests): `prefill=P;decode=B0@0,B1@S1,...`, with 16 meaning fp16
// and an optional `;nonmonotone`. A learned scheduler adds `;learned=FILE` to
// the stages it may choose among; `decode=learned:FILE` takes those stages
// from FILE. PMPD's prompt-adaptive scheduler, `decode=kv-cache:FILE`, takes
// its precisions from FILE and is written back as
// `prefill=P;decode=B0@0,B1@0,...;learned=FILE;kv-cache`. It maps one to one
// onto #pmpd.schedule.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_DIALECT_PMPD_IR_SCHEDULESPEC_H
#define PMPD_DIALECT_PMPD_IR_SCHEDULESPEC_H

#include "pmpd/Dialect/PMPD/IR/PMPD.h"

#include "llvm/Support/Error.h"

#include <string>

namespace pmpd {

/// Parses `spec` into a verified schedule attribute. Errors say which part of
/// the spec is wrong and why (syntax, unsupported bits, steps not increasing,
/// precision rising in a monotone schedule).
llvm::Expected<ScheduleAttr> parseScheduleSpec(llvm::StringRef spec,
                                               mlir::MLIRContext *context);

/// The spec that `parseScheduleSpec` reads back to `schedule`.
std::string formatScheduleSpec(ScheduleAttr schedule);

} // namespace pmpd

#endif // PMPD_DIALECT_PMPD_IR_SCHEDULESPEC_H
