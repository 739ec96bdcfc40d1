"""Run artifacts compiled by pmpd-compile from Python.

    import pmpd
    m = pmpd.load("ART")                       # an artifact directory
    out = m.generate("int main(void)", max_new_tokens=64)
    out.text, out.ids, out.stats.average_decode_bits, out.stats.segments
    m.perplexity("docs.jsonl.xz", reference=pmpd.load("FP16_ART")).kl
    m.logits(m.tokenizer.encode("hello"))      # numpy [tokens, vocab]

A client of the runtime's C API (libpmpd.so, through ctypes; see _capi for
where the library is looked for): no LLVM or compiler is needed. Errors of
the runtime raise PMPDError with its message.
"""
import json
import lzma
import os
from ctypes import (POINTER, byref, c_float, c_int32, c_int64,
                    create_string_buffer)
from dataclasses import dataclass
from typing import List, Optional, Sequence, Union

import numpy as np

from . import _capi
from ._capi import PMPDError, library_path

__all__ = ["load", "Model", "Tokenizer", "Generation", "GenerationStats",
           "DecodeSegment", "Perplexity", "PMPDError", "library_path",
           "read_documents"]


def _id_array(ids, what="ids"):
    """`ids` as a contiguous int64 array; refuses anything but integers."""
    array = np.asarray(ids)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise TypeError(f"{what} must be a sequence of integer token ids, "
                        f"not {array.dtype} of shape {array.shape}")
    return np.ascontiguousarray(array, dtype=np.int64)


def _pointer(array, ctype):
    return array.ctypes.data_as(POINTER(ctype))


class Tokenizer:
    """The artifact's byte-level BPE tokenizer (Hugging Face's, reproduced)."""

    def __init__(self, model):
        self._model = model

    @property
    def bos_id(self) -> int:
        return _capi.lib().pmpd_model_bos_id(self._model._handle())

    @property
    def eos_id(self) -> int:
        return _capi.lib().pmpd_model_eos_id(self._model._handle())

    def encode(self, text: str) -> List[int]:
        """The ids of `text`, BOS included."""
        if not isinstance(text, str):
            raise TypeError(f"encode takes a str, not {type(text).__name__}")
        data = text.encode("utf-8")
        handle = self._model._handle()
        # Byte-level BPE gives at most one id a byte, and the template's.
        capacity = len(data) + 8
        while True:
            ids = np.zeros(capacity, dtype=np.int64)
            count = _capi.check(_capi.lib().pmpd_tokenize(
                handle, data, len(data), _pointer(ids, c_int64), capacity))
            if count <= capacity:
                return ids[:count].tolist()
            capacity = count

    def decode(self, ids: Sequence[int], skip_special: bool = True) -> str:
        """The text of `ids`; special tokens left out if `skip_special`."""
        array = _id_array(ids)
        handle = self._model._handle()
        capacity = 256
        while True:
            buffer = create_string_buffer(capacity)
            size = _capi.check(_capi.lib().pmpd_detokenize(
                handle, _pointer(array, c_int64), len(array),
                int(skip_special), buffer, capacity))
            if size < capacity:
                return buffer.raw[:size].decode("utf-8")
            capacity = size + 1


@dataclass
class DecodeSegment:
    """Consecutive decode steps that ran at one precision."""
    bits: int
    first_step: int
    tokens: int
    seconds: float
    tokens_per_second: float


@dataclass
class GenerationStats:
    finish_reason: str  # "length", "eos" or "cache_full"
    prompt_tokens: int
    prefill_seconds: float
    prefill_tokens_per_second: float
    decode_tokens: int
    decode_seconds: float
    decode_tokens_per_second: float
    average_decode_bits: float
    switch_steps: List[int]
    segments: List[DecodeSegment]

    @classmethod
    def from_json(cls, text):
        stats = json.loads(text)
        segments = [DecodeSegment(**s) for s in stats.pop("decode_segments")]
        return cls(segments=segments, **stats)


@dataclass
class Generation:
    text: str             # The generated text, special tokens left out.
    ids: List[int]        # The generated ids (the EOS that stopped it too).
    prompt_ids: List[int]
    stats: GenerationStats


@dataclass
class Perplexity:
    """Schedule-aware perplexity; kl, top1_agreement and
    max_relative_logit_error are None without a reference."""
    ppl: float
    total_nll: float
    tokens: int
    documents: int
    decode_steps: int
    average_decode_bits: float
    kl: Optional[float]
    top1_agreement: Optional[float]
    max_relative_logit_error: Optional[float]


def read_documents(path) -> List[str]:
    """The texts of a .jsonl or .jsonl.xz file of {"text": ...} objects."""
    path = os.fspath(path)
    opener = lzma.open if path.endswith(".xz") else open
    texts = []
    with opener(path, "rt", encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                texts.append(json.loads(line)["text"])
            except (ValueError, KeyError, TypeError) as error:
                raise PMPDError(f"{path}:{number}: not a JSON object with a "
                                f"\"text\" string ({error})") from None
            if not isinstance(texts[-1], str):
                raise PMPDError(f"{path}:{number}: \"text\" is not a string")
    return texts


class Model:
    """A loaded artifact with its KV cache. Not safe to share between
    threads; open one per thread."""

    def __init__(self, artifact, threads: int = 0):
        path = os.fspath(artifact)
        handle = _capi.lib().pmpd_model_open_threads(path.encode("utf-8"),
                                                     int(threads))
        self._ptr = _capi.check(handle)
        self.tokenizer = Tokenizer(self)
        self.path = path

    def _handle(self):
        if self._ptr is None:
            raise PMPDError(f"{self.path}: the model is closed")
        return self._ptr

    def close(self):
        if self._ptr is not None:
            _capi.lib().pmpd_model_close(self._ptr)
            self._ptr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_ptr", None) is not None and _capi._lib is not None:
            self.close()

    def __repr__(self):
        state = "closed" if self._ptr is None else self.schedule
        return f"pmpd.Model({self.path!r}, {state})"

    @property
    def vocab_size(self) -> int:
        return _capi.lib().pmpd_model_vocab_size(self._handle())

    @property
    def max_positions(self) -> int:
        """Positions of the KV cache: prompt and generated tokens together."""
        return _capi.lib().pmpd_model_max_positions(self._handle())

    @property
    def schedule(self) -> str:
        return _capi.lib().pmpd_model_schedule(self._handle()).decode()

    @property
    def target(self) -> str:
        return _capi.lib().pmpd_model_target(self._handle()).decode()

    @property
    def device(self) -> str:
        return _capi.lib().pmpd_model_device(self._handle()).decode()

    def _prompt_ids(self, prompt):
        if isinstance(prompt, str):
            return _id_array(self.tokenizer.encode(prompt))
        return _id_array(prompt, "prompt")

    def generate(self, prompt: Union[str, Sequence[int]],
                 max_new_tokens: int = 64, temperature: float = 0.0,
                 top_p: float = 1.0, seed: int = 0,
                 stop_at_eos: bool = True) -> Generation:
        """Generates from `prompt` (text, BOS added; or token ids as given)
        on a fresh cache: greedy when `temperature` is 0, else sampled from
        the top-p nucleus with `seed`, as pmpd-run does."""
        ids = self._prompt_ids(prompt)
        handle = self._handle()
        lib = _capi.lib()
        eos = self.tokenizer.eos_id if stop_at_eos else -1
        result = _capi.check(lib.pmpd_generate(
            handle, _pointer(ids, c_int64), len(ids), int(max_new_tokens),
            float(temperature), float(top_p), int(seed), eos))
        try:
            count = lib.pmpd_generation_size(result)
            generated = lib.pmpd_generation_ids(result)[:count]
            stats = GenerationStats.from_json(
                lib.pmpd_generation_stats_json(result).decode())
        finally:
            lib.pmpd_generation_free(result)
        return Generation(text=self.tokenizer.decode(generated),
                          ids=generated, prompt_ids=ids.tolist(), stats=stats)

    def logits(self, ids: Sequence[int]) -> np.ndarray:
        """The logits of every position of `ids` run as one prefill on a
        fresh cache (at the schedule's prefill precision): float32
        [len(ids), vocab_size]."""
        array = _id_array(ids)
        handle = self._handle()
        out = np.empty((len(array), self.vocab_size), dtype=np.float32)
        _capi.lib().pmpd_reset(handle)
        _capi.check(_capi.lib().pmpd_prefill_all(
            handle, _pointer(array, c_int64), len(array),
            _pointer(out, c_float)))
        return out

    # Step by step, as a decode loop of one's own runs it.
    def reset(self):
        """Forgets every cached token."""
        _capi.lib().pmpd_reset(self._handle())

    def rewind(self, position: int) -> int:
        """Forgets the tokens cached at `position` and later, so that the
        next decode step runs there on the rows before it (to branch a
        generation without prefilling again); the tokens still cached."""
        return _capi.lib().pmpd_rewind(self._handle(), int(position))

    def prefill(self, ids: Sequence[int]) -> np.ndarray:
        """Runs `ids` as prefill at the next positions; the last position's
        logits [vocab_size]. The decode schedule starts over."""
        array = _id_array(ids)
        out = np.empty(self.vocab_size, dtype=np.float32)
        _capi.check(_capi.lib().pmpd_prefill(
            self._handle(), _pointer(array, c_int64), len(array),
            _pointer(out, c_float)))
        return out

    def decode(self, token: int, step: int):
        """One decode step of `token` at the next position; `step` counts
        decode steps since the prefill. (logits [vocab_size], the bits the
        compiled schedule ran it at)."""
        out = np.empty(self.vocab_size, dtype=np.float32)
        bits = c_int32(0)
        _capi.check(_capi.lib().pmpd_decode(
            self._handle(), int(token), int(step), _pointer(out, c_float),
            byref(bits)))
        return out, bits.value

    @property
    def kv_shape(self):
        """(layers, KV heads, head size) of the KV cache."""
        dims = [c_int64(0), c_int64(0), c_int64(0)]
        _capi.lib().pmpd_model_kv_shape(self._handle(), *map(byref, dims))
        return tuple(d.value for d in dims)

    def kv_cache(self, count: int, layer: int = -1):
        """The cached (keys, values) of `layer` (negative: from the last) at
        positions [0, count), each float32 [count, kv_heads, head_dim]: what
        a prompt-adaptive scheduler reads after the prefill. `count` may not
        exceed the positions cached."""
        layers, heads, head_dim = self.kv_shape
        if layer < 0:
            layer += layers
        keys = np.empty((count, heads, head_dim), dtype=np.float32)
        values = np.empty_like(keys)
        _capi.check(_capi.lib().pmpd_read_kv_cache(
            self._handle(), int(layer), int(count), _pointer(keys, c_float),
            _pointer(values, c_float)))
        return keys, values

    def perplexity(self, docs, prefill: int = 128,
                   reference: Optional["Model"] = None, max_docs: int = 0,
                   max_length: int = 512, min_length: int = 32) -> Perplexity:
        """Schedule-aware perplexity under the fixture protocol, as
        `pmpd-run --ppl` measures it: each document encoded (BOS included),
        cut to `max_length` ids and dropped under `min_length`; its first
        `prefill` positions run as prefill, the later ones as decode steps.

        `docs`: a .jsonl(.xz) path, or texts, or token-id sequences (taken
        as encoded). `max_docs` > 0 keeps the first documents only. With a
        `reference` model (the fp16 artifact), also KL(reference || this),
        top-1 agreement and the largest relative logit difference."""
        if isinstance(docs, (str, os.PathLike)):
            docs = read_documents(docs)
        docs = list(docs)
        if max_docs > 0:
            docs = docs[:max_docs]
        encoded = []
        for doc in docs:
            ids = (self.tokenizer.encode(doc) if isinstance(doc, str)
                   else _id_array(doc, "a document").tolist())[:max_length]
            if len(ids) >= min_length:
                encoded.append(ids)
        lengths = np.array([len(d) for d in encoded], dtype=np.int64)
        flat = _id_array([i for d in encoded for i in d])
        result = _capi.PerplexityResult()
        ref = reference._handle() if reference is not None else None
        _capi.check(_capi.lib().pmpd_perplexity(
            self._handle(), _pointer(flat, c_int64),
            _pointer(lengths, c_int64), len(encoded), int(prefill), ref,
            byref(result)))
        compared = result.compared if reference is not None else 0
        return Perplexity(
            ppl=float(np.exp(result.total_nll / result.tokens))
            if result.tokens else 0.0,
            total_nll=result.total_nll, tokens=result.tokens,
            documents=result.documents, decode_steps=result.decode_steps,
            average_decode_bits=result.decode_bits_sum / result.decode_steps
            if result.decode_steps else 0.0,
            kl=result.total_kl / compared if compared else None,
            top1_agreement=result.agreements / compared if compared else None,
            max_relative_logit_error=result.max_relative_logit_error
            if compared else None)


def load(artifact, threads: int = 0) -> Model:
    """Loads the artifact directory made by pmpd-compile; `threads` CPU
    threads for the kernels (0: one per core)."""
    return Model(artifact, threads)
