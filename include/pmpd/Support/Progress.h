//===- Progress.h - A progress bar for long-running tools -------*- C++ -*-===//
//
// Writing or quantizing a multi-GB model takes minutes; a bar on stderr says
// how far along it is. The bar draws only when stderr is a terminal, so logs
// and lit tests see nothing, and it may be advanced from worker threads.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_SUPPORT_PROGRESS_H
#define PMPD_SUPPORT_PROGRESS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace pmpd {

class ProgressBar {
public:
  /// Draws on stderr when it is a terminal. With `bytes`, amounts print as
  /// sizes (KB, MB, GB) with a rate.
  ProgressBar(llvm::StringRef label, uint64_t total, bool bytes = false);
  /// Draws on `os` when `enabled` (for tests and for callers that decide).
  ProgressBar(llvm::StringRef label, uint64_t total, bool bytes,
              llvm::raw_ostream &os, bool enabled);
  ~ProgressBar();

  ProgressBar(const ProgressBar &) = delete;
  ProgressBar &operator=(const ProgressBar &) = delete;

  /// Adds `n` to the amount done; thread-safe. Redraws at most ten times a
  /// second.
  void advance(uint64_t n);
  /// Draws the final state and ends the line; later calls do nothing.
  void finish();

  uint64_t done() const { return amount.load(); }
  bool enabled() const { return isEnabled; }

private:
  void draw(bool final);

  std::string label;
  uint64_t total;
  bool bytes;
  llvm::raw_ostream &os;
  bool isEnabled;
  bool finished = false;
  std::atomic<uint64_t> amount{0};
  std::mutex drawMutex;
  std::chrono::steady_clock::time_point start, lastDraw;
};

/// "1.50 GB", "12.0 MB", "512 B".
std::string formatBytes(uint64_t bytes);

} // namespace pmpd

#endif // PMPD_SUPPORT_PROGRESS_H
