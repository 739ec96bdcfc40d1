//===- InsertSwitchPoints.cpp - The decode entry point --------------------===//
//
// pmpd-insert-switch-points: the switch logic of progressive mixed-precision
// decoding is compiled code, not runtime policy. @decode asks the schedule
// for the step's precision and calls the variant specialized for it; the
// runtime calls @decode and learns from its last result which precision ran.
// A learned schedule's classifier is read from its file here and becomes part
// of the IR; @decode then threads the scheduler state from step to step. A
// kv-cache schedule's classifiers run in @decode's first step after a
// prefill and leave their switch steps in that state.
//
//===----------------------------------------------------------------------===//

#include "KVCacheClassifier.h"
#include "Projections.h"

#include "pmpd/Dialect/PMPD/Transforms/Passes.h"

#include "pmpd/Dialect/PMPD/IR/LearnedScheduler.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

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

/// The classifier of `schedule`, read from its file, as the
/// `[transitions x (1 + features)]` attribute of pmpd.step_precision.
static FailureOr<DenseElementsAttr> loadClassifier(ModuleOp module,
                                                   ScheduleAttr schedule) {
  StringRef path = schedule.getLearned().getValue();
  llvm::Expected<LearnedScheduler> scheduler = LearnedScheduler::load(path);
  if (!scheduler) {
    module.emitError() << llvm::toString(scheduler.takeError());
    return failure();
  }
  ArrayRef<LearnedScheduler::Stage> stages = scheduler->stages;
  bool same = stages.size() == schedule.getBits().size();
  for (size_t i = 0; same && i < stages.size(); ++i)
    same = int64_t(stages[i].bits) == schedule.getBits()[i] &&
           stages[i].from == schedule.getSteps()[i];
  if (!same) {
    InFlightDiagnostic diag = module.emitError();
    diag << path << ": the scheduler's stages (";
    llvm::interleaveComma(stages, diag, [&](const auto &stage) {
      diag << stage.bits << "@" << stage.from;
    });
    diag << ") differ from the schedule's " << schedule;
    return failure();
  }
  SmallVector<float> values;
  for (const LearnedScheduler::Transition &t : scheduler->transitions) {
    values.push_back(t.bias);
    llvm::append_range(values, t.weights);
  }
  auto type =
      RankedTensorType::get({int64_t(scheduler->transitions.size()),
                             int64_t(1 + LearnedScheduler::kNumFeatures)},
                            Float32Type::get(module.getContext()));
  return DenseElementsAttr::get(type, ArrayRef<float>(values));
}

/// The scheduler state after a step that ran at `bits` and produced `logits`
/// ([1, vocab]): its stage index, the largest softmax probability and the
/// softmax's entropy, written into `state`.
static Value buildNextState(OpBuilder &b, Location loc, ScheduleAttr schedule,
                            Value state, Value bits, Value logits) {
  Type f32 = b.getF32Type();
  auto constF32 = [&](double v) {
    return arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32),
                                          APFloat(float(v)));
  };
  auto constIndex = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value zero = constIndex(0), one = constIndex(1);
  Value vocab =
      constIndex(cast<RankedTensorType>(logits.getType()).getDimSize(1));
  auto logitAt = [&](Value j) {
    return tensor::ExtractOp::create(b, loc, logits, ValueRange{zero, j});
  };

  // m = max_j l_j, then s = sum_j exp(l_j - m) and
  // t = sum_j exp(l_j - m) (l_j - m).
  auto maxLoop = scf::ForOp::create(
      b, loc, zero, vocab, one,
      ValueRange{constF32(-std::numeric_limits<float>::infinity())},
      [&](OpBuilder &b, Location loc, Value j, ValueRange acc) {
        Value m = arith::MaximumFOp::create(b, loc, acc[0], logitAt(j));
        scf::YieldOp::create(b, loc, m);
      });
  Value maxLogit = maxLoop.getResult(0);
  auto sumLoop = scf::ForOp::create(
      b, loc, zero, vocab, one, ValueRange{constF32(0), constF32(0)},
      [&](OpBuilder &b, Location loc, Value j, ValueRange acc) {
        Value d = arith::SubFOp::create(b, loc, logitAt(j), maxLogit);
        Value e = math::ExpOp::create(b, loc, d);
        Value s = arith::AddFOp::create(b, loc, acc[0], e);
        Value t = arith::AddFOp::create(b, loc, acc[1],
                                        arith::MulFOp::create(b, loc, e, d));
        scf::YieldOp::create(b, loc, ValueRange{s, t});
      });
  Value sum = sumLoop.getResult(0), weighted = sumLoop.getResult(1);
  // One op per statement: the order of ops created as arguments of one call
  // is unspecified in C++, and the emitted IR must not depend on the
  // compiler that built pmpd.
  Value confidence = arith::DivFOp::create(b, loc, constF32(1), sum);
  Value logSum = math::LogOp::create(b, loc, sum);
  Value mean = arith::DivFOp::create(b, loc, weighted, sum);
  Value entropy = arith::SubFOp::create(b, loc, logSum, mean);

  // Stages strictly step down, so the stage index of `bits` is the number
  // of later stages at or above it.
  Value stage = constF32(0);
  for (int64_t stageBits : schedule.getBits().drop_front()) {
    Value reached = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::sle, bits,
        arith::ConstantIntOp::create(b, loc, stageBits, 32));
    Value oneF = constF32(1);
    Value zeroF = constF32(0);
    Value step = arith::SelectOp::create(b, loc, reached, oneF, zeroF);
    stage = arith::AddFOp::create(b, loc, stage, step);
  }
  Value values[] = {stage, confidence, entropy};
  for (auto [i, value] : llvm::enumerate(values))
    state = tensor::InsertOp::create(b, loc, value, state,
                                     ValueRange{constIndex(i)});
  return state;
}

/// The classifiers of a kv-cache `schedule`, read from its file; their
/// precisions must be the schedule's.
static FailureOr<KVCacheScheduler> loadKVCacheScheduler(ModuleOp module,
                                                        ScheduleAttr schedule) {
  StringRef path = schedule.getLearned().getValue();
  llvm::Expected<KVCacheScheduler> scheduler = KVCacheScheduler::load(path);
  if (!scheduler) {
    module.emitError() << llvm::toString(scheduler.takeError());
    return failure();
  }
  if (ArrayRef<int64_t>(scheduler->bits) != schedule.getBits()) {
    InFlightDiagnostic diag = module.emitError();
    diag << path << ": the scheduler's precisions (";
    llvm::interleaveComma(scheduler->bits, diag);
    diag << ") differ from the schedule's " << schedule;
    return failure();
  }
  return std::move(*scheduler);
}

/// The position and the K and V caches among a decode variant's arguments:
/// its one i64 or index and its two rank-4 f32 tensors, in that order.
static LogicalResult findCacheArguments(func::FuncOp variant, ValueRange args,
                                        int64_t headDim,
                                        SmallVectorImpl<Value> &found) {
  Value position;
  SmallVector<Value> caches;
  for (Value arg : args) {
    if (arg.getType().isInteger(64) || arg.getType().isIndex())
      position = position ? Value() : arg;
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (type && type.getRank() == 4 && type.getElementType().isF32() &&
        type.hasStaticShape())
      caches.push_back(arg);
  }
  if (!position || caches.size() != 2)
    return variant.emitError()
           << "a kv_cache schedule reads the KV cache: the decode variants "
              "need one i64 or index position and two static "
              "tensor<LxMxHxDxf32> "
              "caches among their arguments; got "
           << variant.getFunctionType();
  int64_t cacheHeadDim =
      cast<RankedTensorType>(caches.front().getType()).getDimSize(3);
  if (cacheHeadDim != headDim)
    return variant.emitError()
           << "the kv_cache scheduler's classifiers read heads of " << headDim
           << ", but the KV cache's heads have " << cacheHeadDim;
  found.assign({position, caches[0], caches[1]});
  return success();
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
        getModuleSchedule(module, "pmpd-insert-switch-points");
    if (failed(schedule))
      return failure();
    DenseElementsAttr classifier;
    std::optional<KVCacheScheduler> kvScheduler;
    if (schedule->isKVCacheLearned()) {
      FailureOr<KVCacheScheduler> loaded =
          loadKVCacheScheduler(module, *schedule);
      if (failed(loaded))
        return failure();
      kvScheduler = std::move(*loaded);
    } else if (schedule->isLearned()) {
      FailureOr<DenseElementsAttr> loaded = loadClassifier(module, *schedule);
      if (failed(loaded))
        return failure();
      classifier = *loaded;
    }
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
    auto logitsType = variantType.getNumResults()
                          ? dyn_cast<RankedTensorType>(variantType.getResult(0))
                          : RankedTensorType();
    if (classifier &&
        (!logitsType || logitsType.getRank() != 2 ||
         logitsType.getDimSize(0) != 1 || logitsType.isDynamicDim(1) ||
         !logitsType.getElementType().isF32()))
      return variants.front().emitError()
             << "a learned schedule needs the decode variants' first result "
                "to be the logits, tensor<1xVxf32>; got "
             << variantType;
    int64_t stateSize = kvScheduler ? kvScheduler->stateSize()
                                    : LearnedScheduler::kStateSize;
    auto stateType =
        RankedTensorType::get({stateSize}, Float32Type::get(context));
    SmallVector<Type> inputs{IntegerType::get(context, 64)};
    llvm::append_range(inputs, variantType.getInputs());
    SmallVector<Type> results(variantType.getResults());
    if (classifier || kvScheduler) {
      inputs.push_back(stateType);
      results.push_back(stateType);
    }
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
    ValueRange args = entry->getArguments().drop_front().take_front(
        variantType.getNumInputs());
    Value state =
        classifier || kvScheduler ? entry->getArguments().back() : Value();
    if (kvScheduler) {
      // The first step after a prefill (the runtime zeroes the state then)
      // runs the classifiers on the prompt's cache.
      SmallVector<Value> cacheArgs;
      if (failed(findCacheArguments(variants.front(), args,
                                    kvScheduler->headDim, cacheArgs)))
        return failure();
      Value decided = tensor::ExtractOp::create(
          builder, loc, state,
          ValueRange{arith::ConstantIndexOp::create(builder, loc, 0)});
      Value zero = arith::ConstantFloatOp::create(
          builder, loc, builder.getF32Type(), APFloat(0.0f));
      Value undecided = arith::CmpFOp::create(
          builder, loc, arith::CmpFPredicate::OEQ, decided, zero);
      auto choose = scf::IfOp::create(
          builder, loc, undecided,
          [&](OpBuilder &b, Location loc) {
            Value chosen =
                buildKVCacheSchedule(b, loc, *kvScheduler, cacheArgs[1],
                                     cacheArgs[2], cacheArgs[0], state);
            scf::YieldOp::create(b, loc, chosen);
          },
          [&](OpBuilder &b, Location loc) {
            scf::YieldOp::create(b, loc, state);
          });
      state = choose.getResult(0);
    }

    Value precision =
        StepPrecisionOp::create(builder, loc, IntegerType::get(context, 32),
                                step, state, *schedule, classifier);
    Value index = arith::IndexCastOp::create(builder, loc,
                                             builder.getIndexType(), precision);
    SmallVector<int64_t> cases(bits.begin(), bits.end());
    SmallVector<Type> dispatchTypes(variantType.getResults());
    dispatchTypes.push_back(IntegerType::get(context, 32));
    auto dispatch = scf::IndexSwitchOp::create(builder, loc, dispatchTypes,
                                               index, cases, cases.size());
    for (auto [region, variant, b] :
         llvm::zip_equal(dispatch.getCaseRegions(), variants, bits))
      buildCase(builder, loc, region, variant, args, b);
    // step_precision of a static schedule yields one of its decode
    // precisions, so the default is dead; see the pass description.
    buildCase(builder, loc, dispatch.getDefaultRegion(), variants.front(), args,
              bits.front());
    SmallVector<Value> returned(dispatch.getResults());
    Value ran = returned.pop_back_val();
    if (classifier)
      returned.push_back(buildNextState(builder, loc, *schedule, state, ran,
                                        dispatch.getResult(0)));
    else if (kvScheduler)
      returned.push_back(state);
    returned.push_back(ran);
    func::ReturnOp::create(builder, loc, returned);
    return success();
  }
};

} // namespace
