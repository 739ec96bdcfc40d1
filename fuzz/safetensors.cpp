//===- safetensors.cpp - Fuzz the safetensors reader ----------------------===//

#include "pmpd/Model/SafeTensors.h"
#include "FuzzUtil.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = pmpd::fuzz::writeInput("model.safetensors", data, size);
  auto file = pmpd::SafeTensorsFile::open(path);
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  // A file that opens is valid: every tensor's bytes lie inside it.
  uint64_t sum = 0;
  for (const pmpd::TensorView &tensor : (*file)->tensors())
    for (uint8_t byte : tensor.data)
      sum += byte;
  return sum == 0xFFFFFFFFFFFFFFFFull; // Keeps the reads.
}
