//===- PackedIO.cpp - Packed any-precision weights in safetensors ---------===//
//
// The packed weight as named safetensors tensors and back. Kept apart from the
// quantizer so that the algorithm has no business with files; the reader
// exists for tools and tests that want the weight itself back from a packed
// model (the compiler only binds the tensors by name and checks their shapes
// in pmpd/Import/WeightLayout).
//
//===----------------------------------------------------------------------===//

#include "pmpd/Quant/AnyPrecision.h"
#include "pmpd/Support/Half.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>

using namespace llvm;
using namespace pmpd;

static std::string planesName(StringRef prefix) {
  return (prefix + ".qweight.planes").str();
}

static std::string lutName(StringRef prefix, unsigned bits) {
  return (prefix + ".qweight.lut" + Twine(bits)).str();
}

void AnyPrecisionWeight::addTensors(SafeTensorsWriter &writer,
                                    StringRef prefix) const {
  writer.addTensor(planesName(prefix), DType::U8,
                   {int64_t(parentBits), rows, rowBytes()}, planes);
  for (unsigned b = seedBits; b <= parentBits; ++b) {
    const std::vector<uint16_t> &lut = luts[b - seedBits];
    // safetensors is little-endian; so is every host pmpd runs on.
    writer.addTensor(
        lutName(prefix, b), DType::F16, {rows, int64_t(1) << b},
        ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(lut.data()),
                          lut.size() * sizeof(uint16_t)));
  }
}

static Error fail(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

static std::string describe(DType dtype, ArrayRef<int64_t> shape) {
  std::string s = dtypeName(dtype).str() + " [";
  raw_string_ostream os(s);
  interleave(shape, os, ", ");
  os << "]";
  return s;
}

/// Checks `t` is `dtype` of `shape`.
static Error expectTensor(const TensorView &t, DType dtype,
                          ArrayRef<int64_t> shape, const Twine &why) {
  if (t.dtype == dtype && ArrayRef<int64_t>(t.shape) == shape)
    return Error::success();
  return fail("tensor '" + t.name + "' is " + describe(t.dtype, t.shape) +
              "; " + why + " needs " + describe(dtype, shape));
}

Expected<AnyPrecisionWeight>
pmpd::readAnyPrecision(TensorLookup lookup, StringRef prefix, int64_t cols) {
  std::string name = planesName(prefix);
  const TensorView *planes = lookup(name);
  if (!planes)
    return fail("missing tensor '" + name + "'");
  if (planes->dtype != DType::U8 || planes->shape.size() != 3)
    return fail("tensor '" + name + "' is " +
                describe(planes->dtype, planes->shape) +
                "; bit-planes are U8 [parent_bits, rows, ceil(cols / 8)]");
  int64_t parent = planes->shape[0], rows = planes->shape[1];
  if (parent < 2 || parent > 8)
    return fail("tensor '" + name + "' has " + Twine(parent) +
                " bit-planes; parent bits must be in [2, 8]");
  if (rows <= 0 || cols <= 0)
    return fail("tensor '" + name + "' describes an empty " + Twine(rows) +
                " x " + Twine(cols) + " matrix");

  AnyPrecisionWeight w;
  w.rows = rows;
  w.cols = cols;
  w.parentBits = unsigned(parent);
  if (Error err =
          expectTensor(*planes, DType::U8, {parent, rows, w.rowBytes()},
                       "a " + Twine(rows) + " x " + Twine(cols) + " weight"))
    return std::move(err);
  // The format promises zero pad bits; a set one means corruption or a
  // caller's `cols` that is not the writer's.
  if (cols % 8) {
    uint8_t padMask = uint8_t(0xFF << (cols % 8));
    for (int64_t i = w.rowBytes() - 1; i < int64_t(planes->data.size());
         i += w.rowBytes())
      if (planes->data[i] & padMask)
        return fail("tensor '" + name + "' has a non-zero pad bit in plane " +
                    Twine(i / (rows * w.rowBytes())) + ", row " +
                    Twine(i / w.rowBytes() % rows) +
                    " (columns >= " + Twine(cols) + ")");
  }
  w.planes.assign(planes->data.begin(), planes->data.end());

  // The seed is the narrowest width of an unbroken run of tables ending at
  // the parent.
  unsigned seed = w.parentBits;
  if (!lookup(lutName(prefix, seed)))
    return fail("missing tensor '" + lutName(prefix, seed) +
                "' (the parent-width table of '" + name + "')");
  while (seed > 2 && lookup(lutName(prefix, seed - 1)))
    --seed;
  w.seedBits = seed;
  for (unsigned b = seed; b <= w.parentBits; ++b) {
    const TensorView &lut = *lookup(lutName(prefix, b));
    if (Error err = expectTensor(lut, DType::F16, {rows, int64_t(1) << b},
                                 "the " + Twine(b) + "-bit table of " +
                                     Twine(rows) + " rows"))
      return std::move(err);
    std::vector<uint16_t> entries(size_t(rows) << b);
    std::memcpy(entries.data(), lut.data.data(), lut.data.size());
    for (size_t i = 0; i < entries.size(); ++i)
      if (!std::isfinite(halfToFloat(entries[i])))
        return fail("tensor '" + lut.name + "' entry [" + Twine(i >> b) + ", " +
                    Twine(i & ((size_t(1) << b) - 1)) + "] is not finite");
    w.luts.push_back(std::move(entries));
  }
  return w;
}

Expected<AnyPrecisionWeight> pmpd::readAnyPrecision(const SafeTensorsFile &file,
                                                    StringRef prefix,
                                                    int64_t cols) {
  Expected<AnyPrecisionWeight> w = readAnyPrecision(
      [&](StringRef name) { return file.lookup(name); }, prefix, cols);
  if (!w)
    return fail(file.path() + ": " + toString(w.takeError()));
  return w;
}
