//===- PhasePipeline.cpp - The phase passes as one pipeline ---------------===//
//
// pmpd-compile and pmpd-opt run the three phase passes the same way; this is
// that one way.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Dialect/PMPD/Transforms/Passes.h"

#include "mlir/Pass/PassOptions.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void pmpd::buildPMPDPhasePipeline(OpPassManager &pm, StringRef schedule,
                                  StringRef overrides) {
  PMPDAssignPrecisionOptions options;
  options.schedule = schedule.str();
  options.overrides = overrides.str();
  pm.addPass(createPMPDAssignPrecision(options));
  pm.addPass(createPMPDSpecializePhases());
  pm.addPass(createPMPDInsertSwitchPoints());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

namespace {
struct PhasePipelineOptions : public PassPipelineOptions<PhasePipelineOptions> {
  Option<std::string> schedule{
      *this, "schedule",
      llvm::cl::desc("Schedule `prefill=P;decode=B0@0,B1@S1,...` (16 = "
                     "fp16); required unless the module has a pmpd.schedule")};
  Option<std::string> overrides{
      *this, "overrides",
      llvm::cl::desc("Fixed precisions, `NAME=BITS,...` where NAME is a "
                     "layer (`layers.0`) or a projection "
                     "(`layers.3.down_proj`)")};
};
} // namespace

void pmpd::registerPMPDPhasePipeline() {
  PassPipelineRegistration<PhasePipelineOptions>(
      "pmpd-phase-pipeline",
      "Assign precisions, specialize @forward into phases and insert the "
      "decode switch points",
      [](OpPassManager &pm, const PhasePipelineOptions &options) {
        buildPMPDPhasePipeline(pm, options.schedule, options.overrides);
      });
}
