//===- X86Intrinsics.h - The x86 intrinsics the CPU kernels use -*- C++ -*-===//
//
// PMPD_HAVE_X86 is 1 where <immintrin.h> is included (x86-64), else 0. The
// kernels compile their AVX-512 paths with target attributes and choose them
// at run time (selectedKernelISA), so the build needs no -mavx512 flags.
//
// GCC 12's AVX-512 intrinsic headers start some intrinsics from an
// intentionally undefined register (_mm512_undefined_*), which -O3 reports as
// uninitialized at every call site of the including file. (Clang has no such
// report, nor the second warning.)
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_LIB_RUNTIME_X86INTRINSICS_H
#define PMPD_LIB_RUNTIME_X86INTRINSICS_H

#if defined(__x86_64__)
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define PMPD_HAVE_X86 1
#else
#define PMPD_HAVE_X86 0
#endif

#endif // PMPD_LIB_RUNTIME_X86INTRINSICS_H
