//===- pmpd-run.cpp - Generate text or measure perplexity -----------------===//
//
// Runs a compiled artifact: greedy or sampled generation from a prompt with
// the statistics PMPD is judged by, or schedule-aware perplexity on a JSONL
// file (optionally with KL divergence and top-1 agreement against an fp16
// artifact).
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/Evaluation.h"
#include "pmpd/Runtime/Generation.h"
#include "pmpd/Runtime/Session.h"
#include "pmpd/Support/Progress.h"
#include "pmpd/Tokenizer/Tokenizer.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace pmpd;

static cl::OptionCategory category("pmpd-run options");
static cl::opt<std::string> artifactDir(cl::Positional, cl::Required,
                                        cl::desc("<artifact dir>"),
                                        cl::cat(category));
static cl::opt<std::string> prompt("prompt", cl::desc("Prompt text"),
                                   cl::value_desc("text"), cl::cat(category));
static cl::opt<std::string>
    promptFile("prompt-file",
               cl::desc("Prompt text from a file, or '-' for standard input "
                        "(for prompts longer than a command line)"),
               cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string>
    promptIds("prompt-ids",
              cl::desc("Prompt as comma-separated token ids (BOS not added)"),
              cl::value_desc("1,2,3"), cl::cat(category));
static cl::opt<int64_t> maxTokens("n", cl::desc("Tokens to generate"),
                                  cl::init(64), cl::cat(category));
static cl::opt<float> temperature("temperature",
                                  cl::desc("Sampling temperature (0: greedy)"),
                                  cl::init(0.0f), cl::cat(category));
static cl::opt<float> topP("top-p", cl::desc("Nucleus sampling mass"),
                           cl::init(1.0f), cl::cat(category));
static cl::opt<uint64_t> seed("seed", cl::desc("Sampling seed"), cl::init(0),
                              cl::cat(category));
static cl::opt<bool> ignoreEos("ignore-eos",
                               cl::desc("Do not stop at the EOS token"),
                               cl::cat(category));
static cl::opt<std::string>
    pplFile("ppl", cl::desc("Measure perplexity on a .jsonl or .jsonl.xz file "
                            "(one {\"text\": ...} object a line)"),
            cl::value_desc("file"), cl::cat(category));
static cl::opt<int64_t>
    pplPrefill("ppl-prefill",
               cl::desc("Positions of each document run as prefill; later "
                        "positions run as decode steps"),
               cl::init(128), cl::cat(category));
static cl::opt<int64_t>
    pplMaxLength("ppl-max-length",
                 cl::desc("Ids of each document scored: its first N, BOS "
                          "included (the fixture protocol's 512; documents "
                          "under 32 ids are skipped)"),
                 cl::init(512), cl::cat(category));
static cl::opt<int64_t> pplMaxDocs("max-docs",
                                   cl::desc("Evaluate only the first N "
                                            "documents (0: all)"),
                                   cl::init(0), cl::cat(category));
static cl::opt<std::string>
    klRef("kl-ref",
          cl::desc("Reference artifact of the same model (the fp16 one, or "
                   "the same model on another target): report mean KL(ref "
                   "|| this), top-1 agreement and the largest relative "
                   "logit difference"),
          cl::value_desc("dir"), cl::cat(category));
static cl::opt<int64_t> threads("num-threads",
                                cl::desc("Kernel threads (0: all cores)"),
                                cl::init(0), cl::cat(category));
static cl::opt<std::string> dumpLogits(
    "dump-logits",
    cl::desc("Write the logits of every position (the prompt's, then each "
             "decode step's) as a float32 .npy array [positions, vocab]"),
    cl::value_desc("file.npy"), cl::cat(category));
static cl::opt<bool> jsonOutput("json", cl::desc("Print one JSON object"),
                          cl::cat(category));

static SessionOptions sessionOptions() {
  SessionOptions options;
  options.threads = int32_t(threads);
  return options;
}

static int fail(const Twine &message) {
  WithColor::error(errs(), "pmpd-run") << message << "\n";
  return 1;
}

static Expected<std::vector<int64_t>> parseIds(StringRef text) {
  std::vector<int64_t> ids;
  SmallVector<StringRef> parts;
  text.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (StringRef part : parts) {
    int64_t id;
    if (part.trim().getAsInteger(10, id))
      return createStringError(inconvertibleErrorCode(),
                               "--prompt-ids: '" + part.trim() +
                                   "' is not a token id");
    ids.push_back(id);
  }
  if (ids.empty())
    return createStringError(inconvertibleErrorCode(),
                             "--prompt-ids: no token ids");
  return ids;
}

/// Writes `values` as a float32 .npy array of shape [size / cols, cols].
static Error writeNpy(StringRef path, ArrayRef<float> values, int64_t cols) {
  std::error_code ec;
  raw_fd_ostream os(path, ec);
  if (ec)
    return createStringError(ec, "cannot write %s: %s", path.str().c_str(),
                             ec.message().c_str());
  std::string header =
      formatv("{{'descr': '<f4', 'fortran_order': False, 'shape': ({0}, {1}), }",
              int64_t(values.size()) / cols, cols)
          .str();
  // Magic, version 1.0, header length; the header is padded with spaces and
  // ends in a newline so that the data starts at a multiple of 64 bytes.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  os << "\x93NUMPY" << char(1) << char(0) << char(header.size() & 0xff)
     << char(header.size() >> 8) << header;
  os.write(reinterpret_cast<const char *>(values.data()),
           values.size() * sizeof(float));
  return Error::success();
}

/// Says so on stderr when generation stopped before -n because the KV cache
/// was full.
static void warnIfCacheFull(const Session &session,
                            const GenerationResult &result) {
  if (result.stats.finishReason != FinishReason::CacheFull)
    return;
  WithColor::warning(errs(), "pmpd-run")
      << "stopped after " << result.generated.size()
      << " tokens: the KV cache holds " << session.maxPositions()
      << " positions (prompt and generated tokens together)\n";
}

static int runGeneration(Session &session) {
  SmallString<256> tokenizerPath(artifactDir);
  sys::path::append(tokenizerPath, session.manifest().tokenizerFile);
  auto tokenizer = Tokenizer::load(tokenizerPath);
  if (!tokenizer)
    return fail(toString(tokenizer.takeError()));

  std::vector<int64_t> ids;
  if (!promptIds.empty()) {
    auto parsed = parseIds(promptIds);
    if (!parsed)
      return fail(toString(parsed.takeError()));
    ids = std::move(*parsed);
  } else {
    std::string text = prompt;
    if (!promptFile.empty()) {
      auto file = MemoryBuffer::getFileOrSTDIN(promptFile, /*IsText=*/true);
      if (!file)
        return fail(promptFile + ": " + file.getError().message());
      text = (*file)->getBuffer().str();
    }
    auto encoded = (*tokenizer)->encode(text);
    if (!encoded)
      return fail((promptFile.empty() ? std::string("--prompt")
                                      : std::string(promptFile)) +
                  ": " +
                  toString(encoded.takeError()));
    ids.assign(encoded->begin(), encoded->end());
  }

  GenerationOptions options;
  options.maxNewTokens = maxTokens;
  options.temperature = temperature;
  options.topP = topP;
  options.seed = seed;
  options.eosId = ignoreEos ? -1 : (*tokenizer)->eosId();
  options.keepLogits = !dumpLogits.empty();
  auto result = generate(session, ids, options);
  if (!result)
    return fail(toString(result.takeError()));

  if (!dumpLogits.empty())
    if (Error error = writeNpy(dumpLogits, result->logits, session.vocabSize()))
      return fail(toString(std::move(error)));

  std::vector<int32_t> generated(result->generated.begin(),
                                 result->generated.end());
  auto text = (*tokenizer)->decode(generated, /*skipSpecial=*/true);
  if (!text)
    return fail(toString(text.takeError()));
  const GenerationStats &stats = result->stats;

  if (jsonOutput) {
    json::Array promptJSON, generatedJSON;
    for (int64_t id : ids)
      promptJSON.push_back(id);
    for (int64_t id : result->generated)
      generatedJSON.push_back(id);
    json::Object root{{"schedule", session.manifest().schedule},
                      {"target", session.manifest().target},
                      {"device", session.executor().describe()},
                      {"threads", int64_t(session.executor().threads())},
                      {"prompt_ids", std::move(promptJSON)},
                      {"generated_ids", std::move(generatedJSON)},
                      {"text", *text},
                      {"stats", stats.toJSON()}};
    outs() << formatv("{0:2}", json::Value(std::move(root))) << "\n";
    warnIfCacheFull(session, *result);
    return 0;
  }

  outs() << *text << "\n\n";
  outs() << "schedule:  " << session.manifest().schedule << "\n";
  outs() << "device:    " << session.executor().describe() << "\n";
  outs() << formatv("prefill:   {0} tokens in {1:f3} s ({2:f1} tok/s)\n",
                    stats.promptTokens, stats.prefillSeconds,
                    stats.prefillSeconds > 0
                        ? stats.promptTokens / stats.prefillSeconds
                        : 0.0);
  for (const DecodeSegment &s : stats.segments)
    outs() << formatv("decode:    {0,2}-bit  steps {1,4}..{2,-4}  {3,4} "
                      "tokens  {4:f1} tok/s\n",
                      s.bits, s.firstStep, s.firstStep + s.tokens - 1,
                      s.tokens, s.seconds > 0 ? s.tokens / s.seconds : 0.0);
  double decodeTime = stats.decodeSeconds();
  outs() << formatv("decode:    {0} tokens in {1:f3} s ({2:f1} tok/s), "
                    "average {3:f2} bits per token\n",
                    stats.decodeTokens(), decodeTime,
                    decodeTime > 0 ? stats.decodeTokens() / decodeTime : 0.0,
                    stats.averageDecodeBits());
  outs() << "switches:  ";
  if (stats.switchSteps.empty())
    outs() << "none";
  for (size_t i = 0; i < stats.switchSteps.size(); ++i)
    outs() << (i ? ", " : "") << "step " << stats.switchSteps[i];
  outs() << "\n";
  warnIfCacheFull(session, *result);
  return 0;
}

static int runPerplexity(Session &session) {
  SmallString<256> tokenizerPath(artifactDir);
  sys::path::append(tokenizerPath, session.manifest().tokenizerFile);
  auto tokenizer = Tokenizer::load(tokenizerPath);
  if (!tokenizer)
    return fail(toString(tokenizer.takeError()));
  auto docs =
      tokenizeDocuments(pplFile, **tokenizer, pplMaxDocs, pplMaxLength);
  if (!docs)
    return fail(toString(docs.takeError()));

  std::unique_ptr<Session> reference;
  if (!klRef.empty()) {
    auto opened = Session::open(klRef, sessionOptions());
    if (!opened)
      return fail(toString(opened.takeError()));
    reference = std::move(*opened);
    if (reference->manifest().model != session.manifest().model)
      return fail("--kl-ref " + klRef + " is an artifact of another model");
  }
  ScheduledPerplexityOptions options;
  options.prefillPositions = pplPrefill;
  ProgressBar progress("perplexity", docs->size());
  auto result = evaluateScheduledPerplexity(session, *docs, options,
                                            reference.get(),
                                            [&] { progress.advance(1); });
  progress.finish();
  if (!result)
    return fail(toString(result.takeError()));
  if (jsonOutput) {
    outs() << formatv("{0:2}", result->toJSON()) << "\n";
    return 0;
  }
  outs() << formatv("perplexity {0:f3} over {1} predicted tokens in {2} "
                    "documents ({3}; {4:f3} bits per decode step)\n",
                    result->perplexity(), result->tokens, result->documents,
                    session.manifest().schedule, result->averageDecodeBits());
  if (reference)
    outs() << formatv("KL(ref || this) {0:f5} nats per token, top-1 "
                      "agreement {1:f2}%, largest relative logit "
                      "difference {2:e}\n",
                      result->meanKL(), 100.0 * result->top1Agreement(),
                      result->maxRelativeLogitError);
  return 0;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "pmpd-run: run a compiled pmpd artifact\n\n"
      "  pmpd-run ART --prompt TEXT [-n N] [--json]\n"
      "  pmpd-run ART --prompt-file FILE|- [-n N] [--json]\n"
      "  pmpd-run ART --prompt-ids 1,2,3 [-n N] [--json]\n"
      "  pmpd-run ART --ppl FILE.jsonl[.xz] [--ppl-prefill 128] "
      "[--ppl-max-length 512]\n"
      "      [--kl-ref FP16_ART] [--json]\n");
  int modes = !prompt.empty() + !promptFile.empty() + !promptIds.empty() +
              !pplFile.empty();
  if (modes != 1)
    return fail("give exactly one of --prompt, --prompt-file, --prompt-ids "
                "or --ppl");
  if (maxTokens <= 0)
    return fail("-n must be positive");
  if (pplPrefill < 1)
    return fail("--ppl-prefill must be at least 1");
  if (pplMaxLength < 32)
    return fail("--ppl-max-length must be at least 32 (shorter documents "
                "are skipped)");
  auto session = Session::open(artifactDir, sessionOptions());
  if (!session)
    return fail(toString(session.takeError()));
  return pplFile.empty() ? runGeneration(**session) : runPerplexity(**session);
}
