//===- AssignPrecision.cpp - Record the precision schedule ----------------===//
//
// pmpd-assign-precision: the one place a user's schedule and overrides meet
// the model's weights. Everything the later passes assume about precisions
// (every weight can serve what it will be asked) is checked here, where the
// diagnostic can still name the option the user wrote.
//
//===----------------------------------------------------------------------===//

#include "Projections.h"

#include "pmpd/Dialect/PMPD/IR/ScheduleSpec.h"
#include "pmpd/Dialect/PMPD/Transforms/Passes.h"

#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringMap.h"

namespace pmpd {
#define GEN_PASS_DEF_PMPDASSIGNPRECISION
#include "pmpd/Dialect/PMPD/Transforms/Passes.h.inc"
} // namespace pmpd

using namespace mlir;
using namespace pmpd;

namespace {

/// One `NAME=BITS` entry of the overrides option.
struct Override {
  std::string name;
  unsigned bits;
  std::string text;
  bool used = false;
};

} // namespace

/// Parses `NAME=BITS,...`; on error, emits it on `module` and fails.
static FailureOr<SmallVector<Override>> parseOverrides(ModuleOp module,
                                                       StringRef spec) {
  SmallVector<Override> overrides;
  SmallVector<StringRef> entries;
  spec.split(entries, ',', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  for (StringRef entry : entries) {
    entry = entry.trim();
    if (entry.empty())
      continue;
    // Not a structured binding: the lambda below captures `name`, which
    // C++17 does not allow of a binding (clang rejects it as C++20).
    std::pair<StringRef, StringRef> nameValue = entry.split('=');
    StringRef name = nameValue.first.trim();
    StringRef value = nameValue.second.trim();
    unsigned bits = 0;
    auto fail = [&](const Twine &why) {
      module.emitError() << "invalid override '" << entry << "': " << why;
      return failure();
    };
    if (name.empty() || !entry.contains('='))
      return fail("expected NAME=BITS, e.g. layers.0=4 or "
                  "layers.3.down_proj=4");
    if (value.getAsInteger(10, bits))
      return fail("bits '" + value + "' are not a number");
    if (!isSupportedBits(bits))
      return fail("unsupported precision " + Twine(bits) +
                  " bits; expected 2 to 8, or 16 for fp16");
    if (llvm::any_of(overrides, [&](auto &o) { return o.name == name; }))
      return fail("'" + name + "' is overridden twice");
    overrides.push_back({name.str(), bits, entry.str()});
  }
  return overrides;
}

/// The override governing the weight named `symbol`: the longest name equal
/// to it or a prefix of it followed by '.'.
static Override *findOverride(MutableArrayRef<Override> overrides,
                              StringRef symbol) {
  Override *best = nullptr;
  for (Override &o : overrides) {
    StringRef name = o.name;
    bool matches = symbol == name ||
                   (symbol.starts_with(name) && symbol[name.size()] == '.');
    if (matches && (!best || name.size() > best->name.size()))
      best = &o;
  }
  return best;
}

namespace {

struct AssignPrecisionPass
    : pmpd::impl::PMPDAssignPrecisionBase<AssignPrecisionPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(run()))
      signalPassFailure();
  }

  LogicalResult run() {
    ModuleOp module = getOperation();
    MLIRContext *context = module.getContext();

    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr(PMPDDialect::getPhaseAttrName()))
        return func.emitError()
               << "module is already specialized into phases (@"
               << func.getSymName()
               << "); assign precisions before pmpd-specialize-phases";

    FailureOr<ScheduleAttr> schedule = resolveSchedule(context);
    if (failed(schedule))
      return failure();

    SymbolTableCollection symbols;
    FailureOr<SmallVector<Projection>> projections =
        collectProjections(module, symbols);
    if (failed(projections))
      return failure();

    if (failed(applyOverrides(*projections)))
      return failure();
    if (failed(checkScheduleServable(*projections, *schedule)))
      return failure();
    module->setAttr(PMPDDialect::getScheduleAttrName(), *schedule);
    return success();
  }

  /// The schedule option, or the module's schedule when there is none.
  FailureOr<ScheduleAttr> resolveSchedule(MLIRContext *context) {
    ModuleOp module = getOperation();
    auto recorded =
        module->getAttrOfType<ScheduleAttr>(PMPDDialect::getScheduleAttrName());
    if (schedule.empty()) {
      if (!recorded) {
        module.emitError() << "no schedule: give pmpd-assign-precision a "
                              "schedule=prefill=P;decode=B0@0,... option or "
                              "the module a pmpd.schedule attribute";
        return failure();
      }
      return recorded;
    }
    llvm::Expected<ScheduleAttr> parsed = parseScheduleSpec(schedule, context);
    if (!parsed) {
      module.emitError() << llvm::toString(parsed.takeError());
      return failure();
    }
    // The variants pmpd-specialize-phases made from a recorded schedule would
    // no longer match it: a different one is a mistake, not a refinement.
    if (recorded && recorded != *parsed) {
      module.emitError() << "module already records schedule '"
                         << formatScheduleSpec(recorded)
                         << "', not the schedule '" << schedule
                         << "' asked for";
      return failure();
    }
    return *parsed;
  }

  /// Attaches the fixed precision of every overridden projection, after
  /// checking that its weight can serve it.
  LogicalResult applyOverrides(ArrayRef<Projection> projections) {
    ModuleOp module = getOperation();
    FailureOr<SmallVector<Override>> parsed = parseOverrides(module, overrides);
    if (failed(parsed))
      return failure();
    if (parsed->empty())
      return success();

    bool ok = true;
    llvm::SmallPtrSet<Operation *, 8> reported;
    for (Projection p : projections) {
      Override *o = findOverride(*parsed, p.weight.getSymName());
      if (!o)
        continue;
      o->used = true;
      if (std::optional<std::string> problem =
              whyCannotServe(p.weight, o->bits, "override '" + o->text + "'")) {
        if (reported.insert(p.weight).second) {
          p.weight.emitError(*problem).attachNote(p.op.getLoc())
              << "projection using it here";
        }
        ok = false;
        continue;
      }
      p.op->setAttr(PMPDDialect::getPrecisionAttrName(),
                    PrecisionAttr::get(module.getContext(), o->bits));
    }
    for (const Override &o : *parsed) {
      if (o.used)
        continue;
      InFlightDiagnostic diag = module.emitError()
                                << "override '" << o.text
                                << "' names no projection weight";
      if (!projections.empty()) {
        WeightOp example = projections.front().weight;
        diag.attachNote(example.getLoc())
            << "projection weights are named like @" << example.getSymName()
            << "; override a layer (layers.0) or one projection "
               "(layers.0.q_proj)";
      }
      ok = false;
    }
    return success(ok);
  }
};

} // namespace
