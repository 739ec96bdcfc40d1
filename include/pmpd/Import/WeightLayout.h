//===- WeightLayout.h - How a model's projections are stored ----*- C++ -*-===//
//
// The importer declares a projection's weight as a packed any-precision
// `!pmpd.qweight` or as an fp16 tensor. That choice is all it needs of the
// weights files, so it is kept apart from them: a WeightLayout can be read
// off a model directory or written down directly (tests, synthetic configs
// with no weights at all).
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_IMPORT_WEIGHTLAYOUT_H
#define PMPD_IMPORT_WEIGHTLAYOUT_H

#include "pmpd/Model/HFModel.h"

#include "llvm/Support/Error.h"

#include <array>
#include <optional>
#include <vector>

namespace pmpd {

/// The bit widths a packed any-precision projection serves: `seed` to
/// `parent` bits, from `parent` bit-planes.
struct PackedBits {
  unsigned parent = 0;
  unsigned seed = 0;
  bool operator==(const PackedBits &other) const {
    return parent == other.parent && seed == other.seed;
  }
};

/// For each layer and projection: packed (with its bits) or fp16.
class WeightLayout {
public:
  /// Every projection of `numLayers` layers fp16.
  static WeightLayout allFP16(int64_t numLayers);
  /// Every projection of `numLayers` layers packed with `bits`.
  static WeightLayout allPacked(int64_t numLayers, PackedBits bits);

  int64_t numLayers() const { return int64_t(layers.size()); }
  /// The packing of a projection, or nothing when it is fp16.
  std::optional<PackedBits> get(int64_t layer, Projection p) const {
    return layers[layer][size_t(p)];
  }
  void set(int64_t layer, Projection p, std::optional<PackedBits> bits) {
    layers[layer][size_t(p)] = bits;
  }
  /// The packing of an untied lm_head (`pmpd-quantize --quantize-lm-head`),
  /// or nothing when it is fp16.
  std::optional<PackedBits> getLMHead() const { return lmHead; }
  void setLMHead(std::optional<PackedBits> bits) { lmHead = bits; }

private:
  std::vector<std::array<std::optional<PackedBits>, kNumProjections>> layers;
  std::optional<PackedBits> lmHead;
};

/// Name of a packed projection's tensors: "<prefix>.qweight.planes" and
/// "<prefix>.qweight.lut<b>", where <prefix> is the HF weight name without
/// ".weight" (e.g. "model.layers.0.self_attn.q_proj").
std::string projectionPrefix(int64_t layer, Projection p);

/// Reads the layout off an opened model directory. A projection is packed
/// when "<prefix>.qweight.planes" exists; its file's "__metadata__" must then
/// say "pmpd.format" = "any-precision" and give "pmpd.seed_bits" and
/// "pmpd.parent_bits", and the planes (u8 [parent, rows, ceil(cols / 8)]) and
/// the lookup tables (f16 [rows, 2^b] for b in [seed, parent]) must have the
/// shapes the config implies. Otherwise it is fp16 when "<prefix>.weight"
/// exists. An untied lm_head is read the same way ("lm_head.qweight.planes"
/// or "lm_head.weight"); it may be packed only when the projections are.
/// Errors name the file (or directory) and the tensor: a projection with
/// neither tensor, a model mixing packed and fp16 projections, and malformed
/// metadata or packed tensors.
llvm::Expected<WeightLayout> detectWeightLayout(const HFModel &model);

} // namespace pmpd

#endif // PMPD_IMPORT_WEIGHTLAYOUT_H
