//===- Manifest.cpp - The artifact directory's manifest.json --------------===//

#include "pmpd/Artifact/Manifest.h"
#include "pmpd/Support/FileHash.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace pmpd;
using llvm::json::Array;
using llvm::json::Object;
using llvm::json::ObjectMapper;
using llvm::json::Path;
using llvm::json::Value;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string Manifest::pathIn(llvm::StringRef dir, llvm::StringRef name) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  return std::string(path);
}

ArtifactGeometry ArtifactGeometry::of(const Manifest &m) {
  ArtifactGeometry g;
  g.layers = m.model.numLayers;
  g.cachePositions = m.cachePositions;
  g.kvHeads = m.model.numKVHeads;
  g.headDim = m.model.headDim;
  g.vocabSize = m.model.vocabSize;
  g.hiddenSize = m.model.hiddenSize;
  g.schedulerState = m.schedulerState;
  return g;
}

std::array<int64_t, ArtifactGeometry::kFields>
ArtifactGeometry::values() const {
  return {layers,    cachePositions, kvHeads,       headDim,
          vocabSize, hiddenSize,     schedulerState};
}

ArtifactGeometry ArtifactGeometry::fromValues(llvm::ArrayRef<int64_t> v) {
  assert(v.size() == kFields && "one value per field");
  ArtifactGeometry g;
  std::tie(g.layers, g.cachePositions, g.kvHeads, g.headDim, g.vocabSize,
           g.hiddenSize, g.schedulerState) =
      std::make_tuple(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
  return g;
}

std::string ArtifactGeometry::describe() const {
  return llvm::formatv("{0} layers, {1} KV positions, {2} KV heads of {3}, "
                       "vocabulary {4}, hidden size {5}, scheduler state {6}",
                       layers, cachePositions, kvHeads, headDim, vocabSize,
                       hiddenSize, schedulerState)
      .str();
}

bool pmpd::fromJSON(const Value &value, ArtifactFile &file, Path path) {
  ObjectMapper o(value, path);
  return o && o.map("bytes", file.bytes) && o.map("xxh3", file.xxh3);
}

Value pmpd::toJSON(const ArtifactFile &file) {
  return Object{{"bytes", file.bytes}, {"xxh3", file.xxh3}};
}

namespace {
/// The model section is config.json's form; ModelConfig checks it.
bool mapModel(const Value &value, ModelConfig &config, Path path) {
  std::string text;
  llvm::raw_string_ostream(text) << value;
  auto parsed = ModelConfig::parse(text, "field 'model'");
  if (!parsed) {
    path.report("not a valid model config");
    llvm::consumeError(parsed.takeError());
    return false;
  }
  config = *parsed;
  return true;
}
} // namespace

bool pmpd::fromJSON(const Value &value, Manifest &m, Path path) {
  ObjectMapper o(value, path);
  if (!o)
    return false;
  std::string format;
  if (!o.map("format", format))
    return false;
  if (format != "pmpd-artifact") {
    path.field("format").report("expected \"pmpd-artifact\"");
    return false;
  }
  const Value *model = value.getAsObject()->get("model");
  if (!model) {
    path.field("model").report("missing value");
    return false;
  }
  const Object *entries = value.getAsObject()->getObject("entry_points");
  Path entryPath = path.field("entry_points");
  if (!entries) {
    entryPath.report("expected an object {\"prefill\", \"decode\"}");
    return false;
  }
  ObjectMapper e(*value.getAsObject()->get("entry_points"), entryPath);
  return o.map("format_version", m.formatVersion) &&
         o.map("target", m.target) && o.map("target_arch", m.targetArch) &&
         o.map("schedule", m.schedule) &&
         o.map("prefill_bits", m.prefillBits) &&
         o.map("decode_bits", m.decodeBits) &&
         mapModel(*model, m.model, path.field("model")) &&
         o.map("weights", m.weightsFile) && o.map("library", m.libraryFile) &&
         o.map("tokenizer", m.tokenizerFile) &&
         e.map("prefill", m.prefillEntry) && e.map("decode", m.decodeEntry) &&
         o.map("kv_cache_positions", m.cachePositions) &&
         o.map("scheduler_state", m.schedulerState) && o.map("files", m.files);
}

Value pmpd::toJSON(const Manifest &m) {
  Object files;
  for (const auto &[name, file] : m.files)
    files[name] = toJSON(file);
  return Object{
      {"format", "pmpd-artifact"},
      {"format_version", m.formatVersion},
      {"target", m.target},
      {"target_arch", m.targetArch},
      {"schedule", m.schedule},
      {"prefill_bits", int64_t(m.prefillBits)},
      {"decode_bits", m.decodeBits},
      {"model", m.model.toJSON()},
      {"weights", m.weightsFile},
      {"library", m.libraryFile},
      {"tokenizer", m.tokenizerFile},
      {"entry_points",
       Object{{"prefill", m.prefillEntry}, {"decode", m.decodeEntry}}},
      {"kv_cache_positions", m.cachePositions},
      {"scheduler_state", m.schedulerState},
      {"files", std::move(files)},
  };
}

llvm::Error Manifest::addFile(llvm::StringRef dir, llvm::StringRef name) {
  std::string path = pathIn(dir, name);
  uint64_t size;
  if (std::error_code ec = llvm::sys::fs::file_size(path, size))
    return makeError(path + ": " + ec.message());
  auto hash = hashFile(path);
  if (!hash)
    return hash.takeError();
  files[name.str()] = ArtifactFile{int64_t(size), *hash};
  return llvm::Error::success();
}

llvm::Error Manifest::write(llvm::StringRef dir) const {
  std::string path = pathIn(dir, kFileName);
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return makeError(path + ": " + ec.message());
  os << llvm::formatv("{0:2}", toJSON(*this)) << "\n";
  return llvm::Error::success();
}

/// A name of a file in the artifact directory itself: no directory part,
/// not "." or "..".
static bool isPlainFileName(llvm::StringRef name) {
  return !name.empty() && name != "." && name != ".." && !name.contains('/') &&
         llvm::sys::path::filename(name) == name;
}

static std::string notInside(llvm::StringRef name) {
  return ("'" + name + "' is not a file name inside the artifact directory")
      .str();
}

/// What the mapping cannot say: values in range and fields that agree.
static llvm::Error checkFields(const Manifest &m, llvm::StringRef path) {
  auto fieldError = [&](llvm::StringRef field, const llvm::Twine &what) {
    return makeError(path + ": field '" + field + "': " + what);
  };
  for (auto [field, value] :
       std::initializer_list<std::pair<llvm::StringRef, const std::string *>>{
           {"target", &m.target},
           {"target_arch", &m.targetArch},
           {"schedule", &m.schedule},
           {"entry_points", &m.prefillEntry},
           {"entry_points", &m.decodeEntry}})
    if (value->empty())
      return fieldError(field, "must not be empty");
  if (m.prefillEntry != Manifest::kPrefillEntry ||
      m.decodeEntry != Manifest::kDecodeEntry)
    return fieldError("entry_points", "expected \"" + Manifest::kPrefillEntry +
                                          "\" and \"" + Manifest::kDecodeEntry +
                                          "\", the compiled C "
                                          "interfaces");
  // The files the runtime opens live in the artifact directory itself: a
  // manifest must not point the runtime at a library or weights elsewhere.
  for (auto [field, name] :
       std::initializer_list<std::pair<llvm::StringRef, const std::string *>>{
           {"weights", &m.weightsFile},
           {"library", &m.libraryFile},
           {"tokenizer", &m.tokenizerFile}}) {
    if (!isPlainFileName(*name))
      return fieldError(field, notInside(*name));
    if (!m.files.count(*name))
      return fieldError("files", "does not list '" + *name + "'");
  }
  for (const auto &[name, file] : m.files)
    if (!isPlainFileName(name))
      return fieldError("files", notInside(name));
  if (m.decodeBits.empty())
    return fieldError("decode_bits", "must not be empty");
  if (m.cachePositions <= 0)
    return fieldError("kv_cache_positions", "must be positive");
  if (m.schedulerState < 0 || m.schedulerState > Manifest::kMaxSchedulerState)
    return fieldError("scheduler_state",
                      "must be an integer in [0, " +
                          llvm::Twine(Manifest::kMaxSchedulerState) + "]");
  // Only a learned schedule's decode entry takes a state; the two disagreeing
  // would call the library with the wrong arguments.
  bool learned = llvm::StringRef(m.schedule).contains(";learned=");
  if (learned != (m.schedulerState > 0))
    return fieldError("scheduler_state",
                      learned ? "a learned schedule needs the scheduler's "
                                "state size"
                              : "only a learned schedule has a state");
  return llvm::Error::success();
}

llvm::Expected<Manifest> Manifest::load(llvm::StringRef dir) {
  std::string path = pathIn(dir, kFileName);
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return makeError(path + ": " + buffer.getError().message() +
                     " (is this an artifact directory made by pmpd-compile?)");
  auto parsed = llvm::json::parse((*buffer)->getBuffer());
  if (!parsed)
    return makeError(path +
                     ": malformed JSON: " + llvm::toString(parsed.takeError()));
  // The version first: another version's fields may legitimately differ.
  if (const Object *root = parsed->getAsObject())
    if (std::optional<int64_t> version = root->getInteger("format_version");
        version && *version != kFormatVersion)
      return makeError(path + ": artifact format version " +
                       llvm::Twine(*version) +
                       " is not supported (this "
                       "runtime reads version " +
                       llvm::Twine(kFormatVersion) +
                       "); recompile the model with this pmpd-compile");

  Manifest m;
  Path::Root root("manifest");
  if (!fromJSON(*parsed, m, root))
    return makeError(path + ": " + llvm::toString(root.getError()));
  if (llvm::Error error = checkFields(m, path))
    return std::move(error);

  // Every file as compiled: inside the directory (no link out of it),
  // present, same size, same contents.
  llvm::SmallString<256> realDir;
  if (std::error_code ec = llvm::sys::fs::real_path(dir, realDir))
    return makeError(dir + ": " + ec.message());
  for (const auto &[name, expected] : m.files) {
    std::string filePath = pathIn(dir, name);
    llvm::SmallString<256> realFile;
    if (!llvm::sys::fs::real_path(filePath, realFile) &&
        llvm::sys::path::parent_path(realFile) != realDir)
      return makeError(filePath + ": resolves to " + realFile +
                       ", outside the artifact directory");
    uint64_t size;
    if (std::error_code ec = llvm::sys::fs::file_size(filePath, size))
      return makeError(filePath + ": " + ec.message() +
                       " (listed in the manifest)");
    if (int64_t(size) != expected.bytes)
      return makeError(filePath + ": " + llvm::Twine(size) +
                       " bytes, but the manifest records " +
                       llvm::Twine(expected.bytes) +
                       " (truncated or replaced since compilation)");
    auto hash = hashFile(filePath);
    if (!hash)
      return hash.takeError();
    if (*hash != expected.xxh3)
      return makeError(filePath +
                       ": contents differ from the compiled "
                       "artifact (xxh3 " +
                       *hash + ", manifest " + expected.xxh3 +
                       "); recompile the model");
  }
  return m;
}
