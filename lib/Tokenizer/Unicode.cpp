//===- Unicode.cpp - UTF-8 and the GPT-2 pre-tokenizer split --------------===//
//
// Kept apart from the BPE model so that the regex-equivalent scanner and the
// UTF-8 rules, where tokenizers most often disagree with Hugging Face, can be
// read and tested on their own.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Tokenizer/Unicode.h"

#include "llvm/ADT/StringExtras.h"

#include <algorithm>
#include <iterator>
#include <optional>

using namespace pmpd;

namespace {
struct CodePointRange {
  uint32_t lo, hi; // Inclusive.
};
} // namespace

#include "UnicodeTables.inc"

template <size_t N>
static bool inRanges(const CodePointRange (&ranges)[N], uint32_t codePoint) {
  const CodePointRange *it = std::upper_bound(
      std::begin(ranges), std::end(ranges), codePoint,
      [](uint32_t cp, const CodePointRange &r) { return cp < r.lo; });
  return it != std::begin(ranges) && codePoint <= std::prev(it)->hi;
}

bool pmpd::isLetter(uint32_t codePoint) {
  if (codePoint < 0x80)
    return (codePoint | 0x20) >= 'a' && (codePoint | 0x20) <= 'z';
  return inRanges(LetterRanges, codePoint);
}

bool pmpd::isNumber(uint32_t codePoint) {
  if (codePoint < 0x80)
    return codePoint >= '0' && codePoint <= '9';
  return inRanges(NumberRanges, codePoint);
}

bool pmpd::isWhiteSpace(uint32_t codePoint) {
  if (codePoint < 0x80)
    return codePoint == ' ' || (codePoint >= 0x09 && codePoint <= 0x0D);
  return inRanges(WhiteSpaceRanges, codePoint);
}

//===----------------------------------------------------------------------===//
// UTF-8
//===----------------------------------------------------------------------===//

UTF8Step pmpd::decodeUTF8(llvm::StringRef text, size_t offset) {
  auto byteAt = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  uint8_t lead = byteAt(offset);
  if (lead < 0x80)
    return {lead, 1, true};

  // The ranges of Table 3-7 (Well-Formed UTF-8 Byte Sequences): the second
  // byte's range is what rules out overlongs, surrogates and > U+10FFFF.
  unsigned length;
  uint8_t secondLo = 0x80, secondHi = 0xBF;
  uint32_t codePoint;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    codePoint = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    codePoint = lead & 0x0F;
    if (lead == 0xE0)
      secondLo = 0xA0;
    else if (lead == 0xED)
      secondHi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    codePoint = lead & 0x07;
    if (lead == 0xF0)
      secondLo = 0x90;
    else if (lead == 0xF4)
      secondHi = 0x8F;
  } else {
    return {0xFFFD, 1, false};
  }

  for (unsigned i = 1; i < length; ++i) {
    uint8_t lo = i == 1 ? secondLo : 0x80, hi = i == 1 ? secondHi : 0xBF;
    if (offset + i >= text.size() || byteAt(offset + i) < lo ||
        byteAt(offset + i) > hi)
      return {0xFFFD, i, false};
    codePoint = (codePoint << 6) | (byteAt(offset + i) & 0x3F);
  }
  return {codePoint, length, true};
}

llvm::Error pmpd::validateUTF8(llvm::StringRef text) {
  for (size_t i = 0; i < text.size();) {
    // ASCII runs dominate real text; skip them without the full decoder.
    if (static_cast<uint8_t>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    UTF8Step step = decodeUTF8(text, i);
    if (!step.valid)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "invalid UTF-8 at byte offset %zu (byte 0x%02X)", i,
          static_cast<unsigned>(static_cast<uint8_t>(text[i])));
    i += step.length;
  }
  return llvm::Error::success();
}

void pmpd::appendUTF8(uint32_t codePoint, std::string &out) {
  if (codePoint < 0x80) {
    out.push_back(static_cast<char>(codePoint));
  } else if (codePoint < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (codePoint >> 6)));
    out.push_back(static_cast<char>(0x80 | (codePoint & 0x3F)));
  } else if (codePoint < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (codePoint >> 12)));
    out.push_back(static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (codePoint & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (codePoint >> 18)));
    out.push_back(static_cast<char>(0x80 | ((codePoint >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (codePoint & 0x3F)));
  }
}

std::string pmpd::toValidUTF8Lossy(llvm::StringRef bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    UTF8Step step = decodeUTF8(bytes, i);
    if (step.valid)
      out.append(bytes.data() + i, step.length);
    else
      appendUTF8(0xFFFD, out);
    i += step.length;
  }
  return out;
}

static std::optional<uint32_t> parseHex4(llvm::StringRef text, size_t pos) {
  if (pos + 4 > text.size())
    return std::nullopt;
  uint32_t value = 0;
  for (char c : text.substr(pos, 4)) {
    int digit = llvm::hexDigitValue(c);
    if (digit < 0)
      return std::nullopt;
    value = value * 16 + digit;
  }
  return value;
}

std::string pmpd::combineJSONSurrogatePairs(llvm::StringRef json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size();) {
    // Backslashes occur only inside strings, always as two-character
    // escapes, so stepping over escapes in pairs keeps "\\u" intact.
    if (json[i] != '\\' || i + 1 >= json.size()) {
      out.push_back(json[i++]);
      continue;
    }
    if (json[i + 1] == 'u' && i + 12 <= json.size() &&
        json.substr(i + 6, 2) == "\\u") {
      std::optional<uint32_t> high = parseHex4(json, i + 2);
      std::optional<uint32_t> low = parseHex4(json, i + 8);
      if (high && low && *high >= 0xD800 && *high <= 0xDBFF && *low >= 0xDC00 &&
          *low <= 0xDFFF) {
        appendUTF8(0x10000 + ((*high - 0xD800) << 10) + (*low - 0xDC00), out);
        i += 12;
        continue;
      }
    }
    out.append(json.data() + i, 2);
    i += 2;
  }
  return out;
}

//===----------------------------------------------------------------------===//
// The GPT-2 split
//===----------------------------------------------------------------------===//

namespace {
enum class CharClass { Letter, Number, Space, Other };

/// A cursor over well-formed UTF-8 that classifies code points.
class Scanner {
public:
  explicit Scanner(llvm::StringRef text) : text(text) {}

  bool atEnd(size_t pos) const { return pos >= text.size(); }

  /// The code point at `pos` and the offset after it.
  uint32_t peek(size_t pos, size_t &next) const {
    uint8_t lead = static_cast<uint8_t>(text[pos]);
    if (lead < 0x80) {
      next = pos + 1;
      return lead;
    }
    UTF8Step step = decodeUTF8(text, pos);
    next = pos + step.length;
    return step.codePoint;
  }

  CharClass classAt(size_t pos, size_t &next) const {
    uint32_t cp = peek(pos, next);
    if (isLetter(cp))
      return CharClass::Letter;
    if (isNumber(cp))
      return CharClass::Number;
    if (isWhiteSpace(cp))
      return CharClass::Space;
    return CharClass::Other;
  }

  /// The end of the run of `cls` characters starting at `pos`.
  size_t runEnd(size_t pos, CharClass cls) const {
    while (!atEnd(pos)) {
      size_t next;
      if (classAt(pos, next) != cls)
        break;
      pos = next;
    }
    return pos;
  }

  /// The length in bytes of the contraction ('s 't 're 've 'm 'll 'd) at
  /// `pos`, or 0. They are case-sensitive in the GPT-2 pattern.
  size_t contractionAt(size_t pos) const {
    llvm::StringRef rest = text.substr(pos);
    if (!rest.starts_with("'") || rest.size() < 2)
      return 0;
    char c = rest[1];
    if (c == 's' || c == 't' || c == 'm' || c == 'd')
      return 2;
    if (rest.size() >= 3 &&
        (rest.substr(1, 2) == "re" || rest.substr(1, 2) == "ve" ||
         rest.substr(1, 2) == "ll"))
      return 3;
    return 0;
  }

  llvm::StringRef text;
};
} // namespace

void pmpd::splitGPT2Words(llvm::StringRef text,
                          llvm::SmallVectorImpl<llvm::StringRef> &words) {
  Scanner scanner(text);
  size_t pos = 0;
  while (!scanner.atEnd(pos)) {
    // 's|'t|'re|'ve|'m|'ll|'d
    if (size_t length = scanner.contractionAt(pos)) {
      words.push_back(text.substr(pos, length));
      pos += length;
      continue;
    }

    size_t afterFirst;
    CharClass first = scanner.classAt(pos, afterFirst);

    // ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`: an optional ASCII space, then a
    // run of one class. The run's class is that of the first character after
    // the optional space.
    size_t runStart = pos;
    CharClass runClass = first;
    if (text[pos] == ' ' && !scanner.atEnd(afterFirst)) {
      size_t unused;
      CharClass second = scanner.classAt(afterFirst, unused);
      if (second != CharClass::Space) {
        runStart = afterFirst;
        runClass = second;
      }
    }
    if (runClass != CharClass::Space) {
      size_t end = scanner.runEnd(runStart, runClass);
      words.push_back(text.substr(pos, end - pos));
      pos = end;
      continue;
    }

    // `\s+(?!\S)|\s+`: a whitespace run that ends the text is one piece. One
    // followed by a non-space gives up its last character, which then
    // prefixes the next word if it is ' ' (or stands alone via `\s+`); a run
    // of one character cannot give it up and matches `\s+` whole.
    size_t end = scanner.runEnd(pos, CharClass::Space);
    if (!scanner.atEnd(end)) {
      size_t lastStart = pos, cursor = pos;
      while (cursor < end) {
        lastStart = cursor;
        scanner.peek(cursor, cursor);
      }
      if (lastStart > pos)
        end = lastStart;
    }
    words.push_back(text.substr(pos, end - pos));
    pos = end;
  }
}
