#!/usr/bin/env python3
"""Differential test: pmpd-tokenize against Hugging Face `tokenizers`.

Generates a few hundred random and adversarial strings with a fixed seed
(scripts, digits, punctuation runs, Unicode whitespace, CRLF, contractions,
emoji, combining marks, literal special tokens, long runs), encodes them with
both (pmpd-tokenize --jsonl, one process) and checks the ids are identical.
It also decodes HF's ids and random id sequences with both, and repeats the
encoding on variants of the tokenizer (add_prefix_space, ignore_merges, no
post-processor). Prints one summary line per check and, on a mismatch, the
first differing case; exits 1 if anything differs.

    diff_tokenizers.py --tool pmpd-tokenize \
        --tokenizer fixtures/pmpd-tiny-llama/tokenizer.json --workdir /tmp/x
"""

import argparse
import json
import os
import random
import subprocess
import sys

from tokenizers import Tokenizer

SCRIPTS = {
    "latin": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "latin1": "àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿÀÉÎÕÜßªºµ",
    "greek": "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΩάέ",
    "cyrillic": "абвгдежзийклмнопрстуфхцчшщъыьэюяЖЩЯ",
    "cjk": "日本語中文字漢字東京大学人工知能的一是不了",
    "kana": "ひらがなカタカナテキストーッャ",
    "hangul": "한국어텍스트가나다",
    "arabic": "العربيةمرحبا",
    "hebrew": "שלוםעולם",
    "devanagari": "हिन्दीनमस्ते",  # With combining vowel signs and virama.
    "thai": "ภาษาไทยสวัสดี",
    "digits": "0123456789",
    "other_digits": "٠١٢٣٤٥٦٧٨٩०१२३४५६७८९０１２３²³¹½¼¾ⅠⅡⅫ①②",
    "punct": "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'’“”«»¿¡…—–·•§¶©®™°±×÷",
    "symbols": "∀∂∈∑√∞≠≤≥⊂⊕←→↔⇒€£¥₩",
    "emoji": ["🙂", "😀", "👍🏽", "👨‍👩‍👧", "🇯🇵", "❤️", "🤖", "🎉"],
    "combining": ["e\u0301", "a\u0308", "n\u0303", "\u0301", "\u20dd",
                  "o\u0336", "i\u0307\u0301"],
    "format": ["\u200b", "\u200c", "\u200d", "\ufeff", "\u180e", "\u2060",
               "\x1c", "\x1f", "\x7f", "\x00", "\x01"],
}
WHITESPACE = [" ", " ", " ", "  ", "\t", "\n", "\n\n", "\r\n", "\r", "\x0b",
              "\x0c", "\u00a0", "\u2003", "\u3000", "\u0085", "\u2028",
              "\u2029", "\u202f", "\u205f", "\u1680", " \u00a0", "\u00a0 ",
              " \t ", "\u3000 "]
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL",
                "'Re", "’s", "''", "'", "'x", "'sa", "'ll'"]
SPECIALS = ["<s>", "</s>", "<unk>", "<s", "s>", "</s >", "<<s>>",
            "<s></s>", "< s>", "<S>", "<s><s>"]
WORDS = ["the", "The", "don", "can", "I", "you", "we", "it", "int", "main",
         "return", "def", "self", "__init__", "printf", "kernel", "perl",
         "http://x.org/a?b=c", "foo_bar", "CamelCase", "x86_64", "3.14",
         "1e-5", "0xFF", "ünïcödé", "naïve", "café"]


def piece(rng):
    kind = rng.random()
    if kind < 0.30:
        return rng.choice(WORDS)
    if kind < 0.50:
        return rng.choice(WHITESPACE)
    if kind < 0.58:
        return rng.choice(CONTRACTIONS)
    if kind < 0.63:
        return rng.choice(SPECIALS)
    alphabet = SCRIPTS[rng.choice(sorted(SCRIPTS))]
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))


def random_codepoint(rng):
    while True:
        cp = rng.choice([rng.randint(0, 0x7F), rng.randint(0x80, 0x7FF),
                         rng.randint(0x800, 0xFFFF),
                         rng.randint(0x10000, 0x10FFFF)])
        if not 0xD800 <= cp <= 0xDFFF:
            return chr(cp)


def generate(seed):
    rng = random.Random(seed)
    cases = [
        "", " ", "  ", "\n", "\r\n", "\t\t", "a", "'s", "'", "<s>", "</s>",
        "<unk>", "<s>x</s>", " <s> ", "a<s>b", "hello world",
        "Hello, World! It's a test. We'll see: they're done, I'd've said.",
        "  leading", "trailing  ", "a \t\n b", "x\u00a0\u00a0y",
        "x\u3000\u3000y", "x\u2003y", "line1\r\nline2\r\n\r\n",
        "int main(void) { return 0; }\n",
        "for (i = 0; i < n; ++i)\n\t\tsum += a[i];\n",
        "$x = \"don't\";  # perl's idiom\n",
        "ünïcödé ✓ 日本語 🙂", "e\u0301e\u0301\u0301", "👨‍👩‍👧 👍🏽!!",
        "٣٤٥ ١٢abc ½ Ⅻ ²³", "...!!!???", "---===+++",
        "a" * 5000, " " * 20000, "\n" * 3000, "ab" * 4000,
        " x" * 3000, "1234567890" * 500, "🙂" * 1000, "日本" * 2000,
        " " * 999 + "x", "\t " * 2000 + "y", ("<s>" * 300),
        "é" * 3001, "a'" * 2000, "\u00a0" * 3000 + "z",
    ]
    for _ in range(300):
        cases.append("".join(piece(rng) for _ in range(rng.randint(1, 24))))
    for _ in range(60):
        cases.append("".join(random_codepoint(rng)
                             for _ in range(rng.randint(1, 16))))
    for _ in range(20):
        # Runs of one class followed by a different class.
        a, b = piece(rng), piece(rng)
        cases.append(a * rng.randint(1, 200) + b * rng.randint(1, 50))
    return cases


def run_tool(tool, model, lines, extra):
    result = subprocess.run([tool, model, "--jsonl"] + extra,
                            input="".join(json.dumps(x) + "\n" for x in lines),
                            capture_output=True, text=True, encoding="utf-8")
    if result.returncode != 0:
        sys.exit(f"diff_tokenizers.py: {tool} failed: {result.stderr}")
    # split("\n"): str.splitlines() also breaks at U+2028, U+0085, ...
    out = [json.loads(line) for line in result.stdout.split("\n")[:-1]]
    if len(out) != len(lines):
        sys.exit(f"diff_tokenizers.py: {tool} gave {len(out)} lines for "
                 f"{len(lines)} inputs")
    return out


def report(name, inputs, ours, theirs):
    bad = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    print(f"{name}: {len(inputs) - len(bad)}/{len(inputs)} match")
    if bad:
        i = bad[0]
        print(f"  first mismatch (case {i}): input {inputs[i]!r:.300}")
        print(f"    ours:   {ours[i]!r:.300}")
        print(f"    theirs: {theirs[i]!r:.300}")
    return not bad


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", default="pmpd-tokenize")
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--seed", type=int, default=20240613)
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)

    cases = generate(args.seed)
    hf = Tokenizer.from_file(args.tokenizer)
    ok = True

    theirs = [hf.encode(x).ids for x in cases]
    ok &= report("encode", cases, run_tool(args.tool, args.tokenizer, cases,
                                           []), theirs)
    bare = [hf.encode(x, add_special_tokens=False).ids for x in cases]
    ok &= report("encode --no-special", cases,
                 run_tool(args.tool, args.tokenizer, cases, ["--no-special"]),
                 bare)

    # Decoding: HF's own ids, and random id sequences that split multi-byte
    # characters and interleave special tokens.
    rng = random.Random(args.seed + 1)
    vocab = hf.get_vocab_size()
    id_lists = theirs + [[rng.randrange(vocab) for _ in range(rng.randint(0, 40))]
                         for _ in range(200)]
    id_lists += [[rng.choice([0, 1, 2, 130, 123, 161, 253, 244, 90, 223])
                  for _ in range(rng.randint(1, 12))] for _ in range(100)]
    for skip in (False, True):
        flags = ["--decode"] + (["--skip-special"] if skip else [])
        ok &= report(f"decode{' --skip-special' if skip else ''}", id_lists,
                     run_tool(args.tool, args.tokenizer, id_lists, flags),
                     [hf.decode(ids, skip_special_tokens=skip)
                      for ids in id_lists])

    # Variants of the same tokenizer exercise the optional features.
    with open(args.tokenizer, encoding="utf-8") as f:
        config = json.load(f)
    variants = {
        "add_prefix_space": lambda c: c["pre_tokenizer"].update(
            add_prefix_space=True),
        "ignore_merges": lambda c: c["model"].update(ignore_merges=True),
        "no post_processor": lambda c: c.update(post_processor=None),
        "Sequence pre_tokenizer": lambda c: c.update(pre_tokenizer={
            "type": "Sequence", "pretokenizers": [c["pre_tokenizer"]]}),
    }
    for name, mutate in variants.items():
        variant = json.loads(json.dumps(config))
        mutate(variant)
        path = os.path.join(args.workdir,
                            name.replace(" ", "-") + ".tokenizer.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(variant, f, ensure_ascii=False)
        hf_variant = Tokenizer.from_file(path)
        ok &= report(f"variant {name}", cases,
                     run_tool(args.tool, path, cases, []),
                     [hf_variant.encode(x).ids for x in cases])

    print("all match" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
