//===- SpecializePhases.cpp - One function per phase and precision --------===//
//
// pmpd-specialize-phases: prefill and decode want different code (N tokens,
// matrix-matrix, against one token, matrix-vector) and decode wants one copy
// per precision, so that a switch point only picks a function. This pass
// makes those copies from the importer's @forward and specializes the decode
// copies' shapes to one token by canonicalization, not by hand: every op
// whose folders understand static shapes takes part.
//
//===----------------------------------------------------------------------===//

#include "Projections.h"

#include "pmpd/Dialect/PMPD/Transforms/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Rewrite/FrozenRewritePatternSet.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringSet.h"

namespace pmpd {
#define GEN_PASS_DEF_PMPDSPECIALIZEPHASES
#include "pmpd/Dialect/PMPD/Transforms/Passes.h.inc"
} // namespace pmpd

using namespace mlir;
using namespace pmpd;

/// Gives every projection of `func` its precision: its fixed one if
/// pmpd-assign-precision attached one, 16 for an always-fp16 weight, else
/// `bits`. The fixed-precision attribute has then served its purpose.
static void assignPrecisions(func::FuncOp func, unsigned bits,
                             SymbolTableCollection &symbols) {
  MLIRContext *context = func.getContext();
  func.walk([&](QLinearOp op) {
    auto get = op.getWeight().getDefiningOp<GetWeightOp>();
    auto weight =
        symbols.lookupNearestSymbolFrom<WeightOp>(get, get.getNameAttr());
    unsigned opBits = bits;
    if (PrecisionAttr fixed = getFixedPrecision(op))
      opBits = fixed.getBits();
    else if (isAlwaysFP16(weight))
      opBits = 16;
    op.setPrecisionAttr(PrecisionAttr::get(context, opBits));
    op->removeAttr(PMPDDialect::getPrecisionAttrName());
  });
}

/// Tags `func` with the phase and precision it serves.
static void tagVariant(func::FuncOp func, Phase phase, unsigned bits) {
  MLIRContext *context = func.getContext();
  func->setAttr(PMPDDialect::getPhaseAttrName(),
                PhaseAttr::get(context, phase));
  func->setAttr(PMPDDialect::getPrecisionAttrName(),
                PrecisionAttr::get(context, bits));
}

/// Returns values through no tensor.cast that only erases static shape
/// information, and makes the function's result types say so.
static void refineResultTypes(func::FuncOp func) {
  SmallVector<Type> results(func.getResultTypes());
  func.walk([&](func::ReturnOp ret) {
    for (OpOperand &operand : ret->getOpOperands()) {
      auto cast = operand.get().getDefiningOp<tensor::CastOp>();
      if (!cast || !tensor::preservesStaticInformation(
                       cast.getType(), cast.getSource().getType()))
        continue;
      operand.set(cast.getSource());
      if (cast->use_empty())
        cast.erase();
    }
  });
  // Every return must agree; with several, a result refines only if all do.
  SmallVector<func::ReturnOp> returns;
  func.walk([&](func::ReturnOp ret) { returns.push_back(ret); });
  for (unsigned i = 0, e = results.size(); i < e; ++i) {
    Type type = returns.front().getOperand(i).getType();
    bool agree = llvm::all_of(returns, [&](func::ReturnOp ret) {
      return ret.getOperand(i).getType() == type;
    });
    if (agree) {
      results[i] = type;
      continue;
    }
    for (func::ReturnOp ret : returns) {
      OpBuilder builder(ret);
      Value value = ret.getOperand(i);
      if (value.getType() != results[i])
        ret.setOperand(i, tensor::CastOp::create(builder, ret.getLoc(),
                                                 results[i], value));
    }
  }
  func.setFunctionType(
      FunctionType::get(func.getContext(), func.getArgumentTypes(), results));
}

namespace {

struct SpecializePhasesPass
    : pmpd::impl::PMPDSpecializePhasesBase<SpecializePhasesPass> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *context) override {
    // The canonicalizer's patterns: every dialect's and every op's.
    RewritePatternSet patterns(context);
    for (Dialect *dialect : context->getLoadedDialects())
      dialect->getCanonicalizationPatterns(patterns);
    for (RegisteredOperationName op : context->getRegisteredOperations())
      op.getCanonicalizationPatterns(patterns, context);
    canonicalization = FrozenRewritePatternSet(std::move(patterns));
    return success();
  }

  void runOnOperation() override {
    if (failed(run()))
      signalPassFailure();
  }

  LogicalResult run() {
    ModuleOp module = getOperation();
    FailureOr<ScheduleAttr> schedule =
        getModuleSchedule(module, "pmpd-specialize-phases");
    if (failed(schedule))
      return failure();

    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward) {
      InFlightDiagnostic diag = module.emitError()
                                << "no @forward to specialize";
      if (auto prefill = module.lookupSymbol<func::FuncOp>("prefill"))
        diag.attachNote(prefill.getLoc())
            << "the module is already specialized: @prefill is here";
      return failure();
    }
    auto tokensType =
        forward.getNumArguments()
            ? dyn_cast<RankedTensorType>(forward.getArgumentTypes().front())
            : RankedTensorType();
    if (forward.isExternal() || !tokensType || tokensType.getRank() != 1 ||
        !tokensType.getElementType().isInteger(64))
      return forward.emitError()
             << "@forward must have a body and take the tokens, "
                "tensor<?xi64>, as its first argument";

    SmallVector<std::pair<std::string, unsigned>> decodeVariants;
    for (unsigned bits : schedule->getDistinctDecodeBits())
      decodeVariants.emplace_back(getDecodeVariantName(bits), bits);
    SmallVector<StringRef> names{"prefill"};
    for (auto &[name, bits] : decodeVariants)
      names.push_back(name);
    for (StringRef name : names)
      if (Operation *existing = module.lookupSymbol(name))
        return existing->emitError()
               << "@" << name << " already exists; pmpd-specialize-phases "
               << "creates it from @forward";

    SymbolTableCollection symbols;
    FailureOr<SmallVector<Projection>> projections =
        collectProjections(module, symbols);
    if (failed(projections))
      return failure();
    // pmpd-assign-precision checked all this against the schedule it was
    // given; a schedule or fixed precision written by hand was not.
    bool servable = succeeded(checkScheduleServable(*projections, *schedule));
    for (Projection p : *projections) {
      PrecisionAttr fixed = getFixedPrecision(p.op);
      if (!fixed)
        continue;
      if (std::optional<std::string> problem = whyCannotServe(
              p.weight, fixed.getBits(), "fixed pmpd.precision")) {
        p.op.emitError(*problem);
        servable = false;
      }
    }
    if (!servable)
      return failure();

    SymbolTable symbolTable(module);
    auto makeVariant = [&](StringRef name, Phase phase, unsigned bits) {
      func::FuncOp variant = forward.clone();
      variant.setSymName(name);
      symbolTable.insert(variant, Block::iterator(forward));
      tagVariant(variant, phase, bits);
      assignPrecisions(variant, bits, symbols);
      // A weight @forward fetched but never used is not the variant's.
      variant.walk([](GetWeightOp get) {
        if (get->use_empty())
          get.erase();
      });
      return variant;
    };
    makeVariant("prefill", Phase::prefill, schedule->getPrefill());
    for (auto &[name, bits] : decodeVariants)
      specializeToOneToken(makeVariant(name, Phase::decode, bits));

    symbolTable.erase(forward);
    eraseUnusedWeights(module);
    return success();
  }

  /// Makes `func`'s tokens a tensor<1xi64> and lets canonicalization
  /// propagate the static shape through the body.
  void specializeToOneToken(func::FuncOp func) {
    BlockArgument tokens = func.getArgument(0);
    Type dynamicType = tokens.getType();
    auto oneToken = RankedTensorType::get(
        {1}, cast<RankedTensorType>(dynamicType).getElementType());
    tokens.setType(oneToken);
    SmallVector<Type> inputs(func.getArgumentTypes());
    inputs.front() = oneToken;
    func.setFunctionType(
        FunctionType::get(func.getContext(), inputs, func.getResultTypes()));

    OpBuilder builder = OpBuilder::atBlockBegin(&func.front());
    auto cast =
        tensor::CastOp::create(builder, func.getLoc(), dynamicType, tokens);
    tokens.replaceAllUsesExcept(cast, cast);
    // Not converging within the driver's iteration limit leaves a correct,
    // merely less static, body: nothing to report.
    (void)applyPatternsGreedily(func, canonicalization);
    refineResultTypes(func);
  }

  /// Erases the weight declarations no function reads any more, so that a
  /// variant carries nothing it does not need.
  static void eraseUnusedWeights(ModuleOp module) {
    llvm::StringSet<> used;
    module.walk([&](GetWeightOp get) { used.insert(get.getName()); });
    for (WeightOp weight :
         llvm::make_early_inc_range(module.getOps<WeightOp>()))
      if (!used.contains(weight.getSymName()))
        weight.erase();
  }

  FrozenRewritePatternSet canonicalization;
};

} // namespace
