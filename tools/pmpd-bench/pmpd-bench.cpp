//===- pmpd-bench.cpp - llama-bench-style speed tables --------------------===//
//
// Prefill and decode speed of one or more artifacts, measured in this process
// so that their ratios are meaningful: a prefill row (pp<P>) and one decode
// row per precision segment the compiled schedule ran (tg<N>). A hexagon
// artifact's rates are the emulator's (qemu-hexagon does not time the code);
// beside them, the NPU cost model's tok/s on a Snapdragon 8 Gen 3 (or
// --npu-device) for the same test.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/NPUCostModel.h"
#include "pmpd/Runtime/Session.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <map>

using namespace llvm;
using namespace pmpd;

static cl::OptionCategory category("pmpd-bench options");
static cl::list<std::string> artifacts(cl::Positional, cl::OneOrMore,
                                       cl::desc("<artifact dir>..."),
                                       cl::cat(category));
static cl::opt<int64_t> promptTokens("p", cl::desc("Prefill tokens"),
                                     cl::init(512), cl::cat(category));
static cl::opt<int64_t> decodeTokens("n", cl::desc("Decode steps"),
                                     cl::init(128), cl::cat(category));
static cl::opt<int64_t> repetitions("r", cl::desc("Repetitions of each test"),
                                    cl::init(3), cl::cat(category));
static cl::opt<int64_t> threads("num-threads",
                                cl::desc("Kernel threads (0: all cores)"),
                                cl::init(0), cl::cat(category));
static cl::opt<bool> jsonOutput("json", cl::desc("Print one JSON object"),
                          cl::cat(category));
static cl::opt<std::string>
    npuDevice("npu-device",
              cl::desc("NPU described in JSON for the modelled rates of "
                       "hexagon artifacts (default: a Snapdragon 8 Gen 3)"),
              cl::value_desc("file"), cl::cat(category));

namespace {
struct Row {
  std::string artifact, device, schedule, test;
  unsigned bits;
  std::vector<double> rates; // tokens per second, one per repetition.
  double modelled = 0;        // The NPU cost model's (hexagon), or 0.

  double mean() const {
    double s = 0;
    for (double r : rates)
      s += r;
    return s / rates.size();
  }
  double stddev() const {
    double m = mean(), s = 0;
    for (double r : rates)
      s += (r - m) * (r - m);
    return rates.size() > 1 ? std::sqrt(s / (rates.size() - 1)) : 0.0;
  }
};

double seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}

int fail(const Twine &message) {
  WithColor::error(errs(), "pmpd-bench") << message << "\n";
  return 1;
}
} // namespace

static Error bench(StringRef dir, std::vector<Row> &rows) {
  SessionOptions options;
  options.threads = int32_t(threads);
  auto opened = Session::open(dir, options);
  if (!opened)
    return opened.takeError();
  Session &session = **opened;
  if (promptTokens + decodeTokens + 1 > session.maxPositions())
    return createStringError(inconvertibleErrorCode(),
                             "-p + -n exceeds the %lld positions of %s",
                             (long long)session.maxPositions(),
                             dir.str().c_str());
  // Token ids spread over the vocabulary, the same for every artifact.
  std::vector<int64_t> prompt(promptTokens);
  for (int64_t i = 0; i < promptTokens; ++i)
    prompt[i] = 1 + (i * 7919) % (session.vocabSize() - 1);
  std::string schedule = session.manifest().schedule;
  std::string device = session.executor().describe();

  Row prefillRow{dir.str(), device, schedule, "pp" + std::to_string(promptTokens),
                 session.manifest().prefillBits, {}};
  std::map<unsigned, Row> decodeRows;
  // One untimed warm-up, then the timed repetitions.
  for (int64_t rep = -1; rep < repetitions; ++rep) {
    session.reset();
    auto start = std::chrono::steady_clock::now();
    if (auto logits = session.prefill(prompt); !logits)
      return logits.takeError();
    double prefillTime = seconds(start);
    std::map<unsigned, std::pair<int64_t, double>> perBits;
    for (int64_t step = 0; step < decodeTokens; ++step) {
      unsigned bits;
      start = std::chrono::steady_clock::now();
      if (auto logits = session.decode(prompt[step % promptTokens], step, bits);
          !logits)
        return logits.takeError();
      perBits[bits].first += 1;
      perBits[bits].second += seconds(start);
    }
    if (rep < 0)
      continue;
    prefillRow.rates.push_back(promptTokens / prefillTime);
    for (auto &[bits, stat] : perBits) {
      Row &row = decodeRows[bits];
      if (row.rates.empty()) {
        row = Row{dir.str(), device, schedule,
                  "tg" + std::to_string(decodeTokens), bits, {}};
      }
      row.rates.push_back(stat.first / stat.second);
    }
  }
  SmallString<256> path(dir);
  sys::path::append(path, NPUWorkload::kFileName);
  if (session.manifest().target == "hexagon" && !sys::fs::exists(path))
    WithColor::warning(errs(), "pmpd-bench")
        << dir << " has no " << NPUWorkload::kFileName
        << " (compiled before the NPU cost model): no modelled rates\n";
  else if (session.manifest().target == "hexagon") {
    // The same test on the modelled NPU.
    auto workload = NPUWorkload::load(path);
    if (!workload)
      return workload.takeError();
    NPUDevice device = NPUDevice::getDefault();
    if (!npuDevice.empty()) {
      auto loaded = NPUDevice::load(npuDevice);
      if (!loaded)
        return loaded.takeError();
      device = *loaded;
    }
    auto run = estimateRun(*workload, promptTokens, decodeTokens, device);
    if (!run)
      return run.takeError();
    prefillRow.modelled = run->prefillTokensPerSecond;
    for (auto &[bits, row] : decodeRows)
      if (auto it = run->decode.find(bits); it != run->decode.end())
        row.modelled = it->second.tokensPerSecond();
  }
  rows.push_back(prefillRow);
  // Decode rows in the order the schedule ran them: highest precision first.
  for (auto it = decodeRows.rbegin(); it != decodeRows.rend(); ++it)
    rows.push_back(it->second);
  return Error::success();
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "pmpd-bench: prefill and decode speed of compiled artifacts\n\n"
      "  pmpd-bench ART [ART...] [-p 512] [-n 128] [-r 3] [--json]\n");
  if (promptTokens <= 0 || decodeTokens <= 0 || repetitions <= 0)
    return fail("-p, -n and -r must be positive");
  std::vector<Row> rows;
  for (const std::string &dir : artifacts)
    if (Error error = bench(dir, rows))
      return fail(toString(std::move(error)));

  if (jsonOutput) {
    json::Array array;
    for (const Row &r : rows) {
      json::Object o{{"artifact", r.artifact},
                     {"device", r.device},
                     {"schedule", r.schedule},
                     {"test", r.test},
                     {"bits", int64_t(r.bits)},
                     {"tokens_per_second", r.mean()},
                     {"stddev", r.stddev()}};
      if (r.modelled)
        o["modelled_tokens_per_second"] = r.modelled;
      array.push_back(std::move(o));
    }
    outs() << formatv("{0:2}", json::Value(json::Object{
                                   {"repetitions", int64_t(repetitions)},
                                   {"rows", std::move(array)}}))
           << "\n";
    return 0;
  }
  bool modelled = llvm::any_of(rows, [](const Row &r) { return r.modelled; });
  outs() << formatv("| {0,-28} | {1,-34} | {2,-6} | {3,4} | {4,18} |",
                    "artifact", "schedule", "test", "bits", "t/s")
         << (modelled ? " modelled t/s |" : "") << "\n";
  outs() << "| " << std::string(28, '-') << " | " << std::string(34, '-')
         << " | ------ | ---: | -----------------: |"
         << (modelled ? " -----------: |" : "") << "\n";
  for (const Row &r : rows) {
    outs() << formatv("| {0,-28} | {1,-34} | {2,-6} | {3,4} | {4,18} |",
                      r.artifact, r.schedule, r.test, r.bits,
                      formatv("{0:f2} ± {1:f2}", r.mean(), r.stddev()).str());
    if (modelled)
      outs() << formatv(" {0,12} |",
                        r.modelled ? formatv("{0:f2}", r.modelled).str() : "");
    outs() << "\n";
  }
  if (modelled)
    outs() << "hexagon: t/s under qemu-hexagon (emulated, not a phone's); "
              "modelled t/s on "
           << (npuDevice.empty() ? NPUDevice::getDefault().name
                                 : std::string(npuDevice))
           << ", one HVX context (docs/npu.md)\n";
  return 0;
}
