//===- ThreadPool.cpp - The runtime's worker threads ----------------------===//

#include "ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

using namespace pmpd;

namespace {

/// How many times a thread yields before it sleeps: a decode step calls the
/// kernels about fifty times with short serial stretches between them, and
/// waking a sleeping thread (a futex round trip) costs about as much as a
/// small kernel. Yielding rather than spinning with `pause` keeps a loaded
/// machine's other work running: with 2 cores and a load average of 10, a
/// pause loop halved 2-thread decode, yielding gained 10-15% over sleeping
/// at once (docs/cpu-speed.md).
constexpr int kPollIterations = 1 << 8;

class Pool {
public:
  explicit Pool(int threads) : total(threads) {
    for (int i = 1; i < total; ++i)
      workers.emplace_back([this] { work(); });
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping.store(true);
    }
    wake.notify_all();
    for (std::thread &t : workers)
      t.join();
  }

  int size() const { return total; }

  void run(int64_t chunks, const std::function<void(int64_t)> &chunkFn) {
    std::unique_lock<std::mutex> runLock(runMutex);
    Job current;
    {
      std::lock_guard<std::mutex> lock(mutex);
      current = {&chunkFn, chunks, uint32_t(generation.load() + 1)};
      job = current;
      pending.store(chunks);
      claims.store(uint64_t(current.generation) << 32);
      generation.store(current.generation);
    }
    wake.notify_all();
    drain(current);
    for (int i = 0; i < kPollIterations && pending.load() != 0; ++i)
      std::this_thread::yield();
    if (pending.load() != 0) {
      std::unique_lock<std::mutex> lock(mutex);
      done.wait(lock, [&] { return pending.load() == 0; });
    }
  }

private:
  struct Job {
    const std::function<void(int64_t)> *fn = nullptr;
    int64_t chunks = 0;
    uint32_t generation = 0;
  };

  /// Claims the next chunk of `j`; false once they are all claimed or a
  /// later job has started (a late worker must not take its chunks for
  /// this one's).
  bool claim(const Job &j, int64_t &chunk) {
    uint64_t state = claims.load();
    for (;;) {
      if (uint32_t(state >> 32) != j.generation ||
          int64_t(state & 0xffffffffu) >= j.chunks)
        return false;
      if (claims.compare_exchange_weak(state, state + 1)) {
        chunk = int64_t(state & 0xffffffffu);
        return true;
      }
    }
  }

  void drain(const Job &j) {
    int64_t finished = 0;
    for (int64_t c; claim(j, c);) {
      (*j.fn)(c);
      ++finished;
    }
    if (finished && pending.fetch_sub(finished) == finished) {
      std::lock_guard<std::mutex> lock(mutex);
      done.notify_all();
    }
  }

  void work() {
    uint32_t seen = 0;
    for (;;) {
      for (int i = 0;
           i < kPollIterations && !stopping.load() && generation.load() == seen;
           ++i)
        std::this_thread::yield();
      Job current;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock,
                  [&] { return stopping.load() || generation.load() != seen; });
        if (stopping.load())
          return;
        current = job;
        seen = current.generation;
      }
      drain(current);
    }
  }

  int total;
  std::vector<std::thread> workers;
  std::mutex runMutex; // One parallel region at a time.
  std::mutex mutex;    // Guards `job`; sleeping threads wait on it.
  std::condition_variable wake, done;
  Job job;
  std::atomic<uint32_t> generation{0};
  std::atomic<uint64_t> claims{0}; // generation << 32 | next chunk.
  std::atomic<int64_t> pending{0};
  std::atomic<bool> stopping{false};
};

int defaultThreads() {
  return std::max(1u, std::thread::hardware_concurrency());
}

std::mutex poolMutex;
std::unique_ptr<Pool> pool;
int requestedThreads = 0;
thread_local bool insideRegion = false;

Pool &getPool() {
  std::lock_guard<std::mutex> lock(poolMutex);
  int want = requestedThreads > 0 ? requestedThreads : defaultThreads();
  if (!pool || pool->size() != want)
    pool = std::make_unique<Pool>(want);
  return *pool;
}

} // namespace

int pmpd::numThreads() { return getPool().size(); }

void pmpd::setNumThreads(int threads) {
  std::lock_guard<std::mutex> lock(poolMutex);
  requestedThreads = std::max(0, threads);
}

void pmpd::parallelFor(int64_t n, int64_t grain,
                       const std::function<void(int64_t, int64_t)> &fn) {
  if (n <= 0)
    return;
  grain = std::max<int64_t>(1, grain);
  Pool &p = getPool();
  // Chunks are whole grains (the kernels' grain is a 16-row register tile:
  // a chunk starting inside one would split it into two partial tiles, each
  // as costly as a whole one), about four per thread, none empty.
  int64_t grains = (n + grain - 1) / grain;
  int64_t chunks = std::min<int64_t>(grains, int64_t(p.size()) * 4);
  if (chunks <= 1 || p.size() == 1 || insideRegion) {
    fn(0, n);
    return;
  }
  int64_t per = (grains + chunks - 1) / chunks * grain;
  chunks = (n + per - 1) / per;
  std::function<void(int64_t)> chunkFn = [&](int64_t c) {
    int64_t begin = c * per, end = std::min(n, begin + per);
    if (begin >= end)
      return;
    bool outer = insideRegion;
    insideRegion = true;
    fn(begin, end);
    insideRegion = outer;
  };
  p.run(chunks, chunkFn);
}
