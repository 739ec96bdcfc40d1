//===- Tokenizer.h - Byte-level BPE tokenizer -------------------*- C++ -*-===//
//
// The runtime and the tools must turn text into the exact ids the model was
// trained on, without Python. This reads a Hugging Face `tokenizers`
// tokenizer.json of the GPT-2 family (BPE model, ByteLevel pre-tokenizer and
// decoder, added tokens, TemplateProcessing) and reproduces
// `Tokenizer.encode(text).ids` and `Tokenizer.decode(ids)` exactly. Anything
// outside that family is refused at load time with an error that names the
// file and the field, rather than tokenized differently.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_TOKENIZER_TOKENIZER_H
#define PMPD_TOKENIZER_TOKENIZER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <bitset>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pmpd {

/// Immutable once loaded: encode and decode are const and may run from many
/// threads at once.
class Tokenizer {
public:
  /// Reads `path`: a tokenizer.json, or a model directory holding one.
  static llvm::Expected<std::unique_ptr<Tokenizer>> load(llvm::StringRef path);

  /// Parses the contents of a tokenizer.json; `fileName` prefixes errors.
  static llvm::Expected<std::unique_ptr<Tokenizer>>
  parse(llvm::StringRef json, llvm::StringRef fileName);

  /// The ids of `utf8Text`. With `addSpecial`, the post-processor's template
  /// tokens (BOS) are added, as HF's add_special_tokens=True does; literal
  /// added tokens in the text ("<s>") are matched either way. Fails on
  /// ill-formed UTF-8, naming the byte offset.
  llvm::Expected<std::vector<int32_t>> encode(llvm::StringRef utf8Text,
                                              bool addSpecial = true) const;

  /// The text of `ids`, as HF's decode(ids, skip_special_tokens) gives it:
  /// special tokens become their content unless `skipSpecial`, and byte
  /// sequences that are not UTF-8 become U+FFFD. Fails on an id that is not
  /// in the vocabulary.
  llvm::Expected<std::string> decode(llvm::ArrayRef<int32_t> ids,
                                     bool skipSpecial = false) const;

  /// `ids` without the tokens `encode(..., /*addSpecial=*/true)` put around
  /// the text (BOS), where present, so that
  /// `decode(stripTemplate(encode(x)))` gives back `x` even if `x` contains a
  /// literal "<s>".
  llvm::ArrayRef<int32_t> stripTemplate(llvm::ArrayRef<int32_t> ids) const;

  /// The template tokens added before and after the text.
  llvm::ArrayRef<int32_t> templatePrefix() const { return prefixIds; }
  llvm::ArrayRef<int32_t> templateSuffix() const { return suffixIds; }

  /// BOS: the template's first prefix token, else a special token named
  /// <s>, <|begin_of_text|> or <bos>; -1 if none.
  int32_t bosId() const { return bos; }
  /// EOS: the template's last suffix token, else a special token named </s>,
  /// <|endoftext|>, <|end_of_text|> or <eos>; -1 if none.
  int32_t eosId() const { return eos; }

  /// One more than the largest id (the size of the embedding table).
  size_t vocabSize() const { return idTokens.size(); }
  std::optional<int32_t> tokenToId(llvm::StringRef token) const;
  /// The token's string as tokenizer.json spells it (byte-level alphabet for
  /// model tokens); empty for an id that names no token.
  llvm::StringRef idToToken(int32_t id) const;
  bool isSpecial(int32_t id) const;

  ~Tokenizer();

private:
  Tokenizer();

  struct AddedToken {
    std::string content;
    int32_t id;
    bool special;
    bool normalized;
  };
  struct Merge {
    int32_t rank;
    int32_t newId;
  };

  void splitAddedTokens(llvm::StringRef text, bool normalizedPass,
                        std::vector<llvm::StringRef> &pieces,
                        std::vector<int32_t> &pieceIds) const;
  void encodeWord(llvm::StringRef word, std::vector<int32_t> &ids,
                  llvm::StringMap<std::vector<int32_t>> &cache) const;
  void mergeWord(std::vector<int32_t> &symbols) const;

  friend class TokenizerParser;

  // Model vocabulary; idTokens[id] is empty where no token has the id.
  llvm::StringMap<int32_t> vocab;
  std::vector<std::string> idTokens;
  std::vector<std::string> idBytes; // Decoded (byte-level to raw) bytes.
  std::vector<int8_t> idKind;       // 0 none, 1 model, 2 added, 3 special.
  int32_t byteIds[256];             // Model id of each byte, -1 if none.
  llvm::DenseMap<uint64_t, Merge> merges; // Keyed by (left << 32 | right).

  std::vector<AddedToken> addedTokens;
  llvm::StringMap<int32_t> addedByContent;
  std::bitset<256> addedFirstBytes; // Where an added token can start.

  std::optional<int32_t> unkId;
  bool fuseUnk = false;
  bool ignoreMerges = false;
  bool addPrefixSpace = false;
  bool useRegex = true;
  std::vector<int32_t> prefixIds, suffixIds;
  int32_t bos = -1, eos = -1;
};

} // namespace pmpd

#endif // PMPD_TOKENIZER_TOKENIZER_H
