//===- Executor.h - A target's side of the runtime --------------*- C++ -*-===//
//
// The session (generation, perplexity, the C API, the benchmarks) is the same
// for every target; what differs is where the weights, the KV cache and the
// compiled code live and how the entry points are called. An executor is
// that part: one per target (cpu, gpu, hexagon), chosen by the manifest's target.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_RUNTIME_EXECUTOR_H
#define PMPD_RUNTIME_EXECUTOR_H

#include "pmpd/Artifact/Manifest.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace pmpd {

/// How a session runs, whatever the target.
struct SessionOptions {
  /// CPU threads of the compiled code's kernels; 0: one per core.
  int32_t threads = 0;
};

class Executor {
public:
  virtual ~Executor();

  /// Runs `ids` as prefill at positions [position, position + ids.size())
  /// and writes their logits, [ids.size()][vocab], to `logits`.
  virtual llvm::Error prefill(llvm::ArrayRef<int64_t> ids, int64_t position,
                              std::vector<float> &logits) = 0;
  /// Runs one decode step of `id` at `position`; `step` is the schedule's
  /// clock. Writes the logits [vocab] and the precision the compiled switch
  /// point chose.
  virtual llvm::Error decode(int64_t id, int64_t step, int64_t position,
                             std::vector<float> &logits, unsigned &bits) = 0;
  /// Starts a new decode phase: a learned schedule's state starts over.
  virtual llvm::Error resetSchedule() = 0;
  /// Copies the keys and values of `layer` at positions [0, count), each
  /// [count][kvHeads][headDim] floats, into `keys` and `values` (what a
  /// prompt-adaptive scheduler is trained on). Not every executor can read
  /// its cache back: the default is an error saying so.
  virtual llvm::Error readCache(int64_t layer, int64_t count, float *keys,
                                float *values);
  /// Where the code runs, e.g. "cpu, 2 threads" or "NVIDIA H200, sm_90".
  virtual std::string describe() const = 0;
  /// Threads the compiled code's CPU kernels use (1 for device targets).
  virtual int32_t threads() const = 0;
};

/// The executor of `manifest`'s target for the artifact in `dir`; an error
/// names the targets this runtime has if it has none for that one.
llvm::Expected<std::unique_ptr<Executor>>
createExecutor(const Manifest &manifest, llvm::StringRef dir,
               const SessionOptions &options);

/// Executors, one per target directory (lib/Runtime/<Name>).
llvm::Expected<std::unique_ptr<Executor>>
createCPUExecutor(const Manifest &manifest, llvm::StringRef dir,
                  const SessionOptions &options);
llvm::Expected<std::unique_ptr<Executor>>
createCUDAExecutor(const Manifest &manifest, llvm::StringRef dir,
                   const SessionOptions &options);
/// Hexagon artifacts, run as an offload process under qemu-hexagon.
llvm::Expected<std::unique_ptr<Executor>>
createNPUExecutor(const Manifest &manifest, llvm::StringRef dir,
                  const SessionOptions &options);

} // namespace pmpd

#endif // PMPD_RUNTIME_EXECUTOR_H
