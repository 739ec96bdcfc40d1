//===- CUDAExecutor.cpp - Running GPU artifacts ---------------------------===//
//
// The weights are uploaded once, the KV cache (and a learned schedule's
// state) live on the device, and the library's host code launches its
// kernels through the device interface bound to it. Per call, only the new
// token ids go up and the logits come back.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/CUDA/CUDADevice.h"
#include "pmpd/Runtime/EntryPoints.h"
#include "pmpd/Runtime/Executor.h"

using namespace pmpd;
using pmpd::cuda::CUDADevice;

namespace {

class CUDAExecutor final : public Executor {
public:
  explicit CUDAExecutor(const Manifest &manifest) : manifest(manifest) {}
  ~CUDAExecutor() override;

  llvm::Error open(llvm::StringRef dir);

  llvm::Error prefill(llvm::ArrayRef<int64_t> ids, int64_t position,
                      std::vector<float> &logits) override;
  llvm::Error decode(int64_t id, int64_t step, int64_t position,
                     std::vector<float> &logits, unsigned &bits) override;
  llvm::Error resetSchedule() override {
    return device->zero(stateAddress, manifest.schedulerState * sizeof(float));
  }
  std::string describe() const override {
    return device->name() + ", code for " + manifest.targetArch;
  }
  int32_t threads() const override { return 1; }

private:
  /// Uploads `ids` as the call's tokens.
  llvm::Error putTokens(llvm::ArrayRef<int64_t> ids) {
    return device->upload(tokensAddress, ids.data(),
                          ids.size() * sizeof(int64_t));
  }
  /// Ends the call and copies its logits (in scratch memory) back.
  llvm::Error takeLogits(const LogitsMemRef &out, std::vector<float> &logits);

  Manifest manifest;
  std::unique_ptr<CUDADevice> device;
  std::unique_ptr<ArtifactLibrary> library;
  uint64_t weightsAddress = 0, kAddress = 0, vAddress = 0, stateAddress = 0,
           tokensAddress = 0;
  EntryBuffers buffers;
};

template <typename T> T *asPointer(uint64_t address) {
  return reinterpret_cast<T *>(static_cast<uintptr_t>(address));
}

} // namespace

CUDAExecutor::~CUDAExecutor() {
  if (!device)
    return;
  if (library)
    device->unbind(library->handle());
  for (uint64_t address :
       {weightsAddress, kAddress, vAddress, stateAddress, tokensAddress})
    device->release(address);
}

llvm::Error CUDAExecutor::open(llvm::StringRef dir) {
  auto opened = CUDADevice::open();
  if (!opened)
    return opened.takeError();
  device = std::move(*opened);

  auto weights = mapWeightsFile(manifest, dir);
  if (!weights)
    return weights.takeError();
  size_t weightsBytes = (*weights)->getBufferSize();
  auto address = device->allocate(weightsBytes, "weights");
  if (!address)
    return address.takeError();
  weightsAddress = *address;
  if (llvm::Error error = device->upload(
          weightsAddress, (*weights)->getBufferStart(), weightsBytes))
    return error;

  size_t cacheBytes =
      ArtifactGeometry::of(manifest).cacheElements() * sizeof(float);
  for (auto [target, what] : {std::pair{&kAddress, "KV cache (keys)"},
                              std::pair{&vAddress, "KV cache (values)"}}) {
    auto cache = device->allocate(cacheBytes, what);
    if (!cache)
      return cache.takeError();
    *target = *cache;
    if (llvm::Error error = device->zero(*target, cacheBytes))
      return error;
  }
  auto state = device->allocate(manifest.schedulerState * sizeof(float),
                                "scheduler state");
  if (!state)
    return state.takeError();
  stateAddress = *state;
  if (llvm::Error error = resetSchedule())
    return error;
  auto tokens =
      device->allocate(manifest.cachePositions * sizeof(int64_t), "token ids");
  if (!tokens)
    return tokens.takeError();
  tokensAddress = *tokens;

  auto loaded = ArtifactLibrary::open(manifest, dir);
  if (!loaded)
    return loaded.takeError();
  library = std::move(*loaded);
  if (llvm::Error error = device->bind(library->handle()))
    return error;

  buffers.kCache = asPointer<float>(kAddress);
  buffers.vCache = asPointer<float>(vAddress);
  buffers.weights = asPointer<uint8_t>(weightsAddress);
  buffers.weightsBytes = int64_t(weightsBytes);
  buffers.schedulerState = asPointer<float>(stateAddress);
  return llvm::Error::success();
}

llvm::Error CUDAExecutor::takeLogits(const LogitsMemRef &out,
                                     std::vector<float> &logits) {
  if (llvm::Error error = device->endCall())
    return error;
  int64_t rows = out.sizes[0], cols = out.sizes[1];
  if (out.strides[1] != 1 || (rows > 1 && out.strides[0] != cols))
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "%s: the compiled code returned non-contiguous logits",
        manifest.libraryFile.c_str());
  logits.resize(size_t(rows) * cols);
  return device->download(logits.data(),
                          reinterpret_cast<uintptr_t>(out.aligned + out.offset),
                          logits.size() * sizeof(float));
}

llvm::Error CUDAExecutor::prefill(llvm::ArrayRef<int64_t> ids, int64_t position,
                                  std::vector<float> &logits) {
  if (llvm::Error error = putTokens(ids))
    return error;
  device->beginCall();
  LogitsMemRef out = library->prefill(asPointer<int64_t>(tokensAddress),
                                      ids.size(), position, buffers);
  return takeLogits(out, logits);
}

llvm::Error CUDAExecutor::decode(int64_t id, int64_t step, int64_t position,
                                 std::vector<float> &logits, unsigned &bits) {
  if (llvm::Error error = putTokens(id))
    return error;
  device->beginCall();
  LogitsMemRef out = library->decode(asPointer<int64_t>(tokensAddress), step,
                                     position, buffers, bits);
  return takeLogits(out, logits);
}

llvm::Expected<std::unique_ptr<Executor>>
pmpd::createCUDAExecutor(const Manifest &manifest, llvm::StringRef dir,
                         const SessionOptions &options) {
  auto executor = std::make_unique<CUDAExecutor>(manifest);
  if (llvm::Error error = executor->open(dir))
    return std::move(error);
  return std::move(executor);
}
