//===- ThreadPoolTest.cpp - The kernels' thread pool under stress ---------===//
//
// The pool runs fifty jobs per decode step, most of them a few microseconds
// long, so a worker often wakes for a job that has already finished while the
// next one is being posted. The pool before commit 1c38d28 let such a worker
// claim the next job's chunks against the old job's count: `pending` skipped
// zero and the caller waited for ever (and a worker could call the cleared job
// pointer). That is the hang and the crash seen with 16 threads on a 16-core
// host. These tests post thousands of tiny jobs to many more threads than
// cores, with yields inside the chunks so that workers are descheduled at
// every point, and check that every index runs exactly once, inside the call
// that posted it, and that the calls return at all (a watchdog aborts a hung
// test). Against the pool of 70673e5 the first test failed in 4 runs of 4 on
// a 2-core machine (an index ran twice, then the caller waited for ever); it
// needs no many-core machine to fail. On a heavily loaded machine it runs
// fewer iterations (a time budget) and is then less likely to catch it.
//
//===----------------------------------------------------------------------===//

#include "../../lib/Runtime/ThreadPool.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

using namespace pmpd;

namespace {

/// Aborts the process if not disarmed within `seconds`: a hung pool never
/// returns from parallelFor, which a test cannot otherwise report.
class Watchdog {
public:
  Watchdog(const char *what, int seconds)
      : thread([this, what, seconds] {
          std::unique_lock<std::mutex> lock(mutex);
          if (!disarmed.wait_for(lock, std::chrono::seconds(seconds),
                                 [this] { return done; })) {
            std::fprintf(stderr, "%s: no return after %d s: the pool hung\n",
                         what, seconds);
            std::abort();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      done = true;
    }
    disarmed.notify_all();
    thread.join();
  }

private:
  std::mutex mutex;
  std::condition_variable disarmed;
  bool done = false;
  std::thread thread;
};

struct Stress {
  int threads, iterations;
  /// Fewer iterations once this many seconds have passed: on a loaded
  /// machine every job waits for descheduled workers.
  double seconds;
};

/// Tiny jobs of random length and grain; each chunk checks that the call that
/// posted it is still running and marks its indices.
void stress(const Stress &s, std::mt19937 &rng) {
  setNumThreads(s.threads);
  std::vector<std::atomic<int>> hits(512);
  std::atomic<int64_t> running{-1}; // The iteration inside parallelFor.
  std::atomic<int64_t> strays{0};   // Chunks run outside their call.
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration<double>(s.seconds);
  for (int64_t it = 0;
       it < s.iterations && std::chrono::steady_clock::now() < deadline; ++it) {
    int64_t n = 1 + rng() % 300, grain = 1 + rng() % 4;
    int yields = rng() % 4;
    for (int64_t i = 0; i < n; ++i)
      hits[i].store(0, std::memory_order_relaxed);
    running.store(it);
    parallelFor(n, grain, [&, it](int64_t begin, int64_t end) {
      if (running.load() != it || begin < 0 || end > n || begin >= end)
        ++strays;
      for (int y = 0; y < yields; ++y)
        std::this_thread::yield();
      for (int64_t i = begin; i < end && i < n; ++i)
        hits[i].fetch_add(1, std::memory_order_relaxed);
    });
    running.store(-1);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(hits[i].load(), 1)
          << "index " << i << " of " << n << ", iteration " << it << ", "
          << s.threads << " threads";
  }
  EXPECT_EQ(strays.load(), 0) << s.threads << " threads";
}

class ThreadPoolTest : public ::testing::Test {
protected:
  void TearDown() override { setNumThreads(0); }
};

TEST_F(ThreadPoolTest, ManyTinyJobsOnManyThreads) {
  Watchdog watchdog("ManyTinyJobsOnManyThreads", 240);
  std::mt19937 rng(13);
  for (Stress s :
       {Stress{16, 40000, 10}, Stress{24, 10000, 4}, Stress{3, 5000, 2}})
    stress(s, rng);
}

TEST_F(ThreadPoolTest, ThreadCountChangesBetweenJobs) {
  // A new pool per count: workers start while jobs are being posted and are
  // joined right after their last one.
  Watchdog watchdog("ThreadCountChangesBetweenJobs", 120);
  std::mt19937 rng(17);
  for (int round = 0; round < 40; ++round)
    stress(Stress{int(1 + rng() % 20), 50, 1}, rng);
}

TEST_F(ThreadPoolTest, ChunksAreWholeGrains) {
  // The kernels pass 16-row grains (one register tile); a chunk that starts
  // inside a tile splits it into two partial tiles, each as costly as a
  // whole one.
  setNumThreads(16);
  for (int64_t n : {1, 15, 16, 17, 100, 256, 1408, 8192})
    for (int64_t grain : {1, 16, 64}) {
      std::mutex mutex;
      std::vector<std::pair<int64_t, int64_t>> chunks;
      parallelFor(n, grain, [&](int64_t begin, int64_t end) {
        std::lock_guard<std::mutex> lock(mutex);
        chunks.push_back({begin, end});
      });
      std::sort(chunks.begin(), chunks.end());
      int64_t covered = 0;
      for (auto [begin, end] : chunks) {
        EXPECT_EQ(begin, covered) << "n " << n << " grain " << grain;
        EXPECT_EQ(begin % grain, 0) << "n " << n << " grain " << grain;
        EXPECT_LT(begin, end);
        covered = end;
      }
      EXPECT_EQ(covered, n) << "grain " << grain;
    }
}

TEST_F(ThreadPoolTest, NestedCallsRunSerially) {
  setNumThreads(8);
  std::atomic<int64_t> total{0};
  parallelFor(64, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      parallelFor(10, 1, [&](int64_t b, int64_t e) { total += e - b; });
  });
  EXPECT_EQ(total.load(), 640);
}

} // namespace
