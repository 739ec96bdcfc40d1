//===- Projections.cpp - What the phase passes share ----------------------===//
//
// See Projections.h: projections, the weights the schedule governs, and the
// precisions a weight can serve, as all three phase passes understand them.
//
//===----------------------------------------------------------------------===//

#include "Projections.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace pmpd;

FailureOr<SmallVector<Projection>>
pmpd::collectProjections(ModuleOp module, SymbolTableCollection &symbols) {
  SmallVector<Projection> projections;
  WalkResult result = module.walk([&](QLinearOp op) {
    auto get = op.getWeight().getDefiningOp<GetWeightOp>();
    WeightOp weight =
        get ? symbols.lookupNearestSymbolFrom<WeightOp>(get, get.getNameAttr())
            : WeightOp();
    if (!weight) {
      op.emitOpError("weight must be a pmpd.get_weight of a declared "
                     "pmpd.weight, so that its layer and precisions are known");
      return WalkResult::interrupt();
    }
    projections.push_back({op, weight});
    return WalkResult::advance();
  });
  if (result.wasInterrupted())
    return failure();
  return projections;
}

bool pmpd::isAlwaysFP16(WeightOp weight) {
  return isa<RankedTensorType>(weight.getType()) &&
         !weight.getSymName().starts_with("layers.");
}

std::optional<std::string> pmpd::whyCannotServe(WeightOp weight, unsigned bits,
                                                StringRef context) {
  StringRef name = weight.getSymName();
  auto qweight = dyn_cast<QWeightType>(weight.getType());
  if (isAlwaysFP16(weight)) {
    if (bits == 16)
      return std::nullopt;
    return llvm::formatv("{0} asks for {1} bits but weight @{2} is outside "
                         "the layers and always runs at fp16",
                         context, bits, name)
        .str();
  }
  if (!qweight) {
    if (bits == 16)
      return std::nullopt;
    return llvm::formatv("{0} asks for {1} bits but weight @{2} has no packed "
                         "any-precision copy; quantize the model with "
                         "pmpd-quantize",
                         context, bits, name)
        .str();
  }
  if (bits == 16)
    return llvm::formatv("fp16 asked of a packed-only model: weight @{0} has "
                         "no fp16 copy (asked by {1})",
                         name, context)
        .str();
  if (qweight.supportsBits(bits))
    return std::nullopt;
  bool below = bits < qweight.getSeed();
  return llvm::formatv("{0} asks for {1} bits, {2} the {3} of weight @{4}, "
                       "which serves {5} to {6} bits",
                       context, bits, below ? "below" : "above",
                       below ? "seed" : "parent", name, qweight.getSeed(),
                       qweight.getParent())
      .str();
}

PrecisionAttr pmpd::getFixedPrecision(QLinearOp op) {
  return op->getAttrOfType<PrecisionAttr>(PMPDDialect::getPrecisionAttrName());
}

LogicalResult pmpd::checkScheduleServable(ArrayRef<Projection> projections,
                                          ScheduleAttr schedule) {
  // Each precision once, named by the first part of the schedule asking.
  SmallVector<std::pair<unsigned, std::string>> asked;
  auto ask = [&](unsigned bits, std::string context) {
    if (llvm::none_of(asked, [&](auto &a) { return a.first == bits; }))
      asked.emplace_back(bits, std::move(context));
  };
  ask(schedule.getPrefill(), "prefill");
  for (auto [bits, step] :
       llvm::zip_equal(schedule.getBits(), schedule.getSteps()))
    ask(bits, llvm::formatv("decode stage {0}@{1}", bits, step).str());

  bool ok = true;
  for (auto &[bits, context] : asked) {
    llvm::SetVector<Operation *> failing;
    std::optional<std::string> firstProblem;
    QLinearOp firstUser;
    for (Projection p : projections) {
      if (isAlwaysFP16(p.weight) || getFixedPrecision(p.op))
        continue;
      std::optional<std::string> problem =
          whyCannotServe(p.weight, bits, context);
      if (!problem || !failing.insert(p.weight))
        continue;
      if (!firstProblem) {
        firstProblem = std::move(problem);
        firstUser = p.op;
      }
    }
    if (!firstProblem)
      continue;
    ok = false;
    InFlightDiagnostic diag = failing.front()->emitError(*firstProblem);
    diag.attachNote(firstUser.getLoc()) << "projection using it here";
    if (size_t more = failing.size() - 1)
      diag.attachNote() << more << " more projection weight"
                        << (more == 1 ? "" : "s") << " cannot serve " << bits
                        << " bits either";
  }
  return success(ok);
}

FailureOr<ScheduleAttr> pmpd::getModuleSchedule(ModuleOp module,
                                                StringRef passName) {
  auto schedule =
      module->getAttrOfType<ScheduleAttr>(PMPDDialect::getScheduleAttrName());
  if (!schedule) {
    module.emitError() << passName
                       << " needs the module's pmpd.schedule; run "
                          "pmpd-assign-precision first";
    return failure();
  }
  return schedule;
}

std::string pmpd::getDecodeVariantName(unsigned bits) {
  return "decode_b" + std::to_string(bits);
}
