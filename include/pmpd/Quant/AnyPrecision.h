//===- AnyPrecision.h - Any-precision weight quantization -------*- C++ -*-===//
//
// The weight format PMPD builds on (SNU-ARC any-precision LLM): per output
// row, a seed codebook of `s` bits from sensitivity-weighted 1-D k-means,
// upscaled one bit at a time to the parent `p` bits by splitting every
// cluster in two, so that the top `b` bits of a row's `p`-bit code are its
// `b`-bit code for every b in [s, p], each width with its own fp16 table.
//
// Packed layout (the weights file and the kernels read exactly this):
//   planes: uint8 [p][rows][ceil(cols / 8)]; plane j holds bit (p - 1 - j) of
//           each code, so a b-bit reader touches planes 0..b-1 only; column c
//           is bit c % 8 of byte c / 8 of its row; pad bits are 0.
//   lut<b>: fp16 [rows][2^b] for every b in [s, p]: the b-bit codebook.
// In a safetensors file under a prefix (the HF tensor name without
// ".weight"): "<prefix>.qweight.planes" and "<prefix>.qweight.lut<b>".
// A b-bit weight (r, c) is halfToFloat(lut<b>[r][code_b(r, c)]), where
// code_b is the number whose bits, most significant first, are bit c of row
// r of planes 0..b-1. Tables are indexed by code, and codes are ordered like
// their centroids (cluster i of width b covers smaller values than cluster
// i + 1), though readers need not rely on that.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_QUANT_ANYPRECISION_H
#define PMPD_QUANT_ANYPRECISION_H

#include "pmpd/Model/SafeTensors.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace pmpd {

/// Layout version written to packed weights files ("pmpd.layout_version").
constexpr int kAnyPrecisionLayoutVersion = 1;

struct AnyPrecisionOptions {
  unsigned seedBits = 2;
  unsigned parentBits = 4;
};

struct AnyPrecisionWeight {
  int64_t rows = 0, cols = 0;
  unsigned seedBits = 0, parentBits = 0;
  std::vector<uint8_t> planes;             // [parent][rows][rowBytes()]
  std::vector<std::vector<uint16_t>> luts; // [b - seed][rows * 2^b], fp16

  int64_t rowBytes() const { return (cols + 7) / 8; }
  /// The top `bits` bits of the code of (row, col).
  unsigned code(unsigned bits, int64_t row, int64_t col) const;
  /// The `bits`-bit weight matrix, row-major [rows][cols].
  std::vector<float> dequantize(unsigned bits) const;
  /// Storage per weight at `bits`: the planes read plus that width's tables.
  double bitsPerWeight(unsigned bits) const;

  /// Adds "<prefix>.qweight.planes" and "<prefix>.qweight.lut<b>".
  void addTensors(SafeTensorsWriter &writer, llvm::StringRef prefix) const;
};

/// Finds a tensor by name; nullptr when there is none.
using TensorLookup =
    llvm::function_ref<const TensorView *(llvm::StringRef name)>;

/// Rebuilds the packed weight under `prefix` from its tensors, the inverse
/// of AnyPrecisionWeight::addTensors. The planes give the rows and the parent
/// bits; the seed is the narrowest width whose table is there. `cols` is
/// needed because the planes hold it only rounded up to bytes. Errors name the
/// tensor: a missing one, a wrong dtype or shape, bits outside [2, 8], a
/// non-zero pad bit, a table entry that is not finite.
llvm::Expected<AnyPrecisionWeight>
readAnyPrecision(TensorLookup lookup, llvm::StringRef prefix, int64_t cols);
/// The same for the tensors of one file; errors also name the file.
llvm::Expected<AnyPrecisionWeight> readAnyPrecision(const SafeTensorsFile &file,
                                                    llvm::StringRef prefix,
                                                    int64_t cols);

/// Quantizes `w`, row-major [rows][cols], weighting the squared error of
/// element (r, c) by importance[c] (per column, size cols), or by
/// importance[r * cols + c] (per element), or by 1 (empty). Deterministic;
/// rows are quantized in parallel. Fails on unsupported bit widths, an
/// importance of the wrong size or negative, or non-finite weights.
llvm::Expected<AnyPrecisionWeight>
quantizeAnyPrecision(llvm::ArrayRef<float> w, int64_t rows, int64_t cols,
                     llvm::ArrayRef<float> importance,
                     const AnyPrecisionOptions &options);

/// The baseline: asymmetric round-to-nearest with one fp16 scale and one
/// `bits`-bit zero point per group of `groupSize` columns; returns the
/// dequantized matrix.
std::vector<float> roundToNearest(llvm::ArrayRef<float> w, int64_t rows,
                                  int64_t cols, unsigned bits,
                                  int64_t groupSize = 128);
double roundToNearestBitsPerWeight(unsigned bits, int64_t groupSize = 128);

/// sum over (r, c) of importance * (w - q)^2, with importance as in
/// quantizeAnyPrecision.
double weightedSquaredError(llvm::ArrayRef<float> w, llvm::ArrayRef<float> q,
                            int64_t rows, int64_t cols,
                            llvm::ArrayRef<float> importance);

} // namespace pmpd

#endif // PMPD_QUANT_ANYPRECISION_H
