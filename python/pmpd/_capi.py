"""ctypes declarations of the runtime's C API (include/pmpd/Runtime/pmpd.h).

The library is found, in this order, at:
1. the path in the environment variable PMPD_LIBRARY;
2. libpmpd.so next to this file (a copy placed into the installed package);
3. libpmpd.so on the dynamic loader's search path (LD_LIBRARY_PATH, ldconfig).
It is loaded on first use, so that `import pmpd` works without it.
"""
import ctypes
import os
from ctypes import (POINTER, Structure, c_char_p, c_double, c_float, c_int,
                    c_int32, c_int64, c_uint64, c_void_p)

LIBRARY_NAME = "libpmpd.so"
ENV_VAR = "PMPD_LIBRARY"


class PMPDError(RuntimeError):
    """An error reported by the runtime; the message is the runtime's."""


class PerplexityResult(Structure):
    _fields_ = [("total_nll", c_double), ("tokens", c_int64),
                ("documents", c_int64), ("decode_steps", c_int64),
                ("decode_bits_sum", c_int64), ("total_kl", c_double),
                ("agreements", c_int64), ("compared", c_int64),
                ("max_relative_logit_error", c_double)]


_I64P = POINTER(c_int64)
_F32P = POINTER(c_float)

# name: (result type, argument types)
_PROTOTYPES = {
    "pmpd_last_error": (c_char_p, []),
    "pmpd_model_open_threads": (c_void_p, [c_char_p, c_int32]),
    "pmpd_model_close": (None, [c_void_p]),
    "pmpd_model_vocab_size": (c_int64, [c_void_p]),
    "pmpd_model_max_positions": (c_int64, [c_void_p]),
    "pmpd_model_schedule": (c_char_p, [c_void_p]),
    "pmpd_model_target": (c_char_p, [c_void_p]),
    "pmpd_model_device": (c_char_p, [c_void_p]),
    "pmpd_model_bos_id": (c_int64, [c_void_p]),
    "pmpd_model_eos_id": (c_int64, [c_void_p]),
    "pmpd_tokenize": (c_int64, [c_void_p, c_char_p, c_int64, _I64P, c_int64]),
    "pmpd_detokenize": (c_int64,
                        [c_void_p, _I64P, c_int64, c_int, c_char_p, c_int64]),
    "pmpd_reset": (None, [c_void_p]),
    "pmpd_rewind": (c_int64, [c_void_p, c_int64]),
    "pmpd_prefill": (c_int, [c_void_p, _I64P, c_int64, _F32P]),
    "pmpd_prefill_all": (c_int, [c_void_p, _I64P, c_int64, _F32P]),
    "pmpd_decode": (c_int, [c_void_p, c_int64, c_int64, _F32P,
                            POINTER(c_int32)]),
    "pmpd_model_kv_shape": (None, [c_void_p, POINTER(c_int64),
                                   POINTER(c_int64), POINTER(c_int64)]),
    "pmpd_read_kv_cache": (c_int, [c_void_p, c_int64, c_int64, _F32P, _F32P]),
    "pmpd_generate": (c_void_p, [c_void_p, _I64P, c_int64, c_int64, c_float,
                                 c_float, c_uint64, c_int64]),
    "pmpd_generation_size": (c_int64, [c_void_p]),
    "pmpd_generation_ids": (_I64P, [c_void_p]),
    "pmpd_generation_stats_json": (c_char_p, [c_void_p]),
    "pmpd_generation_free": (None, [c_void_p]),
    "pmpd_perplexity": (c_int, [c_void_p, _I64P, _I64P, c_int64, c_int64,
                                c_void_p, POINTER(PerplexityResult)]),
}

_lib = None


def library_path():
    """The library that will be loaded: a path, or a bare name for the
    dynamic loader to find."""
    path = os.environ.get(ENV_VAR)
    if path:
        if not os.path.isfile(path):
            raise PMPDError(f"{ENV_VAR}={path}: no such file")
        return path
    beside = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          LIBRARY_NAME)
    if os.path.isfile(beside):
        return beside
    return LIBRARY_NAME


def lib():
    """The loaded library, its functions declared."""
    global _lib
    if _lib is not None:
        return _lib
    path = library_path()
    try:
        loaded = ctypes.CDLL(path)
    except OSError as error:
        raise PMPDError(
            f"cannot load {path}: {error}; build it (ninja -C build pmpd) and "
            f"set {ENV_VAR} to build/lib/{LIBRARY_NAME}") from None
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            function = getattr(loaded, name)
        except AttributeError:
            raise PMPDError(f"{path} does not export {name}: a libpmpd.so "
                            "older than this package?") from None
        function.restype = restype
        function.argtypes = argtypes
    _lib = loaded
    return _lib


def last_error():
    return lib().pmpd_last_error().decode("utf-8", "replace")


def check(status):
    """Raises PMPDError with the runtime's message if `status` says failure
    (a negative number or NULL)."""
    if status is None or (isinstance(status, int) and status < 0):
        raise PMPDError(last_error())
    return status
