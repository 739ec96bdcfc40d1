//===- config.cpp - Fuzz the config.json reader ---------------------------===//

#include "FuzzUtil.h"
#include "pmpd/Model/ModelConfig.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  auto config = pmpd::ModelConfig::parse(text, "config.json");
  if (!config) {
    llvm::consumeError(config.takeError());
    return 0;
  }
  // What a config accepts must be writable and read back equal.
  std::string again;
  llvm::raw_string_ostream(again) << config->toJSON();
  auto reread = pmpd::ModelConfig::parse(again, "again.json");
  if (!reread || *reread != *config)
    abort();
  (void)config->numParameters();
  return 0;
}
