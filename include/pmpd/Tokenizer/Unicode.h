//===- Unicode.h - UTF-8 and the GPT-2 pre-tokenizer split ------*- C++ -*-===//
//
// The text-level half of the byte-level BPE tokenizer: a validating UTF-8
// decoder, the code-point classes (\p{L}, \p{N}, \s) the GPT-2 regex uses,
// and a hand-written scanner equivalent to that regex. Hugging Face runs the
// regex with Oniguruma; a scanner avoids a regex engine dependency and keeps
// long runs (100k spaces) linear. Exposed so that tests can check each piece
// on its own.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_TOKENIZER_UNICODE_H
#define PMPD_TOKENIZER_UNICODE_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace pmpd {

/// One step of UTF-8 decoding at a byte offset.
struct UTF8Step {
  uint32_t codePoint = 0; // U+FFFD when !valid.
  unsigned length = 0;    // Bytes consumed; at least 1 unless at the end.
  bool valid = false;
};

/// Decodes the code point starting at `text[offset]` (offset < size). An
/// invalid sequence (overlong form, surrogate, above U+10FFFF, stray or
/// missing continuation byte) consumes its "maximal subpart" (Unicode 16,
/// section 3.9), the rule Rust's String::from_utf8_lossy follows.
UTF8Step decodeUTF8(llvm::StringRef text, size_t offset);

/// Succeeds if `text` is well-formed UTF-8; otherwise names the byte offset
/// of the first invalid sequence.
llvm::Error validateUTF8(llvm::StringRef text);

/// Appends the UTF-8 encoding of `codePoint` (which must be a scalar value).
void appendUTF8(uint32_t codePoint, std::string &out);

/// Replaces each invalid sequence of `bytes` with U+FFFD, as Rust's
/// String::from_utf8_lossy (and so Hugging Face's ByteLevel decoder) does.
std::string toValidUTF8Lossy(llvm::StringRef bytes);

/// Rewrites each escaped surrogate pair (\uD83D\uDE42) in JSON text as the
/// UTF-8 of its code point, leaving all else as it is. llvm::json::parse
/// (LLVM 22) joins the halves with `|` instead of `+`, so a pair standing for
/// a code point of plane 2, 4, ..., 16 decodes to the wrong character; Python's
/// json.dumps writes every such character this way.
std::string combineJSONSurrogatePairs(llvm::StringRef json);

/// The classes of the GPT-2 pre-tokenizer regex, from the Unicode version of
/// the generated tables (scripts/gen-unicode-tables.py).
bool isLetter(uint32_t codePoint);     // \p{L}
bool isNumber(uint32_t codePoint);     // \p{N}
bool isWhiteSpace(uint32_t codePoint); // \s (White_Space)

/// Splits well-formed UTF-8 `text` as the GPT-2 pattern
///   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
/// does with leftmost-first matching. The pieces cover `text` exactly.
void splitGPT2Words(llvm::StringRef text,
                    llvm::SmallVectorImpl<llvm::StringRef> &words);

} // namespace pmpd

#endif // PMPD_TOKENIZER_UNICODE_H
