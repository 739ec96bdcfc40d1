//===- NPUWorkload.h - What a hexagon artifact's code does, per call -*- C++ -*-===//
//
// QEMU does not time the code it emulates, so the speed of a hexagon artifact
// on a phone comes from a cost model (pmpd/Runtime/NPUCostModel.h). Its
// input is this description, written by pmpd-compile into the artifact
// (npu-workload.json) from the compiled module itself: for every entry point
// (@prefill, @decode_b<K>) the projections it calls (rows, columns, bits) and
// the scalar loop nests it runs (iterations, arithmetic and special-function
// operations per iteration, bytes touched, as polynomials in the sequence
// length), and the work per tile of the HVX kernels the projections call,
// measured from the compiled kernels under qemu-hexagon
// (scripts/hexagon-kernel-profile.py, runtime/hexagon/kernel-profile.json).
// LLVM Support only: the compiler writes it, the runtime's tools read it.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_ARTIFACT_NPUWORKLOAD_H
#define PMPD_ARTIFACT_NPUWORKLOAD_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pmpd {

/// Executed work of a kernel: VLIW packets (one a cycle per hardware thread
/// at best), HVX instructions, and the two HVX instructions that bound the
/// kernels' throughput, vlut16 (table lookups) and vmpy (multiplies).
struct TileCounts {
  double packets = 0, hvx = 0, vlut = 0, vmpy = 0;

  TileCounts &operator+=(const TileCounts &other);
  TileCounts operator*(double factor) const;
};

/// A kernel's work as a linear function of the problem's sizes: the
/// coefficient of each feature (NPUKernelProfile says which features).
using KernelFormula = std::map<std::string, TileCounts>;

/// The HVX projection kernels' work per tile (runtime/hexagon/qlinear.c,
/// fitted by scripts/hexagon-kernel-profile.py). For rows N of K columns,
/// B = ceil(K / 1024) blocks (128 bytes of each bit-plane), Kpad = 1024 B,
/// T tokens, V = ceil(K / 64):
///   qlinear decode (T = 1): c0 + x_pad Kpad + x_col K + row N + block N B
///   qlinear prefill: c0 + x_pad T Kpad + x_col T K + row N + block N B
///     + tile4 N floor(T/4) + tile4_block N B floor(T/4)
///     + tile1 N (T mod 4) + tile1_block N B (T mod 4)
///   fp16 rows: c0 + x_col T K + x_pad T V + row N + vector N V
///     + tile4 N floor(T/4) + tile4_vector N V floor(T/4)
///     + tile1 N (T mod 4) + tile1_vector N V (T mod 4)
struct NPUKernelProfile {
  struct QLinear {
    KernelFormula decode, prefill;
  };
  std::map<unsigned, QLinear> qlinear; // By bit width.
  KernelFormula f16;
  std::string harness; // How it was measured.

  /// The work of one call; an error for a bit width the profile lacks.
  llvm::Expected<TileCounts> qlinearCounts(unsigned bits, int64_t tokens,
                                           int64_t rows, int64_t cols) const;
  TileCounts f16Counts(int64_t tokens, int64_t rows, int64_t cols) const;
};

/// One operation of an entry point, `count` times (the layers repeat).
struct NPUWorkloadOp {
  enum class Kind { QLinear, LinearF16, Scalar };
  Kind kind = Kind::Scalar;
  int64_t count = 1;
  // Projections: y[tokens][rows] = x[tokens][cols] W^T at `bits`.
  int64_t rows = 0, cols = 0;
  unsigned bits = 0;
  // Scalar loop nests (linalg on the scalar unit). Polynomials in the
  // sequence length L (the prompt in prefill, position + 1 in decode): the
  // coefficient of L^i at index i.
  std::vector<double> iterations; // Loop iterations.
  std::vector<double> bytes;      // Bytes of the operands.
  double arithmetic = 0;          // Plain operations per iteration,
  /// and operations a plain one does not cost as, per iteration, by kind:
  /// "div" (fp32 divide), "sqrt" (sqrt, and rsqrt: a sqrt and a "div"),
  /// "exp", "log", "pow", "sin", "cos" (libm calls), "f16" (an fp16 to fp32
  /// conversion, a libcall on v67).
  std::map<std::string, double> special;
  std::string name; // The op, for reports.

  bool isProjection() const { return kind != Kind::Scalar; }
};

struct NPUWorkloadEntry {
  std::string name;    // "prefill", "decode_b4".
  bool prefill = false;
  unsigned bits = 0;   // Precision of its projections.
  std::vector<NPUWorkloadOp> ops;
};

struct NPUWorkload {
  static constexpr llvm::StringLiteral kFileName = "npu-workload.json";
  static constexpr int64_t kFormatVersion = 1;

  int64_t formatVersion = kFormatVersion;
  unsigned prefillBits = 16;
  /// Static decode schedule: (first step, bits), increasing steps from 0.
  std::vector<std::pair<int64_t, unsigned>> decodeSchedule;
  std::vector<NPUWorkloadEntry> entries;
  NPUKernelProfile kernels;

  /// The decode precision of `step`.
  unsigned decodeBitsAt(int64_t step) const;
  const NPUWorkloadEntry *prefillEntry() const;
  const NPUWorkloadEntry *decodeEntry(unsigned bits) const;

  static llvm::Expected<NPUWorkload> load(llvm::StringRef path);
  static llvm::Expected<NPUWorkload> parse(llvm::StringRef text,
                                           llvm::StringRef origin);
  static llvm::Expected<NPUKernelProfile>
  parseKernelProfile(llvm::StringRef text, llvm::StringRef origin);
};

bool fromJSON(const llvm::json::Value &value, TileCounts &counts,
              llvm::json::Path path);
bool fromJSON(const llvm::json::Value &value, NPUKernelProfile &profile,
              llvm::json::Path path);
bool fromJSON(const llvm::json::Value &value, NPUWorkloadOp &op,
              llvm::json::Path path);
bool fromJSON(const llvm::json::Value &value, NPUWorkloadEntry &entry,
              llvm::json::Path path);
bool fromJSON(const llvm::json::Value &value, NPUWorkload &workload,
              llvm::json::Path path);
llvm::json::Value toJSON(const TileCounts &counts);
llvm::json::Value toJSON(const NPUKernelProfile &profile);
llvm::json::Value toJSON(const NPUWorkloadOp &op);
llvm::json::Value toJSON(const NPUWorkloadEntry &entry);
llvm::json::Value toJSON(const NPUWorkload &workload);

} // namespace pmpd

#endif // PMPD_ARTIFACT_NPUWORKLOAD_H
