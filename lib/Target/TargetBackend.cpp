//===- TargetBackend.cpp - What every target backend shares ---------------===//

#include "pmpd/Target/TargetBackend.h"
#include "pmpd/Conversion/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/IR/Builders.h"
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

void pmpd::buildCoreLowering(mlir::OpPassManager &pm) {
  mlir::bufferization::BufferDeallocationPipelineOptions deallocation;
  mlir::bufferization::buildBufferDeallocationPipeline(pm, deallocation);
  pm.addPass(mlir::createConvertBufferizationToMemRefPass());
  pm.addPass(mlir::createConvertLinalgToLoopsPass());
  pm.addPass(mlir::createLowerAffinePass());
  pm.addPass(mlir::createSCFToControlFlowPass());
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::memref::createExpandStridedMetadataPass());
  pm.addPass(mlir::createLowerAffinePass());
  pm.addPass(mlir::createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(mlir::createConvertMathToLLVMPass());
  pm.addPass(mlir::createConvertMathToLibmPass());
  pm.addPass(mlir::createArithToLLVMConversionPass());
  pm.addPass(mlir::createConvertIndexToLLVMPass());
  pm.addPass(mlir::createConvertFuncToLLVMPass());
  pm.addPass(mlir::createConvertControlFlowToLLVMPass());
  pm.addPass(mlir::createReconcileUnrealizedCastsPass());
  pm.addPass(mlir::createCanonicalizerPass());
}

void pmpd::addArtifactGeometry(mlir::ModuleOp module,
                               const ArtifactGeometry &geometry) {
  mlir::MLIRContext *ctx = module.getContext();
  ctx->loadDialect<mlir::LLVM::LLVMDialect>();
  mlir::OpBuilder b = mlir::OpBuilder::atBlockEnd(module.getBody());
  auto i64 = b.getI64Type();
  std::array<int64_t, ArtifactGeometry::kFields> values = geometry.values();
  auto data = mlir::DenseElementsAttr::get(
      mlir::RankedTensorType::get({int64_t(values.size())}, i64),
      llvm::ArrayRef<int64_t>(values));
  mlir::LLVM::GlobalOp::create(
      b, module.getLoc(), mlir::LLVM::LLVMArrayType::get(i64, values.size()),
      /*isConstant=*/true, mlir::LLVM::Linkage::External,
      ArtifactGeometry::kSymbol, data);
}
