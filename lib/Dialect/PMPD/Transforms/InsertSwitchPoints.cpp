//===- InsertSwitchPoints.cpp - The decode entry point --------------------===//
//
// pmpd-insert-switch-points: the switch logic of progressive mixed-precision
// decoding is compiled code, not runtime policy. @decode asks the schedule
// for the step's precision and calls the variant specialized for it; the
// runtime calls @decode and learns from its last result which precision ran.
//
//===----------------------------------------------------------------------===//

#include "Projections.h"

#include "pmpd/Dialect/PMPD/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace pmpd {
#define GEN_PASS_DEF_PMPDINSERTSWITCHPOINTS
#include "pmpd/Dialect/PMPD/Transforms/Passes.h.inc"
} // namespace pmpd

using namespace mlir;
using namespace pmpd;

/// Fills `region` with a call of `variant` on `args` that yields its results
/// and `bits`, the precision it runs at.
static void buildCase(OpBuilder &builder, Location loc, Region &region,
                      func::FuncOp variant, ValueRange args, unsigned bits) {
  OpBuilder::InsertionGuard guard(builder);
  builder.createBlock(&region);
  auto call = func::CallOp::create(builder, loc, variant, args);
  SmallVector<Value> results(call.getResults());
  results.push_back(arith::ConstantIntOp::create(builder, loc, bits, 32));
  scf::YieldOp::create(builder, loc, results);
}

namespace {

struct InsertSwitchPointsPass
    : pmpd::impl::PMPDInsertSwitchPointsBase<InsertSwitchPointsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(run()))
      signalPassFailure();
  }

  LogicalResult run() {
    ModuleOp module = getOperation();
    FailureOr<ScheduleAttr> schedule =
        getStaticSchedule(module, "pmpd-insert-switch-points");
    if (failed(schedule))
      return failure();
    if (!schedule->getMonotone())
      return module.emitError()
             << "pmpd-insert-switch-points supports monotone schedules only, "
                "not "
             << *schedule;
    if (Operation *existing = module.lookupSymbol("decode"))
      return existing->emitError()
             << "@decode already exists; pmpd-insert-switch-points creates it";

    // The variants, in schedule order, all of one signature.
    SmallVector<unsigned> bits = schedule->getDistinctDecodeBits();
    SmallVector<func::FuncOp> variants;
    for (unsigned b : bits) {
      std::string name = getDecodeVariantName(b);
      auto variant = module.lookupSymbol<func::FuncOp>(name);
      if (!variant)
        return module.emitError()
               << "the schedule decodes at " << b << " bits but the module "
               << "has no @" << name << "; run pmpd-specialize-phases first";
      if (!variants.empty() &&
          variant.getFunctionType() != variants.front().getFunctionType()) {
        func::FuncOp first = variants.front();
        variant.emitError()
                .append("@", name, " has type ", variant.getFunctionType(),
                        ", unlike the first decode variant")
                .attachNote(first.getLoc())
            << "@" << first.getSymName() << " has type "
            << first.getFunctionType();
        return failure();
      }
      variants.push_back(variant);
    }

    MLIRContext *context = module.getContext();
    Location loc = variants.back().getLoc();
    FunctionType variantType = variants.front().getFunctionType();
    SmallVector<Type> inputs{IntegerType::get(context, 64)};
    llvm::append_range(inputs, variantType.getInputs());
    SmallVector<Type> results(variantType.getResults());
    results.push_back(IntegerType::get(context, 32));

    OpBuilder builder(context);
    builder.setInsertionPointAfter(variants.back());
    auto decode = func::FuncOp::create(
        builder, loc, "decode", FunctionType::get(context, inputs, results));
    decode->setAttr(PMPDDialect::getPhaseAttrName(),
                    PhaseAttr::get(context, Phase::decode));
    Block *entry = decode.addEntryBlock();
    builder.setInsertionPointToStart(entry);
    Value step = entry->getArgument(0);
    ValueRange args = entry->getArguments().drop_front();

    Value precision =
        StepPrecisionOp::create(builder, loc, IntegerType::get(context, 32),
                                step, /*features=*/Value(), *schedule);
    Value index = arith::IndexCastOp::create(builder, loc,
                                             builder.getIndexType(), precision);
    SmallVector<int64_t> cases(bits.begin(), bits.end());
    auto dispatch = scf::IndexSwitchOp::create(builder, loc, results, index,
                                               cases, cases.size());
    for (auto [region, variant, b] :
         llvm::zip_equal(dispatch.getCaseRegions(), variants, bits))
      buildCase(builder, loc, region, variant, args, b);
    // step_precision of a static schedule yields one of its decode
    // precisions, so the default is dead; see the pass description.
    buildCase(builder, loc, dispatch.getDefaultRegion(), variants.front(), args,
              bits.front());
    func::ReturnOp::create(builder, loc, dispatch.getResults());
    return success();
  }
};

} // namespace
