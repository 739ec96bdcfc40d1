//===- DropArgumentResults.cpp - Drop results that return an argument -----===//
//
// Compiled models update their KV caches in place; this pass removes the
// cache results bufferization leaves behind so that nothing clones them.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Conversion/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/BitVector.h"

namespace pmpd {
#define GEN_PASS_DEF_PMPDDROPARGUMENTRESULTS
#include "pmpd/Conversion/Passes.h.inc"
} // namespace pmpd

using namespace mlir;

namespace {

/// The argument of `func` that `value` is, looking through region ops whose
/// every branch yields the same argument.
std::optional<unsigned> argumentOf(Value value, func::FuncOp func) {
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    if (arg.getOwner() == &func.getBody().front())
      return arg.getArgNumber();
    return std::nullopt;
  }
  auto result = cast<OpResult>(value);
  Operation *owner = result.getOwner();
  if (!isa<scf::IndexSwitchOp, scf::IfOp>(owner))
    return std::nullopt;
  std::optional<unsigned> common;
  for (Region &region : owner->getRegions()) {
    auto yield = cast<scf::YieldOp>(region.front().getTerminator());
    std::optional<unsigned> arg =
        argumentOf(yield.getOperand(result.getResultNumber()), func);
    if (!arg || (common && *common != *arg))
      return std::nullopt;
    common = arg;
  }
  return common;
}

struct DropArgumentResults
    : pmpd::impl::PMPDDropArgumentResultsBase<DropArgumentResults> {
  /// Drops the argument results of `func`; true if it dropped any.
  bool dropFrom(func::FuncOp func, ModuleOp module) {
    if (func.isExternal())
      return false;
    SmallVector<func::ReturnOp> returns;
    func.walk([&](func::ReturnOp op) { returns.push_back(op); });
    // result index -> argument index, where every return agrees.
    SmallVector<std::pair<unsigned, unsigned>> dropped;
    for (unsigned i = 0, e = func.getNumResults(); i < e; ++i) {
      if (!isa<BaseMemRefType>(func.getResultTypes()[i]))
        continue;
      std::optional<unsigned> common;
      bool same = !returns.empty();
      for (func::ReturnOp ret : returns) {
        std::optional<unsigned> arg = argumentOf(ret.getOperand(i), func);
        same &= arg && (!common || *common == *arg);
        common = arg;
      }
      if (same)
        dropped.emplace_back(i, *common);
    }
    if (dropped.empty())
      return false;

    llvm::BitVector erase(func.getNumResults());
    for (auto [result, arg] : dropped)
      erase.set(result);
    // Callers use the argument they passed instead of the result.
    auto uses = SymbolTable::getSymbolUses(func, module);
    for (const SymbolTable::SymbolUse &use : *uses) {
      auto call = dyn_cast<func::CallOp>(use.getUser());
      if (!call)
        continue;
      OpBuilder b(call);
      for (auto [result, arg] : dropped)
        call.getResult(result).replaceAllUsesWith(call.getOperand(arg));
      SmallVector<Type> types;
      for (unsigned i = 0, e = call.getNumResults(); i < e; ++i)
        if (!erase.test(i))
          types.push_back(call.getResult(i).getType());
      auto newCall = func::CallOp::create(b, call.getLoc(), call.getCallee(),
                                          types, call.getOperands());
      newCall->setAttrs(call->getAttrs());
      unsigned next = 0;
      for (unsigned i = 0, e = call.getNumResults(); i < e; ++i)
        if (!erase.test(i))
          call.getResult(i).replaceAllUsesWith(newCall.getResult(next++));
      call.erase();
    }
    for (func::ReturnOp ret : returns) {
      SmallVector<Value> kept;
      for (unsigned i = 0, e = ret.getNumOperands(); i < e; ++i)
        if (!erase.test(i))
          kept.push_back(ret.getOperand(i));
      ret->setOperands(kept);
    }
    if (failed(func.eraseResults(erase)))
      return false;
    return true;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Callees first: a caller's results become arguments only once the
    // calls it returns through have been rewritten.
    for (bool changed = true; changed;) {
      changed = false;
      for (auto func : llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
        changed |= dropFrom(func, module);
    }
  }
};

} // namespace
