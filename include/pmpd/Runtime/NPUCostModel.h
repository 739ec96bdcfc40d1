//===- NPUCostModel.h - Modelled speed of a hexagon artifact ----*- C++ -*-===//
//
// qemu-hexagon runs the hexagon artifacts' code but does not time it, so
// their speed on a phone is modelled: a Snapdragon-class NPU described in
// JSON (NPUDevice: HVX contexts, clock, packet, vector and LUT throughput,
// VTCM size, DDR bandwidth and latency) applied to what the compiled code
// does (NPUWorkload: the projections each entry point calls and the HVX
// work per tile their kernels were measured to execute, and the scalar loop
// nests with their iterations and bytes). Every operation takes
//   max(compute, memory) + (projections: one DDR latency)
// compute = cycles / clock / contexts, the cycles of a projection being the
// larger of its packets (one a cycle) and its HVX, vlut16 and vmpy
// instructions over their per-cycle throughputs; memory = bytes / DDR
// bandwidth. docs/npu.md derives the default device's numbers.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_RUNTIME_NPUCOSTMODEL_H
#define PMPD_RUNTIME_NPUCOSTMODEL_H

#include "pmpd/Artifact/NPUWorkload.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <map>
#include <string>

namespace pmpd {

struct NPUDevice {
  std::string name;
  int64_t hvxContexts = 1;       // HVX hardware contexts (vector threads).
  double clockHz = 0;            // NPU core clock.
  double packetsPerCycle = 1;    // Per hardware thread.
  double hvxPerCycle = 0;        // HVX instructions per cycle per context.
  double vlutPerCycle = 0;       // vlut16 per cycle per context.
  double vmpyPerCycle = 0;       // 16x16-bit vmpy per cycle per context.
  double scalarOpsPerCycle = 0;  // Scalar arithmetic per cycle per thread.
  /// Cycles of one operation of each kind NPUWorkloadOp::special names
  /// (divide, sqrt, exp, ...).
  std::map<std::string, double> specialCycles;
  int64_t vtcmBytes = 0;         // Vector TCM (on-chip memory).
  double ddrBytesPerSecond = 0;  // DDR bandwidth the NPU reaches.
  double ddrLatencySeconds = 0;  // DDR access latency.

  static llvm::Expected<NPUDevice> parse(llvm::StringRef text,
                                         llvm::StringRef origin);
  static llvm::Expected<NPUDevice> load(llvm::StringRef path);
  /// The default device (a Snapdragon 8 Gen 3, runtime/hexagon/devices),
  /// built into the runtime.
  static const NPUDevice &getDefault();
  static llvm::StringRef getDefaultText();
};

bool fromJSON(const llvm::json::Value &value, NPUDevice &device,
              llvm::json::Path path);

struct NPUCostOptions {
  /// HVX contexts the projections' rows are split over. The compiled code
  /// runs one; more models splitting the rows (the DDR bandwidth is shared).
  int64_t contexts = 1;
};

/// Modelled time of one call, and where it goes.
struct NPUCallEstimate {
  double seconds = 0;
  double projectionSeconds = 0; // Of which projections,
  double scalarSeconds = 0;     // and scalar loop nests.
  double bytes = 0;             // DDR traffic.
  double projectionBytes = 0;
  TileCounts hvx;               // Executed by the projection kernels.
  double scalarCycles = 0;

  NPUCallEstimate &operator+=(const NPUCallEstimate &other);
};

/// One call of `entry` for `tokens` tokens with `length` positions in the
/// KV cache after it (the prompt in a prefill from position 0, position + 1
/// in a decode step).
llvm::Expected<NPUCallEstimate>
estimateCall(const NPUWorkload &workload, const NPUWorkloadEntry &entry,
             int64_t tokens, int64_t length, const NPUDevice &device,
             const NPUCostOptions &options = {});

/// A pmpd-bench run: a prefill of `prompt` tokens from position 0, then
/// `steps` decode steps at the precisions the schedule gives them.
struct NPURunEstimate {
  NPUCallEstimate prefill;
  double prefillTokensPerSecond = 0;
  struct Segment {
    int64_t steps = 0;
    NPUCallEstimate total;
    double tokensPerSecond() const {
      return total.seconds > 0 ? steps / total.seconds : 0;
    }
  };
  std::map<unsigned, Segment> decode; // By bits.
  NPUCallEstimate decodeTotal;
  int64_t decodeSteps = 0;
  double decodeTokensPerSecond() const {
    return decodeTotal.seconds > 0 ? decodeSteps / decodeTotal.seconds : 0;
  }
};

llvm::Expected<NPURunEstimate> estimateRun(const NPUWorkload &workload,
                                           int64_t prompt, int64_t steps,
                                           const NPUDevice &device,
                                           const NPUCostOptions &options = {});

} // namespace pmpd

#endif // PMPD_RUNTIME_NPUCOSTMODEL_H
