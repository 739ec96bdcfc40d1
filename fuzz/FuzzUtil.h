//===- FuzzUtil.h - What the harnesses share --------------------*- C++ -*-===//
//
// Readers of files get the input as a file: one per process, rewritten for
// every input, in a directory of its own.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_FUZZ_FUZZUTIL_H
#define PMPD_FUZZ_FUZZUTIL_H

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace pmpd::fuzz {

/// A directory of this process's own, made once.
inline const std::string &scratchDirectory() {
  static const std::string dir = [] {
    llvm::SmallString<128> path;
    if (llvm::sys::fs::createUniqueDirectory("pmpd-fuzz", path))
      abort();
    return std::string(path);
  }();
  return dir;
}

/// Writes `data` to `name` in the scratch directory; returns its path.
inline std::string writeInput(llvm::StringRef name, const uint8_t *data,
                              size_t size) {
  llvm::SmallString<128> path(scratchDirectory());
  llvm::sys::path::append(path, name);
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    abort();
  os.write(reinterpret_cast<const char *>(data), size);
  return std::string(path);
}

/// Errors are the expected outcome of most inputs: drop them.
template <typename T> void ignore(llvm::Expected<T> value) {
  if (!value)
    llvm::consumeError(value.takeError());
}

} // namespace pmpd::fuzz

#endif // PMPD_FUZZ_FUZZUTIL_H
