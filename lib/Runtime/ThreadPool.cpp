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

class Pool {
public:
  explicit Pool(int threads) : total(threads) {
    for (int i = 1; i < total; ++i)
      workers.emplace_back([this] { work(); });
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    for (std::thread &t : workers)
      t.join();
  }

  int size() const { return total; }

  void run(int64_t chunks, const std::function<void(int64_t)> &chunkFn) {
    std::unique_lock<std::mutex> runLock(runMutex);
    {
      std::lock_guard<std::mutex> lock(mutex);
      job = &chunkFn;
      jobChunks = chunks;
      next.store(0);
      pending = chunks;
      ++generation;
    }
    wake.notify_all();
    drain();
    std::unique_lock<std::mutex> lock(mutex);
    done.wait(lock, [&] { return pending == 0; });
    job = nullptr;
  }

private:
  void drain() {
    int64_t finished = 0;
    for (int64_t c; (c = next.fetch_add(1)) < jobChunks;) {
      (*job)(c);
      ++finished;
    }
    if (finished) {
      std::lock_guard<std::mutex> lock(mutex);
      pending -= finished;
      if (pending == 0)
        done.notify_all();
    }
  }

  void work() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return stopping || generation != seen; });
        if (stopping)
          return;
        seen = generation;
      }
      drain();
    }
  }

  int total;
  std::vector<std::thread> workers;
  std::mutex runMutex; // One parallel region at a time.
  std::mutex mutex;
  std::condition_variable wake, done;
  const std::function<void(int64_t)> *job = nullptr;
  int64_t jobChunks = 0;
  std::atomic<int64_t> next{0};
  int64_t pending = 0;
  uint64_t generation = 0;
  bool stopping = false;
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
  int64_t maxChunks = (n + grain - 1) / grain;
  int64_t chunks = std::min<int64_t>(maxChunks, int64_t(p.size()) * 4);
  if (chunks <= 1 || p.size() == 1 || insideRegion) {
    fn(0, n);
    return;
  }
  int64_t per = (n + chunks - 1) / chunks;
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
