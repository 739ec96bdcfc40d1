//===- pmpd-tokenize.cpp - Encode and decode text with tokenizer.json -----===//
//
// A thin command line over the Tokenizer library: text on stdin becomes a
// JSON array of ids, or ids become text. It lets scripts and lit tests check
// the C++ tokenizer against Hugging Face without linking anything, and its
// --jsonl mode tokenizes many strings in one process.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Tokenizer/Tokenizer.h"
#include "pmpd/Tokenizer/Unicode.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace pmpd;

static cl::OptionCategory category("pmpd-tokenize options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model dir | tokenizer.json>"),
                                      cl::cat(category));
static cl::opt<bool>
    decodeMode("decode",
               cl::desc("Read a JSON array of ids on stdin and print their "
                        "text exactly (no newline added)"),
               cl::cat(category));
static cl::opt<bool>
    noSpecial("no-special",
              cl::desc("Encoding: do not add the post-processor's tokens "
                       "(BOS); literal special tokens in the text still "
                       "count"),
              cl::cat(category));
static cl::opt<bool>
    skipSpecial("skip-special",
                cl::desc("Decoding: leave out special tokens (<s>, </s>)"),
                cl::cat(category));
static cl::opt<bool> jsonLines(
    "jsonl",
    cl::desc("Batch mode: each stdin line is one JSON string (one JSON id "
             "array with --decode); print one JSON id array (one JSON "
             "string) per line"),
    cl::cat(category));

static int fail(const Twine &message) {
  // Lines already printed (--jsonl) come before the error.
  outs().flush();
  WithColor::error(errs(), "pmpd-tokenize") << message << "\n";
  return 1;
}

static void printIds(raw_ostream &os, ArrayRef<int32_t> ids) {
  os << '[';
  interleave(ids, os, ",");
  os << "]\n";
}

/// The ids of a JSON array; errors say which element is wrong.
static Expected<std::vector<int32_t>> parseIds(StringRef text,
                                               size_t vocabSize) {
  Expected<json::Value> value = json::parse(text);
  if (!value)
    return createStringError(inconvertibleErrorCode(),
                             "not valid JSON: " + toString(value.takeError()));
  const json::Array *array = value->getAsArray();
  if (!array)
    return createStringError(inconvertibleErrorCode(),
                             "expected a JSON array of token ids");
  std::vector<int32_t> ids;
  ids.reserve(array->size());
  for (auto [index, element] : enumerate(*array)) {
    std::optional<int64_t> id = element.getAsInteger();
    if (!id)
      return createStringError(inconvertibleErrorCode(),
                               "element %zu is not an integer", index);
    if (*id < INT32_MIN || *id > INT32_MAX)
      return createStringError(inconvertibleErrorCode(),
                               "token id %lld (at index %zu) is not in the "
                               "vocabulary of %zu ids",
                               static_cast<long long>(*id), index, vocabSize);
    ids.push_back(static_cast<int32_t>(*id));
  }
  return ids;
}

/// Encodes or decodes one input; the result is printed by the caller.
static Error runOne(const Tokenizer &tok, StringRef input, bool jsonInput,
                    raw_ostream &os) {
  if (decodeMode) {
    Expected<std::vector<int32_t>> ids = parseIds(input, tok.vocabSize());
    if (!ids)
      return ids.takeError();
    Expected<std::string> text = tok.decode(*ids, skipSpecial);
    if (!text)
      return text.takeError();
    if (jsonInput)
      os << json::Value(std::move(*text)) << '\n';
    else
      os << *text;
    return Error::success();
  }

  std::string decoded;
  if (jsonInput) {
    Expected<json::Value> value = json::parse(combineJSONSurrogatePairs(input));
    if (!value)
      return createStringError(inconvertibleErrorCode(),
                               "not valid JSON: " +
                                   toString(value.takeError()));
    std::optional<StringRef> s = value->getAsString();
    if (!s)
      return createStringError(inconvertibleErrorCode(),
                               "expected a JSON string");
    decoded = s->str();
    input = decoded;
  }
  Expected<std::vector<int32_t>> ids = tok.encode(input, !noSpecial);
  if (!ids)
    return ids.takeError();
  printIds(os, *ids);
  return Error::success();
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "Byte-level BPE tokenizer (Hugging Face tokenizer.json)\n\n"
      "  pmpd-tokenize MODEL < text.txt            print the ids, BOS "
      "included\n"
      "  pmpd-tokenize MODEL --decode < ids.json   print the text of a JSON "
      "id array\n"
      "  pmpd-tokenize MODEL --jsonl < strs.jsonl  one JSON string in, one "
      "id array out, per line\n");

  if (decodeMode && noSpecial)
    return fail("--no-special applies to encoding; with --decode use "
                "--skip-special");
  if (!decodeMode && skipSpecial)
    return fail("--skip-special applies to --decode; when encoding use "
                "--no-special");

  Expected<std::unique_ptr<Tokenizer>> tok = Tokenizer::load(modelPath);
  if (!tok)
    return fail(toString(tok.takeError()));

  ErrorOr<std::unique_ptr<MemoryBuffer>> input = MemoryBuffer::getSTDIN();
  if (!input)
    return fail("<stdin>: cannot read: " + input.getError().message());
  StringRef text = (*input)->getBuffer();

  if (!jsonLines) {
    if (Error err = runOne(**tok, text, /*jsonInput=*/false, outs()))
      return fail("<stdin>: " + toString(std::move(err)));
    return 0;
  }

  // Each line's output is buffered so that an error leaves no partial line.
  std::string out;
  raw_string_ostream os(out);
  SmallVector<StringRef> lines;
  text.split(lines, '\n');
  if (!lines.empty() && lines.back().empty())
    lines.pop_back();
  for (auto [index, line] : enumerate(lines)) {
    if (Error err = runOne(**tok, line.rtrim('\r'), /*jsonInput=*/true, os))
      return fail("<stdin>:" + Twine(index + 1) + ": " +
                  toString(std::move(err)));
    outs() << out;
    out.clear();
  }
  return 0;
}
