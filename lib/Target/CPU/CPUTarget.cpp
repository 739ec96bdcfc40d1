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
  // pmpd-lower-to-cpu calls the attention kernel and expands the other layer
  // ops into linalg itself.
  buildCommonLowering(pm, createPMPDLowerToCPU());
  buildCoreLowering(pm);
}

std::unique_ptr<TargetBackend> pmpd::createCPUTargetBackend() {
  return std::make_unique<CPUTargetBackend>();
}
