//===- Session.cpp - A loaded artifact and its KV cache -------------------===//
//
// The compiled entry points follow MLIR's C interface for memrefs: each
// tensor argument is passed as a pointer to a strided descriptor, and results
// come back through a pointer to a struct of descriptors. The KV caches are
// updated in place (bufferization proves them equivalent to the arguments and
// drops them from the results).
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/Session.h"
#include "pmpd/Runtime/MemRefDescriptor.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>

using namespace pmpd;

namespace {

using Tokens = MemRefDescriptor<int64_t, 1>;
using Cache = MemRefDescriptor<float, 4>;
using Bytes = MemRefDescriptor<uint8_t, 1>;
using Logits = MemRefDescriptor<float, 2>;

struct DecodeResult {
  Logits logits;
  int32_t bits;
};

using PrefillFn = void (*)(Logits *, Tokens *, int64_t, Cache *, Cache *,
                           Bytes *);
using DecodeFn = void (*)(DecodeResult *, int64_t, Tokens *, int64_t, Cache *,
                          Cache *, Bytes *);
/// The decode entry of a learned schedule also threads the scheduler state.
using State = MemRefDescriptor<float, 1>;
using LearnedDecodeFn = void (*)(DecodeResult *, int64_t, Tokens *, int64_t,
                                 Cache *, Cache *, State *, Bytes *);

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

} // namespace

llvm::Expected<std::unique_ptr<Session>> Session::open(llvm::StringRef dir) {
  auto manifest = Manifest::load(dir);
  if (!manifest)
    return manifest.takeError();
  std::unique_ptr<Session> session(new Session());
  session->info = std::move(*manifest);
  const Manifest &m = session->info;
  if (m.target != "cpu")
    return makeError(dir + ": artifact is for target '" + m.target +
                     "'; this runtime runs 'cpu'");

  llvm::SmallString<256> weightsPath(dir), libraryPath(dir);
  llvm::sys::path::append(weightsPath, m.weightsFile);
  llvm::sys::path::append(libraryPath, m.libraryFile);
  auto weights = llvm::MemoryBuffer::getFile(weightsPath, /*IsText=*/false,
                                             /*RequiresNullTerminator=*/false);
  if (!weights)
    return makeError(weightsPath + ": " + weights.getError().message());
  session->weights = std::move(*weights);

  llvm::SmallString<256> absolute(libraryPath);
  llvm::sys::fs::make_absolute(absolute);
  session->library = dlopen(absolute.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!session->library)
    return makeError(libraryPath + ": cannot load: " + dlerror());
  session->prefillFn = dlsym(session->library, m.prefillEntry.c_str());
  session->decodeFn = dlsym(session->library, m.decodeEntry.c_str());
  if (!session->prefillFn || !session->decodeFn)
    return makeError(libraryPath + ": does not export the entry points '" +
                     m.prefillEntry + "' and '" + m.decodeEntry + "'");

  const ModelConfig &c = m.model;
  size_t cacheSize = size_t(c.numLayers) * m.cachePositions * c.numKVHeads *
                     c.headDim;
  session->kCache.assign(cacheSize, 0.0f);
  session->vCache.assign(cacheSize, 0.0f);
  session->schedulerState.assign(m.schedulerState, 0.0f);
  return std::move(session);
}

Session::~Session() {
  if (library)
    dlclose(library);
}

llvm::Error Session::checkTokens(llvm::ArrayRef<int64_t> ids) const {
  if (ids.empty())
    return makeError("no tokens to run");
  if (cached + int64_t(ids.size()) > info.cachePositions)
    return makeError("the KV cache holds " + llvm::Twine(info.cachePositions) +
                     " positions; " + llvm::Twine(cached) + " are used and " +
                     llvm::Twine(ids.size()) + " more do not fit");
  for (int64_t id : ids)
    if (id < 0 || id >= info.model.vocabSize)
      return makeError("token id " + llvm::Twine(id) +
                       " is outside the vocabulary [0, " +
                       llvm::Twine(info.model.vocabSize) + ")");
  return llvm::Error::success();
}

namespace {
/// What every entry point reads besides its tokens: the caches and weights.
struct EntryBuffers {
  Cache k, v;
  Bytes weights;
};

EntryBuffers describe(const ModelConfig &c, int64_t positions,
                      std::vector<float> &kCache, std::vector<float> &vCache,
                      const llvm::MemoryBuffer &weights) {
  int64_t cacheSizes[4] = {c.numLayers, positions, c.numKVHeads, c.headDim};
  auto *bytes =
      reinterpret_cast<uint8_t *>(const_cast<char *>(weights.getBufferStart()));
  return {contiguousMemRef(kCache.data(), cacheSizes),
          contiguousMemRef(vCache.data(), cacheSizes),
          contiguousMemRef(bytes, {int64_t(weights.getBufferSize())})};
}

/// Copies `out` (rows x vocab, any strides) into `logits` and frees it.
void takeLogits(Logits &out, std::vector<float> &logits) {
  int64_t rows = out.sizes[0], cols = out.sizes[1];
  logits.resize(size_t(rows) * cols);
  for (int64_t t = 0; t < rows; ++t)
    for (int64_t j = 0; j < cols; ++j)
      logits[t * cols + j] =
          out.aligned[out.offset + t * out.strides[0] + j * out.strides[1]];
  free(out.allocated);
}
} // namespace

llvm::Expected<llvm::ArrayRef<float>>
Session::prefill(llvm::ArrayRef<int64_t> ids) {
  if (llvm::Error error = checkTokens(ids))
    return std::move(error);
  std::vector<int64_t> tokens(ids.begin(), ids.end());
  Tokens tokenDesc = contiguousMemRef(tokens.data(), {int64_t(tokens.size())});
  EntryBuffers buffers =
      describe(info.model, info.cachePositions, kCache, vCache, *weights);
  Logits out;
  reinterpret_cast<PrefillFn>(prefillFn)(&out, &tokenDesc, cached, &buffers.k,
                                         &buffers.v, &buffers.weights);
  // A prefill starts a new decode phase: the schedule starts over.
  std::fill(schedulerState.begin(), schedulerState.end(), 0.0f);
  takeLogits(out, logits);
  cached += ids.size();
  return llvm::ArrayRef<float>(logits);
}

llvm::Expected<llvm::ArrayRef<float>> Session::decode(int64_t id, int64_t step,
                                                      unsigned &bits) {
  if (llvm::Error error = checkTokens(id))
    return std::move(error);
  int64_t token = id;
  Tokens tokenDesc = contiguousMemRef(&token, {1});
  EntryBuffers buffers =
      describe(info.model, info.cachePositions, kCache, vCache, *weights);
  DecodeResult out;
  if (schedulerState.empty()) {
    reinterpret_cast<DecodeFn>(decodeFn)(&out, step, &tokenDesc, cached,
                                         &buffers.k, &buffers.v, &buffers.weights);
  } else {
    State schedulerDesc = contiguousMemRef(schedulerState.data(),
                                           {int64_t(schedulerState.size())});
    reinterpret_cast<LearnedDecodeFn>(decodeFn)(&out, step, &tokenDesc, cached,
                                                &buffers.k, &buffers.v,
                                                &schedulerDesc, &buffers.weights);
  }
  takeLogits(out.logits, logits);
  bits = unsigned(out.bits);
  ++cached;
  return llvm::ArrayRef<float>(logits);
}
