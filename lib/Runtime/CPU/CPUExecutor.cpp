//===- CPUExecutor.cpp - Running CPU artifacts ----------------------------===//
//
// The weights file is memory-mapped, the KV cache lives in host memory, and
// the library's own copy of the kernels' thread pool is the one told how
// many threads to use (the tool's copy, if it has one, runs nothing).
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/EntryPoints.h"
#include "pmpd/Runtime/Executor.h"

#include <algorithm>
#include <cstdlib>

using namespace pmpd;

namespace {

/// What the library exports to set its kernels' thread count; it returns
/// the count in effect.
using SetThreadsFn = int32_t (*)(int32_t);

class CPUExecutor final : public Executor {
public:
  CPUExecutor(const Manifest &manifest) : manifest(manifest) {}

  llvm::Error open(llvm::StringRef dir, const SessionOptions &options);

  llvm::Error prefill(llvm::ArrayRef<int64_t> ids, int64_t position,
                      std::vector<float> &logits) override {
    LogitsMemRef out =
        library->prefill(ids.data(), ids.size(), position, buffers);
    take(out, logits);
    return llvm::Error::success();
  }
  llvm::Error decode(int64_t id, int64_t step, int64_t position,
                     std::vector<float> &logits, unsigned &bits) override {
    LogitsMemRef out = library->decode(&id, step, position, buffers, bits);
    take(out, logits);
    return llvm::Error::success();
  }
  llvm::Error resetSchedule() override {
    std::fill(schedulerState.begin(), schedulerState.end(), 0.0f);
    return llvm::Error::success();
  }
  llvm::Error readCache(int64_t layer, int64_t count, float *keys,
                        float *values) override {
    const ArtifactGeometry &g = library->geometry();
    size_t row = size_t(g.kvHeads) * g.headDim;
    size_t first = size_t(layer) * g.cachePositions * row;
    std::copy_n(kCache.begin() + first, count * row, keys);
    std::copy_n(vCache.begin() + first, count * row, values);
    return llvm::Error::success();
  }
  std::string describe() const override {
    return "cpu (" + manifest.targetArch + "), " + std::to_string(threadCount) +
           " threads";
  }
  int32_t threads() const override { return threadCount; }

private:
  /// Copies `out` (rows x vocab, any strides) into `logits` and frees it.
  static void take(LogitsMemRef &out, std::vector<float> &logits) {
    int64_t rows = out.sizes[0], cols = out.sizes[1];
    logits.resize(size_t(rows) * cols);
    for (int64_t t = 0; t < rows; ++t)
      for (int64_t j = 0; j < cols; ++j)
        logits[t * cols + j] =
            out.aligned[out.offset + t * out.strides[0] + j * out.strides[1]];
    free(out.allocated);
  }

  Manifest manifest;
  std::unique_ptr<ArtifactLibrary> library;
  std::unique_ptr<llvm::MemoryBuffer> weights;
  std::vector<float> kCache, vCache, schedulerState;
  EntryBuffers buffers;
  int32_t threadCount = 1;
};

} // namespace

llvm::Error CPUExecutor::open(llvm::StringRef dir,
                              const SessionOptions &options) {
  auto mapped = mapWeightsFile(manifest, dir);
  if (!mapped)
    return mapped.takeError();
  weights = std::move(*mapped);
  auto loaded = ArtifactLibrary::open(manifest, dir);
  if (!loaded)
    return loaded.takeError();
  library = std::move(*loaded);
  auto setThreads =
      reinterpret_cast<SetThreadsFn>(library->lookup("pmpd_set_num_threads"));
  if (!setThreads)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "%s: the library does not export pmpd_set_num_threads (made by an "
        "older pmpd-compile?)",
        manifest.libraryFile.c_str());
  threadCount = setThreads(options.threads);

  size_t cacheSize = library->geometry().cacheElements();
  kCache.assign(cacheSize, 0.0f);
  vCache.assign(cacheSize, 0.0f);
  schedulerState.assign(manifest.schedulerState, 0.0f);
  buffers.kCache = kCache.data();
  buffers.vCache = vCache.data();
  buffers.weights = reinterpret_cast<uint8_t *>(
      const_cast<char *>(weights->getBufferStart()));
  buffers.weightsBytes = int64_t(weights->getBufferSize());
  buffers.schedulerState = schedulerState.data();
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<Executor>>
pmpd::createCPUExecutor(const Manifest &manifest, llvm::StringRef dir,
                        const SessionOptions &options) {
  auto executor = std::make_unique<CPUExecutor>(manifest);
  if (llvm::Error error = executor->open(dir, options))
    return std::move(error);
  return std::move(executor);
}
