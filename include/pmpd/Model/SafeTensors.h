//===- SafeTensors.h - Reading and writing safetensors files ----*- C++ -*-===//
//
// The safetensors container: an 8-byte little-endian header length, a JSON
// header mapping tensor names to dtype, shape and byte offsets, then the data.
// Files are memory-mapped; every offset, size and dtype is validated before a
// tensor is handed out, so a malformed file is an error, never a crash.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_MODEL_SAFETENSORS_H
#define PMPD_MODEL_SAFETENSORS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pmpd {

/// Element types of safetensors files (the names the format uses).
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, Bool };

/// "F16" -> DType::F16; fails on names the format does not define.
std::optional<DType> parseDType(llvm::StringRef name);
llvm::StringRef dtypeName(DType dtype);
size_t dtypeSize(DType dtype);

/// A tensor inside a mapped file (or a writer's buffer): no copy is made.
struct TensorView {
  std::string name;
  DType dtype;
  llvm::SmallVector<int64_t> shape;
  llvm::ArrayRef<uint8_t> data;

  int64_t numElements() const;
};

/// "[2, 3]": how every error message writes a shape.
std::string shapeString(llvm::ArrayRef<int64_t> shape);

/// The tensor as fp32. F16, BF16 and F32 are converted; other dtypes are an
/// error naming the tensor.
llvm::Expected<std::vector<float>> toFloat32(const TensorView &tensor);

/// One memory-mapped .safetensors file.
class SafeTensorsFile {
public:
  /// Maps and validates `path`. Errors name the file and what is wrong:
  /// truncated header, header length past the end, malformed JSON, unknown
  /// dtype, data offsets out of range, overlapping or not matching the shape.
  static llvm::Expected<std::unique_ptr<SafeTensorsFile>>
  open(llvm::StringRef path);

  llvm::StringRef path() const { return filePath; }
  /// Tensors in file order (ascending data offset).
  llvm::ArrayRef<TensorView> tensors() const { return tensorList; }
  /// nullptr when the file has no tensor of that name.
  const TensorView *lookup(llvm::StringRef name) const;
  /// Byte offset of `tensor` (one of this file's) from the start of the file,
  /// for consumers that map the file themselves.
  uint64_t fileOffset(const TensorView &tensor) const;
  /// The header's "__metadata__" string map.
  const std::map<std::string, std::string> &metadata() const { return meta; }

private:
  SafeTensorsFile() = default;
  std::string filePath;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  std::vector<TensorView> tensorList;
  std::map<std::string, size_t> index;
  std::map<std::string, std::string> meta;
};

/// Builds a safetensors file. The output is deterministic: the same tensors
/// and metadata give the same bytes whatever order they were added in.
class SafeTensorsWriter {
public:
  /// Copies `bytes`; its size must equal the shape's element count times the
  /// dtype's size (asserted).
  void addTensor(llvm::StringRef name, DType dtype,
                 llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<uint8_t> bytes);
  /// Fills `chunk` with the tensor's bytes starting at `byteOffset`. Called
  /// by `write` in ascending, contiguous chunks whose boundaries are multiples
  /// of the dtype size; it must give the same bytes for the same range.
  using Generator = std::function<void(uint64_t byteOffset,
                                       llvm::MutableArrayRef<uint8_t> chunk)>;
  /// A tensor whose bytes are produced while writing, so that files larger
  /// than memory can be written: at most one chunk is held at a time.
  void addGeneratedTensor(llvm::StringRef name, DType dtype,
                          llvm::ArrayRef<int64_t> shape, Generator generator);
  void addMetadata(llvm::StringRef key, llvm::StringRef value);
  /// Bytes the file will take (header included).
  uint64_t fileSize() const;
  /// Writes atomically (temporary file, then rename). `onProgress`, when
  /// given, is called with the number of data bytes written since its
  /// previous call.
  llvm::Error
  write(llvm::StringRef path,
        const std::function<void(uint64_t)> &onProgress = nullptr) const;

private:
  struct Entry {
    DType dtype;
    llvm::SmallVector<int64_t> shape;
    std::vector<uint8_t> bytes;
    Generator generator; // Set instead of `bytes` for generated tensors.
    uint64_t byteSize = 0;
  };
  std::string header() const;
  std::map<std::string, Entry> entries;
  std::map<std::string, std::string> meta;
};

} // namespace pmpd

#endif // PMPD_MODEL_SAFETENSORS_H
