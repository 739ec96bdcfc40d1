//===- HexagonTarget.cpp - The NPU target: Qualcomm Hexagon with HVX ------===//
//
// The NPU most people own is the Hexagon DSP of Snapdragon phones. The
// specialized module is lowered as for a CPU core, with the projections
// calling the HVX kernels of the freestanding Hexagon runtime
// (runtime/hexagon: the same C ABI as the CPU micro-kernels, so one lowering
// serves both); LLVM's Hexagon backend compiles it in-process for v67 with
// 128-byte HVX (the newest Hexagon qemu-hexagon runs; v67 code runs on later
// ones), and ld.lld links it with that runtime into one static ELF: the
// artifact's program, which the runtime's npu executor runs as an offload
// process.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Conversion/Passes.h"
#include "pmpd/Dialect/PMPD/IR/PMPD.h"
#include "pmpd/Target/Hexagon/Passes.h"
#include "pmpd/Target/HostCode.h"
#include "pmpd/Target/TargetBackend.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <mutex>

using namespace mlir;
using namespace pmpd;

namespace {

constexpr StringLiteral kTriple = "hexagon-unknown-none-elf";
constexpr StringLiteral kCPU = "hexagonv67";
/// No GP-relative small data: ld.lld does not resolve every relocation of
/// it (R_HEX_GPREL16_3 of 8-byte constants).
constexpr StringLiteral kFeatures = "+hvxv67,+hvx-length128b,-small-data";

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

class HexagonTargetBackend final : public TargetBackend {
public:
  StringRef getName() const override { return "hexagon"; }
  StringRef getDescription() const override {
    return "Qualcomm Hexagon NPU (v67, 128-byte HVX): a static ELF run as an "
           "offload process (qemu-hexagon off the phone)";
  }
  std::string getUnavailableReason() const override {
    if (StringRef(PMPD_HEXAGON_RUNTIME).empty())
      return "built without clang and ld.lld for Hexagon (install clang-22 "
             "lld-22), so without the Hexagon runtime";
    return "";
  }
  /// Not a library: a program, run as an offload process.
  StringRef getLibraryFileName() const override { return "model.elf"; }
  std::string getArch(const TargetOptions &) const override {
    return (kCPU + "+hvx128").str();
  }
  llvm::Error prepareModule(ModuleOp module) const override;
  void buildLoweringPipeline(OpPassManager &pm,
                             const TargetOptions &options) const override {
    pm.addPass(createPMPDDecomposeLayerOps());
    // What the entry points do, for the NPU cost model, in the form this
    // target lowers (emitLibrary writes it into the artifact).
    pm.addPass(createPMPDRecordNPUWorkload());
    buildCommonLowering(pm, createPMPDLowerToCPU());
    buildCoreLowering(pm);
  }
  llvm::Error emitLibrary(ModuleOp module, StringRef path,
                          const TargetOptions &options) const override;
  SmallVector<StringRef> getAuxiliaryFileNames() const override {
    return {NPUWorkload::kFileName};
  }
};

} // namespace

llvm::Error HexagonTargetBackend::prepareModule(ModuleOp module) const {
  // The offload process keeps a learned schedule's state, but the
  // classifier has not been checked on the NPU yet.
  WalkResult learned = module.walk([](StepPrecisionOp op) {
    return op.getSchedule().isLearned() ? WalkResult::interrupt()
                                        : WalkResult::advance();
  });
  if (learned.wasInterrupted())
    return makeError("the hexagon target does not run learned schedules yet; "
                     "compile this schedule for --target cpu, or use a "
                     "static one");
  return llvm::Error::success();
}

/// LLVM's HexagonGenInsert pass took 4 GB and 60% of the code generation
/// time on the fixture's module, for the same object code (llc with
/// -hexagon-insert=false: 160 MB, byte-identical output). It is an option of
/// the backend, not of the target machine, so it is set as llc would.
static void disableGenInsert() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto &options = llvm::cl::getRegisteredOptions();
    auto option = options.find("hexagon-insert");
    if (option != options.end())
      option->second->addOccurrence(0, "hexagon-insert", "false");
  });
}

llvm::Error HexagonTargetBackend::emitLibrary(ModuleOp module, StringRef path,
                                              const TargetOptions &) const {
  // The workload pmpd-record-npu-workload recorded, as npu-workload.json
  // beside the program; code generation does not see the attribute.
  auto workload = module->getAttrOfType<StringAttr>(kNPUWorkloadAttrName);
  if (!workload)
    return makeError("the lowered module has no " + kNPUWorkloadAttrName +
                     " attribute (pmpd-record-npu-workload did not run)");
  SmallString<256> workloadPath = llvm::sys::path::parent_path(path);
  llvm::sys::path::append(workloadPath, NPUWorkload::kFileName);
  {
    auto parsed = llvm::json::parse(workload.getValue());
    if (!parsed)
      return parsed.takeError();
    std::error_code ec;
    llvm::raw_fd_ostream os(workloadPath, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return makeError("cannot write " + workloadPath + ": " + ec.message());
    os << llvm::formatv("{0:1}", *parsed) << "\n";
  }
  module->removeAttr(kNPUWorkloadAttrName);

  disableGenInsert();
  ObjectTarget target;
  target.triple = kTriple.str();
  target.cpu = kCPU.str();
  target.features = kFeatures.str();
  target.positionIndependent = false;
  std::string object = (path + ".o").str();
  if (llvm::Error error = emitObject(module, target, object))
    return error;

  std::string output = path.str();
  SmallVector<StringRef> args = {
      PMPD_HEXAGON_LLD, "-static", "--gc-sections",     "-o",
      output,           object,    PMPD_HEXAGON_RUNTIME};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(PMPD_HEXAGON_LLD, args, std::nullopt,
                                         {}, 0, 0, &message);
  llvm::sys::fs::remove(object);
  if (status != 0)
    return makeError("linking " + path + " with " + PMPD_HEXAGON_LLD +
                     " failed" + (message.empty() ? "" : ": " + message));
  return llvm::Error::success();
}

std::unique_ptr<TargetBackend> pmpd::createHexagonTargetBackend() {
  return std::make_unique<HexagonTargetBackend>();
}
