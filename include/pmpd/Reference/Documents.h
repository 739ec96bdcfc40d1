//===- Documents.h - Reading evaluation documents ---------------*- C++ -*-===//
//
// Perplexity is measured over JSON-lines files of documents (one object with
// a "text" field per line), usually xz-compressed as the fixtures ship them.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_REFERENCE_DOCUMENTS_H
#define PMPD_REFERENCE_DOCUMENTS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace pmpd {

/// The "text" field of every line of a .jsonl file, in order; the file is
/// xz-decompressed first when it starts with the xz magic bytes (as
/// .jsonl.xz files do). Blank lines are skipped. Errors name the file and,
/// for a bad line, its 1-based number and the problem.
llvm::Expected<std::vector<std::string>> readJsonlTexts(llvm::StringRef path);

/// As readJsonlTexts, over a file's contents; `fileName` only labels errors.
llvm::Expected<std::vector<std::string>>
parseJsonlTexts(llvm::StringRef contents, llvm::StringRef fileName);

} // namespace pmpd

#endif // PMPD_REFERENCE_DOCUMENTS_H
