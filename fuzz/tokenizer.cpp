//===- tokenizer.cpp - Fuzz the tokenizer.json loader ---------------------===//

#include "pmpd/Tokenizer/Tokenizer.h"
#include "FuzzUtil.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef json(reinterpret_cast<const char *>(data), size);
  auto tokenizer = pmpd::Tokenizer::parse(json, "tokenizer.json");
  if (!tokenizer) {
    llvm::consumeError(tokenizer.takeError());
    return 0;
  }
  // A tokenizer that loads encodes and decodes without crashing.
  for (llvm::StringRef text : {"Hello, world!", " the  cat\n\tsat", "<s>x"}) {
    auto ids = (*tokenizer)->encode(text);
    if (!ids) {
      llvm::consumeError(ids.takeError());
      continue;
    }
    pmpd::fuzz::ignore((*tokenizer)->decode(*ids));
  }
  return 0;
}
