//===- Evaluation.h - Schedule-aware perplexity of an artifact --*- C++ -*-===//
//
// The fixture protocol (each document's first 512 ids, documents under 32
// ids skipped, next-token NLL over positions 1..n-1) run the way PMPD runs a
// model: the first positions of a document as prefill at the prefill
// precision, every later position as a decode step at the precision the
// compiled schedule gives that step. With a reference artifact (fp16), also
// the mean KL divergence KL(ref || this) and top-1 agreement per position.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_RUNTIME_EVALUATION_H
#define PMPD_RUNTIME_EVALUATION_H

#include "pmpd/Runtime/Session.h"
#include "pmpd/Tokenizer/Tokenizer.h"

#include "llvm/Support/JSON.h"

#include <functional>

namespace pmpd {

struct ScheduledPerplexityOptions {
  int64_t prefillPositions = 128;
  int64_t maxLength = 512;
  int64_t minLength = 32;
};

struct ScheduledPerplexity {
  double totalNLL = 0;
  int64_t tokens = 0;
  int64_t documents = 0;
  double totalKL = 0;      // With a reference only.
  int64_t agreements = 0;  // Positions whose argmax matches the reference's.
  int64_t compared = 0;
  /// With a reference: the largest max_j |logit_j - ref_j| / max_j |ref_j|
  /// over the positions (how closely two targets agree).
  double maxRelativeLogitError = 0;
  int64_t decodeSteps = 0;   // Positions scored as decode steps,
  int64_t decodeBitsSum = 0; // and the sum of the bits they ran at.

  double perplexity() const;
  /// Mean precision of the decode steps (0 when there were none).
  double averageDecodeBits() const;
  double meanKL() const;
  double top1Agreement() const;
  llvm::json::Value toJSON() const;
};

/// Reads a .jsonl(.xz) file's texts and encodes them with BOS, truncated to
/// `maxLength` ids; documents shorter than `minLength` ids are dropped.
/// `maxDocs` > 0 keeps only the first documents of the file.
llvm::Expected<std::vector<std::vector<int64_t>>>
tokenizeDocuments(llvm::StringRef path, const Tokenizer &tokenizer,
                  int64_t maxDocs, int64_t maxLength = 512,
                  int64_t minLength = 32);

/// `onDocument`, when given, is called after each document (progress).
llvm::Expected<ScheduledPerplexity> evaluateScheduledPerplexity(
    Session &session, llvm::ArrayRef<std::vector<int64_t>> docs,
    const ScheduledPerplexityOptions &options, Session *reference = nullptr,
    const std::function<void()> &onDocument = nullptr);

} // namespace pmpd

#endif // PMPD_RUNTIME_EVALUATION_H
