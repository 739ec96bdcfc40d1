//===- Session.cpp - A loaded artifact and its KV cache -------------------===//

#include "pmpd/Runtime/Session.h"

using namespace pmpd;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

llvm::Expected<std::unique_ptr<Session>>
Session::open(llvm::StringRef dir, const SessionOptions &options) {
  auto manifest = Manifest::load(dir);
  if (!manifest)
    return manifest.takeError();
  std::unique_ptr<Session> session(new Session());
  session->info = std::move(*manifest);
  auto executor = createExecutor(session->info, dir, options);
  if (!executor)
    return executor.takeError();
  session->runner = std::move(*executor);
  return std::move(session);
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

llvm::Expected<llvm::ArrayRef<float>>
Session::prefill(llvm::ArrayRef<int64_t> ids) {
  if (llvm::Error error = checkTokens(ids))
    return std::move(error);
  if (llvm::Error error = runner->prefill(ids, cached, logits))
    return std::move(error);
  // A prefill starts a new decode phase: the schedule starts over.
  if (llvm::Error error = runner->resetSchedule())
    return std::move(error);
  cached += ids.size();
  return llvm::ArrayRef<float>(logits);
}

llvm::Expected<llvm::ArrayRef<float>> Session::decode(int64_t id, int64_t step,
                                                      unsigned &bits) {
  if (llvm::Error error = checkTokens(id))
    return std::move(error);
  if (llvm::Error error = runner->decode(id, step, cached, logits, bits))
    return std::move(error);
  ++cached;
  return llvm::ArrayRef<float>(logits);
}

llvm::Error Session::readCache(int64_t layer, int64_t count, float *keys,
                               float *values) {
  int64_t layers = info.model.numLayers;
  if (layer < 0 || layer >= layers)
    return makeError("KV cache layer " + llvm::Twine(layer) +
                     " is outside [0, " + llvm::Twine(layers) + ")");
  if (count < 0 || count > cached)
    return makeError("cannot read " + llvm::Twine(count) +
                     " KV cache positions: " + llvm::Twine(cached) +
                     " are cached");
  return runner->readCache(layer, count, keys, values);
}
