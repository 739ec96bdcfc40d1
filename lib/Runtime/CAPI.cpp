//===- CAPI.cpp - The pmpd runtime's C API --------------------------------===//
//
// A thin layer over Session, Generation, Evaluation and the tokenizer; the
// C++ API stays the one implementation. Every entry point that can fail sets
// the thread's last error, so that bindings (python/pmpd) raise with the
// message.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/pmpd.h"
#include "pmpd/Runtime/Evaluation.h"
#include "pmpd/Runtime/Generation.h"
#include "pmpd/Runtime/Session.h"
#include "pmpd/Tokenizer/Tokenizer.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cstring>
#include <string>

using namespace pmpd;

struct pmpd_model {
  std::unique_ptr<Session> session;
  std::unique_ptr<Tokenizer> tokenizer;
  std::string device;
};

struct pmpd_generation {
  std::vector<int64_t> ids;
  std::string statsJSON;
};

static thread_local std::string lastError;

static int failWith(llvm::Error error) {
  lastError = llvm::toString(std::move(error));
  return -1;
}

static int failWith(const llvm::Twine &message) {
  lastError = message.str();
  return -1;
}

const char *pmpd_last_error(void) { return lastError.c_str(); }

pmpd_model *pmpd_model_open_threads(const char *artifactDir, int32_t threads) {
  lastError.clear();
  if (!artifactDir) {
    failWith("pmpd_model_open: no artifact directory");
    return nullptr;
  }
  if (threads < 0) {
    failWith("pmpd_model_open: " + llvm::Twine(threads) +
             " threads (0: one per core)");
    return nullptr;
  }
  SessionOptions options;
  options.threads = threads;
  auto session = Session::open(artifactDir, options);
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
  std::string device = (*session)->executor().describe();
  return new pmpd_model{std::move(*session), std::move(*tokenizer),
                        std::move(device)};
}

pmpd_model *pmpd_model_open(const char *artifactDir) {
  return pmpd_model_open_threads(artifactDir, 0);
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

const char *pmpd_model_target(const pmpd_model *model) {
  return model->session->manifest().target.c_str();
}

const char *pmpd_model_device(const pmpd_model *model) {
  return model->device.c_str();
}

int64_t pmpd_model_bos_id(const pmpd_model *model) {
  return model->tokenizer->bosId();
}

int64_t pmpd_model_eos_id(const pmpd_model *model) {
  return model->tokenizer->eosId();
}

int64_t pmpd_tokenize(pmpd_model *model, const char *text, int64_t textSize,
                      int64_t *ids, int64_t capacity) {
  llvm::StringRef utf8;
  if (text)
    utf8 = textSize < 0 ? llvm::StringRef(text)
                        : llvm::StringRef(text, size_t(textSize));
  auto encoded = model->tokenizer->encode(utf8);
  if (!encoded)
    return failWith(encoded.takeError());
  for (int64_t i = 0; i < std::min<int64_t>(capacity, encoded->size()); ++i)
    ids[i] = (*encoded)[i];
  return int64_t(encoded->size());
}

int64_t pmpd_detokenize(pmpd_model *model, const int64_t *ids, int64_t count,
                        int skipSpecial, char *text, int64_t capacity) {
  if (count < 0)
    return failWith("pmpd_detokenize: " + llvm::Twine(count) + " ids");
  std::vector<int32_t> narrow;
  narrow.reserve(count);
  for (int64_t i = 0; i < count; ++i) {
    // The tokenizer's ids are 32-bit; a wider one is outside the vocabulary.
    if (ids[i] < 0 || ids[i] > INT32_MAX)
      return failWith("token id " + llvm::Twine(ids[i]) +
                      " is outside the vocabulary");
    narrow.push_back(int32_t(ids[i]));
  }
  auto decoded = model->tokenizer->decode(narrow, skipSpecial != 0);
  if (!decoded)
    return failWith(decoded.takeError());
  int64_t size = decoded->size();
  if (text && capacity > 0) {
    int64_t copied = std::min(size, capacity - 1);
    std::memcpy(text, decoded->data(), copied);
    text[copied] = '\0';
  }
  return size;
}

void pmpd_reset(pmpd_model *model) { model->session->reset(); }

int64_t pmpd_rewind(pmpd_model *model, int64_t position) {
  model->session->rewind(position);
  return model->session->position();
}

static int prefillInto(pmpd_model *model, const int64_t *ids, int64_t count,
                       float *logits, bool everyPosition) {
  if (count < 0)
    return failWith("pmpd_prefill: " + llvm::Twine(count) + " tokens");
  auto result = model->session->prefill(llvm::ArrayRef<int64_t>(ids, count));
  if (!result)
    return failWith(result.takeError());
  if (!logits)
    return 0;
  llvm::ArrayRef<float> copied =
      everyPosition ? *result : result->take_back(model->session->vocabSize());
  std::memcpy(logits, copied.data(), copied.size() * sizeof(float));
  return 0;
}

int pmpd_prefill(pmpd_model *model, const int64_t *ids, int64_t count,
                 float *logits) {
  return prefillInto(model, ids, count, logits, /*everyPosition=*/false);
}

int pmpd_prefill_all(pmpd_model *model, const int64_t *ids, int64_t count,
                     float *logits) {
  if (!logits)
    return failWith("pmpd_prefill_all: no logits buffer");
  return prefillInto(model, ids, count, logits, /*everyPosition=*/true);
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

void pmpd_model_kv_shape(const pmpd_model *model, int64_t *layers,
                         int64_t *kvHeads, int64_t *headDim) {
  const ModelConfig &config = model->session->manifest().model;
  *layers = config.numLayers;
  *kvHeads = config.numKVHeads;
  *headDim = config.headDim;
}

int pmpd_read_kv_cache(pmpd_model *model, int64_t layer, int64_t count,
                       float *keys, float *values) {
  if (!keys || !values)
    return failWith("pmpd_read_kv_cache: no keys or values buffer");
  if (llvm::Error error =
          model->session->readCache(layer, count, keys, values))
    return failWith(std::move(error));
  return 0;
}

pmpd_generation *pmpd_generate(pmpd_model *model, const int64_t *prompt,
                               int64_t count, int64_t maxNewTokens,
                               float temperature, float topP, uint64_t seed,
                               int64_t eosId) {
  if (count < 0 || maxNewTokens <= 0 || temperature < 0 || !(topP > 0) ||
      topP > 1) {
    failWith(llvm::formatv("pmpd_generate: invalid options ({0} prompt "
                           "tokens, max_new_tokens {1}, temperature {2}, "
                           "top_p {3}): max_new_tokens must be positive, "
                           "temperature at least 0 and top_p in (0, 1]",
                           count, maxNewTokens, temperature, topP)
                 .str());
    return nullptr;
  }
  GenerationOptions options;
  options.maxNewTokens = maxNewTokens;
  options.temperature = temperature;
  options.topP = topP;
  options.seed = seed;
  options.eosId = eosId;
  auto result = generate(*model->session,
                         llvm::ArrayRef<int64_t>(prompt, count), options);
  if (!result) {
    failWith(result.takeError());
    return nullptr;
  }
  std::string stats;
  llvm::raw_string_ostream os(stats);
  os << result->stats.toJSON();
  return new pmpd_generation{std::move(result->generated), std::move(stats)};
}

int64_t pmpd_generation_size(const pmpd_generation *generation) {
  return generation->ids.size();
}

const int64_t *pmpd_generation_ids(const pmpd_generation *generation) {
  return generation->ids.data();
}

const char *pmpd_generation_stats_json(const pmpd_generation *generation) {
  return generation->statsJSON.c_str();
}

void pmpd_generation_free(pmpd_generation *generation) { delete generation; }

int pmpd_perplexity(pmpd_model *model, const int64_t *ids,
                    const int64_t *lengths, int64_t numDocs,
                    int64_t prefillPositions, pmpd_model *reference,
                    pmpd_perplexity_result *result) {
  if (!result)
    return failWith("pmpd_perplexity: no result");
  if (numDocs < 0 || prefillPositions < 1)
    return failWith("pmpd_perplexity: " + llvm::Twine(numDocs) +
                    " documents, " + llvm::Twine(prefillPositions) +
                    " prefill positions (at least 1)");
  if (reference &&
      reference->session->manifest().model != model->session->manifest().model)
    return failWith("pmpd_perplexity: the reference is an artifact of "
                    "another model");
  std::vector<std::vector<int64_t>> docs;
  docs.reserve(numDocs);
  for (int64_t i = 0, offset = 0; i < numDocs; offset += lengths[i++]) {
    if (lengths[i] < 2)
      return failWith("pmpd_perplexity: document " + llvm::Twine(i) + " has " +
                      llvm::Twine(lengths[i]) +
                      " tokens; at least 2 are needed to predict one");
    docs.emplace_back(ids + offset, ids + offset + lengths[i]);
  }
  ScheduledPerplexityOptions options;
  options.prefillPositions = prefillPositions;
  auto scored =
      evaluateScheduledPerplexity(*model->session, docs, options,
                                  reference ? reference->session.get() : nullptr);
  if (!scored)
    return failWith(scored.takeError());
  *result = pmpd_perplexity_result{scored->totalNLL,
                                   scored->tokens,
                                   scored->documents,
                                   scored->decodeSteps,
                                   scored->decodeBitsSum,
                                   scored->totalKL,
                                   scored->agreements,
                                   scored->compared,
                                   scored->maxRelativeLogitError};
  return 0;
}
