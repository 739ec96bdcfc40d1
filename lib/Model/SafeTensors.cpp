//===- SafeTensors.cpp - Reading and writing safetensors files ------------===//
//
// Weights come from files that pmpd did not write, so nothing in a header is
// trusted: every size and offset is checked (with overflow checks) before a
// TensorView points into the mapped file. The writer mirrors the reference
// implementation's layout (8-byte length, JSON header padded with spaces to
// a multiple of 8, data) so that Python's safetensors reads what we write.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Model/SafeTensors.h"
#include "pmpd/Support/JSONKind.h"
#include "pmpd/Support/Half.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace llvm;

namespace pmpd {

namespace {
struct DTypeInfo {
  DType dtype;
  StringLiteral name;
  size_t size;
};
} // namespace

static constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8},   {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},   {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8},   {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},   {DType::I8, "I8", 1},
    {DType::U64, "U64", 8},   {DType::U32, "U32", 4},
    {DType::U16, "U16", 2},   {DType::U8, "U8", 1},
    {DType::Bool, "BOOL", 1},
};

std::optional<DType> parseDType(StringRef name) {
  for (const DTypeInfo &info : kDTypes)
    if (info.name == name)
      return info.dtype;
  return std::nullopt;
}

StringRef dtypeName(DType dtype) {
  for (const DTypeInfo &info : kDTypes)
    if (info.dtype == dtype)
      return info.name;
  llvm_unreachable("unknown dtype");
}

size_t dtypeSize(DType dtype) {
  for (const DTypeInfo &info : kDTypes)
    if (info.dtype == dtype)
      return info.size;
  llvm_unreachable("unknown dtype");
}

int64_t TensorView::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Expected<std::vector<float>> toFloat32(const TensorView &tensor) {
  size_t n = tensor.data.size() / dtypeSize(tensor.dtype);
  std::vector<float> out(n);
  const uint8_t *src = tensor.data.data();
  switch (tensor.dtype) {
  case DType::F32:
    std::memcpy(out.data(), src, n * sizeof(float));
    return out;
  case DType::F16:
  case DType::BF16: {
    bool isHalf = tensor.dtype == DType::F16;
    for (size_t i = 0; i < n; ++i) {
      // The mapping need not be 2-byte aligned for every tensor.
      uint16_t bits = support::endian::read16le(src + 2 * i);
      out[i] = isHalf ? halfToFloat(bits) : bf16ToFloat(bits);
    }
    return out;
  }
  default:
    return createStringError(inconvertibleErrorCode(),
                             "tensor '" + tensor.name + "' has dtype " +
                                 dtypeName(tensor.dtype) +
                                 "; only F32, F16 and BF16 convert to float");
  }
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

/// The reference implementation refuses larger headers; so do we, which also
/// bounds the work a hostile header can cause.
static constexpr uint64_t kMaxHeaderSize = 100'000'000;

static Error fail(StringRef path, const Twine &problem) {
  return createStringError(inconvertibleErrorCode(), path + ": " + problem);
}


namespace {
/// A header entry after its fields have been type-checked, before its offsets
/// have been checked against each other.
struct RawEntry {
  std::string name;
  DType dtype;
  SmallVector<int64_t> shape;
  uint64_t begin, end;
};
} // namespace

static Expected<RawEntry> parseEntry(StringRef path, StringRef name,
                                     const json::Value &value) {
  auto bad = [&](const Twine &problem) {
    return fail(path, "tensor '" + name + "': " + problem);
  };
  const json::Object *obj = value.getAsObject();
  if (!obj)
    return bad(Twine("entry is ") + jsonKind(value) + ", expected an object");

  RawEntry entry;
  entry.name = name.str();

  const json::Value *dtype = obj->get("dtype");
  if (!dtype)
    return bad("missing 'dtype'");
  std::optional<StringRef> dtypeStr = dtype->getAsString();
  if (!dtypeStr)
    return bad(Twine("'dtype' is ") + jsonKind(*dtype) + ", expected a string");
  std::optional<DType> parsed = parseDType(*dtypeStr);
  if (!parsed)
    return bad("unknown dtype \"" + *dtypeStr + "\"");
  entry.dtype = *parsed;

  const json::Value *shape = obj->get("shape");
  if (!shape)
    return bad("missing 'shape'");
  const json::Array *dims = shape->getAsArray();
  if (!dims)
    return bad(Twine("'shape' is ") + jsonKind(*shape) + ", expected an array");
  for (const json::Value &d : *dims) {
    std::optional<int64_t> dim = d.getAsInteger();
    if (!dim)
      return bad("'shape' holds " + Twine(jsonKind(d)) +
                 " that is not an integer");
    if (*dim < 0)
      return bad("negative dimension " + Twine(*dim) + " in 'shape'");
    entry.shape.push_back(*dim);
  }

  const json::Value *offsets = obj->get("data_offsets");
  if (!offsets)
    return bad("missing 'data_offsets'");
  const json::Array *pair = offsets->getAsArray();
  if (!pair || pair->size() != 2)
    return bad("'data_offsets' must be an array of two integers");
  std::optional<uint64_t> begin = (*pair)[0].getAsUINT64();
  std::optional<uint64_t> end = (*pair)[1].getAsUINT64();
  if (!begin || !end)
    return bad("'data_offsets' must hold two non-negative integers");
  if (*end < *begin)
    return bad("data_offsets [" + Twine(*begin) + ", " + Twine(*end) +
               "] end before they begin");
  entry.begin = *begin;
  entry.end = *end;
  return entry;
}

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleave(shape, os, ", ");
  os << "]";
  return s;
}

Expected<std::unique_ptr<SafeTensorsFile>>
SafeTensorsFile::open(StringRef path) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> bufferOrErr = MemoryBuffer::getFile(
      path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!bufferOrErr)
    return fail(path, "cannot open: " + bufferOrErr.getError().message());

  std::unique_ptr<SafeTensorsFile> file(new SafeTensorsFile());
  file->filePath = path.str();
  file->buffer = std::move(*bufferOrErr);

  const auto *bytes =
      reinterpret_cast<const uint8_t *>(file->buffer->getBufferStart());
  uint64_t fileSize = file->buffer->getBufferSize();
  if (fileSize < 8)
    return fail(path, "file is " + Twine(fileSize) +
                          " bytes, too short for the 8-byte header length");
  uint64_t headerSize = support::endian::read64le(bytes);
  if (headerSize > fileSize - 8)
    return fail(path, "header length " + Twine(headerSize) +
                          " runs past the end of the file (" +
                          Twine(fileSize) + " bytes)");
  if (headerSize > kMaxHeaderSize)
    return fail(path, "header length " + Twine(headerSize) +
                          " exceeds the " + Twine(kMaxHeaderSize) +
                          "-byte limit");

  StringRef headerText(reinterpret_cast<const char *>(bytes + 8), headerSize);
  Expected<json::Value> header = json::parse(headerText);
  if (!header)
    return fail(path, "header is not valid JSON: " +
                          toString(header.takeError()));
  const json::Object *root = header->getAsObject();
  if (!root)
    return fail(path, Twine("header is ") + jsonKind(*header) +
                          ", expected a JSON object");

  uint64_t dataStart = 8 + headerSize;
  uint64_t dataSize = fileSize - dataStart;
  std::vector<RawEntry> entries;
  // Name order, so that a file with several problems always reports the same.
  for (const json::Object::value_type *kvp : json::sortedElements(*root)) {
    const auto &kv = *kvp;
    StringRef key = kv.first;
    if (key == "__metadata__") {
      const json::Object *meta = kv.second.getAsObject();
      if (!meta)
        return fail(path, Twine("__metadata__ is ") + jsonKind(kv.second) +
                              ", expected an object of strings");
      for (const auto &m : *meta) {
        std::optional<StringRef> value = m.second.getAsString();
        if (!value)
          return fail(path, "__metadata__: value of '" + StringRef(m.first) +
                                "' is " + jsonKind(m.second) +
                                ", expected a string");
        file->meta[m.first.str()] = value->str();
      }
      continue;
    }
    Expected<RawEntry> entry = parseEntry(path, key, kv.second);
    if (!entry)
      return entry.takeError();
    entries.push_back(std::move(*entry));
  }

  for (const RawEntry &e : entries) {
    if (e.end > dataSize)
      return fail(path, "tensor '" + e.name + "': data_offsets [" +
                            Twine(e.begin) + ", " + Twine(e.end) +
                            "] are out of range: the data section has " +
                            Twine(dataSize) + " bytes");
    // numElements * dtypeSize, refusing shapes whose size overflows.
    uint64_t expected = dtypeSize(e.dtype);
    bool overflow = false;
    for (int64_t d : e.shape)
      overflow |= __builtin_mul_overflow(expected, uint64_t(d), &expected);
    if (overflow || expected != e.end - e.begin)
      return fail(path, "tensor '" + e.name + "': " + dtypeName(e.dtype) +
                            " shape " + shapeString(e.shape) + " needs " +
                            (overflow ? std::string("more than 2^64")
                                      : std::to_string(expected)) +
                            " bytes but data_offsets [" + Twine(e.begin) +
                            ", " + Twine(e.end) + "] hold " +
                            Twine(e.end - e.begin));
  }

  llvm::sort(entries, [](const RawEntry &a, const RawEntry &b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  // Sorted by begin, a tensor overlaps an earlier one exactly when it begins
  // before the furthest end seen so far (empty tensors overlap nothing).
  const RawEntry *furthest = nullptr;
  for (const RawEntry &e : entries) {
    if (e.begin == e.end)
      continue;
    if (furthest && e.begin < furthest->end)
      return fail(path, "tensors '" + furthest->name + "' [" +
                            Twine(furthest->begin) + ", " +
                            Twine(furthest->end) + ") and '" + e.name + "' [" +
                            Twine(e.begin) + ", " + Twine(e.end) +
                            ") overlap");
    if (!furthest || e.end > furthest->end)
      furthest = &e;
  }

  file->tensorList.reserve(entries.size());
  for (RawEntry &e : entries) {
    TensorView view;
    view.name = std::move(e.name);
    view.dtype = e.dtype;
    view.shape = std::move(e.shape);
    view.data = ArrayRef<uint8_t>(bytes + dataStart + e.begin, e.end - e.begin);
    file->index[view.name] = file->tensorList.size();
    file->tensorList.push_back(std::move(view));
  }
  return std::move(file);
}

const TensorView *SafeTensorsFile::lookup(StringRef name) const {
  auto it = index.find(name.str());
  return it == index.end() ? nullptr : &tensorList[it->second];
}

uint64_t SafeTensorsFile::fileOffset(const TensorView &tensor) const {
  const auto *start =
      reinterpret_cast<const uint8_t *>(buffer->getBufferStart());
  assert(tensor.data.data() >= start &&
         tensor.data.data() <= start + buffer->getBufferSize() &&
         "tensor of another file");
  return uint64_t(tensor.data.data() - start);
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

static uint64_t byteSizeOf(DType dtype, ArrayRef<int64_t> shape) {
  uint64_t n = dtypeSize(dtype);
  for (int64_t d : shape) {
    assert(d >= 0 && "negative dimension");
    n *= uint64_t(d);
  }
  return n;
}

void SafeTensorsWriter::addTensor(StringRef name, DType dtype,
                                  ArrayRef<int64_t> shape,
                                  ArrayRef<uint8_t> bytes) {
  assert(bytes.size() == byteSizeOf(dtype, shape) &&
         "byte count disagrees with shape and dtype");
  assert(name != "__metadata__" && "reserved name");
  Entry &e = entries[name.str()];
  e = Entry();
  e.dtype = dtype;
  e.shape.assign(shape.begin(), shape.end());
  e.bytes.assign(bytes.begin(), bytes.end());
  e.byteSize = bytes.size();
}

void SafeTensorsWriter::addGeneratedTensor(StringRef name, DType dtype,
                                           ArrayRef<int64_t> shape,
                                           Generator generator) {
  assert(name != "__metadata__" && "reserved name");
  Entry &e = entries[name.str()];
  e = Entry();
  e.dtype = dtype;
  e.shape.assign(shape.begin(), shape.end());
  e.generator = std::move(generator);
  e.byteSize = byteSizeOf(dtype, shape);
}

void SafeTensorsWriter::addMetadata(StringRef key, StringRef value) {
  meta[key.str()] = value.str();
}

std::string SafeTensorsWriter::header() const {
  std::string text;
  raw_string_ostream os(text);
  json::OStream j(os);
  // std::map iterates in name order, which makes the bytes independent of
  // the order tensors were added in.
  j.object([&] {
    if (!meta.empty())
      j.attributeObject("__metadata__", [&] {
        for (const auto &m : meta)
          j.attribute(m.first, m.second);
      });
    uint64_t offset = 0;
    for (const auto &kv : entries) {
      const Entry &e = kv.second;
      j.attributeObject(kv.first, [&] {
        j.attribute("dtype", dtypeName(e.dtype));
        j.attributeArray("shape", [&] {
          for (int64_t d : e.shape)
            j.value(d);
        });
        j.attributeArray("data_offsets", [&] {
          j.value(int64_t(offset));
          j.value(int64_t(offset + e.byteSize));
        });
      });
      offset += e.byteSize;
    }
  });
  os.flush();
  // Padding keeps the data section 8-byte aligned, as the reference does.
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

uint64_t SafeTensorsWriter::fileSize() const {
  uint64_t size = 8 + header().size();
  for (const auto &kv : entries)
    size += kv.second.byteSize;
  return size;
}

Error SafeTensorsWriter::write(
    StringRef path, const std::function<void(uint64_t)> &onProgress) const {
  SmallString<256> tmpPath;
  int fd;
  if (std::error_code ec =
          sys::fs::createUniqueFile(path + ".tmp-%%%%%%%%", fd, tmpPath))
    return fail(path, "cannot create a temporary file: " + ec.message());

  auto cleanup = [&](const Twine &problem) {
    sys::fs::remove(tmpPath);
    return fail(path, problem);
  };

  {
    raw_fd_ostream os(fd, /*shouldClose=*/true);
    std::string text = header();
    char length[8];
    support::endian::write64le(length, text.size());
    os.write(length, 8);
    os << text;

    // Generated tensors are produced a chunk at a time so that a multi-GB
    // tensor never has to be in memory whole.
    constexpr uint64_t kChunkBytes = 32 << 20;
    std::vector<uint8_t> chunk;
    for (const auto &kv : entries) {
      const Entry &e = kv.second;
      if (!e.generator) {
        os.write(reinterpret_cast<const char *>(e.bytes.data()),
                 e.bytes.size());
        if (onProgress)
          onProgress(e.bytes.size());
        continue;
      }
      for (uint64_t offset = 0; offset < e.byteSize; offset += kChunkBytes) {
        uint64_t n = std::min(kChunkBytes, e.byteSize - offset);
        chunk.resize(n);
        e.generator(offset, MutableArrayRef<uint8_t>(chunk.data(), n));
        os.write(reinterpret_cast<const char *>(chunk.data()), n);
        if (onProgress)
          onProgress(n);
      }
      if (os.has_error())
        break;
    }
    os.close();
    if (os.has_error()) {
      std::string message = os.error().message();
      os.clear_error();
      return cleanup("write failed: " + message);
    }
  }
  if (std::error_code ec = sys::fs::rename(tmpPath, path))
    return cleanup("cannot rename " + tmpPath + " into place: " +
                   ec.message());
  return Error::success();
}

} // namespace pmpd
