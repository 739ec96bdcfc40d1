//===- TargetBackend.cpp - What every target backend shares ---------------===//

#include "pmpd/Target/TargetBackend.h"

using namespace pmpd;

TargetBackend::~TargetBackend() = default;

llvm::Error TargetBackend::prepareModule(mlir::ModuleOp) const {
  return llvm::Error::success();
}
