//===- FileHash.h - Content hashes of files ---------------------*- C++ -*-===//
//
// The one hash the project records of files (artifact manifests, the source
// of a packed model): xxh3-64 of the contents, as 16 hex digits. Fast enough
// to check multi-gigabyte weights at load time.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_SUPPORT_FILEHASH_H
#define PMPD_SUPPORT_FILEHASH_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace pmpd {

/// xxh3_64bits of a file's contents as 16 hex digits; errors name the file.
llvm::Expected<std::string> hashFile(llvm::StringRef path);

} // namespace pmpd

#endif // PMPD_SUPPORT_FILEHASH_H
