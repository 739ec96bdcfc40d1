//===- UnicodeTest.cpp - UTF-8, code-point classes, GPT-2 split -----------===//
//
// The expected splits and lossy decodings below were produced by Hugging Face
// tokenizers 0.23 (ByteLevel.pre_tokenize_str) and Rust's
// String::from_utf8_lossy, not by this code.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Tokenizer/Unicode.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

using namespace pmpd;

namespace {

std::vector<std::string> split(llvm::StringRef text) {
  llvm::SmallVector<llvm::StringRef> words;
  splitGPT2Words(text, words);
  return std::vector<std::string>(words.begin(), words.end());
}

using Words = std::vector<std::string>;

/// The message of `err`, or "" on success.
std::string message(llvm::Error err) {
  return err ? llvm::toString(std::move(err)) : std::string();
}

TEST(UnicodeTest, DecodesWellFormedUTF8) {
  struct Case {
    const char *text;
    uint32_t codePoint;
    unsigned length;
  } cases[] = {{"A", 'A', 1},
               {"\xC2\x80", 0x80, 2},
               {"\xC3\xBC", 0xFC, 2},
               {"\xE0\xA0\x80", 0x800, 3},
               {"\xEF\xBF\xBF", 0xFFFF, 3},
               {"\xED\x9F\xBF", 0xD7FF, 3},
               {"\xF0\x90\x80\x80", 0x10000, 4},
               {"\xF0\x9F\x99\x82", 0x1F642, 4},
               {"\xF4\x8F\xBF\xBF", 0x10FFFF, 4}};
  for (const Case &c : cases) {
    UTF8Step step = decodeUTF8(c.text, 0);
    EXPECT_TRUE(step.valid) << c.text;
    EXPECT_EQ(step.codePoint, c.codePoint) << c.text;
    EXPECT_EQ(step.length, c.length) << c.text;
    std::string encoded;
    appendUTF8(c.codePoint, encoded);
    EXPECT_EQ(encoded, c.text);
  }
}

TEST(UnicodeTest, RejectsIllFormedUTF8) {
  struct Case {
    std::string text;
    unsigned subpart; // Bytes the invalid sequence consumes.
  } cases[] = {
      {"\x80", 1},             // Stray continuation byte.
      {"\xC0\x80", 1},         // Overlong NUL.
      {"\xC1\xBF", 1},         // Overlong.
      {"\xE0\x80\x80", 1},     // Overlong three-byte form.
      {"\xF0\x80\x80\x80", 1}, // Overlong four-byte form.
      {"\xED\xA0\x80", 1},     // Surrogate U+D800.
      {"\xED\xBF\xBF", 1},     // Surrogate U+DFFF.
      {"\xF4\x90\x80\x80", 1}, // U+110000.
      {"\xF5\x80\x80\x80", 1}, // Lead byte past U+10FFFF.
      {"\xFF", 1},
      {"\xC3", 1},         // Truncated at the end.
      {"\xE6\x97", 2},     // Truncated three-byte sequence.
      {"\xF0\x9F\x99", 3}, // Truncated four-byte sequence.
      {"\xC3(", 1},        // Missing continuation byte.
      {"\xE6\x97(", 2},
  };
  for (const Case &c : cases) {
    UTF8Step step = decodeUTF8(c.text, 0);
    EXPECT_FALSE(step.valid);
    EXPECT_EQ(step.codePoint, 0xFFFDu);
    EXPECT_EQ(step.length, c.subpart);
  }
}

TEST(UnicodeTest, ValidateNamesTheByteOffset) {
  EXPECT_EQ(message(validateUTF8("plain \xC3\xBC text")), "");
  EXPECT_EQ(message(validateUTF8("")), "");
  EXPECT_EQ(message(validateUTF8("ab\xC3")),
            "invalid UTF-8 at byte offset 2 (byte 0xC3)");
  EXPECT_EQ(message(validateUTF8("\xE6\x97\xA5\xED\xA0\x80")),
            "invalid UTF-8 at byte offset 3 (byte 0xED)");
  EXPECT_EQ(message(validateUTF8(std::string("x\0\xC0\x80", 4))),
            "invalid UTF-8 at byte offset 2 (byte 0xC0)");
}

TEST(UnicodeTest, LossyConversionMatchesRust) {
  // String::from_utf8_lossy(b"...") in Rust 1.8x.
  EXPECT_EQ(toValidUTF8Lossy("abc"), "abc");
  EXPECT_EQ(toValidUTF8Lossy("\xC3\xC3\xBC\xBC"),
            "\xEF\xBF\xBD\xC3\xBC\xEF\xBF\xBD");
  EXPECT_EQ(toValidUTF8Lossy("\xE0\x80\x80"),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(toValidUTF8Lossy("\xF0\x9F\x99"), "\xEF\xBF\xBD");
  EXPECT_EQ(toValidUTF8Lossy("\xF0\x9F\x99x"), "\xEF\xBF\xBDx");
  EXPECT_EQ(toValidUTF8Lossy("\xF4\x90\x80\x80"),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(UnicodeTest, CombinesJSONSurrogatePairs) {
  // U+101440 and U+20000 are the code points llvm::json::parse gets wrong.
  EXPECT_EQ(combineJSONSurrogatePairs(R"(["\udbc5\udc40", "\uD840\uDC00"])"),
            "[\"\xF4\x81\x91\x80\", \"\xF0\xA0\x80\x80\"]");
  EXPECT_EQ(combineJSONSurrogatePairs(R"("\ud83d\ude42 \u00e9")"),
            "\"\xF0\x9F\x99\x82 \\u00e9\"");
  // An escaped backslash before "u", a lone surrogate, a truncated pair and
  // a reversed pair are left for the JSON parser.
  for (const char *unchanged :
       {R"("\\ud83d\ude42")", R"("\ud83d")", R"("\ud83d\ude4")",
        R"("\ude42\ud83d")", R"("\ud83d\n")"})
    EXPECT_EQ(combineJSONSurrogatePairs(unchanged), unchanged);
}

TEST(UnicodeTest, ClassesFollowUnicode16) {
  for (uint32_t cp : {uint32_t('a'), uint32_t('Z'), 0xE9u, 0x65E5u, 0x30C6u,
                      0x2B0u /* Lm */, 0x1E5D0u /* Ol Onal, 16.0 */})
    EXPECT_TRUE(isLetter(cp)) << cp;
  for (uint32_t cp : {uint32_t('0'), 0x663u, 0xBDu, 0x2160u /* Nl */,
                      0x11BF0u /* Sunuwar digit, 16.0 */})
    EXPECT_TRUE(isNumber(cp)) << cp;
  for (uint32_t cp : {0x09u, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2003u,
                      0x2028u, 0x202Fu, 0x3000u})
    EXPECT_TRUE(isWhiteSpace(cp)) << cp;
  // Not White_Space although Python's str.isspace() says so, or close.
  for (uint32_t cp : {0x1Cu, 0x1Fu, 0x180Eu, 0x200Bu, 0xFEFFu})
    EXPECT_FALSE(isWhiteSpace(cp)) << cp;
  for (uint32_t cp : {uint32_t('_'), uint32_t('\''), 0x301u /* Mn */, 0x1F642u,
                      0x10940u /* Unicode 17, unassigned in 16 */})
    EXPECT_FALSE(isLetter(cp) || isNumber(cp) || isWhiteSpace(cp)) << cp;
}

TEST(UnicodeTest, SplitsLikeTheGPT2Regex) {
  EXPECT_EQ(split(""), Words{});
  EXPECT_EQ(split("Hello world"), (Words{"Hello", " world"}));
  EXPECT_EQ(split("  leading spaces"), (Words{" ", " leading", " spaces"}));
  EXPECT_EQ(split("a\n\nb"), (Words{"a", "\n", "\n", "b"}));
  EXPECT_EQ(split("x  (y)"), (Words{"x", " ", " (", "y", ")"}));
  EXPECT_EQ(split("don't"), (Words{"don", "'t"}));
  EXPECT_EQ(split("I'LL go"), (Words{"I", "'", "LL", " go"}));
  EXPECT_EQ(split("x?'s"), (Words{"x", "?'", "s"}));
  EXPECT_EQ(split("'tis 123abc"), (Words{"'t", "is", " 123", "abc"}));
  EXPECT_EQ(split("a \t b"), (Words{"a", " \t", " b"}));
  EXPECT_EQ(split("end   "), (Words{"end", "   "}));
  EXPECT_EQ(split("tab\t\tx"), (Words{"tab", "\t", "\t", "x"}));
  EXPECT_EQ(split("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E "
                  "\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88"),
            (Words{"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
                   " \xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88"}));
  EXPECT_EQ(split("x\xC2\xA0y"), (Words{"x", "\xC2\xA0", "y"}));
  EXPECT_EQ(split("x \xE3\x80\x80y"), (Words{"x", " ", "\xE3\x80\x80", "y"}));
  EXPECT_EQ(split("a\r\nb"), (Words{"a", "\r", "\n", "b"}));
  EXPECT_EQ(split("3.14159"), (Words{"3", ".", "14159"}));
  EXPECT_EQ(split("emoji \xF0\x9F\x99\x82\xF0\x9F\x99\x82!"),
            (Words{"emoji", " \xF0\x9F\x99\x82\xF0\x9F\x99\x82!"}));
  EXPECT_EQ(split("  "), (Words{"  "}));
}

TEST(UnicodeTest, LongRunsStayWhole) {
  std::string spaces(200000, ' ');
  EXPECT_EQ(split(spaces), (Words{spaces}));
  EXPECT_EQ(split(spaces + "x"), (Words{std::string(199999, ' '), " x"}));
  std::string letters(200000, 'a');
  EXPECT_EQ(split(letters), (Words{letters}));
}

} // namespace
