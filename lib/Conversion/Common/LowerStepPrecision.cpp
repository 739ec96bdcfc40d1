//===- LowerStepPrecision.cpp - Switch points as arithmetic ---------------===//
//
// pmpd.step_precision is the switch point of the compiled decode entry; its
// lowering is the same on every target: a compare/select chain over a static
// schedule's thresholds, a learned schedule's classifier expanded into
// arithmetic over the state the decode entry carries, or, for a kv-cache
// schedule, the thresholds its classifiers wrote into that state.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Conversion/KernelLowering.h"
#include "pmpd/Conversion/Passes.h"
#include "pmpd/Dialect/PMPD/IR/PMPD.h"

#include "mlir/IR/Builders.h"

namespace pmpd {
#define GEN_PASS_DEF_PMPDLOWERSTEPPRECISION
#include "pmpd/Conversion/Passes.h.inc"
} // namespace pmpd

using namespace mlir;
using namespace pmpd;

namespace {

/// The stage a learned schedule runs `op`'s step at: the state's stage, or
/// the next one when its first step is reached and its classifier fires.
Value lowerLearnedStage(OpBuilder &b, StepPrecisionOp op) {
  Location loc = op.getLoc();
  ScheduleAttr schedule = op.getSchedule();
  Value state = op.getFeatures();
  auto stateAt = [&](int64_t i) -> Value {
    return tensor::ExtractOp::create(
        b, loc, state, ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
  };
  Type f32 = b.getF32Type();
  Value features[] = {stateAt(1), stateAt(2),
                      arith::SIToFPOp::create(b, loc, f32, op.getStep())};
  int64_t last = schedule.getBits().size() - 1;
  Value stage = arith::FPToSIOp::create(b, loc, b.getI32Type(), stateAt(0));
  stage = arith::MaxSIOp::create(b, loc, stage, i32Constant(b, loc, 0));
  stage = arith::MinSIOp::create(b, loc, stage, i32Constant(b, loc, last));

  auto rows = op.getClassifier()->getValues<float>();
  int64_t width = 1 + std::size(features);
  auto constF32 = [&](float v) {
    return arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32),
                                          APFloat(v));
  };
  Value advance = arith::ConstantIntOp::create(b, loc, b.getI1Type(), 0);
  for (int64_t i = 0; i < last; ++i) {
    Value z = constF32(rows[i * width]);
    for (auto [f, feature] : llvm::enumerate(features)) {
      Value weight = constF32(rows[i * width + 1 + f]);
      Value term = arith::MulFOp::create(b, loc, weight, feature);
      z = arith::AddFOp::create(b, loc, z, term);
    }
    Value here = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, stage,
                                       i32Constant(b, loc, i));
    Value allowed =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, op.getStep(),
                              i64Constant(b, loc, schedule.getSteps()[i + 1]));
    Value fires = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, z,
                                        constF32(0));
    Value permitted = arith::AndIOp::create(b, loc, allowed, fires);
    Value go = arith::AndIOp::create(b, loc, here, permitted);
    advance = arith::OrIOp::create(b, loc, advance, go);
  }
  Value step = arith::ExtUIOp::create(b, loc, b.getI32Type(), advance);
  return arith::AddIOp::create(b, loc, stage, step);
}

/// Whether a kv-cache schedule's stage `i` has started at `op`'s step: the
/// state holds each later stage's first step (+inf: never) from index 1.
Value lowerKVCacheStageReached(OpBuilder &b, StepPrecisionOp op, int64_t i) {
  Location loc = op.getLoc();
  Value first = tensor::ExtractOp::create(
      b, loc, op.getFeatures(),
      ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
  Value step = arith::SIToFPOp::create(b, loc, b.getF32Type(), op.getStep());
  return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, step, first);
}

void lowerStepPrecision(StepPrecisionOp op) {
  ScheduleAttr schedule = op.getSchedule();
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value bits = i32Constant(b, loc, schedule.getBits().front());
  if (schedule.isKVCacheLearned()) {
    for (size_t i = 1, e = schedule.getBits().size(); i < e; ++i) {
      Value reached = lowerKVCacheStageReached(b, op, i);
      Value stageBits = i32Constant(b, loc, schedule.getBits()[i]);
      bits = arith::SelectOp::create(b, loc, reached, stageBits, bits);
    }
    op.getResult().replaceAllUsesWith(bits);
    op.erase();
    return;
  }
  // Stage i runs from its first step on (static), or when the learned
  // classifier has chosen it.
  Value stage = schedule.isLearned() ? lowerLearnedStage(b, op) : Value();
  for (size_t i = 1, e = schedule.getBits().size(); i < e; ++i) {
    Value chosen = stage
                       ? arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                               stage, i32Constant(b, loc, i))
                       : arith::CmpIOp::create(
                             b, loc, arith::CmpIPredicate::sge, op.getStep(),
                             i64Constant(b, loc, schedule.getSteps()[i]));
    Value stageBits = i32Constant(b, loc, schedule.getBits()[i]);
    bits = arith::SelectOp::create(b, loc, chosen, stageBits, bits);
  }
  op.getResult().replaceAllUsesWith(bits);
  op.erase();
}

struct LowerStepPrecision
    : pmpd::impl::PMPDLowerStepPrecisionBase<LowerStepPrecision> {
  void runOnOperation() override {
    SmallVector<StepPrecisionOp> steps;
    getOperation().walk([&](StepPrecisionOp op) { steps.push_back(op); });
    for (StepPrecisionOp op : steps)
      lowerStepPrecision(op);
  }
};

} // namespace
