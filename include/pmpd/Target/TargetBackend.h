//===- TargetBackend.h - What pmpd-compile can compile for ------*- C++ -*-===//
//
// A target is a backend of the compiler (IREE's TargetBackend and MLIR's
// gpu::TargetAttrInterface are the models): a name, the lowering of a
// specialized pmpd module to the LLVM dialect, and the compiled library it
// writes into the artifact. Everything before (import, the phase passes,
// weight binding) and around (manifest, weights, tokenizer) is the same for
// every target; `--target NAME` looks the backend up in the registry.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_TARGET_TARGETBACKEND_H
#define PMPD_TARGET_TARGETBACKEND_H

#include "pmpd/Artifact/Manifest.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace pmpd {

/// Choices of the user that apply to every target.
struct TargetOptions {
  /// The CPU the host code is generated for; empty: this machine's (the CPU
  /// target) or a portable x86-64 (host code of device targets).
  std::string cpu;
};

class TargetBackend {
public:
  virtual ~TargetBackend();

  /// The name `--target` and the manifest use, e.g. "cpu".
  virtual llvm::StringRef getName() const = 0;
  /// One line for `--help`.
  virtual llvm::StringRef getDescription() const = 0;
  /// Why this build of pmpd cannot compile for the target; empty if it can.
  virtual std::string getUnavailableReason() const { return ""; }
  /// What the code is generated for, recorded in the manifest's
  /// `target_arch` (a CPU name, a GPU architecture).
  virtual std::string getArch(const TargetOptions &options) const = 0;
  /// The file of the artifact that holds the compiled code.
  virtual llvm::StringRef getLibraryFileName() const { return "libmodel.so"; }
  /// Adds what the lowering needs to a specialized module with bound
  /// weights (e.g. prebuilt device kernels). The default adds nothing.
  virtual llvm::Error prepareModule(mlir::ModuleOp module) const;
  /// The passes from that module to the LLVM dialect.
  virtual void buildLoweringPipeline(mlir::OpPassManager &pm,
                                     const TargetOptions &options) const = 0;
  /// Compiles the lowered module into the shared library at `path`, whose
  /// C interface is the artifact's entry points.
  virtual llvm::Error emitLibrary(mlir::ModuleOp module, llvm::StringRef path,
                                  const TargetOptions &options) const = 0;
  /// Other files emitLibrary writes into the artifact directory (the
  /// manifest records their size and hash). The default: none.
  virtual llvm::SmallVector<llvm::StringRef> getAuxiliaryFileNames() const {
    return {};
  }
};

/// The start every target's lowering shares: the weights buffer, the switch
/// points, the target's lowering of the projections (`projections`), and
/// one-shot bufferization with the KV caches written in place.
void buildCommonLowering(mlir::OpPassManager &pm,
                         std::unique_ptr<mlir::Pass> projections);

/// The rest of the lowering of code that runs on a CPU core (the host, or
/// the NPU's scalar unit around its HVX kernels) after the common start:
/// deallocation of temporaries, loops, and the LLVM dialect.
void buildCoreLowering(mlir::OpPassManager &pm);

/// Records `geometry` in the module as the exported constant the runtime
/// checks the manifest against (ArtifactGeometry::kSymbol).
void addArtifactGeometry(mlir::ModuleOp module,
                         const ArtifactGeometry &geometry);

/// The targets of this build, by name.
class TargetRegistry {
public:
  /// The registry with every target this build has (cpu, gpu, ...).
  static const TargetRegistry &get();

  /// The backend called `name`; an error that lists the targets otherwise,
  /// or says why this build cannot compile for it.
  llvm::Expected<const TargetBackend &> lookup(llvm::StringRef name) const;
  /// "cpu: ..., gpu: ..." lines for `--help`.
  std::string describe() const;

private:
  TargetRegistry();
  llvm::SmallVector<std::unique_ptr<TargetBackend>> backends;
};

/// Backends, one per target directory (lib/Target/<Name>).
std::unique_ptr<TargetBackend> createCPUTargetBackend();
std::unique_ptr<TargetBackend> createGPUTargetBackend();
std::unique_ptr<TargetBackend> createHexagonTargetBackend();

} // namespace pmpd

#endif // PMPD_TARGET_TARGETBACKEND_H
