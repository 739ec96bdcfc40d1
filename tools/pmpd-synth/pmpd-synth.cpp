//===- pmpd-synth.cpp - Write a randomly initialized model directory ------===//
//
// Speed benchmarks need models of real sizes (7B, 8B) that cannot be trained
// or downloaded here. The time a kernel takes does not depend on what the
// weights are, only on their shapes, so this tool writes a Hugging Face
// directory with the exact tensor shapes of a known model and random fp16
// weights scaled as at initialization: normal(0, 0.02), norms 1, biases 0.
//
// The output is deterministic in (shape, seed, layers): every 4096-element
// block of a tensor has its own PRNG stream, seeded from the tensor name, so
// the bytes do not depend on thread count or chunking. Tensors are generated
// while they are written, one chunk at a time, so a 16 GB model needs only
// tens of MB of memory.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Model/HFModel.h"
#include "pmpd/Support/Half.h"
#include "pmpd/Support/Progress.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Parallel.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace llvm;
using namespace pmpd;

static cl::OptionCategory category("pmpd-synth options");
static cl::opt<std::string>
    shapeName("shape", cl::Required,
              cl::desc("Model shape: llama2-7b, llama3-8b, mistral-7b, "
                       "qwen2-0.5b or tiny (the fixture's shape)"),
              cl::cat(category));
static cl::opt<std::string> outDir("o", cl::Required,
                                   cl::desc("Output model directory"),
                                   cl::value_desc("dir"), cl::cat(category));
static cl::opt<uint64_t> seed("seed", cl::init(0),
                              cl::desc("PRNG seed (default 0)"),
                              cl::cat(category));
static cl::opt<int64_t>
    layers("layers", cl::init(0),
           cl::desc("Override the number of decoder layers"),
           cl::cat(category));
static cl::opt<int64_t>
    vocab("vocab", cl::init(0),
          cl::desc("Override the vocabulary size (for quick tests); special "
                   "token ids outside it are dropped"),
          cl::cat(category));
static cl::opt<bool>
    dryRun("dry-run",
           cl::desc("Print the config and the files that would be written, "
                    "and write nothing"),
           cl::cat(category));
static cl::opt<std::string>
    tokenizer("tokenizer", cl::desc("Copy this tokenizer.json into the model"),
              cl::value_desc("file"), cl::cat(category));
static cl::opt<bool> quantized(
    "quantized",
    cl::desc("Pack every decoder projection as any-precision weights with "
             "random codes and sorted random lookup tables (the layout "
             "pmpd-quantize writes), for speed benchmarks"),
    cl::cat(category));
static cl::opt<unsigned> seedBits("seed-bits", cl::init(2),
                                  cl::desc("Seed precision with --quantized"),
                                  cl::cat(category));
static cl::opt<unsigned>
    parentBits("parent-bits", cl::init(4),
               cl::desc("Parent precision with --quantized"),
               cl::cat(category));
// Tests lower it to exercise sharding on small models.
static cl::opt<uint64_t>
    shardSize("shard-size", cl::init(4'000'000'000ull), cl::Hidden,
              cl::desc("Start a new shard when one would exceed this many "
                       "bytes"),
              cl::cat(category));

static int fail(const Twine &message) {
  WithColor::error(errs(), "pmpd-synth") << message << "\n";
  return 1;
}

/// The published configs of the models whose shapes benchmarks use.
static std::optional<ModelConfig> shapeConfig(StringRef name) {
  ModelConfig c;
  c.arch = ModelArch::Llama;
  c.rmsNormEps = 1e-5;
  c.ropeTheta = 10000.0;
  c.bosTokenId = 1;
  c.eosTokenId = 2;
  if (name == "llama2-7b") {
    c.hiddenSize = 4096, c.intermediateSize = 11008, c.numLayers = 32;
    c.numHeads = 32, c.numKVHeads = 32, c.vocabSize = 32000;
    c.maxPositions = 4096;
  } else if (name == "llama3-8b") {
    c.hiddenSize = 4096, c.intermediateSize = 14336, c.numLayers = 32;
    c.numHeads = 32, c.numKVHeads = 8, c.vocabSize = 128256;
    c.maxPositions = 8192, c.ropeTheta = 500000.0;
    c.bosTokenId = 128000, c.eosTokenId = 128001;
  } else if (name == "mistral-7b") {
    // Mistral-7B-v0.3: full attention (no sliding window), 32768 vocab.
    c.arch = ModelArch::Mistral;
    c.hiddenSize = 4096, c.intermediateSize = 14336, c.numLayers = 32;
    c.numHeads = 32, c.numKVHeads = 8, c.vocabSize = 32768;
    c.maxPositions = 32768, c.ropeTheta = 1000000.0;
  } else if (name == "qwen2-0.5b") {
    c.arch = ModelArch::Qwen2;
    c.hiddenSize = 896, c.intermediateSize = 4864, c.numLayers = 24;
    c.numHeads = 14, c.numKVHeads = 2, c.vocabSize = 151936;
    c.maxPositions = 131072, c.ropeTheta = 1000000.0, c.rmsNormEps = 1e-6;
    c.tieWordEmbeddings = true, c.attentionBias = true;
    c.bosTokenId = 151643, c.eosTokenId = 151643;
  } else if (name == "tiny") {
    c.hiddenSize = 512, c.intermediateSize = 1408, c.numLayers = 6;
    c.numHeads = 8, c.numKVHeads = 4, c.vocabSize = 8192;
    c.maxPositions = 1024;
  } else {
    return std::nullopt;
  }
  c.architecture = archName(c.arch).str();
  c.headDim = c.hiddenSize / c.numHeads;
  return c;
}

//===----------------------------------------------------------------------===//
// Random weights
//===----------------------------------------------------------------------===//

static uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t hashName(StringRef name) {
  uint64_t h = 0xcbf29ce484222325ull; // FNV-1a
  for (char c : name)
    h = (h ^ uint8_t(c)) * 0x100000001b3ull;
  return h;
}

/// An approximately standard normal number from one 64-bit draw: the sum of
/// four 16-bit uniforms (Irwin-Hall), centred and scaled to unit variance.
/// Its tails stop at 3.5 sigma, which does not matter for speed benchmarks,
/// and it costs no log or sqrt.
static float approxNormal(uint64_t r) {
  uint32_t sum = uint32_t(r & 0xffff) + uint32_t((r >> 16) & 0xffff) +
                 uint32_t((r >> 32) & 0xffff) + uint32_t(r >> 48);
  // Mean 4 * 65535 / 2; variance 4 * (65536^2 - 1) / 12.
  constexpr float kMean = 131070.0f;
  constexpr float kInvStd = 1.7320508f / 65536.0f;
  return (float(sum) - kMean) * kInvStd;
}

namespace {
enum class Init { Normal, Ones, Zeros };

/// Fills fp16 tensors; see the file comment for why blocks are seeded
/// separately.
struct RandomHalf {
  uint64_t tensorSeed;
  float stddev;
  static constexpr uint64_t kBlock = 4096;

  void operator()(uint64_t byteOffset, MutableArrayRef<uint8_t> chunk) const {
    uint64_t first = byteOffset / 2, count = chunk.size() / 2;
    uint64_t firstBlock = first / kBlock;
    uint64_t lastBlock = (first + count - 1) / kBlock;
    parallelFor(firstBlock, lastBlock + 1, [&](size_t block) {
      uint64_t state = tensorSeed ^ (uint64_t(block) * 0xd1b54a32d192ed03ull);
      splitmix64(state);
      uint64_t begin = block * kBlock, end = begin + kBlock;
      for (uint64_t i = begin; i < end; ++i) {
        float v = approxNormal(splitmix64(state)) * stddev;
        if (i < first || i >= first + count)
          continue;
        support::endian::write16le(chunk.data() + 2 * (i - first),
                                   floatToHalf(v));
      }
    });
  }
};
} // namespace

static SafeTensorsWriter::Generator generatorFor(StringRef name, Init init) {
  if (init == Init::Normal) {
    uint64_t s = hashName(name) ^ (seed * 0x9e3779b97f4a7c15ull);
    splitmix64(s);
    return RandomHalf{s, 0.02f};
  }
  uint16_t bits = init == Init::Ones ? floatToHalf(1.0f) : 0;
  return [bits](uint64_t, MutableArrayRef<uint8_t> chunk) {
    for (size_t i = 0; i + 1 < chunk.size(); i += 2)
      support::endian::write16le(chunk.data() + i, bits);
  };
}

/// Random bit-planes [parent][rows][rowBytes]: random bytes, pad bits 0.
static SafeTensorsWriter::Generator planesFor(StringRef name, int64_t cols) {
  uint64_t tensorSeed = hashName(name) ^ (seed * 0x9e3779b97f4a7c15ull);
  int64_t rowBytes = (cols + 7) / 8;
  uint8_t lastMask = cols % 8 ? uint8_t((1u << (cols % 8)) - 1) : 0xff;
  return [=](uint64_t byteOffset, MutableArrayRef<uint8_t> chunk) {
    parallelFor(0, chunk.size(), [&](size_t i) {
      uint64_t index = byteOffset + i;
      uint64_t state = tensorSeed ^ (index * 0xd1b54a32d192ed03ull);
      uint8_t byte = uint8_t(splitmix64(state));
      if (int64_t(index % rowBytes) == rowBytes - 1)
        byte &= lastMask;
      chunk[i] = byte;
    });
  };
}

/// Random lookup tables [rows][2^bits]: each row's entries sorted, within
/// +-0.05 (the range of trained weights).
static SafeTensorsWriter::Generator lutFor(StringRef name, unsigned bits) {
  uint64_t tensorSeed = hashName(name) ^ (seed * 0x9e3779b97f4a7c15ull);
  size_t entries = size_t(1) << bits;
  return [=](uint64_t byteOffset, MutableArrayRef<uint8_t> chunk) {
    parallelFor(0, chunk.size() / 2, [&](size_t i) {
      uint64_t element = byteOffset / 2 + i;
      uint64_t state = tensorSeed ^ ((element / entries) * 0xd1b54a32d192ed03ull);
      SmallVector<float, 256> row(entries);
      for (float &v : row)
        v = (float(splitmix64(state) >> 40) / float(1 << 24) - 0.5f) * 0.1f;
      llvm::sort(row);
      support::endian::write16le(chunk.data() + 2 * i,
                                 floatToHalf(row[element % entries]));
    });
  };
}

static Init initFor(StringRef name) {
  if (name.ends_with("norm.weight"))
    return Init::Ones;
  if (name.ends_with(".bias"))
    return Init::Zeros;
  return Init::Normal;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

static std::string joinPath(StringRef dir, StringRef name) {
  SmallString<256> path(dir);
  sys::path::append(path, name);
  return std::string(path);
}

static Error writeText(StringRef path, StringRef text) {
  std::error_code ec;
  raw_fd_ostream os(path, ec);
  if (ec)
    return createStringError(ec, path + ": cannot write: " + ec.message());
  os << text;
  os.close();
  if (os.has_error()) {
    std::string message = os.error().message();
    os.clear_error();
    return createStringError(inconvertibleErrorCode(),
                             path + ": write failed: " + message);
  }
  return Error::success();
}

static std::string jsonText(const json::Value &v) {
  std::string s;
  raw_string_ostream os(s);
  os << formatv("{0:2}", v) << "\n";
  return s;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "pmpd-synth: write a Hugging Face model directory with random fp16 "
      "weights (or, with --quantized, packed any-precision projections) in "
      "the shape of a known model\n");

  std::optional<ModelConfig> config = shapeConfig(shapeName);
  if (!config)
    return fail("unknown shape \"" + shapeName +
                "\" (known: llama2-7b, llama3-8b, mistral-7b, qwen2-0.5b, "
                "tiny)");
  if (layers.getNumOccurrences()) {
    if (layers <= 0)
      return fail("--layers must be positive, got " + Twine(layers));
    config->numLayers = layers;
  }
  if (vocab.getNumOccurrences()) {
    if (vocab <= 0)
      return fail("--vocab must be positive, got " + Twine(vocab));
    config->vocabSize = vocab;
    // The shape's special ids may not exist in a smaller vocabulary.
    for (int64_t *id : {&config->bosTokenId, &config->eosTokenId})
      if (*id >= vocab)
        *id = -1;
  }
  if (Error error = config->checkLimits("--shape " + shapeName))
    return fail(toString(std::move(error)));
  if (shardSize == 0)
    return fail("--shard-size must be positive");

  // Greedy sharding in tensor order, as transformers' save_pretrained does.
  std::vector<SafeTensorsWriter> shards(1);
  std::vector<uint64_t> shardBytes(1, 0);
  std::vector<std::pair<std::string, size_t>> placement;
  if (quantized && (seedBits < 2 || parentBits > 8 || seedBits > parentBits))
    return fail("need 2 <= --seed-bits <= --parent-bits <= 8");
  // The tensors to write: each expected tensor, except that with --quantized
  // a projection becomes its planes and one table per width.
  struct Planned {
    std::string name;
    DType dtype;
    SmallVector<int64_t> shape;
    SafeTensorsWriter::Generator generator;
  };
  std::vector<Planned> planned;
  for (const TensorSpec &spec : expectedTensors(*config)) {
    StringRef name = spec.name;
    if (quantized && name.starts_with("model.layers.") &&
        name.ends_with("_proj.weight")) {
      std::string prefix = name.drop_back(strlen(".weight")).str();
      int64_t rows = spec.shape[0], cols = spec.shape[1];
      planned.push_back({prefix + ".qweight.planes", DType::U8,
                         {int64_t(parentBits), rows, (cols + 7) / 8},
                         planesFor(prefix + ".qweight.planes", cols)});
      for (unsigned b = seedBits; b <= parentBits; ++b) {
        std::string lut = prefix + ".qweight.lut" + std::to_string(b);
        planned.push_back({lut, DType::F16, {rows, int64_t(1) << b},
                           lutFor(lut, b)});
      }
      continue;
    }
    planned.push_back({spec.name, DType::F16, spec.shape,
                       generatorFor(spec.name, initFor(spec.name))});
  }
  for (const Planned &tensor : planned) {
    uint64_t bytes = dtypeSize(tensor.dtype);
    for (int64_t d : tensor.shape)
      bytes *= uint64_t(d);
    if (shardBytes.back() && shardBytes.back() + bytes > shardSize) {
      shards.emplace_back();
      shardBytes.push_back(0);
    }
    shards.back().addGeneratedTensor(tensor.name, tensor.dtype, tensor.shape,
                                     tensor.generator);
    shards.back().addMetadata("format", "pt");
    if (quantized) {
      shards.back().addMetadata("pmpd.format", "any-precision");
      shards.back().addMetadata("pmpd.layout_version", "1");
      shards.back().addMetadata("pmpd.seed_bits", std::to_string(seedBits));
      shards.back().addMetadata("pmpd.parent_bits",
                                std::to_string(parentBits));
    }
    shardBytes.back() += bytes;
    placement.push_back({tensor.name, shards.size() - 1});
  }

  uint64_t totalData = 0;
  for (uint64_t b : shardBytes)
    totalData += b;
  std::vector<std::string> fileNames;
  if (shards.size() == 1) {
    fileNames.push_back("model.safetensors");
  } else {
    for (size_t i = 0; i < shards.size(); ++i)
      fileNames.push_back(formatv("model-{0:d5}-of-{1:d5}.safetensors", i + 1,
                                  shards.size())
                              .str());
  }
  json::Value configJSON = config->toJSON();
  configJSON.getAsObject()->try_emplace("torch_dtype", "float16");
  if (dryRun) {
    outs() << jsonText(configJSON);
    for (size_t i = 0; i < shards.size(); ++i)
      outs() << "file: " << fileNames[i] << " " << shards[i].fileSize()
             << " bytes\n";
    outs() << "parameters: " << config->numParameters() << "\n"
           << "total bytes: " << totalData << "\n";
    return 0;
  }

  if (sys::fs::exists(outDir) && !sys::fs::is_directory(outDir))
    return fail(outDir + ": exists and is not a directory");
  if (std::error_code ec = sys::fs::create_directories(outDir))
    return fail(outDir + ": cannot create directory: " + ec.message());
  // A stale file of the other layout would shadow or confuse the new one.
  sys::fs::remove(joinPath(outDir, shards.size() == 1
                                       ? "model.safetensors.index.json"
                                       : "model.safetensors"));

  {
    ProgressBar bar("pmpd-synth", totalData, /*bytes=*/true);
    for (size_t i = 0; i < shards.size(); ++i)
      if (Error err = shards[i].write(joinPath(outDir, fileNames[i]),
                                      [&](uint64_t n) { bar.advance(n); }))
        return fail(toString(std::move(err)));
  }

  if (shards.size() > 1) {
    json::Object weightMap;
    for (const auto &[name, shard] : placement)
      weightMap[name] = fileNames[shard];
    json::Value index = json::Object{
        {"metadata", json::Object{{"total_size", int64_t(totalData)}}},
        {"weight_map", std::move(weightMap)}};
    if (Error err = writeText(joinPath(outDir, "model.safetensors.index.json"),
                              jsonText(index)))
      return fail(toString(std::move(err)));
  }

  if (!tokenizer.empty())
    if (std::error_code ec = sys::fs::copy_file(
            tokenizer, joinPath(outDir, "tokenizer.json")))
      return fail(tokenizer + ": cannot copy: " + ec.message());

  // config.json last: a directory is a loadable model only once it is whole.
  if (Error err =
          writeText(joinPath(outDir, "config.json"), jsonText(configJSON)))
    return fail(toString(std::move(err)));

  outs() << "wrote " << outDir << ": " << config->architecture << " ("
         << shapeName << "), " << config->numLayers << " layers, "
         << config->numParameters() << " parameters, "
         << formatBytes(totalData) << " in " << shards.size()
         << (shards.size() == 1 ? " file\n" : " files\n");
  return 0;
}
