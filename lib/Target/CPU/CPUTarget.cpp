//===- CPUTarget.cpp - The CPU target: the reference path -----------------===//
//
// The specialized module is lowered by MLIR's bufferization and LLVM
// conversions, with the projections calling the runtime's micro-kernels;
// code is generated for the host CPU and linked with those kernels into the
// artifact's shared library.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Conversion/Passes.h"
#include "pmpd/Target/HostCode.h"
#include "pmpd/Target/TargetBackend.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace pmpd;

namespace {

class CPUTargetBackend final : public TargetBackend {
public:
  StringRef getName() const override { return "cpu"; }
  StringRef getDescription() const override {
    return "x86-64 host code with the LUT micro-kernels (the reference)";
  }
  std::string getArch(const TargetOptions &options) const override {
    return options.cpu.empty() ? hostCPUName() : options.cpu;
  }
  void buildLoweringPipeline(OpPassManager &pm,
                             const TargetOptions &options) const override;
  llvm::Error emitLibrary(ModuleOp module, StringRef path,
                          const TargetOptions &options) const override {
    return emitHostLibrary(module, options.cpu, PMPD_RUNTIME_KERNELS_ARCHIVE,
                           path);
  }
};

} // namespace

void CPUTargetBackend::buildLoweringPipeline(
    OpPassManager &pm, const TargetOptions &options) const {
  buildCommonLowering(pm, createPMPDLowerToCPU());
  bufferization::BufferDeallocationPipelineOptions deallocation;
  bufferization::buildBufferDeallocationPipeline(pm, deallocation);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

std::unique_ptr<TargetBackend> pmpd::createCPUTargetBackend() {
  return std::make_unique<CPUTargetBackend>();
}
