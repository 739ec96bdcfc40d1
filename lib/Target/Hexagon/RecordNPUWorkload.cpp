//===- RecordNPUWorkload.cpp - What each entry point does, for the model --===//
//
// The NPU cost model's input comes from the compiled module, not from the
// model's config: whatever the lowering runs (the projections it calls, the
// loop nests of the layer math) is what is costed.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Dialect/PMPD/IR/PMPD.h"
#include "pmpd/Target/Hexagon/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

namespace pmpd {
#define GEN_PASS_DEF_PMPDRECORDNPUWORKLOAD
#include "pmpd/Target/Hexagon/Passes.h.inc"
} // namespace pmpd

using namespace mlir;
using namespace pmpd;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

const NPUKernelProfile &pmpd::getHexagonKernelProfile() {
  static const NPUKernelProfile profile = [] {
    static const char text[] =
#include "KernelProfile.inc"
        ;
    auto parsed = NPUWorkload::parseKernelProfile(
        text, "runtime/hexagon/kernel-profile.json");
    if (!parsed)
      llvm::report_fatal_error(parsed.takeError());
    return *parsed;
  }();
  return profile;
}

namespace {

/// Adds `coefficient` * L^`power` to a polynomial.
void addTerm(std::vector<double> &polynomial, unsigned power,
             double coefficient) {
  if (polynomial.size() <= power)
    polynomial.resize(power + 1, 0.0);
  polynomial[power] += coefficient;
}

/// A shaped value's bytes as a term in L: its static elements, and L for
/// each dynamic dimension.
void addBytes(std::vector<double> &bytes, Type type) {
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped || !shaped.hasRank())
    return;
  double elements = 1;
  unsigned dynamic = 0;
  for (int64_t d : shaped.getShape()) {
    if (ShapedType::isDynamic(d))
      ++dynamic;
    else
      elements *= double(d);
  }
  unsigned width = shaped.getElementType().getIntOrFloatBitWidth();
  addTerm(bytes, dynamic, elements * ((width + 7) / 8));
}

/// Operations the scalar unit does not do in a plain instruction or two,
/// by the kind the device's cost table names; none for the others.
void addSpecial(Operation *op, std::map<std::string, double> &special) {
  auto add = [&](const char *kind) { special[kind] += 1; };
  if (isa<arith::DivFOp>(op))
    add("div");
  else if (isa<math::SqrtOp>(op))
    add("sqrt");
  else if (isa<math::RsqrtOp>(op))
    add("sqrt"), add("div");
  else if (isa<math::ExpOp>(op))
    add("exp");
  else if (isa<math::LogOp>(op))
    add("log");
  else if (isa<math::PowFOp>(op))
    add("pow");
  else if (isa<math::SinOp>(op))
    add("sin");
  else if (isa<math::CosOp>(op))
    add("cos");
  else if (auto ext = dyn_cast<arith::ExtFOp>(op);
           ext && ext.getIn().getType().isF16())
    add("f16");
}

NPUWorkloadOp scalarOp(linalg::LinalgOp op) {
  NPUWorkloadOp w;
  w.kind = NPUWorkloadOp::Kind::Scalar;
  w.name = op->getName().getStringRef().str();
  double iterations = 1;
  unsigned dynamic = 0;
  for (int64_t range : op.getStaticLoopRanges()) {
    if (ShapedType::isDynamic(range))
      ++dynamic;
    else
      iterations *= double(range);
  }
  addTerm(w.iterations, dynamic, iterations);
  for (OpOperand &operand : op->getOpOperands())
    addBytes(w.bytes, operand.get().getType());
  for (Operation &inner : op.getBlock()->without_terminator()) {
    if (isa<linalg::IndexOp, arith::ConstantOp>(inner))
      continue;
    size_t before = 0;
    for (const auto &kv : w.special)
      before += kv.second;
    addSpecial(&inner, w.special);
    size_t after = 0;
    for (const auto &kv : w.special)
      after += kv.second;
    if (after == before)
      w.arithmetic += 1;
    // A read of a tensor that is not an operand (the embedding table).
    if (auto extract = dyn_cast<tensor::ExtractOp>(inner))
      addTerm(w.bytes, dynamic,
              iterations *
                  ((extract.getType().getIntOrFloatBitWidth() + 7) / 8));
  }
  return w;
}

llvm::Expected<NPUWorkloadOp> projection(QLinearOp op) {
  NPUWorkloadOp w;
  auto [rows, cols] = op.getWeightShape();
  w.rows = rows;
  w.cols = cols;
  PrecisionAttr precision = op.getPrecisionAttr();
  if (!precision)
    return makeError("a pmpd.qlinear without a precision: the NPU workload "
                     "is recorded after precision assignment");
  if (precision.isFP16()) {
    w.kind = NPUWorkloadOp::Kind::LinearF16;
  } else {
    w.kind = NPUWorkloadOp::Kind::QLinear;
    w.bits = precision.getBits();
  }
  return w;
}

/// Merges op `w` into `ops`: an identical op earlier in the entry counts
/// once more.
void append(std::vector<NPUWorkloadOp> &ops, NPUWorkloadOp w) {
  llvm::json::Value key = toJSON(w);
  for (NPUWorkloadOp &existing : ops) {
    NPUWorkloadOp one = existing;
    one.count = w.count;
    if (toJSON(one) == key) {
      existing.count += w.count;
      return;
    }
  }
  ops.push_back(std::move(w));
}

} // namespace

llvm::Expected<NPUWorkload> pmpd::extractNPUWorkload(ModuleOp module) {
  NPUWorkload workload;
  workload.kernels = getHexagonKernelProfile();
  auto schedule = module->getAttrOfType<ScheduleAttr>("pmpd.schedule");
  if (!schedule)
    return makeError("the module has no pmpd.schedule: the NPU workload is "
                     "recorded from a specialized module");
  if (schedule.isLearned())
    return makeError("the NPU cost model takes static schedules only");
  workload.prefillBits = schedule.getPrefill();
  for (auto [bits, step] :
       llvm::zip_equal(schedule.getBits(), schedule.getSteps()))
    workload.decodeSchedule.emplace_back(step, unsigned(bits));

  for (auto func : module.getOps<func::FuncOp>()) {
    auto phase = func->getAttrOfType<PhaseAttr>("pmpd.phase");
    auto precision = func->getAttrOfType<PrecisionAttr>("pmpd.precision");
    if (!phase || !precision || func.isExternal())
      continue; // @decode, the switch between the variants.
    NPUWorkloadEntry entry;
    entry.name = func.getSymName().str();
    entry.prefill = phase.getValue() == Phase::prefill;
    entry.bits = precision.getBits();
    llvm::Error error = llvm::Error::success();
    func.walk([&](Operation *op) {
      if (error)
        return WalkResult::interrupt();
      if (auto qlinear = dyn_cast<QLinearOp>(op)) {
        auto w = projection(qlinear);
        if (!w) {
          error = w.takeError();
          return WalkResult::interrupt();
        }
        append(entry.ops, *w);
        return WalkResult::advance();
      }
      if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
        append(entry.ops, scalarOp(linalgOp));
        return WalkResult::skip();
      }
      return WalkResult::advance();
    });
    if (error)
      return std::move(error);
    workload.entries.push_back(std::move(entry));
  }
  if (!workload.prefillEntry())
    return makeError("the module has no @prefill entry point");
  return workload;
}

namespace {
struct RecordNPUWorkload
    : pmpd::impl::PMPDRecordNPUWorkloadBase<RecordNPUWorkload> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto workload = extractNPUWorkload(module);
    if (!workload) {
      module.emitError(llvm::toString(workload.takeError()));
      return signalPassFailure();
    }
    std::string text;
    llvm::raw_string_ostream(text) << llvm::json::Value(toJSON(*workload));
    module->setAttr(kNPUWorkloadAttrName,
                    StringAttr::get(module.getContext(), text));
    if (output.empty())
      return;
    std::error_code ec;
    llvm::raw_fd_ostream os(output, ec, llvm::sys::fs::OF_Text);
    if (ec) {
      module.emitError("cannot write " + output + ": " + ec.message());
      return signalPassFailure();
    }
    os << llvm::formatv("{0:1}", llvm::json::Value(toJSON(*workload))) << "\n";
  }
};
} // namespace
