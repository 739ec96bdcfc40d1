//===- CostModel.cpp - Modelled speed of a hexagon artifact ---------------===//

#include "pmpd/Runtime/NPUCostModel.h"

#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>

using namespace pmpd;
using llvm::json::ObjectMapper;
using llvm::json::Path;
using llvm::json::Value;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

//===----------------------------------------------------------------------===//
// The device
//===----------------------------------------------------------------------===//

bool pmpd::fromJSON(const Value &value, NPUDevice &d, Path path) {
  ObjectMapper o(value, path);
  if (!(o && o.map("name", d.name) && o.map("hvx_contexts", d.hvxContexts) &&
        o.map("clock_hz", d.clockHz) &&
        o.map("packets_per_cycle", d.packetsPerCycle) &&
        o.map("hvx_per_cycle", d.hvxPerCycle) &&
        o.map("vlut_per_cycle", d.vlutPerCycle) &&
        o.map("vmpy_per_cycle", d.vmpyPerCycle) &&
        o.map("scalar_ops_per_cycle", d.scalarOpsPerCycle) &&
        o.map("special_function_cycles", d.specialCycles) &&
        o.map("vtcm_bytes", d.vtcmBytes) &&
        o.map("ddr_bytes_per_second", d.ddrBytesPerSecond) &&
        o.map("ddr_latency_seconds", d.ddrLatencySeconds)))
    return false;
  // Every rate must be positive (a zero would be an infinitely fast unit);
  // the latency and special-function cost may be zero.
  auto positive = [&](const char *field, double v) {
    if (v > 0 && std::isfinite(v))
      return true;
    path.field(field).report("must be a positive number");
    return false;
  };
  auto nonNegative = [&](const char *field, double v) {
    if (v >= 0 && std::isfinite(v))
      return true;
    path.field(field).report("must not be negative");
    return false;
  };
  return positive("hvx_contexts", d.hvxContexts) &&
         positive("clock_hz", d.clockHz) &&
         positive("packets_per_cycle", d.packetsPerCycle) &&
         positive("hvx_per_cycle", d.hvxPerCycle) &&
         positive("vlut_per_cycle", d.vlutPerCycle) &&
         positive("vmpy_per_cycle", d.vmpyPerCycle) &&
         positive("scalar_ops_per_cycle", d.scalarOpsPerCycle) &&
         llvm::all_of(d.specialCycles,
                      [&](const auto &kv) {
                        if (kv.second >= 0 && std::isfinite(kv.second))
                          return true;
                        path.field("special_function_cycles")
                            .field(kv.first)
                            .report("must not be negative");
                        return false;
                      }) &&
         positive("vtcm_bytes", d.vtcmBytes) &&
         positive("ddr_bytes_per_second", d.ddrBytesPerSecond) &&
         nonNegative("ddr_latency_seconds", d.ddrLatencySeconds);
}

llvm::Expected<NPUDevice> NPUDevice::parse(llvm::StringRef text,
                                           llvm::StringRef origin) {
  auto parsed = llvm::json::parse(text);
  if (!parsed)
    return makeError(origin +
                     ": malformed JSON: " + llvm::toString(parsed.takeError()));
  NPUDevice device;
  Path::Root root("device");
  if (!fromJSON(*parsed, device, root))
    return makeError(origin + ": " + llvm::toString(root.getError()));
  return device;
}

llvm::Expected<NPUDevice> NPUDevice::load(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return makeError(path + ": " + buffer.getError().message());
  return parse((*buffer)->getBuffer(), path);
}

llvm::StringRef NPUDevice::getDefaultText() {
  static const char text[] =
#include "DefaultDevice.inc"
      ;
  return text;
}

const NPUDevice &NPUDevice::getDefault() {
  static const NPUDevice device = [] {
    auto parsed = parse(getDefaultText(), "the built-in device");
    if (!parsed)
      llvm::report_fatal_error(parsed.takeError());
    return *parsed;
  }();
  return device;
}

//===----------------------------------------------------------------------===//
// The model
//===----------------------------------------------------------------------===//

NPUCallEstimate &NPUCallEstimate::operator+=(const NPUCallEstimate &o) {
  seconds += o.seconds;
  projectionSeconds += o.projectionSeconds;
  scalarSeconds += o.scalarSeconds;
  bytes += o.bytes;
  projectionBytes += o.projectionBytes;
  hvx += o.hvx;
  scalarCycles += o.scalarCycles;
  return *this;
}

static double polynomial(llvm::ArrayRef<double> coefficients, double x) {
  double value = 0, power = 1;
  for (double c : coefficients) {
    value += c * power;
    power *= x;
  }
  return value;
}

/// One call of a projection kernel: y[tokens][rows] = x W^T.
static llvm::Expected<NPUCallEstimate>
projection(const NPUWorkload &workload, const NPUWorkloadOp &op, int64_t tokens,
           const NPUDevice &device, const NPUCostOptions &options) {
  NPUCallEstimate e;
  double n = op.rows, k = op.cols, t = tokens;
  double weightBytes, stagedBytes;
  if (op.kind == NPUWorkloadOp::Kind::QLinear) {
    auto counts =
        workload.kernels.qlinearCounts(op.bits, tokens, op.rows, op.cols);
    if (!counts)
      return counts.takeError();
    e.hvx = *counts;
    // The b bit-planes of each row (ceil(K/8) bytes each) and the row's
    // b-bit codebook in fp16.
    weightBytes = n * (op.bits * std::ceil(k / 8) + 2.0 * (1 << op.bits));
    // Activations as int16 in decode order, padded to 1024-column blocks.
    stagedBytes = t * 1024 * std::ceil(k / 1024) * 2;
  } else {
    e.hvx = workload.kernels.f16Counts(tokens, op.rows, op.cols);
    weightBytes = n * k * 2;
    stagedBytes = t * 64 * std::ceil(k / 64) * 2;
  }
  // fp32 activations in, fp32 outputs out; the int16 activations stay on
  // chip (VTCM) if they fit, else every row reads them again from DDR.
  double bytes = weightBytes + t * k * 4 + t * n * 4;
  if (stagedBytes > double(device.vtcmBytes))
    bytes += n * stagedBytes;
  double cycles = std::max(
      {e.hvx.packets / device.packetsPerCycle, e.hvx.hvx / device.hvxPerCycle,
       e.hvx.vlut / device.vlutPerCycle, e.hvx.vmpy / device.vmpyPerCycle});
  double contexts = double(
      std::max<int64_t>(1, std::min(options.contexts, device.hvxContexts)));
  double compute = cycles / device.clockHz / contexts;
  double memory = bytes / device.ddrBytesPerSecond;
  e.seconds = e.projectionSeconds =
      std::max(compute, memory) + device.ddrLatencySeconds;
  e.bytes = e.projectionBytes = bytes;
  return e;
}

/// One scalar loop nest at sequence length `length`.
static llvm::Expected<NPUCallEstimate>
scalar(const NPUWorkloadOp &op, int64_t length, const NPUDevice &device) {
  NPUCallEstimate e;
  double iterations = polynomial(op.iterations, length);
  double cycles = op.arithmetic / device.scalarOpsPerCycle;
  for (const auto &[kind, count] : op.special) {
    auto it = device.specialCycles.find(kind);
    if (it == device.specialCycles.end())
      return makeError("the device has no cost for '" + kind +
                       "' (special_function_cycles) but " + op.name +
                       " needs one");
    cycles += count * it->second;
  }
  e.scalarCycles = iterations * cycles;
  e.bytes = polynomial(op.bytes, length);
  e.seconds = e.scalarSeconds =
      std::max(e.scalarCycles / device.clockHz,
               e.bytes / device.ddrBytesPerSecond);
  return e;
}

llvm::Expected<NPUCallEstimate>
pmpd::estimateCall(const NPUWorkload &workload, const NPUWorkloadEntry &entry,
                   int64_t tokens, int64_t length, const NPUDevice &device,
                   const NPUCostOptions &options) {
  NPUCallEstimate total;
  for (const NPUWorkloadOp &op : entry.ops) {
    NPUCallEstimate one;
    if (op.isProjection()) {
      auto e = projection(workload, op, tokens, device, options);
      if (!e)
        return e.takeError();
      one = *e;
    } else {
      auto e = scalar(op, length, device);
      if (!e)
        return e.takeError();
      one = *e;
    }
    for (int64_t i = 0; i < op.count; ++i)
      total += one;
  }
  return total;
}

llvm::Expected<NPURunEstimate> pmpd::estimateRun(const NPUWorkload &workload,
                                                 int64_t prompt, int64_t steps,
                                                 const NPUDevice &device,
                                                 const NPUCostOptions &options) {
  NPURunEstimate run;
  const NPUWorkloadEntry *prefill = workload.prefillEntry();
  if (!prefill)
    return makeError("the NPU workload has no prefill entry point");
  auto p = estimateCall(workload, *prefill, prompt, prompt, device, options);
  if (!p)
    return p.takeError();
  run.prefill = *p;
  run.prefillTokensPerSecond = prompt / p->seconds;
  for (int64_t step = 0; step < steps; ++step) {
    unsigned bits = workload.decodeBitsAt(step);
    const NPUWorkloadEntry *entry = workload.decodeEntry(bits);
    if (!entry)
      return makeError("the NPU workload has no " + llvm::Twine(bits) +
                       "-bit decode entry point");
    auto d = estimateCall(workload, *entry, 1, prompt + step + 1, device,
                          options);
    if (!d)
      return d.takeError();
    NPURunEstimate::Segment &segment = run.decode[bits];
    segment.steps += 1;
    segment.total += *d;
    run.decodeTotal += *d;
    run.decodeSteps += 1;
  }
  return run;
}
