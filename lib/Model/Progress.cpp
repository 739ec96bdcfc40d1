//===- Progress.cpp - A progress bar for long-running tools ---------------===//
//
// Lives in the Model library because the tools that need it (model writers
// and converters) all link it; it depends on nothing but LLVMSupport.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Support/Progress.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/Process.h"

using namespace llvm;

namespace pmpd {

std::string formatBytes(uint64_t n) {
  static const char *units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = double(n);
  unsigned u = 0;
  while (v >= 1000 && u + 1 < std::size(units)) {
    v /= 1000;
    ++u;
  }
  std::string s;
  raw_string_ostream os(s);
  if (u == 0)
    os << n << " B";
  else
    os << format(v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%.0f", v) << " "
       << units[u];
  return s;
}

ProgressBar::ProgressBar(StringRef label, uint64_t total, bool bytes)
    : ProgressBar(label, total, bytes, errs(),
                  sys::Process::StandardErrIsDisplayed()) {}

ProgressBar::ProgressBar(StringRef label, uint64_t total, bool bytes,
                         raw_ostream &os, bool enabled)
    : label(label.str()), total(total), bytes(bytes), os(os),
      isEnabled(enabled), start(std::chrono::steady_clock::now()),
      lastDraw(start) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::advance(uint64_t n) {
  amount.fetch_add(n);
  if (!isEnabled)
    return;
  // Skip rather than wait: another thread is drawing the same state.
  std::unique_lock<std::mutex> lock(drawMutex, std::try_to_lock);
  if (!lock.owns_lock() || finished)
    return;
  auto now = std::chrono::steady_clock::now();
  if (now - lastDraw < std::chrono::milliseconds(100))
    return;
  lastDraw = now;
  draw(/*final=*/false);
}

void ProgressBar::finish() {
  std::lock_guard<std::mutex> lock(drawMutex);
  if (finished)
    return;
  finished = true;
  if (isEnabled)
    draw(/*final=*/true);
}

void ProgressBar::draw(bool final) {
  constexpr unsigned kWidth = 30;
  uint64_t now = std::min(amount.load(), total);
  double fraction = total ? double(now) / double(total) : 1.0;
  unsigned filled = unsigned(fraction * kWidth);
  os << '\r' << label << " [" << std::string(filled, '#')
     << std::string(kWidth - filled, '.') << "] "
     << format("%3u%%", unsigned(fraction * 100));
  if (bytes) {
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    os << "  " << formatBytes(now) << " / " << formatBytes(total);
    if (seconds > 0)
      os << "  " << formatBytes(uint64_t(double(now) / seconds)) << "/s";
  } else {
    os << "  " << now << " / " << total;
  }
  // Clear what a longer previous line left behind.
  os << "\x1b[K";
  if (final)
    os << '\n';
  os.flush();
}

} // namespace pmpd
