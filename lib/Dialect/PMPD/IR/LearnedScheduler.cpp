//===- LearnedScheduler.cpp - Reading learned scheduler files -------------===//

#include "pmpd/Dialect/PMPD/IR/LearnedScheduler.h"
#include "pmpd/Dialect/PMPD/IR/PMPD.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

using namespace pmpd;

static llvm::Error fileError(llvm::StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": " + message);
}

/// A finite number at `object[key]`; `what` names the object in errors.
static llvm::Expected<double> getNumber(const llvm::json::Object &object,
                                        llvm::StringRef key,
                                        llvm::StringRef path,
                                        const llvm::Twine &what) {
  std::optional<double> value = object.getNumber(key);
  if (!value)
    return fileError(path, llvm::Twine(what) + " has no number '" + key + "'");
  if (!std::isfinite(*value))
    return fileError(path, llvm::Twine(what) + ": '" + key + "' is not finite");
  return *value;
}

llvm::Expected<LearnedScheduler> LearnedScheduler::parse(llvm::StringRef json,
                                                         llvm::StringRef path) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(json);
  if (!parsed)
    return fileError(path,
                     "malformed JSON: " + llvm::toString(parsed.takeError()));
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root)
    return fileError(path, "expected a JSON object");
  std::optional<llvm::StringRef> format = root->getString("format");
  if (!format || *format != kFormat)
    return fileError(path, "not a learned scheduler: \"format\" must be \"" +
                               kFormat + "\"");
  std::optional<int64_t> version = root->getInteger("version");
  if (version != kFormatVersion)
    return fileError(
        path, "unsupported version " +
                  (version ? llvm::Twine(*version) : llvm::Twine("(missing)")) +
                  "; this build reads version " + llvm::Twine(kFormatVersion));

  LearnedScheduler result;
  const llvm::json::Array *stages = root->getArray("stages");
  if (!stages || stages->size() < 2)
    return fileError(path, "\"stages\" must list at least two "
                           "{\"bits\": B, \"from\": STEP} objects");
  for (auto [i, value] : llvm::enumerate(*stages)) {
    const llvm::json::Object *stage = value.getAsObject();
    std::optional<int64_t> bits =
        stage ? stage->getInteger("bits") : std::nullopt;
    std::optional<int64_t> from =
        stage ? stage->getInteger("from") : std::nullopt;
    if (!bits || !from)
      return fileError(path, "stage " + llvm::Twine(i) +
                                 " is not {\"bits\": B, \"from\": STEP}");
    if (*bits < 0 || !isSupportedBits(*bits))
      return fileError(path, "stage " + llvm::Twine(i) +
                                 ": unsupported precision " +
                                 llvm::Twine(*bits) +
                                 " bits; expected 2 to 8, or 16 for fp16");
    if (i == 0 && *from != 0)
      return fileError(path, "the first stage must start at step 0");
    if (i > 0 && *from <= result.stages.back().from)
      return fileError(path, "stage " + llvm::Twine(i) + " starts at step " +
                                 llvm::Twine(*from) +
                                 ", not after the previous stage");
    if (i > 0 && unsigned(*bits) >= result.stages.back().bits)
      return fileError(path, "stage " + llvm::Twine(i) + " has " +
                                 llvm::Twine(*bits) +
                                 " bits; a learned scheduler only steps "
                                 "down in precision");
    result.stages.push_back({unsigned(*bits), *from});
  }

  const llvm::json::Array *transitions = root->getArray("transitions");
  if (!transitions || transitions->size() != stages->size() - 1)
    return fileError(path, "\"transitions\" must hold one classifier per "
                           "switch (" +
                               llvm::Twine(stages->size() - 1) + ")");
  for (auto [i, value] : llvm::enumerate(*transitions)) {
    std::string what = ("transition " + llvm::Twine(i)).str();
    const llvm::json::Object *object = value.getAsObject();
    if (!object)
      return fileError(path, llvm::Twine(what) + " is not an object");
    Transition transition;
    llvm::Expected<double> bias = getNumber(*object, "bias", path, what);
    if (!bias)
      return bias.takeError();
    transition.bias = *bias;
    const llvm::json::Object *weights = object->getObject("weights");
    if (!weights)
      return fileError(path, llvm::Twine(what) + " has no \"weights\" object");
    for (const auto &[key, unused] : *weights)
      if (!llvm::is_contained(kFeatures, llvm::StringRef(key)))
        return fileError(path, llvm::Twine(what) + ": unknown feature '" +
                                   llvm::StringRef(key) +
                                   "'; expected confidence, entropy or step");
    for (auto [f, name] : llvm::enumerate(kFeatures)) {
      if (!weights->get(name))
        continue;
      llvm::Expected<double> weight =
          getNumber(*weights, name, path, what + " weights");
      if (!weight)
        return weight.takeError();
      transition.weights[f] = *weight;
    }
    result.transitions.push_back(transition);
  }
  return result;
}

llvm::Expected<LearnedScheduler> LearnedScheduler::load(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return fileError(path, "cannot read the learned scheduler: " +
                               buffer.getError().message());
  return parse((*buffer)->getBuffer(), path);
}
