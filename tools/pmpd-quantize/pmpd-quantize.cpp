//===- pmpd-quantize.cpp - Any-precision quantization of an HF model ------===//
//
// MODEL_DIR -> OUT_DIR: every decoder projection packed as any-precision
// weights (bit-planes + per-width LUTs), everything else copied. Sensitivity
// is each weight's squared gradient of the next-token loss (or, faster, the
// second moment of its input activations), measured by the fp32 reference on
// calibration text. Reports, per layer
// and width, the importance-weighted reconstruction error beside
// round-to-nearest g128 at the same bits, and the bits per weight of each.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Model/HFModel.h"
#include "pmpd/Quant/AnyPrecision.h"
#include "pmpd/Reference/Documents.h"
#include "pmpd/Reference/LlamaReference.h"
#include "pmpd/Support/FileHash.h"
#include "pmpd/Support/Half.h"
#include "pmpd/Support/Progress.h"
#include "pmpd/Tokenizer/Tokenizer.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Parallel.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstring>
#include <map>
#include <set>

using namespace llvm;
using namespace pmpd;

static cl::OptionCategory category("pmpd-quantize options");
static cl::opt<std::string> modelDir(cl::Positional, cl::Required,
                                     cl::desc("<HF model dir>"),
                                     cl::cat(category));
static cl::opt<std::string> outDir("o", cl::desc("Output model directory"),
                                   cl::value_desc("dir"), cl::cat(category));
static cl::opt<unsigned> seedBits("seed-bits", cl::desc("Seed precision"),
                                  cl::init(2), cl::cat(category));
static cl::opt<unsigned> parentBits("parent-bits",
                                    cl::desc("Parent precision (up to 8)"),
                                    cl::init(4), cl::cat(category));
static cl::opt<std::string>
    calibFile("calib",
              cl::desc("Calibration text, .jsonl or .jsonl.xz (default: the "
                       "bundled docs-val)"),
              cl::value_desc("file"), cl::cat(category));
static cl::opt<int64_t> calibDocs("calib-docs",
                                  cl::desc("Calibration documents"),
                                  cl::init(64), cl::cat(category));
static cl::opt<int64_t> calibLength("calib-length",
                                    cl::desc("Tokens per calibration document"),
                                    cl::init(512), cl::cat(category));
static cl::opt<bool>
    unweighted("unweighted",
               cl::desc("Plain (unweighted) k-means: no calibration"),
               cl::cat(category));
enum class SensitivityKind { Activations, Gradients };
static cl::opt<SensitivityKind> sensitivityKind(
    "sensitivity",
    cl::desc("What weights the k-means of each row (default: gradients)"),
    cl::values(clEnumValN(SensitivityKind::Activations, "activations",
                          "Squared input activations, per input column"),
               clEnumValN(SensitivityKind::Gradients, "gradients",
                          "Squared per-document gradients of the next-token "
                          "loss, per weight (a diagonal Fisher estimate, as "
                          "in SqueezeLLM)")),
    cl::init(SensitivityKind::Gradients), cl::cat(category));
static cl::opt<bool> quantizeLMHead("quantize-lm-head",
                                    cl::desc("Pack lm_head too"),
                                    cl::cat(category));
static cl::list<std::string>
    exportDequantized("export-dequantized", cl::multi_val(2),
                      cl::desc("Also write an ordinary HF model dir whose "
                               "projections are the BITS-bit weights in fp16 "
                               "(may be repeated)"),
                      cl::value_desc("BITS DIR"), cl::cat(category));
static cl::list<std::string> exportRTN(
    "export-rtn", cl::multi_val(2),
    cl::desc("Also write an ordinary HF model dir whose projections are "
             "round-to-nearest, group size 128, BITS-bit weights in fp16: the "
             "baseline, for the same evaluators (may be repeated)"),
    cl::value_desc("BITS DIR"), cl::cat(category));
static cl::opt<int> threads("j", cl::desc("Threads (0: all cores)"),
                            cl::init(0), cl::cat(category));
static cl::opt<bool> jsonOutput("json",
                                cl::desc("Print the report as one JSON object"),
                                cl::cat(category));

static int fail(const Twine &message) {
  WithColor::error(errs(), "pmpd-quantize") << message << "\n";
  return 1;
}

static std::string join(StringRef dir, StringRef name) {
  SmallString<256> path(dir);
  sys::path::append(path, name);
  return std::string(path);
}

/// How much each weight of every projection matters: sums over the
/// calibration data, averaged on request. Squared input activations give one
/// value per input column; squared gradients one per weight.
struct Sensitivity {
  explicit Sensitivity(const ModelConfig &config)
      : sums(config.numLayers * kNumProjections) {}

  std::vector<double> &sum(int64_t layer, Projection p, size_t size) {
    std::vector<double> &s = sums[layer * kNumProjections + unsigned(p)];
    s.resize(size, 0.0);
    return s;
  }

  std::vector<float> importance(int64_t layer, Projection p) const {
    const std::vector<double> &s = sums[layer * kNumProjections + unsigned(p)];
    std::vector<float> h(s.size());
    for (size_t k = 0; k < s.size(); ++k)
      h[k] = float(s[k] / std::max<int64_t>(1, samples));
    return h;
  }

  std::vector<std::vector<double>> sums;
  int64_t samples = 0; // Tokens (activations) or documents (gradients).
};

/// Adds every projection's squared input activations to a Sensitivity.
struct SecondMoments : ProjectionObserver {
  explicit SecondMoments(Sensitivity &sensitivity) : sensitivity(sensitivity) {}

  void observe(int64_t layer, Projection p, const float *x, int64_t tokens,
               int64_t features) override {
    std::vector<double> &s = sensitivity.sum(layer, p, features);
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t k = 0; k < features; ++k)
        s[k] += double(x[t * features + k]) * x[t * features + k];
    if (layer == 0 && p == Projection::Q)
      sensitivity.samples += tokens;
  }

  Sensitivity &sensitivity;
};

static std::string defaultCalibration() {
  // The bundled validation documents, next to the bundled model.
  SmallString<256> path(PMPD_SOURCE_DIR);
  sys::path::append(path, "fixtures", "docs-val.jsonl.xz");
  return std::string(path);
}

static Expected<std::unique_ptr<Sensitivity>>
calibrate(const HFModel &model, std::string &description) {
  auto reference = LlamaReference::create(model);
  if (!reference)
    return reference.takeError();
  auto tokenizer = Tokenizer::load(model.dir());
  if (!tokenizer)
    return tokenizer.takeError();
  std::string file = calibFile.empty() ? defaultCalibration() : calibFile;
  auto texts = readJsonlTexts(file);
  if (!texts)
    return texts.takeError();
  auto sensitivity = std::make_unique<Sensitivity>(model.config());
  SecondMoments moments(*sensitivity);
  int64_t docs = std::min<int64_t>(calibDocs, texts->size());
  ProgressBar progress("calibrating", docs);
  int64_t tokens = 0;
  for (int64_t d = 0; d < docs; ++d) {
    auto ids = (*tokenizer)->encode((*texts)[d]);
    if (!ids)
      return createStringError(inconvertibleErrorCode(),
                               file + ": document " + Twine(d + 1) + ": " +
                                   toString(ids.takeError()));
    if (int64_t(ids->size()) > calibLength)
      ids->resize(calibLength);
    // A tokenizer.json of another model can give ids the embedding table
    // does not have.
    if (Error error = (*reference)->checkIds(*ids))
      return createStringError(inconvertibleErrorCode(),
                               model.dir() +
                                   "/tokenizer.json does not fit "
                                   "the model: document " +
                                   Twine(d + 1) + " of " + file + ": " +
                                   toString(std::move(error)));
    if (sensitivityKind == SensitivityKind::Gradients) {
      auto addSquares = [&](int64_t layer, Projection p, ArrayRef<float> g) {
        std::vector<double> &s = sensitivity->sum(layer, p, g.size());
        parallelFor(0, g.size(),
                    [&](size_t i) { s[i] += double(g[i]) * g[i]; });
      };
      if (Error error = (*reference)->projectionGradients(*ids, addSquares))
        return std::move(error);
      sensitivity->samples += 1;
    } else {
      (*reference)->forward(*ids, &moments);
    }
    tokens += ids->size();
    progress.advance(1);
  }
  progress.finish();
  description = formatv("{0} over {1} tokens of {2} documents of {3}",
                        sensitivityKind == SensitivityKind::Gradients
                            ? "squared gradients of the next-token loss"
                            : "input-activation second moments",
                        tokens, docs, sys::path::filename(file))
                    .str();
  return std::move(sensitivity);
}

static Error copyIfPresent(StringRef from, StringRef to, StringRef name) {
  std::string source = join(from, name);
  if (!sys::fs::exists(source))
    return Error::success();
  if (std::error_code ec = sys::fs::copy_file(source, join(to, name)))
    return createStringError(ec, "cannot copy %s: %s", source.c_str(),
                             ec.message().c_str());
  return Error::success();
}

static Error copyModelFiles(StringRef to) {
  if (std::error_code ec = sys::fs::create_directories(to))
    return createStringError(ec, "cannot create %s: %s", to.str().c_str(),
                             ec.message().c_str());
  for (StringRef name : {"config.json", "tokenizer.json",
                         "tokenizer_config.json", "generation_config.json"})
    if (Error error = copyIfPresent(modelDir, to, name))
      return error;
  return Error::success();
}

/// A source tensor, copied while writing.
static void addCopy(SafeTensorsWriter &writer, const TensorView &tensor) {
  writer.addGeneratedTensor(
      tensor.name, tensor.dtype, tensor.shape,
      [&tensor](uint64_t offset, MutableArrayRef<uint8_t> chunk) {
        std::memcpy(chunk.data(), tensor.data.data() + offset, chunk.size());
      });
}

namespace {
struct Quantized {
  std::string prefix; // HF tensor name without ".weight".
  int64_t layer;      // -1 for lm_head.
  Projection projection;
  int64_t rows, cols;
  AnyPrecisionWeight weight;
};

/// Per layer and width: errors summed over the layer's projections.
struct ReportCell {
  double apError = 0, rtnError = 0, reference = 0;
  double apBits = 0, rtnBits = 0, weights = 0;
};
} // namespace

static json::Value reportJSON(const std::map<std::pair<int64_t, unsigned>,
                                             ReportCell> &report) {
  json::Array rows;
  for (const auto &[key, cell] : report)
    rows.push_back(json::Object{
        {"layer", key.first},
        {"bits", int64_t(key.second)},
        {"any_precision_error", cell.apError / cell.reference},
        {"rtn_g128_error", cell.rtnError / cell.reference},
        {"any_precision_bits_per_weight", cell.apBits / cell.weights},
        {"rtn_g128_bits_per_weight", cell.rtnBits / cell.weights}});
  return std::move(rows);
}

static Error writePacked(const HFModel &model, ArrayRef<Quantized> packed,
                         const std::string &calibration) {
  if (Error error = copyModelFiles(outDir))
    return error;
  SafeTensorsWriter writer;
  std::set<std::string> replaced;
  for (const Quantized &q : packed) {
    q.weight.addTensors(writer, q.prefix);
    replaced.insert(q.prefix + ".weight");
  }
  for (const TensorView *tensor : model.allTensors())
    if (!replaced.count(tensor->name))
      addCopy(writer, *tensor);
  std::string sourceHash;
  for (const auto &file : model.files()) {
    auto hash = hashFile(file->path());
    if (!hash)
      return hash.takeError();
    sourceHash += (sourceHash.empty() ? "" : ",") + *hash;
  }
  writer.addMetadata("format", "pt");
  writer.addMetadata("pmpd.format", "any-precision");
  writer.addMetadata("pmpd.layout_version",
                     std::to_string(kAnyPrecisionLayoutVersion));
  writer.addMetadata("pmpd.seed_bits", std::to_string(seedBits));
  writer.addMetadata("pmpd.parent_bits", std::to_string(parentBits));
  writer.addMetadata("pmpd.source_xxh3", sourceHash);
  writer.addMetadata("pmpd.calibration", calibration);
  ProgressBar progress("writing", writer.fileSize(), /*bytes=*/true);
  Error error = writer.write(join(outDir, "model.safetensors"),
                             [&](uint64_t n) { progress.advance(n); });
  progress.finish();
  return error;
}

/// Writes an ordinary HF model dir to `dir` whose quantized projections are
/// `weightOf` them in fp16 and whose other tensors are copied; `kind` names
/// what they are in the file's metadata (`pmpd.dequantized`).
static Error writeDequantized(
    const HFModel &model, ArrayRef<Quantized> packed, StringRef dir,
    StringRef kind,
    function_ref<Expected<std::vector<float>>(const Quantized &)> weightOf) {
  if (Error error = copyModelFiles(dir))
    return error;
  SafeTensorsWriter writer;
  std::set<std::string> replaced;
  for (const Quantized &q : packed) {
    Expected<std::vector<float>> w = weightOf(q);
    if (!w)
      return w.takeError();
    std::vector<uint16_t> half(w->size());
    for (size_t i = 0; i < w->size(); ++i)
      half[i] = floatToHalf((*w)[i]);
    writer.addTensor(q.prefix + ".weight", DType::F16, {q.rows, q.cols},
                     ArrayRef<uint8_t>(reinterpret_cast<uint8_t *>(half.data()),
                                       half.size() * 2));
    replaced.insert(q.prefix + ".weight");
  }
  for (const TensorView *tensor : model.allTensors())
    if (!replaced.count(tensor->name))
      addCopy(writer, *tensor);
  writer.addMetadata("format", "pt");
  writer.addMetadata("pmpd.dequantized", kind);
  return writer.write(join(dir, "model.safetensors"));
}

/// The (bits, dir) pairs of a repeatable `--NAME BITS DIR` option, each width
/// in [lo, hi].
static Expected<std::vector<std::pair<unsigned, std::string>>>
parseExports(const cl::list<std::string> &values, StringRef name, unsigned lo,
             unsigned hi, StringRef range) {
  std::vector<std::pair<unsigned, std::string>> exports;
  for (size_t i = 0; i + 1 < values.size(); i += 2) {
    unsigned bits = 0;
    if (StringRef(values[i]).getAsInteger(10, bits) || bits < lo || bits > hi)
      return createStringError(inconvertibleErrorCode(),
                               "--" + name + ": bits '" + values[i] +
                                   "' must be a width in " + range);
    exports.emplace_back(bits, values[i + 1]);
  }
  return exports;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "pmpd-quantize: any-precision quantization of a Hugging Face model\n\n"
      "  pmpd-quantize MODEL_DIR -o OUT_DIR [--seed-bits 2] [--parent-bits 4] "
      "[--calib FILE]\n"
      "  pmpd-quantize MODEL_DIR --export-dequantized BITS DIR\n"
      "  pmpd-quantize MODEL_DIR --export-rtn BITS DIR\n");
  if (outDir.empty() && exportDequantized.empty() && exportRTN.empty())
    return fail("give -o OUT_DIR, --export-dequantized BITS DIR, "
                "--export-rtn BITS DIR, or several");
  if (seedBits < 2 || parentBits > 8 || seedBits > parentBits)
    return fail("need 2 <= --seed-bits <= --parent-bits <= 8");
  if (unweighted && sensitivityKind.getNumOccurrences())
    return fail("--unweighted quantizes without a sensitivity; drop "
                "--sensitivity");
  auto exports = parseExports(exportDequantized, "export-dequantized", seedBits,
                              parentBits, "[--seed-bits, --parent-bits]");
  if (!exports)
    return fail(toString(exports.takeError()));
  auto rtnExports = parseExports(exportRTN, "export-rtn", 2, 8, "[2, 8]");
  if (!rtnExports)
    return fail(toString(rtnExports.takeError()));
  if (threads > 0)
    parallel::strategy = hardware_concurrency(threads);
  auto started = std::chrono::steady_clock::now();

  auto model = HFModel::open(modelDir);
  if (!model)
    return fail(toString(model.takeError()));
  const ModelConfig &config = (*model)->config();
  // A tied head is the embedding table: packing it would take the fp16
  // table the embedding lookup reads.
  if (quantizeLMHead && config.tieWordEmbeddings)
    return fail(modelDir +
                ": --quantize-lm-head: lm_head is tied to the "
                "embeddings (tie_word_embeddings), which must stay fp16");

  std::unique_ptr<Sensitivity> sensitivity;
  std::string calibration = "none (unweighted k-means)";
  if (!unweighted) {
    auto calibrated = calibrate(**model, calibration);
    if (!calibrated)
      return fail(toString(calibrated.takeError()));
    sensitivity = std::move(*calibrated);
  }

  std::vector<Quantized> packed;
  for (int64_t layer = 0; layer < config.numLayers; ++layer)
    for (unsigned p = 0; p < kNumProjections; ++p) {
      std::string name = projectionTensorName(layer, Projection(p));
      auto [rows, cols] = projectionShape(config, Projection(p));
      packed.push_back({StringRef(name).drop_back(strlen(".weight")).str(),
                        layer, Projection(p), rows, cols, {}});
    }
  if (quantizeLMHead)
    packed.push_back({"lm_head", -1, Projection::Q, config.vocabSize,
                      config.hiddenSize, {}});

  AnyPrecisionOptions options;
  options.seedBits = seedBits;
  options.parentBits = parentBits;
  std::map<std::pair<int64_t, unsigned>, ReportCell> report;
  {
    ProgressBar progress("quantizing", packed.size());
    for (Quantized &q : packed) {
      auto source = (*model)->tensorF32(q.prefix + ".weight");
      if (!source)
        return fail(toString(source.takeError()));
      // The reference measures no sensitivity of lm_head: it is quantized
      // unweighted.
      std::vector<float> importance;
      if (sensitivity && q.layer >= 0)
        importance = sensitivity->importance(q.layer, q.projection);
      auto weight =
          quantizeAnyPrecision(*source, q.rows, q.cols, importance, options);
      if (!weight)
        return fail(q.prefix + ": " + toString(weight.takeError()));
      q.weight = std::move(*weight);
      // The weighted energy of the weights: errors are reported relative to it.
      double energy = weightedSquaredError(
          *source, std::vector<float>(source->size(), 0.0f), q.rows, q.cols,
          importance);
      double n = double(q.rows) * q.cols;
      for (unsigned b = seedBits; b <= parentBits; ++b) {
        ReportCell &cell = report[{q.layer, b}];
        cell.apError += weightedSquaredError(*source, q.weight.dequantize(b),
                                             q.rows, q.cols, importance);
        cell.rtnError += weightedSquaredError(
            *source, roundToNearest(*source, q.rows, q.cols, b), q.rows,
            q.cols, importance);
        cell.reference += energy;
        cell.apBits += q.weight.bitsPerWeight(b) * n;
        cell.rtnBits += roundToNearestBitsPerWeight(b) * n;
        cell.weights += n;
      }
      progress.advance(1);
    }
    progress.finish();
  }

  if (!outDir.empty())
    if (Error error = writePacked(**model, packed, calibration))
      return fail(toString(std::move(error)));
  for (const auto &[bits, dir] : *exports) {
    unsigned b = bits;
    if (Error error = writeDequantized(
            **model, packed, dir, "any-precision " + std::to_string(b),
            [&](const Quantized &q) -> Expected<std::vector<float>> {
              return q.weight.dequantize(b);
            }))
      return fail(toString(std::move(error)));
  }
  for (const auto &[bits, dir] : *rtnExports) {
    unsigned b = bits;
    if (Error error = writeDequantized(
            **model, packed, dir, "rtn-g128 " + std::to_string(b),
            [&](const Quantized &q) -> Expected<std::vector<float>> {
              auto source = (*model)->tensorF32(q.prefix + ".weight");
              if (!source)
                return source.takeError();
              return roundToNearest(*source, q.rows, q.cols, b);
            }))
      return fail(toString(std::move(error)));
  }
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - started)
                       .count();

  if (jsonOutput) {
    json::Object root{{"seed_bits", int64_t(seedBits)},
                      {"parent_bits", int64_t(parentBits)},
                      {"calibration", calibration},
                      {"seconds", seconds},
                      {"layers", reportJSON(report)}};
    outs() << formatv("{0:2}", json::Value(std::move(root))) << "\n";
    return 0;
  }
  outs() << "calibration: " << calibration << "\n";
  outs() << "relative weighted reconstruction error (lower is better) and "
            "bits per weight:\n";
  outs() << formatv("{0,6} {1,5} {2,14} {3,12} {4,8} {5,8}\n", "layer",
                    "bits", "any-precision", "rtn-g128", "bpw(ap)",
                    "bpw(rtn)");
  for (const auto &[key, cell] : report)
    outs() << formatv("{0,6} {1,5} {2,14:e3} {3,12:e3} {4,8:f3} {5,8:f3}\n",
                      key.first < 0 ? std::string("head")
                                    : std::to_string(key.first),
                      key.second, cell.apError / cell.reference,
                      cell.rtnError / cell.reference,
                      cell.apBits / cell.weights, cell.rtnBits / cell.weights);
  outs() << formatv("done in {0:f1} s\n", seconds);
  return 0;
}
