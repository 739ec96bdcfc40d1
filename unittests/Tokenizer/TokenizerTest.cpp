//===- TokenizerTest.cpp - Tests of the byte-level BPE tokenizer ----------===//
//
// The fixture's tokenizer must reproduce the ids Hugging Face tokenizers 0.23
// gave for fixtures/refs/tokenizer-val.json; small hand-written tokenizers
// pin down merge order, the optional features and every load-time error.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Tokenizer/Tokenizer.h"
#include "pmpd/Tokenizer/Unicode.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"
#include "gtest/gtest.h"

#include <chrono>
#include <functional>

using namespace pmpd;
using llvm::json::Array;
using llvm::json::Object;
using llvm::json::Value;

namespace {

const char *kFixture = PMPD_SOURCE_DIR "/fixtures/pmpd-tiny-llama";
const char *kRefs = PMPD_SOURCE_DIR "/fixtures/refs/tokenizer-val.json";

const Tokenizer &fixtureTokenizer() {
  static std::unique_ptr<Tokenizer> tok = [] {
    auto loaded = Tokenizer::load(kFixture);
    if (!loaded) {
      ADD_FAILURE() << llvm::toString(loaded.takeError());
      return std::unique_ptr<Tokenizer>();
    }
    return std::move(*loaded);
  }();
  if (!tok)
    std::abort();
  return *tok;
}

template <typename T> T unwrap(llvm::Expected<T> value) {
  if (!value) {
    ADD_FAILURE() << llvm::toString(value.takeError());
    return T();
  }
  return std::move(*value);
}

template <typename T> std::string errorOf(llvm::Expected<T> value) {
  if (value)
    return "<no error>";
  return llvm::toString(value.takeError());
}

struct RefCase {
  std::string group, text;
  std::vector<int32_t> ids;
};

std::vector<RefCase> loadRefs() {
  std::vector<RefCase> cases;
  auto buffer = llvm::MemoryBuffer::getFile(kRefs);
  if (!buffer) {
    ADD_FAILURE() << "cannot read " << kRefs;
    return cases;
  }
  auto root =
      llvm::json::parse(combineJSONSurrogatePairs((*buffer)->getBuffer()));
  if (!root) {
    ADD_FAILURE() << llvm::toString(root.takeError());
    return cases;
  }
  for (llvm::StringRef group : {"special", "docs"}) {
    for (const Value &entry : *root->getAsObject()->getArray(group)) {
      const Object &object = *entry.getAsObject();
      RefCase c{group.str(), object.getString("text")->str(), {}};
      for (const Value &id : *object.getArray("ids"))
        c.ids.push_back(static_cast<int32_t>(*id.getAsInteger()));
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

//===----------------------------------------------------------------------===//
// The fixture against the Hugging Face references
//===----------------------------------------------------------------------===//

TEST(TokenizerTest, FixtureBasics) {
  const Tokenizer &tok = fixtureTokenizer();
  EXPECT_EQ(tok.vocabSize(), 8192u);
  EXPECT_EQ(tok.bosId(), 1);
  EXPECT_EQ(tok.eosId(), 2);
  EXPECT_EQ(tok.templatePrefix(), llvm::ArrayRef<int32_t>({1}));
  EXPECT_TRUE(tok.templateSuffix().empty());
  EXPECT_EQ(tok.tokenToId("<unk>"), 0);
  EXPECT_EQ(tok.tokenToId("</s>"), 2);
  EXPECT_EQ(tok.tokenToId("\xC4\xA0"), 223); // "Ġ", a space.
  EXPECT_EQ(tok.tokenToId("not a token"), std::nullopt);
  EXPECT_EQ(tok.idToToken(1), "<s>");
  EXPECT_EQ(tok.idToToken(223), "\xC4\xA0");
  EXPECT_EQ(tok.idToToken(8192), "");
  EXPECT_EQ(tok.idToToken(-1), "");
  EXPECT_TRUE(tok.isSpecial(1));
  EXPECT_FALSE(tok.isSpecial(223));
}

TEST(TokenizerTest, ReproducesEveryReferenceCase) {
  const Tokenizer &tok = fixtureTokenizer();
  std::vector<RefCase> cases = loadRefs();
  ASSERT_EQ(cases.size(), 49u);
  size_t matched = 0;
  for (const RefCase &c : cases) {
    std::vector<int32_t> ids = unwrap(tok.encode(c.text));
    EXPECT_EQ(ids, c.ids) << c.group << ": " << c.text.substr(0, 80);
    matched += ids == c.ids;
    // Without the template only BOS goes away.
    std::vector<int32_t> bare = unwrap(tok.encode(c.text, false));
    EXPECT_EQ(bare, std::vector<int32_t>(c.ids.begin() + 1, c.ids.end()));
  }
  EXPECT_EQ(matched, cases.size());
}

TEST(TokenizerTest, RoundTripsEveryReferenceCase) {
  const Tokenizer &tok = fixtureTokenizer();
  for (const RefCase &c : loadRefs()) {
    std::vector<int32_t> ids = unwrap(tok.encode(c.text));
    EXPECT_EQ(unwrap(tok.decode(tok.stripTemplate(ids))), c.text);
    EXPECT_EQ(unwrap(tok.decode(unwrap(tok.encode(c.text, false)))), c.text);
  }
}

TEST(TokenizerTest, HandCases) {
  const Tokenizer &tok = fixtureTokenizer();
  // Literal special tokens are matched before pre-tokenization, with or
  // without the template.
  EXPECT_EQ(unwrap(tok.encode("<s>x</s>")),
            (std::vector<int32_t>{1, 1, 90, 2}));
  EXPECT_EQ(unwrap(tok.encode("<s>x</s>", false)),
            (std::vector<int32_t>{1, 90, 2}));
  EXPECT_EQ(unwrap(tok.encode("", false)), std::vector<int32_t>{});
  EXPECT_EQ(unwrap(tok.encode("hello world")),
            (std::vector<int32_t>{1, 4581, 315, 6770}));
  // stripTemplate leaves ids without BOS alone.
  std::vector<int32_t> noBos = {90, 2};
  EXPECT_EQ(tok.stripTemplate(noBos), llvm::ArrayRef<int32_t>(noBos));
}

TEST(TokenizerTest, DecodesSpecialTokensAsHuggingFaceDoes) {
  const Tokenizer &tok = fixtureTokenizer();
  // tokenizers 0.23: decode([1, 90, 2], skip_special_tokens=False).
  EXPECT_EQ(unwrap(tok.decode({1, 90, 2})), "<s>x</s>");
  EXPECT_EQ(unwrap(tok.decode({1, 90, 2}, true)), "x");
  // "ü" is 0xC3 0xBC (ids 130 123). An added token between the halves
  // splits the byte run: each half becomes U+FFFD. Skipped, it does not.
  EXPECT_EQ(unwrap(tok.decode({130, 123})), "\xC3\xBC");
  EXPECT_EQ(unwrap(tok.decode({130, 1, 123})), "\xEF\xBF\xBD<s>\xEF\xBF\xBD");
  EXPECT_EQ(unwrap(tok.decode({130, 1, 123}, true)), "\xC3\xBC");
  EXPECT_EQ(unwrap(tok.decode({130, 130, 123, 123})),
            "\xEF\xBF\xBD\xC3\xBC\xEF\xBF\xBD");
  EXPECT_EQ(unwrap(tok.decode({})), "");
}

TEST(TokenizerTest, DecodeRejectsUnknownIds) {
  const Tokenizer &tok = fixtureTokenizer();
  EXPECT_EQ(errorOf(tok.decode({1, 8192})),
            "token id 8192 (at index 1) is not in the vocabulary of 8192 ids");
  EXPECT_EQ(errorOf(tok.decode({-1})),
            "token id -1 (at index 0) is not in the vocabulary of 8192 ids");
}

TEST(TokenizerTest, EncodeRejectsInvalidUTF8) {
  const Tokenizer &tok = fixtureTokenizer();
  EXPECT_EQ(errorOf(tok.encode("ok \xC3")),
            "invalid UTF-8 at byte offset 3 (byte 0xC3)");
  EXPECT_EQ(errorOf(tok.encode("\xC0\xAF")),
            "invalid UTF-8 at byte offset 0 (byte 0xC0)");
  EXPECT_EQ(errorOf(tok.encode("ab\xED\xA0\x80")),
            "invalid UTF-8 at byte offset 2 (byte 0xED)");
  EXPECT_EQ(errorOf(tok.encode("\xF4\x90\x80\x80")),
            "invalid UTF-8 at byte offset 0 (byte 0xF4)");
  EXPECT_EQ(errorOf(tok.encode("x\x80")),
            "invalid UTF-8 at byte offset 1 (byte 0x80)");
}

TEST(TokenizerTest, LongRunsAreLinear) {
  const Tokenizer &tok = fixtureTokenizer();
  // The reference has 300 'a': 4950 is "aaaa..." of some length n, and the
  // run is cut into n-long pieces. 200k characters must be fast as well.
  std::vector<int32_t> ref = unwrap(tok.encode(std::string(300, 'a'), false));
  size_t pieceLength = tok.idToToken(4950).size();
  ASSERT_GT(pieceLength, 1u);
  for (char c : {'a', ' ', '\n', '9', '.'}) {
    std::string text(200000, c);
    auto start = std::chrono::steady_clock::now();
    std::vector<int32_t> ids = unwrap(tok.encode(text, false));
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    EXPECT_EQ(unwrap(tok.decode(ids)), text);
    EXPECT_LE(ids.size(), text.size() / 2);
    // Generous: a quadratic merge takes minutes here, the heap milliseconds.
    EXPECT_LT(ms, 5000.0) << "200k x '" << c << "'";
    std::printf("[ timing ] 200000 x 0x%02X: %zu ids in %.1f ms\n",
                static_cast<unsigned>(c), ids.size(), ms);
  }
  std::string text(200000, 'a');
  std::vector<int32_t> ids = unwrap(tok.encode(text, false));
  EXPECT_EQ(ids.size(), (200000 + pieceLength - 1) / pieceLength);
}

TEST(TokenizerTest, EncodesDocumentsQuickly) {
  const Tokenizer &tok = fixtureTokenizer();
  std::vector<RefCase> cases = loadRefs();
  size_t chars = 0, ids = 0;
  auto start = std::chrono::steady_clock::now();
  for (const RefCase &c : cases) {
    if (c.group != "docs")
      continue;
    chars += c.text.size();
    ids += unwrap(tok.encode(c.text)).size();
  }
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start)
                  .count();
  std::printf("[ timing ] 40 docs, %zu bytes -> %zu ids in %.2f ms\n", chars,
              ids, ms);
  EXPECT_LT(ms, 2000.0);
}

//===----------------------------------------------------------------------===//
// Hand-written tokenizers
//===----------------------------------------------------------------------===//

/// A tokenizer.json with <unk>=0 <s>=1 </s>=2, the tokens "a" "b" "c" "d" "Ġ"
/// (space) and "z" as 3..8, then `extra` from 9 on, the given merges (as
/// pairs), and the fixture's pipeline.
Object
makeConfig(std::vector<std::string> extra = {},
           std::vector<std::pair<std::string, std::string>> merges = {}) {
  Object vocab;
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>",     "a", "b",
                                     "c",     "d",   "\xC4\xA0", "z"};
  tokens.insert(tokens.end(), extra.begin(), extra.end());
  for (auto [id, token] : llvm::enumerate(tokens))
    vocab[token] = static_cast<int64_t>(id);
  Array mergeArray;
  for (auto &[left, right] : merges)
    mergeArray.push_back(Array{left, right});
  Array added;
  for (int id = 0; id < 3; ++id)
    added.push_back(Object{{"id", id},
                           {"content", tokens[id]},
                           {"single_word", false},
                           {"lstrip", false},
                           {"rstrip", false},
                           {"normalized", false},
                           {"special", true}});
  return Object{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", std::move(added)},
      {"normalizer", nullptr},
      {"pre_tokenizer", Object{{"type", "ByteLevel"},
                               {"add_prefix_space", false},
                               {"trim_offsets", true},
                               {"use_regex", true}}},
      {"post_processor",
       Object{{"type", "TemplateProcessing"},
              {"single", Array{Object{{"SpecialToken",
                                       Object{{"id", "<s>"}, {"type_id", 0}}}},
                               Object{{"Sequence",
                                       Object{{"id", "A"}, {"type_id", 0}}}}}},
              {"special_tokens",
               Object{{"<s>", Object{{"id", "<s>"},
                                     {"ids", Array{1}},
                                     {"tokens", Array{"<s>"}}}}}}}},
      {"decoder", Object{{"type", "ByteLevel"}}},
      {"model", Object{{"type", "BPE"},
                       {"dropout", nullptr},
                       {"unk_token", "<unk>"},
                       {"continuing_subword_prefix", nullptr},
                       {"end_of_word_suffix", nullptr},
                       {"fuse_unk", false},
                       {"byte_fallback", false},
                       {"ignore_merges", false},
                       {"vocab", std::move(vocab)},
                       {"merges", std::move(mergeArray)}}},
  };
}

std::string serialize(Object config) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << Value(std::move(config));
  return text;
}

llvm::Expected<std::unique_ptr<Tokenizer>> parseConfig(Object config) {
  return Tokenizer::parse(serialize(std::move(config)), "hand.json");
}

Object &model(Object &config) { return *config.getObject("model"); }

TEST(TokenizerTest, MergesByRankThenPosition) {
  // "abc": b+c (rank 0) wins over a+b (rank 1), then a+bc (rank 2).
  auto tok = unwrap(parseConfig(
      makeConfig({"bc", "ab", "abc"}, {{"b", "c"}, {"a", "b"}, {"a", "bc"}})));
  ASSERT_TRUE(tok);
  EXPECT_EQ(unwrap(tok->encode("abc")), (std::vector<int32_t>{1, 11}));
  // "abab": equal ranks merge left to right; no "abab" token.
  EXPECT_EQ(unwrap(tok->encode("abab", false)), (std::vector<int32_t>{10, 10}));
  EXPECT_EQ(unwrap(tok->encode("cab", false)), (std::vector<int32_t>{5, 10}));
  EXPECT_EQ(unwrap(tok->decode({1, 11, 7, 10})), "<s>abc ab");
}

TEST(TokenizerTest, AcceptsLegacyStringMerges) {
  Object config = makeConfig({"bc", "ab", "abc"});
  model(config)["merges"] = Array{"b c", "a b", "a bc"};
  auto tok = unwrap(parseConfig(std::move(config)));
  ASSERT_TRUE(tok);
  EXPECT_EQ(unwrap(tok->encode("abc", false)), (std::vector<int32_t>{11}));
}

TEST(TokenizerTest, IgnoreMergesTakesWholeWords) {
  Object config = makeConfig({"ab", "abcd"}, {{"a", "b"}});
  EXPECT_EQ(unwrap(unwrap(parseConfig(config))->encode("abcd", false)),
            (std::vector<int32_t>{9, 5, 6}));
  model(config)["ignore_merges"] = true;
  EXPECT_EQ(unwrap(unwrap(parseConfig(config))->encode("abcd", false)),
            (std::vector<int32_t>{10}));
}

TEST(TokenizerTest, AddPrefixSpace) {
  Object config = makeConfig({"\xC4\xA0"
                              "a"},
                             {{"\xC4\xA0", "a"}});
  (*config.getObject("pre_tokenizer"))["add_prefix_space"] = true;
  auto tok = unwrap(parseConfig(std::move(config)));
  ASSERT_TRUE(tok);
  EXPECT_EQ(unwrap(tok->encode("a", false)), (std::vector<int32_t>{9}));
  EXPECT_EQ(unwrap(tok->encode(" a", false)), (std::vector<int32_t>{9}));
  // Each piece between added tokens gets its own space.
  EXPECT_EQ(unwrap(tok->encode("a</s>a", false)),
            (std::vector<int32_t>{9, 2, 9}));
}

TEST(TokenizerTest, UnknownBytesUseUnk) {
  Object config = makeConfig();
  EXPECT_EQ(unwrap(unwrap(parseConfig(config))->encode("ayyb", false)),
            (std::vector<int32_t>{3, 0, 0, 4}));
  model(config)["fuse_unk"] = true;
  EXPECT_EQ(unwrap(unwrap(parseConfig(config))->encode("ayyb", false)),
            (std::vector<int32_t>{3, 0, 4}));
  // Without an unk token tokenizers drops what it cannot spell.
  model(config)["unk_token"] = nullptr;
  EXPECT_EQ(unwrap(unwrap(parseConfig(config))->encode("ayyb", false)),
            (std::vector<int32_t>{3, 4}));
}

TEST(TokenizerTest, PipelineVariants) {
  // A Sequence pre-tokenizer holding ByteLevel; a Sequence post-processor
  // with ByteLevel and a template that also appends </s>.
  Object config = makeConfig();
  Object byteLevel = *config.getObject("pre_tokenizer");
  config["pre_tokenizer"] =
      Object{{"type", "Sequence"},
             {"pretokenizers", Array{Value(std::move(byteLevel))}}};
  Object &post = *config.getObject("post_processor");
  (*post.getArray("single"))
      .push_back(Object{{"SpecialToken", Object{{"id", "</s>"}}}});
  (*post.getObject("special_tokens"))["</s>"] =
      Object{{"id", "</s>"}, {"ids", Array{2}}, {"tokens", Array{"</s>"}}};
  Object templateCopy = post;
  config["post_processor"] =
      Object{{"type", "Sequence"},
             {"processors", Array{Object{{"type", "ByteLevel"}},
                                  Value(std::move(templateCopy))}}};
  config["decoder"] = Object{
      {"type", "Sequence"}, {"decoders", Array{Object{{"type", "ByteLevel"}}}}};
  auto tok = unwrap(parseConfig(config));
  ASSERT_TRUE(tok);
  EXPECT_EQ(unwrap(tok->encode("ab")), (std::vector<int32_t>{1, 3, 4, 2}));
  EXPECT_EQ(tok->eosId(), 2);
  std::vector<int32_t> ids = {1, 3, 4, 2};
  EXPECT_EQ(tok->stripTemplate(ids), llvm::ArrayRef<int32_t>(ids).slice(1, 2));

  // No post-processor: no BOS, but <s> is still known as BOS.
  config["post_processor"] = nullptr;
  tok = unwrap(parseConfig(config));
  ASSERT_TRUE(tok);
  EXPECT_EQ(unwrap(tok->encode("ab")), (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(tok->bosId(), 1);
  EXPECT_EQ(tok->eosId(), 2);

  // use_regex false: the whole text is one word, so "a b" can merge over
  // the space.
  Object noRegex = makeConfig({"a\xC4\xA0", "a\xC4\xA0"
                                            "b"},
                              {{"a", "\xC4\xA0"}, {"a\xC4\xA0", "b"}});
  (*noRegex.getObject("pre_tokenizer"))["use_regex"] = false;
  tok = unwrap(parseConfig(noRegex));
  ASSERT_TRUE(tok);
  EXPECT_EQ(unwrap(tok->encode("a b", false)), (std::vector<int32_t>{10}));
}

TEST(TokenizerTest, LoadNamesMissingFiles) {
  std::string message = errorOf(Tokenizer::load("/nonexistent/dir"));
  EXPECT_NE(message.find("/nonexistent/dir: cannot read"), std::string::npos)
      << message;
}

TEST(TokenizerTest, RejectsMalformedFiles) {
  struct Case {
    const char *name;
    std::function<void(Object &)> mutate;
    const char *message;
  } cases[] = {
      {"top level", [](Object &c) { c = Object(); },
       "hand.json: model: missing"},
      {"model not object", [](Object &c) { c["model"] = 3; },
       "hand.json: model: expected an object"},
      {"model type", [](Object &c) { model(c)["type"] = "WordPiece"; },
       "hand.json: model.type: unsupported model type 'WordPiece' (only BPE "
       "is supported)"},
      {"unigram", [](Object &c) { model(c)["type"] = "Unigram"; },
       "hand.json: model.type: unsupported model type 'Unigram'"},
      {"no type", [](Object &c) { model(c).erase("type"); },
       "hand.json: model.type: missing"},
      {"no vocab", [](Object &c) { model(c).erase("vocab"); },
       "hand.json: model.vocab: missing"},
      {"no merges", [](Object &c) { model(c).erase("merges"); },
       "hand.json: model.merges: missing"},
      {"vocab id", [](Object &c) { (*model(c).getObject("vocab"))["q"] = "x"; },
       "hand.json: model.vocab: the id of token 'q' is not an integer"},
      {"negative id",
       [](Object &c) { (*model(c).getObject("vocab"))["q"] = -4; },
       "hand.json: model.vocab: the id of token 'q' (-4) is out of range"},
      {"duplicate ids",
       [](Object &c) { (*model(c).getObject("vocab"))["q"] = 4; },
       "hand.json: model.vocab: tokens 'b' and 'q' have the same id 4"},
      {"merge token",
       [](Object &c) {
         model(c)["merges"] = Array{Array{"a", "x"}};
       },
       "hand.json: model.merges[0]: token 'x' is not in the vocabulary"},
      {"merged token",
       [](Object &c) {
         model(c)["merges"] = Array{Array{"a", "b"}, Array{"c", "d"}};
         (*model(c).getObject("vocab"))["ab"] = 40;
       },
       "hand.json: model.merges[1]: token 'cd' is not in the vocabulary"},
      {"merge form", [](Object &c) { model(c)["merges"] = Array{"a b c"}; },
       "hand.json: model.merges[0]: expected \"left right\" with one space, "
       "got 'a b c'"},
      {"merge pair", [](Object &c) { model(c)["merges"] = Array{Array{"a"}}; },
       "hand.json: model.merges[0]: expected [\"left\", \"right\"] or "
       "\"left right\""},
      {"byte fallback", [](Object &c) { model(c)["byte_fallback"] = true; },
       "hand.json: model.byte_fallback: unsupported setting true"},
      {"dropout", [](Object &c) { model(c)["dropout"] = 0.1; },
       "hand.json: model.dropout: unsupported setting (only null is "
       "supported)"},
      {"prefix",
       [](Object &c) { model(c)["continuing_subword_prefix"] = "##"; },
       "hand.json: model.continuing_subword_prefix: unsupported setting"},
      {"suffix", [](Object &c) { model(c)["end_of_word_suffix"] = "</w>"; },
       "hand.json: model.end_of_word_suffix: unsupported setting"},
      {"unk", [](Object &c) { model(c)["unk_token"] = "<nope>"; },
       "hand.json: model.unk_token: '<nope>' is not in the vocabulary"},
      {"normalizer",
       [](Object &c) {
         c["normalizer"] = Object{{"type", "NFC"}};
       },
       "hand.json: normalizer: unsupported normalizer 'NFC' (only null is "
       "supported)"},
      {"no pre-tokenizer", [](Object &c) { c["pre_tokenizer"] = nullptr; },
       "hand.json: pre_tokenizer: a ByteLevel pre-tokenizer is required"},
      {"split pre-tokenizer",
       [](Object &c) {
         c["pre_tokenizer"] =
             Object{{"type", "Sequence"},
                    {"pretokenizers", Array{Object{{"type", "Split"}}}}};
       },
       "hand.json: pre_tokenizer.pretokenizers[0].type: unsupported "
       "pre-tokenizer 'Split' (only ByteLevel is supported)"},
      {"no decoder", [](Object &c) { c.erase("decoder"); },
       "hand.json: decoder: a ByteLevel decoder is required"},
      {"wordpiece decoder",
       [](Object &c) {
         c["decoder"] = Object{{"type", "WordPiece"}};
       },
       "hand.json: decoder.type: unsupported decoder 'WordPiece'"},
      {"roberta",
       [](Object &c) {
         c["post_processor"] = Object{{"type", "RobertaProcessing"}};
       },
       "hand.json: post_processor.type: unsupported post-processor "
       "'RobertaProcessing'"},
      {"template token",
       [](Object &c) {
         c.getObject("post_processor")
             ->getObject("special_tokens")
             ->erase("<s>");
       },
       "hand.json: post_processor.special_tokens: no ids for special token "
       "'<s>'"},
      {"added id",
       [](Object &c) {
         (*(*c.getArray("added_tokens"))[1].getAsObject())["id"] = 5;
       },
       "hand.json: added_tokens[1]: token '<s>' has id 5 but the vocabulary "
       "gives 1"},
      {"added lstrip",
       [](Object &c) {
         (*(*c.getArray("added_tokens"))[0].getAsObject())["lstrip"] = true;
       },
       "hand.json: added_tokens[0].lstrip: unsupported setting true"},
      {"added clash",
       [](Object &c) {
         c.getArray("added_tokens")
             ->push_back(Object{{"id", 3}, {"content", "<x>"}});
       },
       "hand.json: added_tokens[3]: id 3 of '<x>' is already the id of 'a'"},
      {"truncation",
       [](Object &c) {
         c["truncation"] = Object{{"max_length", 8}};
       },
       "hand.json: truncation: unsupported setting (only null is "
       "supported)"},
  };
  for (Case &c : cases) {
    Object config = makeConfig();
    c.mutate(config);
    std::string message = errorOf(parseConfig(std::move(config)));
    EXPECT_TRUE(llvm::StringRef(message).starts_with(c.message))
        << c.name << ": " << message;
  }

  EXPECT_EQ(errorOf(Tokenizer::parse("{ not json", "hand.json")),
            "hand.json: not valid JSON: [1:3, byte=3]: Expected object key");
  EXPECT_EQ(errorOf(Tokenizer::parse("[1]", "hand.json")),
            "hand.json: expected a JSON object at the top level");
}

} // namespace
