//===- Manifest.cpp - The artifact directory's manifest.json --------------===//

#include "pmpd/Runtime/Manifest.h"
#include "pmpd/Support/FileHash.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace pmpd;
using llvm::json::Array;
using llvm::json::Object;
using llvm::json::Value;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static std::string join(llvm::StringRef dir, llvm::StringRef name) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  return std::string(path);
}

llvm::Error Manifest::addFile(llvm::StringRef dir, llvm::StringRef name) {
  std::string path = join(dir, name);
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
  Object filesJSON;
  for (const auto &[name, file] : files)
    filesJSON[name] = Object{{"bytes", file.bytes}, {"xxh3", file.xxh3}};
  Array decode;
  for (unsigned bits : decodeBits)
    decode.push_back(int64_t(bits));
  Object root{
      {"format", "pmpd-artifact"},
      {"format_version", formatVersion},
      {"target", target},
      {"cpu", cpu},
      {"schedule", schedule},
      {"prefill_bits", int64_t(prefillBits)},
      {"decode_bits", std::move(decode)},
      {"model", model.toJSON()},
      {"weights", weightsFile},
      {"library", libraryFile},
      {"tokenizer", tokenizerFile},
      {"entry_points",
       Object{{"prefill", prefillEntry}, {"decode", decodeEntry}}},
      {"kv_cache_positions", cachePositions},
      {"scheduler_state", schedulerState},
      {"files", std::move(filesJSON)},
  };
  std::string path = join(dir, kFileName);
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return makeError(path + ": " + ec.message());
  os << llvm::formatv("{0:2}", Value(std::move(root))) << "\n";
  return llvm::Error::success();
}

llvm::Expected<Manifest> Manifest::load(llvm::StringRef dir) {
  std::string path = join(dir, kFileName);
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return makeError(path + ": " + buffer.getError().message() +
                     " (is this an artifact directory made by pmpd-compile?)");
  auto parsed = llvm::json::parse((*buffer)->getBuffer());
  if (!parsed)
    return makeError(path + ": malformed JSON: " +
                     llvm::toString(parsed.takeError()));
  const Object *root = parsed->getAsObject();
  if (!root)
    return makeError(path + ": expected a JSON object");
  auto fieldError = [&](llvm::StringRef field, llvm::StringRef what) {
    return makeError(path + ": field '" + field + "': " + what);
  };

  Manifest m;
  if (root->getString("format") != llvm::StringRef("pmpd-artifact"))
    return fieldError("format", "expected \"pmpd-artifact\"");
  std::optional<int64_t> version = root->getInteger("format_version");
  if (!version)
    return fieldError("format_version", "missing or not an integer");
  if (*version != kFormatVersion)
    return makeError(path + ": artifact format version " +
                     llvm::Twine(*version) + " is not supported (this "
                     "runtime reads version " + llvm::Twine(kFormatVersion) +
                     "); recompile the model with this pmpd-compile");
  m.formatVersion = *version;

  auto getString = [&](llvm::StringRef field,
                       std::string &out) -> llvm::Error {
    std::optional<llvm::StringRef> value = root->getString(field);
    if (!value || value->empty())
      return fieldError(field, "missing or not a non-empty string");
    out = value->str();
    return llvm::Error::success();
  };
  for (auto [field, out] :
       std::initializer_list<std::pair<llvm::StringRef, std::string *>>{
           {"target", &m.target},
           {"cpu", &m.cpu},
           {"schedule", &m.schedule},
           {"weights", &m.weightsFile},
           {"library", &m.libraryFile},
           {"tokenizer", &m.tokenizerFile}})
    if (llvm::Error error = getString(field, *out))
      return std::move(error);

  std::optional<int64_t> prefill = root->getInteger("prefill_bits");
  if (!prefill)
    return fieldError("prefill_bits", "missing or not an integer");
  m.prefillBits = unsigned(*prefill);
  const Array *decode = root->getArray("decode_bits");
  if (!decode || decode->empty())
    return fieldError("decode_bits", "missing or empty");
  for (const Value &bits : *decode) {
    std::optional<int64_t> b = bits.getAsInteger();
    if (!b)
      return fieldError("decode_bits", "not an array of integers");
    m.decodeBits.push_back(unsigned(*b));
  }

  const Object *entries = root->getObject("entry_points");
  if (!entries || !entries->getString("prefill") ||
      !entries->getString("decode"))
    return fieldError("entry_points", "expected {\"prefill\", \"decode\"}");
  m.prefillEntry = entries->getString("prefill")->str();
  m.decodeEntry = entries->getString("decode")->str();
  std::optional<int64_t> positions = root->getInteger("kv_cache_positions");
  if (!positions || *positions <= 0)
    return fieldError("kv_cache_positions", "missing or not positive");
  m.cachePositions = *positions;
  std::optional<int64_t> state = root->getInteger("scheduler_state");
  if (!state || *state < 0 || *state > kMaxSchedulerState)
    return fieldError("scheduler_state",
                      "missing or not an integer in [0, " +
                          llvm::Twine(kMaxSchedulerState).str() + "]");
  m.schedulerState = *state;
  // Only a learned schedule's decode entry takes a state; the two disagreeing
  // would call the library with the wrong arguments.
  bool learned = llvm::StringRef(m.schedule).contains(";learned=");
  if (learned != (m.schedulerState > 0))
    return fieldError("scheduler_state",
                      learned ? "a learned schedule needs the scheduler's "
                                "state size"
                              : "only a learned schedule has a state");

  const Value *model = root->get("model");
  if (!model)
    return fieldError("model", "missing");
  std::string modelText;
  llvm::raw_string_ostream(modelText) << *model;
  auto config = ModelConfig::parse(modelText, path + " (field 'model')");
  if (!config)
    return config.takeError();
  m.model = *config;

  const Object *files = root->getObject("files");
  if (!files)
    return fieldError("files", "missing or not an object");
  for (const auto &[name, entry] : *files) {
    const Object *file = entry.getAsObject();
    if (!file || !file->getInteger("bytes") || !file->getString("xxh3"))
      return fieldError("files", "entry '" + name.str() +
                                     "' needs bytes and xxh3");
    m.files[name.str()] = ArtifactFile{*file->getInteger("bytes"),
                                       file->getString("xxh3")->str()};
  }
  for (const std::string *needed :
       {&m.weightsFile, &m.libraryFile, &m.tokenizerFile})
    if (!m.files.count(*needed))
      return fieldError("files", "does not list '" + *needed + "'");

  // Every file as compiled: present, same size, same contents.
  for (const auto &[name, expected] : m.files) {
    std::string filePath = join(dir, name);
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
      return makeError(filePath + ": contents differ from the compiled "
                       "artifact (xxh3 " + *hash + ", manifest " +
                       expected.xxh3 + "); recompile the model");
  }
  return m;
}
