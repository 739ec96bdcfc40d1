//===- Tokenizer.cpp - Byte-level BPE tokenizer from tokenizer.json -------===//
//
// Mirrors the pipeline of Hugging Face `tokenizers` for the GPT-2 family:
// added tokens are matched in the raw text first, the rest is split by the
// ByteLevel pre-tokenizer (GPT-2 regex, then bytes to the byte-level
// alphabet), each word is merged by the BPE model, and the TemplateProcessing
// post-processor adds BOS. The merge loop follows tokenizers' `Word::merge_all`
// step for step (same queue order, same stale-entry test), so ties and
// ambiguous merges resolve as they do there.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Tokenizer/Tokenizer.h"
#include "pmpd/Tokenizer/Unicode.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <array>
#include <queue>

using namespace pmpd;
using llvm::json::Array;
using llvm::json::Object;
using llvm::json::Value;

// Ids are table indices; this bounds the tables a hostile file can request.
static constexpr int64_t kMaxId = (int64_t(1) << 24) - 1;
// Words longer than this are not cached: they are rare and would pin memory.
static constexpr size_t kMaxCachedWordBytes = 256;

/// GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves,
/// the other 68 map to U+0100 upwards in byte order.
static std::array<uint32_t, 256> makeByteToCodePoint() {
  std::array<uint32_t, 256> map{};
  uint32_t nextExtra = 256;
  for (unsigned b = 0; b < 256; ++b) {
    bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
                     (b >= 0xAE && b <= 0xFF);
    map[b] = printable ? b : nextExtra++;
  }
  return map;
}

static const std::array<uint32_t, 256> &byteToCodePoint() {
  static const std::array<uint32_t, 256> map = makeByteToCodePoint();
  return map;
}

/// The byte a byte-level code point stands for, or -1.
static int codePointToByte(uint32_t codePoint) {
  static const llvm::DenseMap<uint32_t, int> inverse = [] {
    llvm::DenseMap<uint32_t, int> map;
    for (unsigned b = 0; b < 256; ++b)
      map[byteToCodePoint()[b]] = b;
    return map;
  }();
  auto it = inverse.find(codePoint);
  return it == inverse.end() ? -1 : it->second;
}

/// What the ByteLevel decoder makes of one token: the bytes its characters
/// stand for, or the token's own UTF-8 if any character is outside the
/// byte-level alphabet.
static std::string byteLevelDecode(llvm::StringRef token) {
  std::string bytes;
  for (size_t i = 0; i < token.size();) {
    UTF8Step step = decodeUTF8(token, i);
    int b = step.valid ? codePointToByte(step.codePoint) : -1;
    if (b < 0)
      return token.str();
    bytes.push_back(static_cast<char>(b));
    i += step.length;
  }
  return bytes;
}

static uint64_t pairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
         static_cast<uint32_t>(right);
}

Tokenizer::Tokenizer() {
  std::fill(std::begin(byteIds), std::end(byteIds), -1);
}
Tokenizer::~Tokenizer() = default;

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

namespace pmpd {
/// Reads tokenizer.json into a Tokenizer; every error names the file and the
/// JSON path of the offending field.
class TokenizerParser {
public:
  TokenizerParser(Tokenizer &tok, llvm::StringRef fileName)
      : tok(tok), fileName(fileName) {}

  llvm::Error parse(llvm::StringRef json);

private:
  llvm::Error error(const llvm::Twine &field, const llvm::Twine &problem) {
    std::string where = field.str();
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        fileName + ": " + (where.empty() ? "" : where + ": ") + problem);
  }
  llvm::Error unsupported(const llvm::Twine &field, const llvm::Twine &what) {
    return error(field, "unsupported " + what);
  }

  /// The string at `object[key]`; `required` makes absence an error.
  llvm::Expected<std::optional<llvm::StringRef>>
  getString(const Object &object, llvm::StringRef key, const llvm::Twine &field,
            bool required);
  /// The boolean at `object[key]`, `fallback` if absent or null.
  llvm::Expected<bool> getBool(const Object &object, llvm::StringRef key,
                               const llvm::Twine &field, bool fallback);
  llvm::Expected<llvm::StringRef> getType(const Value *value,
                                          const llvm::Twine &field);

  llvm::Error parseModel(const Value *model);
  llvm::Error parseVocab(const Value *vocab);
  llvm::Error parseMerges(const Value *merges);
  llvm::Error parseAddedTokens(const Value *added);
  llvm::Error parseNormalizer(const Value *normalizer);
  llvm::Error parsePreTokenizer(const Value *pre, const std::string &field,
                                bool &sawByteLevel);
  llvm::Error parsePostProcessor(const Value *post, const std::string &field,
                                 bool &sawTemplate);
  llvm::Error parseTemplate(const Object &post, const std::string &field);
  llvm::Error parseDecoder(const Value *decoder, const std::string &field,
                           bool &sawByteLevel);
  llvm::Error finish();

  Tokenizer &tok;
  std::string fileName;
  int32_t maxId = -1;
  std::optional<std::string> unkToken;
  // The token of each vocabulary id; the keys live in the parsed JSON.
  llvm::DenseMap<int32_t, llvm::StringRef> vocabById;
};
} // namespace pmpd

llvm::Expected<std::optional<llvm::StringRef>>
TokenizerParser::getString(const Object &object, llvm::StringRef key,
                           const llvm::Twine &field, bool required) {
  const Value *value = object.get(key);
  if (!value || value->kind() == Value::Null) {
    if (required)
      return error(field, "missing");
    return std::nullopt;
  }
  if (auto s = value->getAsString())
    return std::optional<llvm::StringRef>(*s);
  return error(field, "expected a string");
}

llvm::Expected<bool> TokenizerParser::getBool(const Object &object,
                                              llvm::StringRef key,
                                              const llvm::Twine &field,
                                              bool fallback) {
  const Value *value = object.get(key);
  if (!value || value->kind() == Value::Null)
    return fallback;
  if (auto b = value->getAsBoolean())
    return *b;
  return error(field, "expected true or false");
}

llvm::Expected<llvm::StringRef>
TokenizerParser::getType(const Value *value, const llvm::Twine &field) {
  const Object *object = value->getAsObject();
  if (!object)
    return error(field, "expected an object");
  auto type = getString(*object, "type", field + ".type", /*required=*/true);
  if (!type)
    return type.takeError();
  return **type;
}

llvm::Error TokenizerParser::parse(llvm::StringRef json) {
  llvm::Expected<Value> root =
      llvm::json::parse(combineJSONSurrogatePairs(json));
  if (!root)
    return error("", "not valid JSON: " + llvm::toString(root.takeError()));
  const Object *object = root->getAsObject();
  if (!object)
    return error("", "expected a JSON object at the top level");

  // These change what encode returns; refuse them rather than ignore them.
  for (llvm::StringRef key : {"truncation", "padding"})
    if (const Value *value = object->get(key);
        value && value->kind() != Value::Null)
      return unsupported(key, "setting (only null is supported)");

  const Value *model = object->get("model");
  if (!model)
    return error("model", "missing");
  if (auto err = parseModel(model))
    return err;
  if (const Value *added = object->get("added_tokens"))
    if (auto err = parseAddedTokens(added))
      return err;
  if (auto err = parseNormalizer(object->get("normalizer")))
    return err;

  bool sawByteLevel = false;
  const Value *pre = object->get("pre_tokenizer");
  if (pre && pre->kind() != Value::Null)
    if (auto err = parsePreTokenizer(pre, "pre_tokenizer", sawByteLevel))
      return err;
  if (!sawByteLevel)
    return error("pre_tokenizer", "a ByteLevel pre-tokenizer is required");

  const Value *post = object->get("post_processor");
  bool sawTemplate = false;
  if (post && post->kind() != Value::Null)
    if (auto err = parsePostProcessor(post, "post_processor", sawTemplate))
      return err;

  sawByteLevel = false;
  const Value *decoder = object->get("decoder");
  if (decoder && decoder->kind() != Value::Null)
    if (auto err = parseDecoder(decoder, "decoder", sawByteLevel))
      return err;
  if (!sawByteLevel)
    return error("decoder", "a ByteLevel decoder is required");

  return finish();
}

llvm::Error TokenizerParser::parseModel(const Value *model) {
  auto type = getType(model, "model");
  if (!type)
    return type.takeError();
  if (*type != "BPE")
    return unsupported("model.type",
                       "model type '" + *type + "' (only BPE is supported)");
  const Object &object = *model->getAsObject();

  for (llvm::StringRef key :
       {"dropout", "continuing_subword_prefix", "end_of_word_suffix"})
    if (const Value *value = object.get(key);
        value && value->kind() != Value::Null)
      return unsupported("model." + key, "setting (only null is supported)");
  auto byteFallback =
      getBool(object, "byte_fallback", "model.byte_fallback", false);
  if (!byteFallback)
    return byteFallback.takeError();
  if (*byteFallback)
    return unsupported("model.byte_fallback", "setting true");
  auto fuseUnk = getBool(object, "fuse_unk", "model.fuse_unk", false);
  if (!fuseUnk)
    return fuseUnk.takeError();
  tok.fuseUnk = *fuseUnk;
  auto ignoreMerges =
      getBool(object, "ignore_merges", "model.ignore_merges", false);
  if (!ignoreMerges)
    return ignoreMerges.takeError();
  tok.ignoreMerges = *ignoreMerges;
  auto unk = getString(object, "unk_token", "model.unk_token", false);
  if (!unk)
    return unk.takeError();
  if (*unk)
    unkToken = (*unk)->str();

  const Value *vocab = object.get("vocab");
  if (!vocab)
    return error("model.vocab", "missing");
  if (auto err = parseVocab(vocab))
    return err;
  const Value *merges = object.get("merges");
  if (!merges)
    return error("model.merges", "missing");
  return parseMerges(merges);
}

llvm::Error TokenizerParser::parseVocab(const Value *vocab) {
  const Object *object = vocab->getAsObject();
  if (!object)
    return error("model.vocab", "expected an object of token: id");
  llvm::DenseMap<int32_t, llvm::StringRef> &byId = vocabById;
  for (const auto &[key, value] : *object) {
    llvm::StringRef token = key;
    std::optional<int64_t> id = value.getAsInteger();
    if (!id)
      return error("model.vocab",
                   "the id of token '" + token + "' is not an integer");
    if (*id < 0 || *id > kMaxId)
      return error("model.vocab", "the id of token '" + token + "' (" +
                                      llvm::Twine(*id) + ") is out of range");
    auto [it, inserted] = byId.try_emplace(*id, token);
    if (!inserted) {
      // json::Object is unordered; name the pair in a stable order.
      llvm::StringRef a = it->second, b = token;
      if (b < a)
        std::swap(a, b);
      return error("model.vocab", "tokens '" + a + "' and '" + b +
                                      "' have the same id " + llvm::Twine(*id));
    }
    tok.vocab[token] = *id;
    maxId = std::max<int32_t>(maxId, *id);
  }
  if (tok.vocab.empty())
    return error("model.vocab", "empty");
  return llvm::Error::success();
}

llvm::Error TokenizerParser::parseMerges(const Value *merges) {
  const Array *array = merges->getAsArray();
  if (!array)
    return error("model.merges", "expected an array");
  tok.merges.reserve(array->size());
  for (auto [rank, merge] : llvm::enumerate(*array)) {
    std::string field = ("model.merges[" + llvm::Twine(rank) + "]").str();
    llvm::StringRef left, right;
    if (auto s = merge.getAsString()) {
      // The older form "a b": exactly one space, as tokenizers requires.
      auto [a, b] = s->split(' ');
      if (s->count(' ') != 1)
        return error(field, "expected \"left right\" with one space, got '" +
                                *s + "'");
      left = a;
      right = b;
    } else if (const Array *pair = merge.getAsArray();
               pair && pair->size() == 2 && (*pair)[0].getAsString() &&
               (*pair)[1].getAsString()) {
      left = *(*pair)[0].getAsString();
      right = *(*pair)[1].getAsString();
    } else {
      return error(field, "expected [\"left\", \"right\"] or \"left right\"");
    }
    auto idOf = [&](llvm::StringRef token) -> llvm::Expected<int32_t> {
      auto it = tok.vocab.find(token);
      if (it == tok.vocab.end())
        return error(field, "token '" + token + "' is not in the vocabulary");
      return it->second;
    };
    auto leftId = idOf(left);
    if (!leftId)
      return leftId.takeError();
    auto rightId = idOf(right);
    if (!rightId)
      return rightId.takeError();
    auto newId = idOf((left + right).str());
    if (!newId)
      return newId.takeError();
    // tokenizers collects the merges into a HashMap: a repeated pair keeps
    // the rank of its last occurrence.
    tok.merges[pairKey(*leftId, *rightId)] = {static_cast<int32_t>(rank),
                                              *newId};
  }
  return llvm::Error::success();
}

llvm::Error TokenizerParser::parseAddedTokens(const Value *added) {
  if (added->kind() == Value::Null)
    return llvm::Error::success();
  const Array *array = added->getAsArray();
  if (!array)
    return error("added_tokens", "expected an array");
  llvm::DenseMap<int32_t, size_t> seenIds;
  for (auto [index, entry] : llvm::enumerate(*array)) {
    std::string field = ("added_tokens[" + llvm::Twine(index) + "]").str();
    const Object *object = entry.getAsObject();
    if (!object)
      return error(field, "expected an object");
    auto content = getString(*object, "content", field + ".content", true);
    if (!content)
      return content.takeError();
    const Value *idValue = object->get("id");
    std::optional<int64_t> id =
        idValue ? idValue->getAsInteger() : std::nullopt;
    if (!id)
      return error(field + ".id", "expected an integer");
    if (*id < 0 || *id > kMaxId)
      return error(field + ".id", llvm::Twine(*id) + " is out of range");
    if ((**content).empty())
      return error(field + ".content", "empty");
    for (llvm::StringRef key : {"single_word", "lstrip", "rstrip"}) {
      auto flag = getBool(*object, key, field + "." + key, false);
      if (!flag)
        return flag.takeError();
      if (*flag)
        return unsupported(field + "." + key, "setting true");
    }
    auto special = getBool(*object, "special", field + ".special", false);
    if (!special)
      return special.takeError();
    auto normalized =
        getBool(*object, "normalized", field + ".normalized", !*special);
    if (!normalized)
      return normalized.takeError();

    auto inVocab = tok.vocab.find(**content);
    if (inVocab != tok.vocab.end() && inVocab->second != *id)
      return error(field, "token '" + **content + "' has id " +
                              llvm::Twine(*id) + " but the vocabulary gives " +
                              llvm::Twine(inVocab->second));
    if (auto owner = vocabById.find(*id);
        inVocab == tok.vocab.end() && owner != vocabById.end())
      return error(field, "id " + llvm::Twine(*id) + " of '" + **content +
                              "' is already the id of '" + owner->second + "'");
    if (!seenIds.try_emplace(*id, index).second)
      return error(field, "id " + llvm::Twine(*id) +
                              " is already used by added_tokens[" +
                              llvm::Twine(seenIds[*id]) + "]");
    if (!tok.addedByContent.try_emplace(**content, *id).second)
      return error(field, "token '" + **content + "' is listed twice");
    tok.addedTokens.push_back(
        {(**content).str(), static_cast<int32_t>(*id), *special, *normalized});
    maxId = std::max<int32_t>(maxId, *id);
  }
  return llvm::Error::success();
}

llvm::Error TokenizerParser::parseNormalizer(const Value *normalizer) {
  if (!normalizer || normalizer->kind() == Value::Null)
    return llvm::Error::success();
  auto type = getType(normalizer, "normalizer");
  if (!type)
    return type.takeError();
  // An empty Sequence normalizes nothing.
  if (*type == "Sequence") {
    const Value *list = normalizer->getAsObject()->get("normalizers");
    if (list && list->getAsArray() && list->getAsArray()->empty())
      return llvm::Error::success();
  }
  return unsupported("normalizer",
                     "normalizer '" + *type + "' (only null is supported)");
}

llvm::Error TokenizerParser::parsePreTokenizer(const Value *pre,
                                               const std::string &field,
                                               bool &sawByteLevel) {
  auto type = getType(pre, field);
  if (!type)
    return type.takeError();
  const Object &object = *pre->getAsObject();
  if (*type == "Sequence") {
    const Value *list = object.get("pretokenizers");
    if (!list || !list->getAsArray())
      return error(field + ".pretokenizers", "expected an array");
    for (auto [i, element] : llvm::enumerate(*list->getAsArray()))
      if (auto err = parsePreTokenizer(
              &element,
              (field + ".pretokenizers[" + llvm::Twine(i) + "]").str(),
              sawByteLevel))
        return err;
    return llvm::Error::success();
  }
  if (*type != "ByteLevel")
    return unsupported(field + ".type", "pre-tokenizer '" + *type +
                                            "' (only ByteLevel is supported)");
  if (sawByteLevel)
    return unsupported(field, "second ByteLevel pre-tokenizer");
  sawByteLevel = true;
  auto addPrefixSpace =
      getBool(object, "add_prefix_space", field + ".add_prefix_space", true);
  if (!addPrefixSpace)
    return addPrefixSpace.takeError();
  tok.addPrefixSpace = *addPrefixSpace;
  auto useRegex = getBool(object, "use_regex", field + ".use_regex", true);
  if (!useRegex)
    return useRegex.takeError();
  tok.useRegex = *useRegex;
  return llvm::Error::success();
}

llvm::Error TokenizerParser::parsePostProcessor(const Value *post,
                                                const std::string &field,
                                                bool &sawTemplate) {
  auto type = getType(post, field);
  if (!type)
    return type.takeError();
  const Object &object = *post->getAsObject();
  if (*type == "Sequence") {
    const Value *list = object.get("processors");
    if (!list || !list->getAsArray())
      return error(field + ".processors", "expected an array");
    for (auto [i, element] : llvm::enumerate(*list->getAsArray()))
      if (auto err = parsePostProcessor(
              &element, (field + ".processors[" + llvm::Twine(i) + "]").str(),
              sawTemplate))
        return err;
    return llvm::Error::success();
  }
  // ByteLevel as a post-processor only trims offsets; ids are unchanged.
  if (*type == "ByteLevel")
    return llvm::Error::success();
  if (*type != "TemplateProcessing")
    return unsupported(field + ".type",
                       "post-processor '" + *type +
                           "' (only TemplateProcessing and ByteLevel are "
                           "supported)");
  if (sawTemplate)
    return unsupported(field, "second TemplateProcessing");
  sawTemplate = true;
  return parseTemplate(object, field);
}

llvm::Error TokenizerParser::parseTemplate(const Object &post,
                                           const std::string &field) {
  const Value *singleValue = post.get("single");
  const Array *single = singleValue ? singleValue->getAsArray() : nullptr;
  if (!single)
    return error(field + ".single", "expected an array");
  const Value *specialsValue = post.get("special_tokens");
  const Object *specials =
      specialsValue ? specialsValue->getAsObject() : nullptr;

  bool sawSequence = false;
  for (auto [i, piece] : llvm::enumerate(*single)) {
    std::string pieceField = (field + ".single[" + llvm::Twine(i) + "]").str();
    const Object *object = piece.getAsObject();
    if (!object || object->size() != 1)
      return error(pieceField,
                   "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    if (const Object *sequence = object->getObject("Sequence")) {
      auto id = getString(*sequence, "id", pieceField + ".Sequence.id", true);
      if (!id)
        return id.takeError();
      if (**id != "A")
        return unsupported(pieceField + ".Sequence.id",
                           "sequence '" + **id + "' in a single template");
      if (sawSequence)
        return error(pieceField, "sequence A appears twice");
      sawSequence = true;
      continue;
    }
    const Object *special = object->getObject("SpecialToken");
    if (!special)
      return error(pieceField,
                   "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    auto name =
        getString(*special, "id", pieceField + ".SpecialToken.id", true);
    if (!name)
      return name.takeError();
    const Object *entry = specials ? specials->getObject(**name) : nullptr;
    const Array *ids = entry ? entry->getArray("ids") : nullptr;
    if (!ids)
      return error(field + ".special_tokens",
                   "no ids for special token '" + **name + "'");
    for (const Value &idValue : *ids) {
      std::optional<int64_t> id = idValue.getAsInteger();
      if (!id || *id < 0 || *id > kMaxId)
        return error(field + ".special_tokens." + **name + ".ids",
                     "expected non-negative integers");
      (sawSequence ? tok.suffixIds : tok.prefixIds)
          .push_back(static_cast<int32_t>(*id));
    }
  }
  if (!sawSequence)
    return error(field + ".single", "has no {\"Sequence\": {\"id\": \"A\"}}");
  return llvm::Error::success();
}

llvm::Error TokenizerParser::parseDecoder(const Value *decoder,
                                          const std::string &field,
                                          bool &sawByteLevel) {
  auto type = getType(decoder, field);
  if (!type)
    return type.takeError();
  if (*type == "Sequence") {
    const Value *list = decoder->getAsObject()->get("decoders");
    if (!list || !list->getAsArray())
      return error(field + ".decoders", "expected an array");
    for (auto [i, element] : llvm::enumerate(*list->getAsArray()))
      if (auto err = parseDecoder(
              &element, (field + ".decoders[" + llvm::Twine(i) + "]").str(),
              sawByteLevel))
        return err;
    return llvm::Error::success();
  }
  if (*type != "ByteLevel")
    return unsupported(field + ".type",
                       "decoder '" + *type + "' (only ByteLevel is supported)");
  if (sawByteLevel)
    return unsupported(field, "second ByteLevel decoder");
  sawByteLevel = true;
  return llvm::Error::success();
}

llvm::Error TokenizerParser::finish() {
  for (int32_t id : llvm::concat<int32_t>(tok.prefixIds, tok.suffixIds))
    maxId = std::max(maxId, id);
  // The id tables are indexed by id: ids must be about as many as the
  // tokens, not one stray id of 2^24 in a small file.
  size_t tokens = vocabById.size() + tok.addedTokens.size();
  if (maxId >= 0 && size_t(maxId) >= 2 * tokens + 1024)
    return error("model.vocab",
                 "token id " + llvm::Twine(maxId) + " for only " +
                     llvm::Twine(tokens) +
                     " tokens: ids must number the tokens (nearly) "
                     "contiguously");
  size_t size = static_cast<size_t>(maxId) + 1;
  tok.idTokens.assign(size, std::string());
  tok.idBytes.assign(size, std::string());
  tok.idKind.assign(size, 0);
  for (const auto &entry : tok.vocab) {
    int32_t id = entry.second;
    tok.idTokens[id] = entry.first().str();
    tok.idBytes[id] = byteLevelDecode(entry.first());
    tok.idKind[id] = 1;
  }
  for (const Tokenizer::AddedToken &added : tok.addedTokens) {
    tok.idTokens[added.id] = added.content;
    tok.idBytes[added.id] = added.content;
    tok.idKind[added.id] = added.special ? 3 : 2;
    tok.addedFirstBytes.set(static_cast<uint8_t>(added.content[0]));
  }
  for (int32_t id : llvm::concat<int32_t>(tok.prefixIds, tok.suffixIds))
    if (tok.idKind[id] == 0)
      return error("post_processor", "template token id " + llvm::Twine(id) +
                                         " is not in the vocabulary");

  for (unsigned b = 0; b < 256; ++b) {
    std::string token;
    appendUTF8(byteToCodePoint()[b], token);
    if (auto it = tok.vocab.find(token); it != tok.vocab.end())
      tok.byteIds[b] = it->second;
  }
  if (unkToken) {
    auto it = tok.vocab.find(*unkToken);
    if (it == tok.vocab.end())
      return error("model.unk_token",
                   "'" + *unkToken + "' is not in the vocabulary");
    tok.unkId = it->second;
  }

  auto specialNamed =
      [&](std::initializer_list<llvm::StringRef> names) -> int32_t {
    for (llvm::StringRef name : names)
      if (auto it = tok.addedByContent.find(name);
          it != tok.addedByContent.end() && tok.isSpecial(it->second))
        return it->second;
    return -1;
  };
  tok.bos = !tok.prefixIds.empty()
                ? tok.prefixIds.front()
                : specialNamed({"<s>", "<|begin_of_text|>", "<bos>"});
  tok.eos =
      !tok.suffixIds.empty()
          ? tok.suffixIds.back()
          : specialNamed({"</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>"});
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<Tokenizer>>
Tokenizer::parse(llvm::StringRef json, llvm::StringRef fileName) {
  std::unique_ptr<Tokenizer> tok(new Tokenizer());
  TokenizerParser parser(*tok, fileName);
  if (auto err = parser.parse(json))
    return std::move(err);
  return std::move(tok);
}

llvm::Expected<std::unique_ptr<Tokenizer>>
Tokenizer::load(llvm::StringRef path) {
  llvm::SmallString<256> file(path);
  if (llvm::sys::fs::is_directory(path))
    llvm::sys::path::append(file, "tokenizer.json");
  auto buffer = llvm::MemoryBuffer::getFile(file, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(buffer.getError(), "%s: cannot read: %s",
                                   file.c_str(),
                                   buffer.getError().message().c_str());
  return parse((*buffer)->getBuffer(), file);
}

//===----------------------------------------------------------------------===//
// Queries
//===----------------------------------------------------------------------===//

std::optional<int32_t> Tokenizer::tokenToId(llvm::StringRef token) const {
  if (auto it = addedByContent.find(token); it != addedByContent.end())
    return it->second;
  if (auto it = vocab.find(token); it != vocab.end())
    return it->second;
  return std::nullopt;
}

llvm::StringRef Tokenizer::idToToken(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= idTokens.size())
    return {};
  return idTokens[id];
}

bool Tokenizer::isSpecial(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < idKind.size() && idKind[id] == 3;
}

llvm::ArrayRef<int32_t>
Tokenizer::stripTemplate(llvm::ArrayRef<int32_t> ids) const {
  llvm::ArrayRef<int32_t> prefix = prefixIds, suffix = suffixIds;
  if (ids.size() >= prefix.size() + suffix.size() &&
      ids.take_front(prefix.size()) == prefix &&
      ids.take_back(suffix.size()) == suffix)
    return ids.drop_front(prefix.size()).drop_back(suffix.size());
  return ids;
}

//===----------------------------------------------------------------------===//
// Encoding
//===----------------------------------------------------------------------===//

void Tokenizer::splitAddedTokens(llvm::StringRef text, bool normalizedPass,
                                 std::vector<llvm::StringRef> &pieces,
                                 std::vector<int32_t> &pieceIds) const {
  // Leftmost-longest, as tokenizers' aho-corasick matcher is configured. The
  // added vocabulary is small, so a scan over the candidates is enough.
  size_t textStart = 0;
  for (size_t pos = 0; pos < text.size();) {
    if (!addedFirstBytes[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    const AddedToken *best = nullptr;
    for (const AddedToken &added : addedTokens)
      if (added.normalized == normalizedPass &&
          text.substr(pos).starts_with(added.content) &&
          (!best || added.content.size() > best->content.size()))
        best = &added;
    if (!best) {
      ++pos;
      continue;
    }
    if (pos > textStart) {
      pieces.push_back(text.slice(textStart, pos));
      pieceIds.push_back(-1);
    }
    pieces.push_back(text.substr(pos, best->content.size()));
    pieceIds.push_back(best->id);
    pos += best->content.size();
    textStart = pos;
  }
  if (textStart < text.size()) {
    pieces.push_back(text.substr(textStart));
    pieceIds.push_back(-1);
  }
}

void Tokenizer::mergeWord(std::vector<int32_t> &symbols) const {
  size_t n = symbols.size();
  if (n < 2)
    return;
  struct Entry {
    int32_t rank;
    int32_t pos;
    int32_t newId;
  };
  // Lowest rank first, then leftmost, as Word::merge_all orders its heap.
  auto later = [](const Entry &a, const Entry &b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  std::vector<Entry> storage;
  storage.reserve(n);
  std::priority_queue<Entry, std::vector<Entry>, decltype(later)> queue(
      later, std::move(storage));
  std::vector<int32_t> prev(n), next(n);
  for (size_t i = 0; i < n; ++i) {
    prev[i] = static_cast<int32_t>(i) - 1;
    next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
  }
  auto push = [&](int32_t pos, int32_t left, int32_t right) {
    auto it = merges.find(pairKey(left, right));
    if (it != merges.end())
      queue.push({it->second.rank, pos, it->second.newId});
  };
  for (size_t i = 0; i + 1 < n; ++i)
    push(static_cast<int32_t>(i), symbols[i], symbols[i + 1]);

  // symbols[i] == -1 marks a symbol merged into its left neighbour.
  while (!queue.empty()) {
    Entry top = queue.top();
    queue.pop();
    if (symbols[top.pos] < 0 || next[top.pos] < 0)
      continue;
    int32_t right = next[top.pos];
    // A stale entry: the pair at this position has changed since the push.
    auto it = merges.find(pairKey(symbols[top.pos], symbols[right]));
    if (it == merges.end() || it->second.newId != top.newId)
      continue;
    symbols[top.pos] = top.newId;
    symbols[right] = -1;
    next[top.pos] = next[right];
    if (next[right] >= 0)
      prev[next[right]] = top.pos;
    if (prev[top.pos] >= 0)
      push(prev[top.pos], symbols[prev[top.pos]], top.newId);
    if (next[top.pos] >= 0)
      push(top.pos, top.newId, symbols[next[top.pos]]);
  }
  llvm::erase_if(symbols, [](int32_t id) { return id < 0; });
}

void Tokenizer::encodeWord(llvm::StringRef word, std::vector<int32_t> &ids,
                           llvm::StringMap<std::vector<int32_t>> &cache) const {
  bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    auto it = cache.find(word);
    if (it != cache.end()) {
      llvm::append_range(ids, it->second);
      return;
    }
  }

  std::vector<int32_t> symbols;
  if (ignoreMerges) {
    std::string token;
    for (char c : word)
      appendUTF8(byteToCodePoint()[static_cast<uint8_t>(c)], token);
    if (auto it = vocab.find(token); it != vocab.end())
      symbols.push_back(it->second);
  }
  if (symbols.empty()) {
    symbols.reserve(word.size());
    bool lastWasUnk = false;
    for (char c : word) {
      int32_t id = byteIds[static_cast<uint8_t>(c)];
      if (id >= 0) {
        symbols.push_back(id);
        lastWasUnk = false;
        continue;
      }
      // Without an unk token tokenizers drops the character.
      if (!unkId)
        continue;
      if (!(fuseUnk && lastWasUnk))
        symbols.push_back(*unkId);
      lastWasUnk = true;
    }
    mergeWord(symbols);
  }
  llvm::append_range(ids, symbols);
  if (cacheable)
    cache[word] = std::move(symbols);
}

llvm::Expected<std::vector<int32_t>> Tokenizer::encode(llvm::StringRef utf8Text,
                                                       bool addSpecial) const {
  if (auto err = validateUTF8(utf8Text))
    return std::move(err);

  // Added tokens without normalization are found in the raw text first; the
  // normalized ones in what is left (normalization itself is the identity).
  std::vector<llvm::StringRef> firstPieces, pieces;
  std::vector<int32_t> firstIds, pieceIds;
  splitAddedTokens(utf8Text, /*normalizedPass=*/false, firstPieces, firstIds);
  for (auto [piece, id] : llvm::zip_equal(firstPieces, firstIds)) {
    if (id >= 0) {
      pieces.push_back(piece);
      pieceIds.push_back(id);
    } else {
      splitAddedTokens(piece, /*normalizedPass=*/true, pieces, pieceIds);
    }
  }

  std::vector<int32_t> ids;
  ids.reserve(utf8Text.size() / 3 + prefixIds.size() + suffixIds.size() + 1);
  if (addSpecial)
    llvm::append_range(ids, prefixIds);
  llvm::StringMap<std::vector<int32_t>> cache;
  llvm::SmallVector<llvm::StringRef, 64> words;
  std::string prefixed;
  for (auto [piece, id] : llvm::zip_equal(pieces, pieceIds)) {
    if (id >= 0) {
      ids.push_back(id);
      continue;
    }
    llvm::StringRef text = piece;
    if (addPrefixSpace && !text.starts_with(" ")) {
      prefixed = (" " + text).str();
      text = prefixed;
    }
    words.clear();
    if (useRegex)
      splitGPT2Words(text, words);
    else
      words.push_back(text);
    for (llvm::StringRef word : words)
      encodeWord(word, ids, cache);
  }
  if (addSpecial)
    llvm::append_range(ids, suffixIds);
  return ids;
}

//===----------------------------------------------------------------------===//
// Decoding
//===----------------------------------------------------------------------===//

llvm::Expected<std::string> Tokenizer::decode(llvm::ArrayRef<int32_t> ids,
                                              bool skipSpecial) const {
  // tokenizers runs the ByteLevel decoder over each run of model tokens
  // separately and inserts added tokens verbatim between the runs, so a byte
  // sequence broken by an added token decodes to U+FFFD on both sides.
  std::string result, run;
  for (auto [index, id] : llvm::enumerate(ids)) {
    if (id < 0 || static_cast<size_t>(id) >= idKind.size() || idKind[id] == 0)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "token id %d (at index %zu) is not in the vocabulary of %zu ids", id,
          index, idKind.size());
    if (idKind[id] == 1) {
      run += idBytes[id];
      continue;
    }
    if (skipSpecial && idKind[id] == 3)
      continue;
    result += toValidUTF8Lossy(run);
    run.clear();
    result += idBytes[id];
  }
  result += toValidUTF8Lossy(run);
  return result;
}
