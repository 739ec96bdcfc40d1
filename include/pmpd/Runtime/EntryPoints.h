//===- EntryPoints.h - Calling an artifact's compiled library ---*- C++ -*-===//
//
// Every target's library is host code lowered by MLIR with C interfaces, so
// its entry points have one ABI whatever the target: each tensor argument is
// a pointer to a strided memref descriptor, results come back through a
// pointer to a struct of descriptors, and the KV caches (and a learned
// schedule's state) are updated in place. Executors differ only in where the
// buffers they pass live (host or device memory).
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_RUNTIME_ENTRYPOINTS_H
#define PMPD_RUNTIME_ENTRYPOINTS_H

#include "pmpd/Artifact/Manifest.h"
#include "pmpd/Runtime/MemRefDescriptor.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

namespace pmpd {

/// The buffers every entry point reads besides its tokens.
struct EntryBuffers {
  float *kCache = nullptr, *vCache = nullptr;
  uint8_t *weights = nullptr;
  int64_t weightsBytes = 0;
  /// A learned schedule's state (manifest.schedulerState floats), or null.
  float *schedulerState = nullptr;
};

/// The logits an entry point returns: [rows][vocab], strided, in memory the
/// compiled code allocated (host or device).
using LogitsMemRef = MemRefDescriptor<float, 2>;

/// The artifact's weights file, memory-mapped.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
mapWeightsFile(const Manifest &manifest, llvm::StringRef dir);

/// An artifact's shared library, loaded, with its entry points.
class ArtifactLibrary {
public:
  /// Loads `dir`/manifest.libraryFile and resolves the manifest's entry
  /// points.
  static llvm::Expected<std::unique_ptr<ArtifactLibrary>>
  open(const Manifest &manifest, llvm::StringRef dir);
  ~ArtifactLibrary();

  /// A symbol of the library, or null.
  void *lookup(llvm::StringRef name) const;
  /// What the code was compiled for (checked equal to the manifest's).
  const ArtifactGeometry &geometry() const { return shape; }
  /// The library's handle, for what binds itself to the library.
  void *handle() const { return library; }

  LogitsMemRef prefill(const int64_t *tokens, int64_t count, int64_t position,
                       const EntryBuffers &buffers) const;
  LogitsMemRef decode(const int64_t *token, int64_t step, int64_t position,
                      const EntryBuffers &buffers, unsigned &bits) const;

private:
  explicit ArtifactLibrary(const ArtifactGeometry &shape) : shape(shape) {}

  ArtifactGeometry shape;
  void *library = nullptr;
  void *prefillFn = nullptr;
  void *decodeFn = nullptr;
};

} // namespace pmpd

#endif // PMPD_RUNTIME_ENTRYPOINTS_H
