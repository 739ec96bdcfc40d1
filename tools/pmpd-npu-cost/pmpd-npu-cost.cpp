//===- pmpd-npu-cost.cpp - Modelled NPU speed of compiled workloads -------===//
//
// The NPU cost model (pmpd/Runtime/NPUCostModel.h) on its own: prefill and
// decode tok/s of hexagon artifacts, or of bare workloads
// (pmpd-opt --pmpd-record-npu-workload=output=FILE) for models too large for
// the emulator's 32-bit address space, on a device described in JSON (the
// built-in Snapdragon 8 Gen 3 by default). With --baseline, the decode
// speedups over the baseline workload (fp16) on the same device.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/NPUCostModel.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace pmpd;

static cl::OptionCategory category("pmpd-npu-cost options");
static cl::list<std::string>
    inputs(cl::Positional, cl::desc("<hexagon artifact dir or workload json>..."),
           cl::cat(category));
static cl::opt<std::string>
    deviceFile("device",
               cl::desc("NPU description (JSON); default: the built-in "
                        "Snapdragon 8 Gen 3"),
               cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string>
    baselineFile("baseline",
                 cl::desc("Workload (or artifact) to report decode speedups "
                          "over, e.g. the fp16 model's"),
                 cl::value_desc("file"), cl::cat(category));
static cl::opt<int64_t> promptTokens("p", cl::desc("Prefill tokens"),
                                     cl::init(512), cl::cat(category));
static cl::opt<int64_t> decodeTokens("n", cl::desc("Decode steps"),
                                     cl::init(128), cl::cat(category));
static cl::opt<int64_t>
    contexts("contexts",
             cl::desc("HVX contexts the projections' rows are split over "
                      "(default 1: the code as compiled)"),
             cl::init(1), cl::cat(category));
static cl::opt<std::string>
    callEntry("call",
              cl::desc("Print the estimate of one call of this entry point "
                       "(prefill, decode_b4, ...) instead: its seconds, DDR "
                       "bytes, kernel packets and scalar cycles"),
              cl::value_desc("entry"), cl::cat(category));
static cl::opt<int64_t> callTokens("tokens",
                                   cl::desc("Tokens of the --call (default 1)"),
                                   cl::init(1), cl::cat(category));
static cl::opt<int64_t>
    callLength("length",
               cl::desc("KV length after the --call (default: --tokens)"),
               cl::init(0), cl::cat(category));
static cl::opt<bool> printDevice("print-device",
                                 cl::desc("Print the device's JSON and exit"),
                                 cl::cat(category));
static cl::opt<bool> jsonOutput("json", cl::desc("Print one JSON object"),
                                cl::cat(category));

static int fail(const Twine &message) {
  WithColor::error(errs(), "pmpd-npu-cost") << message << "\n";
  return 1;
}

static Expected<NPUWorkload> loadWorkload(StringRef input) {
  if (sys::fs::is_directory(input)) {
    SmallString<256> path(input);
    sys::path::append(path, NPUWorkload::kFileName);
    if (!sys::fs::exists(path))
      return createStringError(inconvertibleErrorCode(),
                               "%s: no %s: not a hexagon artifact (compile "
                               "with pmpd-compile --target hexagon)",
                               input.str().c_str(),
                               NPUWorkload::kFileName.data());
    return NPUWorkload::load(path);
  }
  return NPUWorkload::load(input);
}

static std::string scheduleOf(const NPUWorkload &w) {
  std::string s = "prefill=" + std::to_string(w.prefillBits) + ";decode=";
  for (size_t i = 0; i < w.decodeSchedule.size(); ++i)
    s += (i ? "," : "") + std::to_string(w.decodeSchedule[i].second) + "@" +
         std::to_string(w.decodeSchedule[i].first);
  return s;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "pmpd-npu-cost: modelled NPU prefill and decode speed\n\n"
      "  pmpd-npu-cost ART|WORKLOAD.json... [--device FILE] [-p 512] "
      "[-n 128]\n"
      "                [--contexts N] [--baseline FP16.json] [--json]\n");
  NPUDevice device = NPUDevice::getDefault();
  if (!deviceFile.empty()) {
    auto loaded = NPUDevice::load(deviceFile);
    if (!loaded)
      return fail(toString(loaded.takeError()));
    device = *loaded;
  }
  if (printDevice) {
    if (deviceFile.empty())
      outs() << NPUDevice::getDefaultText();
    else
      outs() << formatv("device '{0}' from {1}\n", device.name, deviceFile);
    return 0;
  }
  if (inputs.empty())
    return fail("no workload given (see --help)");
  if (promptTokens <= 0 || decodeTokens <= 0 || contexts <= 0)
    return fail("-p, -n and --contexts must be positive");
  NPUCostOptions options;
  options.contexts = contexts;

  if (!callEntry.empty()) {
    json::Array calls;
    for (const std::string &input : inputs) {
      auto w = loadWorkload(input);
      if (!w)
        return fail(toString(w.takeError()));
      auto entry = llvm::find_if(w->entries, [](const NPUWorkloadEntry &e) {
        return e.name == callEntry;
      });
      if (entry == w->entries.end())
        return fail(input + ": no entry point '" + callEntry + "'");
      int64_t length = callLength > 0 ? int64_t(callLength) : int64_t(callTokens);
      auto e = estimateCall(*w, *entry, callTokens, length, device, options);
      if (!e)
        return fail(input + ": " + toString(e.takeError()));
      calls.push_back(json::Object{
          {"workload", input},
          {"entry", callEntry},
          {"tokens", int64_t(callTokens)},
          {"length", length},
          {"seconds", e->seconds},
          {"projection_seconds", e->projectionSeconds},
          {"scalar_seconds", e->scalarSeconds},
          {"ddr_bytes", e->bytes},
          {"projection_ddr_bytes", e->projectionBytes},
          {"kernel_packets", e->hvx.packets},
          {"kernel_hvx", e->hvx.hvx},
          {"kernel_vlut", e->hvx.vlut},
          {"kernel_vmpy", e->hvx.vmpy},
          {"scalar_cycles", e->scalarCycles}});
    }
    outs() << formatv("{0:2}", json::Value(std::move(calls))) << "\n";
    return 0;
  }

  std::optional<NPURunEstimate> baseline;
  if (!baselineFile.empty()) {
    auto w = loadWorkload(baselineFile);
    if (!w)
      return fail(toString(w.takeError()));
    auto run = estimateRun(*w, promptTokens, decodeTokens, device, options);
    if (!run)
      return fail(baselineFile + ": " + toString(run.takeError()));
    baseline = *run;
  }
  auto speedup = [&](const NPUCallEstimate &total, int64_t steps) {
    return baseline ? baseline->decodeTotal.seconds /
                          baseline->decodeSteps / (total.seconds / steps)
                    : 0.0;
  };
  auto projectionSpeedup = [&](const NPUCallEstimate &total, int64_t steps) {
    return baseline ? baseline->decodeTotal.projectionSeconds /
                          baseline->decodeSteps /
                          (total.projectionSeconds / steps)
                    : 0.0;
  };

  json::Array rows;
  std::string table;
  raw_string_ostream os(table);
  os << formatv("| {0,-24} | {1,-28} | {2,-7} | {3,4} | {4,9} | {5,8} | "
                "{6,8} | {7,6} |",
                "workload", "schedule", "test", "bits", "t/s", "proj %",
                "x base", "x proj")
     << "\n|" << std::string(26, '-') << "|" << std::string(30, '-')
     << "|---------|-----:|----------:|---------:|---------:|-------:|\n";
  for (const std::string &input : inputs) {
    auto w = loadWorkload(input);
    if (!w)
      return fail(toString(w.takeError()));
    auto run = estimateRun(*w, promptTokens, decodeTokens, device, options);
    if (!run)
      return fail(input + ": " + toString(run.takeError()));
    std::string schedule = scheduleOf(*w);
    auto row = [&](StringRef test, unsigned bits, double rate,
                   const NPUCallEstimate &total, int64_t steps, bool decode) {
      double share = 100 * total.projectionSeconds / total.seconds;
      double x = decode ? speedup(total, steps) : 0,
             xp = decode ? projectionSpeedup(total, steps) : 0;
      os << formatv("| {0,-24} | {1,-28} | {2,-7} | {3,4} | {4,9:f2} | "
                    "{5,8:f1} | {6,8} | {7,6} |\n",
                    sys::path::filename(input), schedule, test,
                    bits ? std::to_string(bits) : "all", rate, share,
                    x ? formatv("{0:f2}", x).str() : "",
                    xp ? formatv("{0:f2}", xp).str() : "");
      json::Object o{{"workload", input},
                     {"schedule", schedule},
                     {"test", test.str()},
                     {"bits", int64_t(bits)},
                     {"tokens_per_second", rate},
                     {"projection_share", share / 100},
                     {"ddr_bytes_per_token", total.bytes / steps},
                     {"seconds_per_token", total.seconds / steps}};
      if (x) {
        o["speedup_over_baseline"] = x;
        o["projection_speedup_over_baseline"] = xp;
      }
      rows.push_back(std::move(o));
    };
    row("pp" + std::to_string(promptTokens), w->prefillBits,
        run->prefillTokensPerSecond, run->prefill, promptTokens, false);
    // Highest precision first: the order the schedule runs them.
    for (auto it = run->decode.rbegin(); it != run->decode.rend(); ++it)
      row("tg" + std::to_string(decodeTokens), it->first,
          it->second.tokensPerSecond(), it->second.total, it->second.steps,
          true);
    if (run->decode.size() > 1)
      row("tg" + std::to_string(decodeTokens), 0,
          run->decodeTokensPerSecond(), run->decodeTotal, run->decodeSteps,
          true);
  }
  if (jsonOutput) {
    outs() << formatv("{0:2}", json::Value(json::Object{
                                   {"device", device.name},
                                   {"contexts", int64_t(contexts)},
                                   {"prompt", int64_t(promptTokens)},
                                   {"decode_steps", int64_t(decodeTokens)},
                                   {"rows", std::move(rows)}}))
           << "\n";
    return 0;
  }
  outs() << formatv("modelled on {0}, {1} HVX context{2}\n", device.name,
                    int64_t(contexts), contexts == 1 ? "" : "s")
         << table;
  return 0;
}
