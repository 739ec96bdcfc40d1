//===- text.cpp - Fuzz encode and decode with the bundled tokenizer -------===//
//
// decode(stripTemplate(encode(x))) == x for every well-formed UTF-8 x; an
// ill-formed x is an error, never a crash.
//
//===----------------------------------------------------------------------===//

#include "FuzzUtil.h"
#include "pmpd/Tokenizer/Tokenizer.h"

static const pmpd::Tokenizer &bundled() {
  static std::unique_ptr<pmpd::Tokenizer> tokenizer = [] {
    auto loaded =
        pmpd::Tokenizer::load(PMPD_SOURCE_DIR "/fixtures/pmpd-tiny-llama/"
                                              "tokenizer.json");
    if (!loaded)
      abort();
    return std::move(*loaded);
  }();
  return *tokenizer;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  const pmpd::Tokenizer &tokenizer = bundled();
  auto ids = tokenizer.encode(text);
  if (!ids) {
    llvm::consumeError(ids.takeError());
    return 0;
  }
  auto decoded = tokenizer.decode(tokenizer.stripTemplate(*ids));
  if (!decoded || *decoded != text)
    abort();
  return 0;
}
