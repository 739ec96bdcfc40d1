//===- CAPI.cpp - The pmpd runtime's C API --------------------------------===//
//
// A thin layer over Session and the tokenizer; the C++ API stays the one
// implementation.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/pmpd.h"
#include "pmpd/Runtime/Session.h"
#include "pmpd/Tokenizer/Tokenizer.h"

#include "llvm/Support/Path.h"

#include <algorithm>
#include <cstring>
#include <string>

using namespace pmpd;

struct pmpd_model {
  std::unique_ptr<Session> session;
  std::unique_ptr<Tokenizer> tokenizer;
};

static thread_local std::string lastError;

static int failWith(llvm::Error error) {
  lastError = llvm::toString(std::move(error));
  return -1;
}

const char *pmpd_last_error(void) { return lastError.c_str(); }

pmpd_model *pmpd_model_open(const char *artifactDir) {
  lastError.clear();
  if (!artifactDir) {
    lastError = "pmpd_model_open: no artifact directory";
    return nullptr;
  }
  auto session = Session::open(artifactDir);
  if (!session) {
    failWith(session.takeError());
    return nullptr;
  }
  llvm::SmallString<256> path(artifactDir);
  llvm::sys::path::append(path, (*session)->manifest().tokenizerFile);
  auto tokenizer = Tokenizer::load(path);
  if (!tokenizer) {
    failWith(tokenizer.takeError());
    return nullptr;
  }
  return new pmpd_model{std::move(*session), std::move(*tokenizer)};
}

void pmpd_model_close(pmpd_model *model) { delete model; }

int64_t pmpd_model_vocab_size(const pmpd_model *model) {
  return model->session->vocabSize();
}

int64_t pmpd_model_max_positions(const pmpd_model *model) {
  return model->session->maxPositions();
}

const char *pmpd_model_schedule(const pmpd_model *model) {
  return model->session->manifest().schedule.c_str();
}

int64_t pmpd_tokenize(pmpd_model *model, const char *text, int64_t *ids,
                      int64_t capacity) {
  auto encoded = model->tokenizer->encode(text ? text : "");
  if (!encoded)
    return failWith(encoded.takeError());
  for (int64_t i = 0; i < std::min<int64_t>(capacity, encoded->size()); ++i)
    ids[i] = (*encoded)[i];
  return int64_t(encoded->size());
}

void pmpd_reset(pmpd_model *model) { model->session->reset(); }

int pmpd_prefill(pmpd_model *model, const int64_t *ids, int64_t count,
                 float *logits) {
  auto result = model->session->prefill(llvm::ArrayRef<int64_t>(ids, count));
  if (!result)
    return failWith(result.takeError());
  if (logits)
    std::memcpy(logits, result->take_back(model->session->vocabSize()).data(),
                model->session->vocabSize() * sizeof(float));
  return 0;
}

int pmpd_decode(pmpd_model *model, int64_t id, int64_t step, float *logits,
                int32_t *bits) {
  unsigned ran = 0;
  auto result = model->session->decode(id, step, ran);
  if (!result)
    return failWith(result.takeError());
  if (logits)
    std::memcpy(logits, result->data(), result->size() * sizeof(float));
  if (bits)
    *bits = int32_t(ran);
  return 0;
}
