//===- ThreadPool.h - The runtime's worker threads --------------*- C++ -*-===//
//
// A small persistent pool for the kernels: compiled models call kernels
// thousands of times per second, so threads are started once and parked
// between calls. The runtime does not depend on LLVM, hence its own pool.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_LIB_RUNTIME_THREADPOOL_H
#define PMPD_LIB_RUNTIME_THREADPOOL_H

#include <cstdint>
#include <functional>

namespace pmpd {

/// Runs fn(begin, end) over [0, n) split into contiguous chunks, on the pool's
/// threads and the caller's, and returns when all chunks are done. Chunks are
/// whole multiples of `grain` (the last one may be shorter) and start at
/// multiples of it. Calls from inside a chunk run serially.
void parallelFor(int64_t n, int64_t grain,
                 const std::function<void(int64_t, int64_t)> &fn);

/// Number of threads parallelFor uses (callers' thread included).
int numThreads();
void setNumThreads(int threads);

} // namespace pmpd

#endif // PMPD_LIB_RUNTIME_THREADPOOL_H
