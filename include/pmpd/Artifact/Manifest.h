//===- Manifest.h - The artifact directory's manifest.json ------*- C++ -*-===//
//
// What pmpd-compile writes and the runtime checks before it runs anything:
// the format version, the model, the schedule and its precisions, the target,
// the entry points, the KV-cache geometry, and the size and hash of every
// file, so that a corrupt, truncated, swapped or stale artifact is an error
// rather than wrong output. The compiler and the runtime share this library
// (it needs LLVM Support only).
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_ARTIFACT_MANIFEST_H
#define PMPD_ARTIFACT_MANIFEST_H

#include "pmpd/Model/ModelConfig.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pmpd {

struct ArtifactFile {
  int64_t bytes = 0;
  std::string xxh3; // 16 hex digits of xxh3_64bits of the contents.
};

struct Manifest {
  static constexpr int64_t kFormatVersion = 2;
  static constexpr llvm::StringLiteral kFileName = "manifest.json";
  static constexpr int64_t kMaxSchedulerState = 64;
  /// The entry points every target's library exports (MLIR C interfaces of
  /// @prefill and @decode); a manifest naming others is refused, so that it
  /// cannot make the runtime call another symbol with these arguments.
  static constexpr llvm::StringLiteral kPrefillEntry = "_mlir_ciface_prefill";
  static constexpr llvm::StringLiteral kDecodeEntry = "_mlir_ciface_decode";

  int64_t formatVersion = kFormatVersion;
  std::string target;     // A registered target's name: "cpu", "gpu".
  std::string targetArch; // What the code was generated for: a CPU name
                          // ("sapphirerapids") or a GPU ("sm_90").
  std::string schedule; // The schedule spec, e.g. "prefill=4;decode=4@0,3@64".
  unsigned prefillBits = 16;
  std::vector<unsigned> decodeBits; // Distinct, in schedule order.
  ModelConfig model;
  std::string weightsFile; // Plain file names inside the artifact directory.
  std::string libraryFile;
  std::string tokenizerFile;
  std::string prefillEntry; // C-interface symbols of the library.
  std::string decodeEntry;
  int64_t cachePositions = 0; // KV cache: [layers][positions][kv heads][dim].
  /// f32 elements of scheduler state the decode entry takes and updates in
  /// place (a learned schedule); 0 when it takes none.
  int64_t schedulerState = 0;
  std::map<std::string, ArtifactFile> files;

  /// Reads and checks `dir`/manifest.json: format version, required fields,
  /// and that every listed file exists with the recorded size and hash.
  static llvm::Expected<Manifest> load(llvm::StringRef dir);
  /// Records size and hash of `name` (relative to `dir`) in `files`.
  llvm::Error addFile(llvm::StringRef dir, llvm::StringRef name);
  llvm::Error write(llvm::StringRef dir) const;
  /// `dir`/`name`.
  static std::string pathIn(llvm::StringRef dir, llvm::StringRef name);
};

/// What the compiled code's buffers are shaped for. The compiler records it
/// in the library itself (an exported array of int64 named kSymbol), so that
/// the runtime can refuse a manifest that disagrees with the code: the
/// buffers it allocates and the tokens it accepts come from the manifest.
struct ArtifactGeometry {
  static constexpr llvm::StringLiteral kSymbol = "pmpd_artifact_geometry";
  static constexpr size_t kFields = 7;

  int64_t layers = 0, cachePositions = 0, kvHeads = 0, headDim = 0,
          vocabSize = 0, hiddenSize = 0, schedulerState = 0;

  static ArtifactGeometry of(const Manifest &manifest);
  /// The fields in the order of the exported array, and back.
  std::array<int64_t, kFields> values() const;
  static ArtifactGeometry fromValues(llvm::ArrayRef<int64_t> values);
  bool operator==(const ArtifactGeometry &other) const {
    return values() == other.values();
  }
  bool operator!=(const ArtifactGeometry &other) const {
    return !(*this == other);
  }
  /// f32 elements of each of the K and V caches,
  /// [layers][cachePositions][kvHeads][headDim].
  int64_t cacheElements() const {
    return layers * cachePositions * kvHeads * headDim;
  }
  /// "6 layers, 1024 KV positions, 4 KV heads of 64, vocabulary 8192, ...".
  std::string describe() const;
};

bool fromJSON(const llvm::json::Value &value, ArtifactFile &file,
              llvm::json::Path path);
bool fromJSON(const llvm::json::Value &value, Manifest &manifest,
              llvm::json::Path path);
llvm::json::Value toJSON(const ArtifactFile &file);
llvm::json::Value toJSON(const Manifest &manifest);

} // namespace pmpd

#endif // PMPD_ARTIFACT_MANIFEST_H
