//===- GPUTarget.cpp - The GPU target: CUDA on Hopper ---------------------===//
//
// The projections, RMSNorm and attention launch the prebuilt CUDA kernels
// (lib/Target/GPU/Kernels, embedded as a gpu.binary); everything else
// (embedding, RoPE, the MLP's elementwise work, residuals, the KV-cache
// writes) is lowered by MLIR: bufferization, linalg to parallel loops, loops to GPU blocks and
// threads, kernel outlining, NVVM, and `gpu-module-to-binary` with the CUDA
// toolkit's ptxas (a cubin for sm_90 plus PTX for newer GPUs). The host code
// keeps the schedule's switch logic and calls the device through MLIR's
// mgpu* functions, which the artifact's trampolines forward to the runtime.
// Host temporaries are device memory from the runtime's per-call arena.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Conversion/Passes.h"
#include "pmpd/Dialect/PMPD/IR/PMPD.h"
#include "pmpd/Target/HostCode.h"
#include "pmpd/Target/TargetBackend.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir;
using namespace pmpd;

namespace {

/// The GPU the device code is compiled for; the PTX in every binary lets
/// newer GPUs run it too.
constexpr StringLiteral kChip = "sm_90";
constexpr StringLiteral kTriple = "nvptx64-nvidia-cuda";
/// The symbol of the projection kernels' gpu.binary.
constexpr StringLiteral kKernels = "pmpd_kernels";
/// Host code runs on whatever x86-64 server holds the GPU.
constexpr StringLiteral kPortableHostCPU = "x86-64-v2";

class GPUTargetBackend final : public TargetBackend {
public:
  StringRef getName() const override { return "gpu"; }
  StringRef getDescription() const override {
    return "NVIDIA GPUs (CUDA, sm_90 Hopper: H100/H200; PTX for newer)";
  }
  std::string getUnavailableReason() const override {
    if (StringRef(PMPD_GPU_KERNELS_FATBIN).empty())
      return "built without nvcc, so without the GPU kernels";
    return "";
  }
  std::string getArch(const TargetOptions &) const override {
    return kChip.str();
  }
  llvm::Error prepareModule(ModuleOp module) const override;
  void buildLoweringPipeline(OpPassManager &pm,
                             const TargetOptions &options) const override;
  llvm::Error emitLibrary(ModuleOp module, StringRef path,
                          const TargetOptions &options) const override {
    StringRef cpu = options.cpu.empty() ? StringRef(kPortableHostCPU)
                                        : StringRef(options.cpu);
    return emitHostLibrary(module, cpu, PMPD_DEVICE_ABI_ARCHIVE, path);
  }
};

} // namespace

llvm::Error GPUTargetBackend::prepareModule(ModuleOp module) const {
  // A learned schedule's state lives with the KV cache (on the device) but
  // its classifier is host code today.
  WalkResult learned = module.walk([](StepPrecisionOp op) {
    return op.getSchedule().isLearned() ? WalkResult::interrupt()
                                        : WalkResult::advance();
  });
  if (learned.wasInterrupted())
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "the gpu target does not run learned schedules yet; compile this "
        "schedule for --target cpu, or use a static one");
  // gpu-module-to-binary translates device code to LLVM IR and serializes
  // it through the NVVM target.
  MLIRContext *ctx = module.getContext();
  DialectRegistry registry;
  registerAllToLLVMIRTranslations(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  ctx->appendDialectRegistry(registry);
  ctx->loadDialect<gpu::GPUDialect, NVVM::NVVMDialect>();

  auto fatbin = llvm::MemoryBuffer::getFile(PMPD_GPU_KERNELS_FATBIN,
                                            /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!fatbin)
    return llvm::createStringError(
        fatbin.getError(), "%s: the GPU kernels of this build: %s",
        PMPD_GPU_KERNELS_FATBIN, fatbin.getError().message().c_str());
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto target = NVVM::NVVMTargetAttr::get(ctx, /*optLevel=*/3, kTriple, kChip);
  auto object = gpu::ObjectAttr::get(
      ctx, target, gpu::CompilationTarget::Fatbin,
      b.getStringAttr((*fatbin)->getBuffer()), /*properties=*/nullptr,
      /*kernels=*/nullptr);
  gpu::BinaryOp::create(b, module.getLoc(), kKernels,
                        /*offloadingHandler=*/nullptr,
                        ArrayRef<Attribute>{object});
  return llvm::Error::success();
}

void GPUTargetBackend::buildLoweringPipeline(
    OpPassManager &pm, const TargetOptions &options) const {
  // pmpd ops (projections as kernel launches) and buffers. No deallocation:
  // temporaries come from the runtime's scratch arena, reset at every call.
  PMPDLowerToGPUOptions lowerToGPU;
  lowerToGPU.kernels = kKernels.str();
  buildCommonLowering(pm, createPMPDLowerToGPU(lowerToGPU));

  // Everything else onto the GPU.
  pm.addPass(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createPMPDMapParallelLoopsToGPU());
  pm.addPass(createConvertParallelLoopToGpuPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());

  // Device code: NVVM, attached to the chip.
  GpuNVVMAttachTargetOptions attach;
  attach.chip = kChip.str();
  attach.triple = kTriple.str();
  attach.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(attach));
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps());
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());

  // Host code: memrefs through the runtime's allocator, launches through
  // mgpu*.
  FinalizeMemRefToLLVMConversionPassOptions memrefToLLVM;
  memrefToLLVM.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefToLLVM));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());

  // Device binaries: cubin for the chip plus PTX, with the toolkit's ptxas.
  GpuModuleToBinaryPassOptions toBinary;
  toBinary.toolkitPath = PMPD_CUDA_TOOLKIT;
  toBinary.compilationTarget = "fatbin";
  pm.addPass(createGpuModuleToBinaryPass(toBinary));
  pm.addPass(createCanonicalizerPass());
}

std::unique_ptr<TargetBackend> pmpd::createGPUTargetBackend() {
  return std::make_unique<GPUTargetBackend>();
}
