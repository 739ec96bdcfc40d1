//===- TargetBackend.cpp - What every target backend shares ---------------===//

#include "pmpd/Target/TargetBackend.h"
#include "pmpd/Conversion/Passes.h"

#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

using namespace pmpd;

TargetBackend::~TargetBackend() = default;

llvm::Error TargetBackend::prepareModule(mlir::ModuleOp) const {
  return llvm::Error::success();
}

void pmpd::buildCommonLowering(mlir::OpPassManager &pm,
                               std::unique_ptr<mlir::Pass> projections) {
  pm.addPass(createPMPDThreadWeightsBuffer());
  pm.addPass(createPMPDLowerStepPrecision());
  pm.addPass(std::move(projections));
  pm.addPass(mlir::createCanonicalizerPass());
  mlir::bufferization::OneShotBufferizePassOptions bufferization;
  bufferization.bufferizeFunctionBoundaries = true;
  bufferization.functionBoundaryTypeConversion =
      mlir::bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(mlir::bufferization::createOneShotBufferizePass(bufferization));
  pm.addPass(createPMPDDropArgumentResults());
  pm.addPass(mlir::createCanonicalizerPass());
}
