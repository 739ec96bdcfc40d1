//===- Evaluation.cpp - Schedule-aware perplexity of an artifact ----------===//

#include "pmpd/Runtime/Evaluation.h"
#include "pmpd/Reference/Documents.h"

#include <algorithm>
#include <cmath>

using namespace pmpd;

double ScheduledPerplexity::perplexity() const {
  return tokens ? std::exp(totalNLL / tokens) : 0.0;
}
double ScheduledPerplexity::meanKL() const {
  return compared ? totalKL / compared : 0.0;
}
double ScheduledPerplexity::averageDecodeBits() const {
  return decodeSteps ? double(decodeBitsSum) / decodeSteps : 0.0;
}
double ScheduledPerplexity::top1Agreement() const {
  return compared ? double(agreements) / compared : 0.0;
}

llvm::json::Value ScheduledPerplexity::toJSON() const {
  llvm::json::Object root{{"ppl", perplexity()},
                          {"tokens", tokens},
                          {"documents", documents},
                          {"decode_steps", decodeSteps},
                          {"average_decode_bits", averageDecodeBits()}};
  if (compared) {
    root["kl"] = meanKL();
    root["top1_agreement"] = top1Agreement();
    root["max_relative_logit_error"] = maxRelativeLogitError;
  }
  return std::move(root);
}

llvm::Expected<std::vector<std::vector<int64_t>>>
pmpd::tokenizeDocuments(llvm::StringRef path, const Tokenizer &tokenizer,
                        int64_t maxDocs, int64_t maxLength,
                        int64_t minLength) {
  auto texts = readJsonlTexts(path);
  if (!texts)
    return texts.takeError();
  std::vector<std::vector<int64_t>> docs;
  for (size_t i = 0; i < texts->size(); ++i) {
    if (maxDocs > 0 && int64_t(i) >= maxDocs)
      break;
    auto ids = tokenizer.encode((*texts)[i]);
    if (!ids)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          path + ": document " + llvm::Twine(i + 1) + ": " +
              llvm::toString(ids.takeError()));
    if (int64_t(ids->size()) > maxLength)
      ids->resize(maxLength);
    if (int64_t(ids->size()) < minLength)
      continue;
    docs.emplace_back(ids->begin(), ids->end());
  }
  return docs;
}

namespace {

/// log-softmax of `logits` at `index`, and the log-normalizer.
double logProbability(llvm::ArrayRef<float> logits, int64_t index,
                      double &logSumExp) {
  float maxLogit = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits)
    sum += std::exp(double(l) - maxLogit);
  logSumExp = maxLogit + std::log(sum);
  return logits[index] - logSumExp;
}

/// Scores `logits` (predicting `next`) into `result`, against `reference`
/// logits when given.
void score(llvm::ArrayRef<float> logits, int64_t next,
           llvm::ArrayRef<float> reference, ScheduledPerplexity &result) {
  double logZ;
  result.totalNLL -= logProbability(logits, next, logZ);
  result.tokens += 1;
  if (reference.empty())
    return;
  double refLogZ;
  logProbability(reference, 0, refLogZ);
  // KL, and the largest logit difference relative to the reference's
  // largest magnitude at this position.
  double kl = 0;
  float scale = 0, error = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    double refLog = reference[i] - refLogZ;
    kl += std::exp(refLog) * (refLog - (logits[i] - logZ));
    scale = std::max(scale, std::fabs(reference[i]));
    error = std::max(error, std::fabs(logits[i] - reference[i]));
  }
  result.totalKL += kl;
  double relativeError = error / std::max(scale, 1e-30f);
  result.maxRelativeLogitError =
      std::max(result.maxRelativeLogitError, relativeError);
  auto argmax = [](llvm::ArrayRef<float> v) {
    return std::max_element(v.begin(), v.end()) - v.begin();
  };
  result.agreements += argmax(logits) == argmax(reference);
  result.compared += 1;
}

} // namespace

llvm::Expected<ScheduledPerplexity> pmpd::evaluateScheduledPerplexity(
    Session &session, llvm::ArrayRef<std::vector<int64_t>> docs,
    const ScheduledPerplexityOptions &options, Session *reference,
    const std::function<void()> &onDocument) {
  ScheduledPerplexity result;
  int64_t vocab = session.vocabSize();
  for (const std::vector<int64_t> &doc : docs) {
    int64_t n = doc.size();
    int64_t prefill = std::min(options.prefillPositions, n - 1);
    llvm::ArrayRef<int64_t> ids(doc);
    session.reset();
    auto logits = session.prefill(ids.take_front(prefill));
    if (!logits)
      return logits.takeError();
    std::vector<float> prefillLogits(logits->begin(), logits->end());
    std::vector<float> refLogits;
    if (reference) {
      reference->reset();
      auto ref = reference->prefill(ids.take_front(prefill));
      if (!ref)
        return ref.takeError();
      refLogits.assign(ref->begin(), ref->end());
    }
    llvm::ArrayRef<float> all(prefillLogits), allRef(refLogits);
    for (int64_t t = 0; t < prefill; ++t)
      score(all.slice(t * vocab, vocab), ids[t + 1],
            reference ? allRef.slice(t * vocab, vocab)
                      : llvm::ArrayRef<float>(),
            result);
    // Decode: position p runs as decode step p - prefill.
    for (int64_t p = prefill; p + 1 < n; ++p) {
      unsigned bits;
      auto step = session.decode(ids[p], p - prefill, bits);
      if (!step)
        return step.takeError();
      result.decodeSteps += 1;
      result.decodeBitsSum += bits;
      std::vector<float> stepLogits(step->begin(), step->end());
      std::vector<float> stepRef;
      if (reference) {
        unsigned refBits;
        auto ref = reference->decode(ids[p], p - prefill, refBits);
        if (!ref)
          return ref.takeError();
        stepRef.assign(ref->begin(), ref->end());
      }
      score(stepLogits, ids[p + 1], stepRef, result);
    }
    result.documents += 1;
    if (onDocument)
      onDocument();
  }
  return result;
}
