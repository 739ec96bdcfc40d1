//===- manifest.cpp - Fuzz the artifact verifier --------------------------===//
//
// The manifest is the first thing the runtime trusts or refuses; the files
// it lists are small fixed files of the scratch directory.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Artifact/Manifest.h"
#include "FuzzUtil.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool files = [] {
    const uint8_t bytes[] = "pmpd";
    for (const char *name :
         {"weights.safetensors", "libmodel.so", "tokenizer.json"})
      pmpd::fuzz::writeInput(name, bytes, 4);
    return true;
  }();
  (void)files;
  pmpd::fuzz::writeInput("manifest.json", data, size);
  pmpd::fuzz::ignore(pmpd::Manifest::load(pmpd::fuzz::scratchDirectory()));
  return 0;
}
