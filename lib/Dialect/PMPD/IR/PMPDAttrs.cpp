//===- PMPDAttrs.cpp - pmpd attributes ------------------------------------===//
//
// Verifiers and the custom syntax of the schedule attribute, whose textual
// form `decode = [4 from 0, 3 from 64]` reads as "4 bits from step 0".
//
//===----------------------------------------------------------------------===//

#include "pmpd/Dialect/PMPD/IR/KVCacheScheduler.h"
#include "pmpd/Dialect/PMPD/IR/LearnedScheduler.h"
#include "pmpd/Dialect/PMPD/IR/PMPD.h"
#include "pmpd/Dialect/PMPD/IR/ScheduleSpec.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace pmpd;

#include "pmpd/Dialect/PMPD/IR/PMPDEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "pmpd/Dialect/PMPD/IR/PMPDAttrs.cpp.inc"

void PMPDDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "pmpd/Dialect/PMPD/IR/PMPDAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// PrecisionAttr
//===----------------------------------------------------------------------===//

LogicalResult
PrecisionAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      unsigned bits) {
  if (!isSupportedBits(bits))
    return emitError() << "unsupported precision " << bits
                       << " bits; expected 2 to 8, or 16 for fp16";
  return success();
}

//===----------------------------------------------------------------------===//
// ScheduleAttr
//===----------------------------------------------------------------------===//

LogicalResult
ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                     unsigned prefill, ArrayRef<int64_t> bits,
                     ArrayRef<int64_t> steps, bool monotone,
                     StringAttr learned, bool kvCache) {
  if (!isSupportedBits(prefill))
    return emitError() << "unsupported prefill precision " << prefill
                       << " bits; expected 2 to 8, or 16 for fp16";
  if (bits.empty())
    return emitError() << "schedule has no decode stage";
  if (bits.size() != steps.size())
    return emitError() << "schedule has " << bits.size()
                       << " decode precisions but " << steps.size()
                       << " steps";
  if (steps.front() != 0)
    return emitError() << "first decode stage must start at step 0, got "
                       << steps.front();
  if (kvCache && !learned)
    return emitError() << "a kv_cache schedule needs its classifiers' file "
                          "(learned = \"FILE\")";
  for (size_t i = 0, e = bits.size(); i < e; ++i) {
    if (bits[i] < 0 || !isSupportedBits(bits[i]))
      return emitError() << "unsupported decode precision " << bits[i]
                         << " bits at step " << steps[i]
                         << "; expected 2 to 8, or 16 for fp16";
    if (i == 0)
      continue;
    // The classifiers of a kv_cache schedule choose every switch step.
    if (kvCache) {
      if (steps[i] != 0)
        return emitError() << "a kv_cache schedule's stages all start "
                              "'from 0' (its classifiers pick the switch "
                              "steps), but stage "
                           << i << " starts from " << steps[i];
    } else if (steps[i] <= steps[i - 1])
      return emitError() << "decode steps must strictly increase, but step "
                         << steps[i] << " follows step " << steps[i - 1];
    if (monotone && bits[i] > bits[i - 1])
      return emitError() << "decode precision rises from " << bits[i - 1]
                         << " to " << bits[i] << " bits at step " << steps[i]
                         << "; mark the schedule 'nonmonotone' to allow it";
  }
  if (learned && learned.getValue().empty())
    return emitError() << "learned schedule needs a classifier file name";
  if (learned && !monotone)
    return emitError() << "a learned schedule is monotone; drop 'nonmonotone'";
  if (learned && bits.size() < 2)
    return emitError() << "a learned schedule needs at least two decode "
                          "stages to choose between";
  for (size_t i = 1, e = bits.size(); learned && i < e; ++i)
    if (bits[i] >= bits[i - 1])
      return emitError() << "a learned schedule steps down in precision at "
                            "every stage; stage "
                         << i << " has " << bits[i] << " bits after "
                         << bits[i - 1];
  return success();
}

Attribute ScheduleAttr::parse(AsmParser &parser, Type) {
  unsigned prefill = 0;
  SmallVector<int64_t> bits, steps;
  bool monotone = true;
  StringAttr learned;
  bool kvCache = false;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseKeyword("prefill") ||
      parser.parseEqual() || parser.parseInteger(prefill) ||
      parser.parseComma() || parser.parseKeyword("decode") ||
      parser.parseEqual())
    return {};
  auto parseStage = [&]() -> ParseResult {
    int64_t b = 0, s = 0;
    if (parser.parseInteger(b) || parser.parseKeyword("from") ||
        parser.parseInteger(s))
      return failure();
    bits.push_back(b);
    steps.push_back(s);
    return success();
  };
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, parseStage))
    return {};
  while (succeeded(parser.parseOptionalComma())) {
    if (succeeded(parser.parseOptionalKeyword("nonmonotone"))) {
      monotone = false;
      continue;
    }
    if (succeeded(parser.parseOptionalKeyword("kv_cache"))) {
      kvCache = true;
      continue;
    }
    std::string file;
    if (parser.parseKeyword("learned") || parser.parseEqual() ||
        parser.parseString(&file))
      return {};
    learned = parser.getBuilder().getStringAttr(file);
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<ScheduleAttr>(loc, parser.getContext(), prefill,
                                         bits, steps, monotone, learned,
                                         kvCache);
}

void ScheduleAttr::print(AsmPrinter &printer) const {
  printer << "<prefill = " << getPrefill() << ", decode = [";
  for (size_t i = 0, e = getBits().size(); i < e; ++i) {
    if (i)
      printer << ", ";
    printer << getBits()[i] << " from " << getSteps()[i];
  }
  printer << "]";
  if (!getMonotone())
    printer << ", nonmonotone";
  if (getLearned()) {
    printer << ", learned = ";
    printer.printString(getLearned().getValue());
  }
  if (getKvCache())
    printer << ", kv_cache";
  printer << ">";
}

unsigned ScheduleAttr::getDecodeBitsAt(int64_t step) const {
  unsigned result = getBits().front();
  for (size_t i = 0, e = getSteps().size(); i < e; ++i)
    if (step >= getSteps()[i])
      result = getBits()[i];
  return result;
}

SmallVector<unsigned> ScheduleAttr::getDistinctDecodeBits() const {
  llvm::SetVector<unsigned> distinct;
  for (int64_t b : getBits())
    distinct.insert(b);
  return SmallVector<unsigned>(distinct.begin(), distinct.end());
}

//===----------------------------------------------------------------------===//
// The textual schedule spec (ScheduleSpec.h)
//===----------------------------------------------------------------------===//

static llvm::Error specError(StringRef spec, const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "invalid schedule '" + spec + "': " + message);
}

llvm::Expected<ScheduleAttr> pmpd::parseScheduleSpec(StringRef spec,
                                                     MLIRContext *context) {
  std::optional<unsigned> prefill;
  SmallVector<int64_t> bits, steps;
  bool monotone = true, sawDecode = false, kvCache = false;
  std::string learned;
  SmallVector<StringRef> fields;
  spec.split(fields, ';', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  for (StringRef field : fields) {
    field = field.trim();
    if (field == "nonmonotone") {
      monotone = false;
      continue;
    }
    if (field == "kv-cache") {
      kvCache = true;
      continue;
    }
    auto [key, value] = field.split('=');
    key = key.trim();
    value = value.trim();
    if (key == "prefill") {
      unsigned b;
      if (value.getAsInteger(10, b))
        return specError(spec, "prefill bits '" + value + "' are not a number");
      prefill = b;
    } else if (key == "decode" && value.consume_front("learned:")) {
      // The stages come from the classifier's file.
      sawDecode = true;
      learned = value.trim().str();
      llvm::Expected<LearnedScheduler> scheduler =
          LearnedScheduler::load(learned);
      if (!scheduler)
        return specError(spec, llvm::toString(scheduler.takeError()));
      for (const LearnedScheduler::Stage &stage : scheduler->stages) {
        bits.push_back(stage.bits);
        steps.push_back(stage.from);
      }
    } else if (key == "decode" && value.consume_front("kv-cache:")) {
      // PMPD's prompt-adaptive scheduler: the stages are the file's
      // precisions, every switch step the classifiers' choice.
      sawDecode = kvCache = true;
      learned = value.trim().str();
      llvm::Expected<KVCacheScheduler> scheduler =
          KVCacheScheduler::load(learned);
      if (!scheduler)
        return specError(spec, llvm::toString(scheduler.takeError()));
      for (int64_t b : scheduler->bits) {
        bits.push_back(b);
        steps.push_back(0);
      }
    } else if (key == "learned") {
      if (value.empty())
        return specError(spec, "learned= needs the classifier's file");
      learned = value.str();
    } else if (key == "decode") {
      sawDecode = true;
      SmallVector<StringRef> stages;
      value.split(stages, ',');
      for (StringRef stage : stages) {
        auto [b, s] = stage.trim().split('@');
        int64_t bitsValue, stepValue;
        if (b.trim().getAsInteger(10, bitsValue) ||
            s.trim().getAsInteger(10, stepValue))
          return specError(spec, "decode stage '" + stage.trim() +
                                     "' is not BITS@STEP");
        bits.push_back(bitsValue);
        steps.push_back(stepValue);
      }
    } else {
      return specError(spec, "unknown field '" + field +
                                 "'; expected prefill=P, decode=B@S,..., "
                                 "decode=learned:FILE, "
                                 "decode=kv-cache:FILE, learned=FILE, "
                                 "kv-cache or nonmonotone");
    }
  }
  if (!prefill)
    return specError(spec, "missing prefill=BITS");
  if (!sawDecode)
    return specError(spec, "missing decode=BITS@STEP,...");

  std::string message;
  auto emitError = [&]() {
    return mlir::emitError(UnknownLoc::get(context));
  };
  // Collect the verifier's message rather than printing it.
  ScopedDiagnosticHandler handler(context, [&](Diagnostic &diag) {
    message = diag.str();
    return success();
  });
  ScheduleAttr attr = ScheduleAttr::getChecked(
      emitError, context, *prefill, bits, steps, monotone,
      learned.empty() ? StringAttr() : StringAttr::get(context, learned),
      kvCache);
  if (!attr)
    return specError(spec, message);
  return attr;
}

std::string pmpd::formatScheduleSpec(ScheduleAttr schedule) {
  std::string result;
  llvm::raw_string_ostream os(result);
  os << "prefill=" << schedule.getPrefill() << ";decode=";
  for (size_t i = 0, e = schedule.getBits().size(); i < e; ++i)
    os << (i ? "," : "") << schedule.getBits()[i] << "@"
       << schedule.getSteps()[i];
  if (!schedule.getMonotone())
    os << ";nonmonotone";
  if (schedule.isLearned())
    os << ";learned=" << schedule.getLearned().getValue();
  if (schedule.getKvCache())
    os << ";kv-cache";
  return result;
}
