"""The tokenizer through the C API against Hugging Face's: the reference ids
of fixtures/refs/tokenizer-val.json, and the tokenizers package itself."""
import json

import pytest

import pmpd
from conftest import MODEL, REFS

CASES = json.loads((REFS / "tokenizer-val.json").read_text())
TEXTS = [case["text"] for case in CASES["special"] + CASES["docs"]]


@pytest.mark.parametrize("group", ["special", "docs"])
def test_encode_matches_reference_ids(fp16, group):
    for case in CASES[group]:
        assert fp16.tokenizer.encode(case["text"]) == case["ids"], case["text"]


def test_decode_gives_back_the_text(fp16):
    # Texts of 4000 characters decode to more bytes than the first buffer.
    assert max(len(t.encode()) for t in TEXTS) > 256
    for text in TEXTS:
        ids = fp16.tokenizer.encode(text)
        assert ids[0] == fp16.tokenizer.bos_id == 1
        assert fp16.tokenizer.decode(ids, skip_special=False) == "<s>" + text
        if not any(s in text for s in ("<s>", "</s>", "<unk>")):
            assert fp16.tokenizer.decode(ids) == text


def test_matches_huggingface_tokenizers(fp16):
    tokenizers = pytest.importorskip("tokenizers")
    hf = tokenizers.Tokenizer.from_file(str(MODEL / "tokenizer.json"))
    # A NUL byte inside the text, an added token, and ids that split a
    # character.
    for text in ["a\0b", "x</s>y", "\0", "héllo\tworld\r\n", "🙂 <s> end"]:
        ids = fp16.tokenizer.encode(text)
        assert ids == hf.encode(text).ids, repr(text)
        for skip in (True, False):
            assert fp16.tokenizer.decode(ids, skip_special=skip) == \
                hf.decode(ids, skip_special_tokens=skip)
    for ids in ([130, 1, 123], [1, 90, 2], []):
        for skip in (True, False):
            assert fp16.tokenizer.decode(ids, skip_special=skip) == \
                hf.decode(ids, skip_special_tokens=skip)


def test_special_ids(fp16):
    assert (fp16.tokenizer.bos_id, fp16.tokenizer.eos_id) == (1, 2)


def test_bad_ids(fp16):
    with pytest.raises(pmpd.PMPDError, match="8192"):
        fp16.tokenizer.decode([1, 8192])
    with pytest.raises(pmpd.PMPDError, match="-1 is outside the vocabulary"):
        fp16.tokenizer.decode([-1])
    with pytest.raises(TypeError, match="integer token ids"):
        fp16.tokenizer.decode([1.5])
    with pytest.raises(TypeError, match="integer token ids"):
        fp16.tokenizer.decode("abc")


def test_bad_text(fp16):
    with pytest.raises(TypeError, match="str"):
        fp16.tokenizer.encode(b"bytes")
    with pytest.raises(UnicodeEncodeError):
        fp16.tokenizer.encode("\ud800")
