//===- EntryPoints.cpp - Calling an artifact's compiled library -----------===//

#include "pmpd/Runtime/EntryPoints.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"

#include <dlfcn.h>

using namespace pmpd;

namespace {

using Tokens = MemRefDescriptor<int64_t, 1>;
using Cache = MemRefDescriptor<float, 4>;
using Bytes = MemRefDescriptor<uint8_t, 1>;
using State = MemRefDescriptor<float, 1>;

struct DecodeResult {
  LogitsMemRef logits;
  int32_t bits;
};

using PrefillFn = void (*)(LogitsMemRef *, Tokens *, int64_t, Cache *, Cache *,
                           Bytes *);
using DecodeFn = void (*)(DecodeResult *, int64_t, Tokens *, int64_t, Cache *,
                          Cache *, Bytes *);
/// The decode entry of a learned schedule also threads the scheduler state.
using LearnedDecodeFn = void (*)(DecodeResult *, int64_t, Tokens *, int64_t,
                                 Cache *, Cache *, State *, Bytes *);

/// The descriptors of the caches and the weights.
struct Described {
  Cache k, v;
  Bytes weights;
};

Described describe(const ArtifactGeometry &g, const EntryBuffers &buffers) {
  int64_t cacheSizes[4] = {g.layers, g.cachePositions, g.kvHeads, g.headDim};
  return {contiguousMemRef(buffers.kCache, cacheSizes),
          contiguousMemRef(buffers.vCache, cacheSizes),
          contiguousMemRef(buffers.weights, {buffers.weightsBytes})};
}

} // namespace

llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
pmpd::mapWeightsFile(const Manifest &manifest, llvm::StringRef dir) {
  std::string path = Manifest::pathIn(dir, manifest.weightsFile);
  auto mapped = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!mapped)
    return llvm::createStringError(mapped.getError(), "%s: %s", path.c_str(),
                                   mapped.getError().message().c_str());
  return std::move(*mapped);
}

llvm::Expected<std::unique_ptr<ArtifactLibrary>>
ArtifactLibrary::open(const Manifest &manifest, llvm::StringRef dir) {
  ArtifactGeometry expected = ArtifactGeometry::of(manifest);
  std::unique_ptr<ArtifactLibrary> library(new ArtifactLibrary(expected));
  llvm::SmallString<256> path(Manifest::pathIn(dir, manifest.libraryFile));
  llvm::sys::fs::make_absolute(path);
  library->library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library->library)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "%s: cannot load: %s", path.c_str(),
                                   dlerror());
  // The buffers the runtime allocates and the tokens it accepts follow the
  // manifest; the code must have been compiled for exactly that.
  auto *recorded =
      static_cast<const int64_t *>(library->lookup(ArtifactGeometry::kSymbol));
  if (!recorded)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "%s: does not record the geometry it was compiled for (made by an "
        "older pmpd-compile?); recompile the model",
        path.c_str());
  ArtifactGeometry compiled = ArtifactGeometry::fromValues(
      llvm::ArrayRef(recorded, ArtifactGeometry::kFields));
  if (compiled != expected)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "%s was compiled for %s, but the manifest says %s: the manifest was "
        "edited or belongs to another artifact",
        path.c_str(), compiled.describe().c_str(), expected.describe().c_str());
  library->prefillFn = library->lookup(manifest.prefillEntry);
  library->decodeFn = library->lookup(manifest.decodeEntry);
  if (!library->prefillFn || !library->decodeFn)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "%s: does not export the entry points '%s' and '%s'", path.c_str(),
        manifest.prefillEntry.c_str(), manifest.decodeEntry.c_str());
  return std::move(library);
}

ArtifactLibrary::~ArtifactLibrary() {
  if (library)
    dlclose(library);
}

void *ArtifactLibrary::lookup(llvm::StringRef name) const {
  return dlsym(library, name.str().c_str());
}

LogitsMemRef ArtifactLibrary::prefill(const int64_t *tokens, int64_t count,
                                      int64_t position,
                                      const EntryBuffers &buffers) const {
  Tokens tokenDesc = contiguousMemRef(const_cast<int64_t *>(tokens), {count});
  Described d = describe(shape, buffers);
  LogitsMemRef out;
  reinterpret_cast<PrefillFn>(prefillFn)(&out, &tokenDesc, position, &d.k, &d.v,
                                         &d.weights);
  return out;
}

LogitsMemRef ArtifactLibrary::decode(const int64_t *token, int64_t step,
                                     int64_t position,
                                     const EntryBuffers &buffers,
                                     unsigned &bits) const {
  Tokens tokenDesc = contiguousMemRef(const_cast<int64_t *>(token), {1});
  Described d = describe(shape, buffers);
  DecodeResult out;
  if (shape.schedulerState == 0) {
    reinterpret_cast<DecodeFn>(decodeFn)(&out, step, &tokenDesc, position, &d.k,
                                         &d.v, &d.weights);
  } else {
    State state =
        contiguousMemRef(buffers.schedulerState, {shape.schedulerState});
    reinterpret_cast<LearnedDecodeFn>(decodeFn)(
        &out, step, &tokenDesc, position, &d.k, &d.v, &state, &d.weights);
  }
  bits = unsigned(out.bits);
  return out.logits;
}
