//===- pmpd-inspect.cpp - Print what a model directory holds --------------===//
//
// Opens a Hugging Face model directory (or a single .safetensors file) with
// the same checks the compiler applies, and prints the config and tensors.
// It is the quickest way to see why a model is rejected, and the lit tests
// of the Model library drive it.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Model/HFModel.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace pmpd;

static cl::OptionCategory category("pmpd-inspect options");
static cl::opt<std::string> inputPath(cl::Positional, cl::Required,
                                      cl::desc("<model dir | file.safetensors>"),
                                      cl::cat(category));
static cl::opt<bool> asJSON("json", cl::desc("Print one JSON object"),
                            cl::cat(category));
static cl::opt<std::string>
    dumpTensor("dump", cl::desc("Print this tensor's values as fp32, one per "
                                "line, instead of the summary"),
               cl::value_desc("name"), cl::cat(category));
static cl::opt<bool> allowMissingProjections(
    "allow-missing-projections",
    cl::desc("Accept a model directory whose projection weights are absent "
             "(stored packed elsewhere)"),
    cl::cat(category));

static int fail(Error err) {
  WithColor::error(errs(), "pmpd-inspect") << toString(std::move(err)) << "\n";
  return 1;
}

static void printConfig(raw_ostream &os, const ModelConfig &c) {
  os << "architecture: " << c.architecture << "\n"
     << "hidden_size: " << c.hiddenSize << "\n"
     << "intermediate_size: " << c.intermediateSize << "\n"
     << "num_hidden_layers: " << c.numLayers << "\n"
     << "num_attention_heads: " << c.numHeads << "\n"
     << "num_key_value_heads: " << c.numKVHeads << "\n"
     << "head_dim: " << c.headDim << "\n"
     << "vocab_size: " << c.vocabSize << "\n"
     << "max_position_embeddings: " << c.maxPositions << "\n"
     << "rms_norm_eps: " << format("%g", c.rmsNormEps) << "\n"
     << "rope_theta: " << format("%g", c.ropeTheta) << "\n"
     << "tie_word_embeddings: " << (c.tieWordEmbeddings ? "true" : "false")
     << "\n"
     << "attention_bias: " << (c.attentionBias ? "true" : "false") << "\n"
     << "bos_token_id: " << c.bosTokenId << "\n"
     << "eos_token_id: " << c.eosTokenId << "\n";
}

namespace {
/// What is printed: one file's tensors, or a model's.
struct Listing {
  const ModelConfig *config = nullptr;
  const std::map<std::string, std::string> *metadata = nullptr;
  // Tensor and the file it is in.
  std::vector<std::pair<const TensorView *, StringRef>> tensors;
  size_t numFiles = 0;
};
} // namespace

static void printText(raw_ostream &os, const Listing &l) {
  os << (l.config ? "model: " : "file: ") << inputPath << "\n";
  if (l.config)
    printConfig(os, *l.config);
  if (l.metadata)
    for (const auto &[key, value] : *l.metadata)
      os << "metadata: " << key << " = " << value << "\n";

  size_t nameWidth = 4;
  for (const auto &entry : l.tensors)
    nameWidth = std::max(nameWidth, entry.first->name.size());
  os << "\ntensors: " << l.tensors.size() << " in " << l.numFiles
     << (l.numFiles == 1 ? " file" : " files") << "\n";
  os << left_justify("name", nameWidth) << "  " << left_justify("dtype", 5)
     << "  " << left_justify("shape", 14) << "  bytes\n";
  int64_t params = 0, bytes = 0;
  for (const auto &entry : l.tensors) {
    const TensorView &t = *entry.first;
    os << left_justify(t.name, nameWidth) << "  "
       << left_justify(dtypeName(t.dtype), 5) << "  "
       << left_justify(shapeString(t.shape), 14) << "  " << t.data.size()
       << "\n";
    params += t.numElements();
    bytes += t.data.size();
  }
  os << "total parameters: " << params << "\n"
     << "total bytes: " << bytes << "\n";
}

static void printJSON(raw_ostream &os, const Listing &l) {
  json::OStream j(os, 2);
  int64_t params = 0, bytes = 0;
  j.object([&] {
    j.attribute("path", inputPath);
    if (l.config)
      j.attribute("config", l.config->toJSON());
    if (l.metadata)
      j.attributeObject("metadata", [&] {
        for (const auto &[key, value] : *l.metadata)
          j.attribute(key, value);
      });
    j.attributeArray("tensors", [&] {
      for (const auto &entry : l.tensors) {
        // Named, not bound: lambdas cannot capture bindings in C++17.
        const auto &t = entry.first;
        const auto &file = entry.second;
        j.object([&] {
          j.attribute("name", t->name);
          j.attribute("dtype", dtypeName(t->dtype));
          j.attributeArray("shape", [&] {
            for (int64_t d : t->shape)
              j.value(d);
          });
          j.attribute("bytes", int64_t(t->data.size()));
          j.attribute("file", file);
        });
        params += t->numElements();
        bytes += t->data.size();
      }
    });
    j.attribute("total_parameters", params);
    j.attribute("total_bytes", bytes);
  });
  os << "\n";
}

static int dump(const TensorView &t, StringRef path) {
  Expected<std::vector<float>> values = toFloat32(t);
  if (!values)
    return fail(createStringError(inconvertibleErrorCode(),
                                  path + ": " + toString(values.takeError())));
  for (float v : *values)
    outs() << format("%.9g", v) << "\n";
  return 0;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "pmpd-inspect: print the config and tensors of a Hugging Face model "
      "directory or a .safetensors file\n");

  Listing listing;
  std::unique_ptr<HFModel> model;
  std::unique_ptr<SafeTensorsFile> file;
  if (sys::fs::is_directory(inputPath)) {
    auto opened = HFModel::open(inputPath, !allowMissingProjections);
    if (!opened)
      return fail(opened.takeError());
    model = std::move(*opened);
    listing.config = &model->config();
    listing.numFiles = model->files().size();
    for (const TensorView *t : model->allTensors())
      listing.tensors.push_back({t, model->fileOf(t->name)->path()});
  } else {
    auto opened = SafeTensorsFile::open(inputPath);
    if (!opened)
      return fail(opened.takeError());
    file = std::move(*opened);
    listing.metadata = &file->metadata();
    listing.numFiles = 1;
    for (const TensorView &t : file->tensors())
      listing.tensors.push_back({&t, file->path()});
  }

  if (!dumpTensor.empty()) {
    const TensorView *t =
        model ? model->lookup(dumpTensor) : file->lookup(dumpTensor);
    if (!t)
      return fail(createStringError(inconvertibleErrorCode(),
                                    inputPath + ": no tensor named '" +
                                        dumpTensor + "'"));
    return dump(*t, model ? model->fileOf(dumpTensor)->path() : file->path());
  }
  if (asJSON)
    printJSON(outs(), listing);
  else
    printText(outs(), listing);
  return 0;
}
