//===- Documents.cpp - Reading evaluation documents -----------------------===//
//
// .jsonl and .jsonl.xz readers for the perplexity protocol. xz is decoded with
// liblzma in memory: evaluation files are a few MB at most.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Reference/Documents.h"
#include "pmpd/Tokenizer/Unicode.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <lzma.h>

using namespace llvm;

namespace pmpd {

static Error fail(const Twine &where, const Twine &problem) {
  return createStringError(inconvertibleErrorCode(), where + ": " + problem);
}

static bool isXz(StringRef bytes) {
  static const char magic[] = {'\xFD', '7', 'z', 'X', 'Z', '\0'};
  return bytes.starts_with(StringRef(magic, sizeof(magic)));
}

/// Decompresses a whole .xz stream (or concatenated streams).
static Expected<std::string> decompressXz(StringRef bytes, StringRef fileName) {
  lzma_stream strm = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&strm, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
    return fail(fileName, "cannot initialise the xz decoder");
  std::string out;
  char chunk[1 << 16];
  strm.next_in = reinterpret_cast<const uint8_t *>(bytes.data());
  strm.avail_in = bytes.size();
  lzma_ret ret;
  do {
    strm.next_out = reinterpret_cast<uint8_t *>(chunk);
    strm.avail_out = sizeof(chunk);
    // All input is present: LZMA_FINISH lets the decoder report truncation.
    ret = lzma_code(&strm, LZMA_FINISH);
    out.append(chunk, sizeof(chunk) - strm.avail_out);
  } while (ret == LZMA_OK);
  lzma_end(&strm);
  switch (ret) {
  case LZMA_STREAM_END:
    return std::move(out);
  case LZMA_BUF_ERROR:
    return fail(fileName, "truncated xz data");
  case LZMA_MEM_ERROR:
    return fail(fileName, "out of memory decompressing xz data");
  case LZMA_FORMAT_ERROR:
  case LZMA_OPTIONS_ERROR:
    return fail(fileName, "unsupported xz format");
  default:
    return fail(fileName, "corrupt xz data");
  }
}

Expected<std::vector<std::string>> parseJsonlTexts(StringRef contents,
                                                   StringRef fileName) {
  std::vector<std::string> texts;
  int64_t lineNo = 0;
  while (!contents.empty()) {
    StringRef line;
    std::tie(line, contents) = contents.split('\n');
    ++lineNo;
    if (line.trim().empty())
      continue;
    auto where = [&] { return (fileName + ":" + Twine(lineNo)).str(); };
    // Python writes astral characters as surrogate pairs, which LLVM's JSON
    // parser mis-combines.
    Expected<json::Value> value = json::parse(combineJSONSurrogatePairs(line));
    if (!value)
      return fail(where(), "malformed JSON: " + toString(value.takeError()));
    const json::Object *obj = value->getAsObject();
    if (!obj)
      return fail(where(), "not a JSON object");
    const json::Value *text = obj->get("text");
    if (!text)
      return fail(where(), "no field \"text\"");
    std::optional<StringRef> str = text->getAsString();
    if (!str)
      return fail(where(), "field \"text\" is not a string");
    texts.push_back(str->str());
  }
  return texts;
}

Expected<std::vector<std::string>> readJsonlTexts(StringRef path) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(path, /*IsText=*/false,
                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail(path, "cannot read: " + buffer.getError().message());
  StringRef bytes = (*buffer)->getBuffer();
  if (!isXz(bytes))
    return parseJsonlTexts(bytes, path);
  Expected<std::string> text = decompressXz(bytes, path);
  if (!text)
    return text.takeError();
  return parseJsonlTexts(*text, path);
}

} // namespace pmpd
