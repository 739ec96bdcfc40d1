//===- KVCacheScheduler.cpp - Reading prompt-adaptive scheduler files -----===//
//
// The file is read with llvm::json's mapping, so a missing or mistyped field
// is reported with its path ("expected array at
// kv-cache-scheduler.classifiers[1].query"); the checks after it are about
// what the mapping cannot see: sizes, precisions, steps.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Dialect/PMPD/IR/KVCacheScheduler.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

using namespace pmpd;

namespace {

/// A classifier as the file holds it, numbers as JSON reads them.
struct ClassifierJSON {
  int64_t high = 0, low = 0;
  std::vector<double> query, normWeight, normBias, hiddenWeight, hiddenBias,
      outWeight, outBias;
};

struct SchedulerJSON {
  std::string format;
  int64_t version = 0;
  std::vector<int64_t> bits, switchSteps;
  int64_t heads = 0, headDim = 0;
  std::optional<double> normEpsilon;
  std::vector<ClassifierJSON> classifiers;
};

bool fromJSON(const llvm::json::Value &value, ClassifierJSON &c,
              llvm::json::Path path) {
  llvm::json::ObjectMapper o(value, path);
  return o && o.map("high", c.high) && o.map("low", c.low) &&
         o.map("query", c.query) && o.map("norm_weight", c.normWeight) &&
         o.map("norm_bias", c.normBias) &&
         o.map("hidden_weight", c.hiddenWeight) &&
         o.map("hidden_bias", c.hiddenBias) &&
         o.map("out_weight", c.outWeight) && o.map("out_bias", c.outBias);
}

bool fromJSON(const llvm::json::Value &value, SchedulerJSON &s,
              llvm::json::Path path) {
  llvm::json::ObjectMapper o(value, path);
  return o && o.map("format", s.format) && o.map("version", s.version) &&
         o.map("bits", s.bits) && o.map("switch_steps", s.switchSteps) &&
         o.map("heads", s.heads) && o.map("head_dim", s.headDim) &&
         o.mapOptional("norm_epsilon", s.normEpsilon) &&
         o.map("classifiers", s.classifiers);
}

llvm::Error fileError(llvm::StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": " + message);
}

} // namespace

llvm::Expected<KVCacheScheduler> KVCacheScheduler::parse(llvm::StringRef json,
                                                         llvm::StringRef path) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(json);
  if (!parsed)
    return fileError(path,
                     "malformed JSON: " + llvm::toString(parsed.takeError()));
  const llvm::json::Object *object = parsed->getAsObject();
  std::optional<llvm::StringRef> format =
      object ? object->getString("format") : std::nullopt;
  if (!format || *format != kFormat)
    return fileError(path, "not a kv-cache scheduler: \"format\" must be \"" +
                               kFormat + "\"");
  SchedulerJSON file;
  llvm::json::Path::Root root("kv-cache-scheduler");
  if (!fromJSON(*parsed, file, root))
    return fileError(path, llvm::toString(root.getError()));
  if (file.version != kFormatVersion)
    return fileError(path, "unsupported version " + llvm::Twine(file.version) +
                               "; this build reads version " +
                               llvm::Twine(kFormatVersion));

  KVCacheScheduler result;
  result.bits.assign(file.bits.begin(), file.bits.end());
  result.switchSteps.assign(file.switchSteps.begin(), file.switchSteps.end());
  result.heads = file.heads;
  result.headDim = file.headDim;
  result.normEpsilon = file.normEpsilon.value_or(1e-5);
  if (result.bits.size() < 2)
    return fileError(path, "\"bits\" must list at least two precisions");
  for (size_t i = 0; i < result.bits.size(); ++i) {
    int64_t b = result.bits[i];
    if (b < 2 || (b > 8 && b != 16))
      return fileError(path, "bits[" + llvm::Twine(i) + "] is " +
                                 llvm::Twine(b) +
                                 "; expected 2 to 8, or 16 for fp16");
    if (i && b >= result.bits[i - 1])
      return fileError(path, "\"bits\" must fall strictly: " + llvm::Twine(b) +
                                 " follows " + llvm::Twine(result.bits[i - 1]));
  }
  if (result.switchSteps.empty())
    return fileError(path, "\"switch_steps\" lists no candidate step");
  for (size_t i = 0; i < result.switchSteps.size(); ++i)
    if (result.switchSteps[i] < 0 ||
        (i && result.switchSteps[i] <= result.switchSteps[i - 1]))
      return fileError(path, "\"switch_steps\" must be steps (>= 0) in "
                             "increasing order");
  if (result.heads <= 0 || result.headDim <= 0)
    return fileError(path, "\"heads\" and \"head_dim\" must be positive");
  if (!(result.normEpsilon > 0))
    return fileError(path, "\"norm_epsilon\" must be positive");
  if (file.classifiers.size() != result.bits.size() - 1)
    return fileError(path, "expected one classifier per switch, " +
                               llvm::Twine(result.bits.size() - 1) +
                               " for bits " + llvm::Twine(result.bits.size()) +
                               " precisions; got " +
                               llvm::Twine(file.classifiers.size()));

  int64_t n = result.features(), classes = result.classes();
  for (auto [i, c] : llvm::enumerate(file.classifiers)) {
    std::string where = ("classifiers[" + llvm::Twine(i) + "]").str();
    if (c.high != result.bits[i] || c.low != result.bits[i + 1])
      return fileError(path, where + " decides " + llvm::Twine(c.high) +
                                 " -> " + llvm::Twine(c.low) +
                                 " bits; expected " +
                                 llvm::Twine(result.bits[i]) + " -> " +
                                 llvm::Twine(result.bits[i + 1]));
    Classifier out;
    out.high = c.high;
    out.low = c.low;
    struct Field {
      const char *name;
      const std::vector<double> &values;
      int64_t size;
      std::vector<float> &into;
    } fields[] = {
        {"query", c.query, result.heads * n, out.query},
        {"norm_weight", c.normWeight, n, out.normWeight},
        {"norm_bias", c.normBias, n, out.normBias},
        {"hidden_weight", c.hiddenWeight, n * n, out.hiddenWeight},
        {"hidden_bias", c.hiddenBias, n, out.hiddenBias},
        {"out_weight", c.outWeight, classes * n, out.outWeight},
        {"out_bias", c.outBias, classes, out.outBias},
    };
    for (Field &field : fields) {
      if (int64_t(field.values.size()) != field.size)
        return fileError(path, where + "." + field.name + " has " +
                                   llvm::Twine(field.values.size()) +
                                   " numbers; expected " +
                                   llvm::Twine(field.size));
      for (double v : field.values) {
        if (!std::isfinite(v))
          return fileError(path, where + "." + field.name +
                                     " holds a number that is not finite");
        field.into.push_back(float(v));
      }
    }
    result.classifiers.push_back(std::move(out));
  }
  return result;
}

llvm::Expected<KVCacheScheduler>
KVCacheScheduler::load(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return fileError(path, "cannot read the kv-cache scheduler: " +
                               buffer.getError().message());
  return parse((*buffer)->getBuffer(), path);
}
