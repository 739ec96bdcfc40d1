//===- WeightLayout.cpp - How a model's projections are stored ------------===//
//
// Reads, per projection, whether a model directory holds it packed
// (any-precision bit-planes and lookup tables) or as an fp16 matrix, and
// checks the packed tensors against the config here, so that the importer
// never declares a weight the weights file cannot back.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Import/WeightLayout.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace pmpd {

static constexpr Projection kProjections[] = {
    Projection::Q,    Projection::K,  Projection::V,   Projection::O,
    Projection::Gate, Projection::Up, Projection::Down};

WeightLayout WeightLayout::allFP16(int64_t numLayers) {
  WeightLayout layout;
  layout.layers.resize(numLayers);
  return layout;
}

WeightLayout WeightLayout::allPacked(int64_t numLayers, PackedBits bits) {
  WeightLayout layout = allFP16(numLayers);
  for (auto &layer : layout.layers)
    layer.fill(bits);
  return layout;
}

std::string projectionPrefix(int64_t layer, Projection p) {
  std::string name = projectionTensorName(layer, p);
  return StringRef(name).drop_back(StringRef(".weight").size()).str();
}

static Error fail(const Twine &where, const Twine &problem) {
  return createStringError(inconvertibleErrorCode(), where + ": " + problem);
}

static std::string describe(const TensorView &t) {
  std::string s = dtypeName(t.dtype).str() + " [";
  raw_string_ostream os(s);
  interleave(t.shape, os, ", ");
  os << "]";
  return s;
}

/// The integer value of metadata `key` of `file`, required to lie in
/// [lo, hi].
static Expected<unsigned> readBits(const SafeTensorsFile &file, StringRef key,
                                   StringRef planes, unsigned lo, unsigned hi) {
  auto it = file.metadata().find(key.str());
  if (it == file.metadata().end())
    return fail(file.path(), "__metadata__ has no \"" + key +
                                 "\", which the packed tensor '" + planes +
                                 "' needs");
  unsigned bits;
  if (StringRef(it->second).getAsInteger(10, bits) || bits < lo || bits > hi)
    return fail(file.path(), "__metadata__ \"" + key + "\" is \"" + it->second +
                                 "\"; expected an integer in [" + Twine(lo) +
                                 ", " + Twine(hi) + "]");
  return bits;
}

/// The bits of a packed projection, after checking its file's metadata and
/// its planes and lookup tables against the config.
static Expected<PackedBits> readPacked(const HFModel &model,
                                       const std::string &prefix, int64_t rows,
                                       int64_t cols) {
  std::string planesName = prefix + ".qweight.planes";
  const TensorView &planes = *model.lookup(planesName);
  const SafeTensorsFile &file = *model.fileOf(planesName);
  auto format = file.metadata().find("pmpd.format");
  if (format == file.metadata().end() || format->second != "any-precision")
    return fail(file.path(), "packed tensor '" + planesName +
                                 "' needs __metadata__ \"pmpd.format\" = "
                                 "\"any-precision\", got " +
                                 (format == file.metadata().end()
                                      ? std::string("none")
                                      : "\"" + format->second + "\""));
  // The ranges are those !pmpd.qweight accepts.
  Expected<unsigned> parent =
      readBits(file, "pmpd.parent_bits", planesName, 2, 8);
  if (!parent)
    return parent.takeError();
  Expected<unsigned> seed =
      readBits(file, "pmpd.seed_bits", planesName, 2, *parent);
  if (!seed)
    return seed.takeError();

  auto expect = [&](const TensorView &t, DType dtype,
                    ArrayRef<int64_t> shape) -> Error {
    if (t.dtype == dtype && ArrayRef<int64_t>(t.shape) == shape)
      return Error::success();
    TensorView want{"", dtype, SmallVector<int64_t>(shape), {}};
    return fail(model.fileOf(t.name)->path(),
                "packed tensor '" + t.name + "' is " + describe(t) +
                    ", but a " + Twine(rows) + "x" + Twine(cols) +
                    " projection with parent_bits = " + Twine(*parent) +
                    " needs " + describe(want));
  };
  if (Error err = expect(planes, DType::U8, {*parent, rows, (cols + 7) / 8}))
    return std::move(err);
  for (unsigned b = *seed; b <= *parent; ++b) {
    std::string lutName = prefix + ".qweight.lut" + std::to_string(b);
    const TensorView *lut = model.lookup(lutName);
    if (!lut)
      return fail(file.path(), "missing tensor '" + lutName + "' (the " +
                                   Twine(b) + "-bit lookup table of '" +
                                   planesName +
                                   "', seed_bits = " + Twine(*seed) +
                                   ", parent_bits = " + Twine(*parent) + ")");
    if (Error err = expect(*lut, DType::F16, {rows, int64_t(1) << b}))
      return std::move(err);
  }
  return PackedBits{*parent, *seed};
}

Expected<WeightLayout> detectWeightLayout(const HFModel &model) {
  const ModelConfig &config = model.config();
  WeightLayout layout = WeightLayout::allFP16(config.numLayers);
  // Where a missing tensor is reported: the one weights file, or the
  // directory of a sharded model.
  std::string where = model.files().size() == 1
                          ? model.files().front()->path().str()
                          : model.dir().str();
  // The first packed and the first fp16 projection seen, to name both when
  // a model mixes them.
  std::string firstPacked, firstFP16;
  for (int64_t l = 0; l < config.numLayers; ++l) {
    for (Projection p : kProjections) {
      std::string prefix = projectionPrefix(l, p);
      std::string planes = prefix + ".qweight.planes";
      std::string weight = prefix + ".weight";
      if (model.lookup(planes)) {
        auto [rows, cols] = projectionShape(config, p);
        Expected<PackedBits> bits = readPacked(model, prefix, rows, cols);
        if (!bits)
          return bits.takeError();
        layout.set(l, p, *bits);
        if (firstPacked.empty())
          firstPacked = planes;
      } else if (model.lookup(weight)) {
        if (firstFP16.empty())
          firstFP16 = weight;
      } else {
        return fail(where, "missing tensor '" + weight +
                               "' (or its packed "
                               "form '" +
                               planes + "')");
      }
      if (!firstPacked.empty() && !firstFP16.empty())
        return fail(model.dir(),
                    "mixes packed and fp16 projections ('" + firstPacked +
                        "' is packed, '" + firstFP16 +
                        "' is fp16); quantize every projection or none");
    }
  }
  if (!config.tieWordEmbeddings) {
    if (model.lookup("lm_head.qweight.planes")) {
      if (!firstFP16.empty())
        return fail(model.dir(), "lm_head is packed but the projections are "
                                 "fp16 ('" +
                                     firstFP16 + "'); quantize them too");
      Expected<PackedBits> bits =
          readPacked(model, "lm_head", config.vocabSize, config.hiddenSize);
      if (!bits)
        return bits.takeError();
      layout.setLMHead(*bits);
    } else if (!model.lookup("lm_head.weight")) {
      return fail(where, "missing tensor 'lm_head.weight' (or its packed "
                         "form 'lm_head.qweight.planes')");
    }
  }
  return layout;
}

} // namespace pmpd
