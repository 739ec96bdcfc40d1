"""The environment of the tests of a sanitized build (scripts/sanitize.sh,
ASan + UBSan with clang), shared by the lit and the unit-test suites.

- abort_on_error: a finding ends the process with SIGABRT, not with exit code
  1, so that `not TOOL` (which expects an error exit) fails on it too.
- allow_user_poisoning=0: LLVM's allocators (BumpPtrAllocator) poison the
  memory they hold back in their inline, here instrumented, code; the
  uninstrumented libLLVM and libMLIR of the Debian packages hand it out from
  the same slabs without unpoisoning it, which would read as overflows.
"""


def configure(config):
    sanitizers = config.pmpd_sanitizer
    if not sanitizers:
        return
    config.available_features.add("sanitized")
    if "Address" in sanitizers:
        config.environment["ASAN_OPTIONS"] = (
            "abort_on_error=1:allow_user_poisoning=0:detect_leaks=1")
    if "Undefined" in sanitizers:
        config.environment["UBSAN_OPTIONS"] = (
            "abort_on_error=1:print_stacktrace=1")
