//===- Generation.cpp - Text generation and its statistics ----------------===//

#include "pmpd/Runtime/Generation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

using namespace pmpd;

namespace {
double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}

/// splitmix64: small, fast and reproducible across platforms.
uint64_t nextRandom(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
} // namespace

int64_t GenerationStats::decodeTokens() const {
  int64_t total = 0;
  for (const DecodeSegment &s : segments)
    total += s.tokens;
  return total;
}

double GenerationStats::decodeSeconds() const {
  double total = 0;
  for (const DecodeSegment &s : segments)
    total += s.seconds;
  return total;
}

double GenerationStats::averageDecodeBits() const {
  int64_t tokens = decodeTokens();
  if (!tokens)
    return 0;
  double bits = 0;
  for (const DecodeSegment &s : segments)
    bits += double(s.bits) * s.tokens;
  return bits / tokens;
}

llvm::StringRef pmpd::finishReasonName(FinishReason reason) {
  switch (reason) {
  case FinishReason::Length:
    return "length";
  case FinishReason::EOS:
    return "eos";
  case FinishReason::CacheFull:
    return "cache_full";
  }
  return "?";
}

llvm::json::Value GenerationStats::toJSON() const {
  llvm::json::Array segmentsJSON;
  for (const DecodeSegment &s : segments)
    segmentsJSON.push_back(llvm::json::Object{
        {"bits", int64_t(s.bits)},
        {"first_step", s.firstStep},
        {"tokens", s.tokens},
        {"seconds", s.seconds},
        {"tokens_per_second", s.seconds > 0 ? s.tokens / s.seconds : 0.0}});
  llvm::json::Array switches;
  for (int64_t step : switchSteps)
    switches.push_back(step);
  double decodeTime = decodeSeconds();
  return llvm::json::Object{
      {"finish_reason", finishReasonName(finishReason)},
      {"prompt_tokens", promptTokens},
      {"prefill_seconds", prefillSeconds},
      {"prefill_tokens_per_second",
       prefillSeconds > 0 ? promptTokens / prefillSeconds : 0.0},
      {"decode_tokens", decodeTokens()},
      {"decode_seconds", decodeTime},
      {"decode_tokens_per_second",
       decodeTime > 0 ? decodeTokens() / decodeTime : 0.0},
      {"average_decode_bits", averageDecodeBits()},
      {"switch_steps", std::move(switches)},
      {"decode_segments", std::move(segmentsJSON)}};
}

int64_t pmpd::sampleToken(llvm::ArrayRef<float> logits,
                          const GenerationOptions &options,
                          uint64_t &rngState) {
  if (options.temperature <= 0.0f)
    return std::max_element(logits.begin(), logits.end()) - logits.begin();
  // Softmax at the temperature, then the smallest set of most likely tokens
  // whose mass reaches top-p.
  float maxLogit = *std::max_element(logits.begin(), logits.end());
  std::vector<std::pair<float, int64_t>> probs(logits.size());
  double total = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    float p = std::exp((logits[i] - maxLogit) / options.temperature);
    probs[i] = {p, int64_t(i)};
    total += p;
  }
  std::sort(probs.begin(), probs.end(),
            [](auto &a, auto &b) { return a.first > b.first; });
  double kept = 0;
  size_t count = 0;
  while (count < probs.size() &&
         (count == 0 || kept < options.topP * total)) {
    kept += probs[count].first;
    ++count;
  }
  double r = double(nextRandom(rngState) >> 11) / double(1ull << 53) * kept;
  for (size_t i = 0; i < count; ++i) {
    r -= probs[i].first;
    if (r <= 0)
      return probs[i].second;
  }
  return probs[count - 1].second;
}

llvm::Expected<GenerationResult>
pmpd::generate(Session &session, llvm::ArrayRef<int64_t> prompt,
               const GenerationOptions &options) {
  GenerationResult result;
  GenerationStats &stats = result.stats;
  session.reset();
  uint64_t rng = options.seed;

  auto start = std::chrono::steady_clock::now();
  auto logits = session.prefill(prompt);
  if (!logits)
    return logits.takeError();
  stats.promptTokens = prompt.size();
  stats.prefillSeconds = secondsSince(start);
  if (options.keepLogits)
    result.logits.assign(logits->begin(), logits->end());
  int64_t vocab = session.vocabSize();
  int64_t token = sampleToken(logits->take_back(vocab), options, rng);

  for (int64_t step = 0;; ++step) {
    result.generated.push_back(token);
    if (token == options.eosId) {
      stats.finishReason = FinishReason::EOS;
      break;
    }
    if (int64_t(result.generated.size()) >= options.maxNewTokens)
      break;
    if (session.position() >= session.maxPositions()) {
      stats.finishReason = FinishReason::CacheFull;
      break;
    }
    unsigned bits = 0;
    start = std::chrono::steady_clock::now();
    auto next = session.decode(token, step, bits);
    if (!next)
      return next.takeError();
    double seconds = secondsSince(start);
    if (stats.segments.empty() || stats.segments.back().bits != bits) {
      if (!stats.segments.empty())
        stats.switchSteps.push_back(step);
      stats.segments.push_back(DecodeSegment{bits, step, 0, 0});
    }
    stats.segments.back().tokens += 1;
    stats.segments.back().seconds += seconds;
    if (options.keepLogits)
      result.logits.insert(result.logits.end(), next->begin(), next->end());
    token = sampleToken(*next, options, rng);
  }
  return result;
}
