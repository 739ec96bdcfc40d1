//===- HFModel.cpp - A Hugging Face model directory -----------------------===//
//
// Joins config.json and the weights files and checks them against each
// other once, at open, so that everything downstream may assume every tensor
// the config implies exists with the shape it implies and a float dtype.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Model/HFModel.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace pmpd {

StringRef projectionName(Projection p) {
  switch (p) {
  case Projection::Q:
    return "q_proj";
  case Projection::K:
    return "k_proj";
  case Projection::V:
    return "v_proj";
  case Projection::O:
    return "o_proj";
  case Projection::Gate:
    return "gate_proj";
  case Projection::Up:
    return "up_proj";
  case Projection::Down:
    return "down_proj";
  }
  llvm_unreachable("unknown projection");
}

static bool isAttention(Projection p) {
  return p == Projection::Q || p == Projection::K || p == Projection::V ||
         p == Projection::O;
}

std::string projectionTensorName(int64_t layer, Projection p) {
  return ("model.layers." + Twine(layer) +
          (isAttention(p) ? ".self_attn." : ".mlp.") + projectionName(p) +
          ".weight")
      .str();
}

std::pair<int64_t, int64_t> projectionShape(const ModelConfig &c,
                                            Projection p) {
  int64_t q = c.numHeads * c.headDim, kv = c.numKVHeads * c.headDim;
  switch (p) {
  case Projection::Q:
    return {q, c.hiddenSize};
  case Projection::K:
  case Projection::V:
    return {kv, c.hiddenSize};
  case Projection::O:
    return {c.hiddenSize, q};
  case Projection::Gate:
  case Projection::Up:
    return {c.intermediateSize, c.hiddenSize};
  case Projection::Down:
    return {c.hiddenSize, c.intermediateSize};
  }
  llvm_unreachable("unknown projection");
}

static constexpr Projection kProjections[] = {
    Projection::Q,    Projection::K,  Projection::V,   Projection::O,
    Projection::Gate, Projection::Up, Projection::Down};

std::vector<TensorSpec> expectedTensors(const ModelConfig &c) {
  std::vector<TensorSpec> specs;
  specs.push_back({"model.embed_tokens.weight", {c.vocabSize, c.hiddenSize}});
  for (int64_t l = 0; l < c.numLayers; ++l) {
    std::string prefix = "model.layers." + std::to_string(l) + ".";
    specs.push_back({prefix + "input_layernorm.weight", {c.hiddenSize}});
    for (Projection p : kProjections) {
      auto [rows, cols] = projectionShape(c, p);
      specs.push_back({projectionTensorName(l, p), {rows, cols}});
      if (c.attentionBias && (p == Projection::Q || p == Projection::K ||
                              p == Projection::V))
        specs.push_back({prefix + "self_attn." + projectionName(p).str() +
                             ".bias",
                         {rows}});
    }
    specs.push_back(
        {prefix + "post_attention_layernorm.weight", {c.hiddenSize}});
  }
  specs.push_back({"model.norm.weight", {c.hiddenSize}});
  if (!c.tieWordEmbeddings)
    specs.push_back({"lm_head.weight", {c.vocabSize, c.hiddenSize}});
  return specs;
}

static Error fail(const Twine &where, const Twine &problem) {
  return createStringError(inconvertibleErrorCode(), where + ": " + problem);
}

static std::string joinPath(StringRef dir, StringRef name) {
  SmallString<256> path(dir);
  sys::path::append(path, name);
  return std::string(path);
}

/// The shard file names of model.safetensors.index.json, each with the
/// tensors the index places in it.
static Expected<std::map<std::string, std::vector<std::string>>>
readIndex(StringRef indexPath) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(indexPath, /*IsText=*/true);
  if (!buffer)
    return fail(indexPath, "cannot read: " + buffer.getError().message());
  Expected<json::Value> doc = json::parse((*buffer)->getBuffer());
  if (!doc)
    return fail(indexPath, "malformed JSON: " + toString(doc.takeError()));
  const json::Object *root = doc->getAsObject();
  const json::Object *map = root ? root->getObject("weight_map") : nullptr;
  if (!map)
    return fail(indexPath, "weight_map: missing or not an object");
  std::map<std::string, std::vector<std::string>> shards;
  for (const json::Object::value_type *kv : json::sortedElements(*map)) {
    std::optional<StringRef> file = kv->second.getAsString();
    if (!file)
      return fail(indexPath, "weight_map: entry of tensor '" +
                                 StringRef(kv->first) +
                                 "' is not a file name string");
    // Shards live next to the index; anything else is not a HF layout and
    // would let an index point anywhere on disk.
    if (file->empty() || sys::path::is_absolute(*file) ||
        *file == ".." || file->contains('/'))
      return fail(indexPath, "weight_map: tensor '" + StringRef(kv->first) +
                                 "' names shard \"" + *file +
                                 "\", which is not a file name in the "
                                 "model directory");
    shards[file->str()].push_back(kv->first.str());
  }
  if (shards.empty())
    return fail(indexPath, "weight_map: empty");
  return shards;
}

static bool isFloat(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16;
}

Expected<std::unique_ptr<HFModel>> HFModel::open(StringRef dir) {
  return open(dir, /*requireProjections=*/true);
}

Expected<std::unique_ptr<HFModel>> HFModel::open(StringRef dir,
                                                 bool requireProjections) {
  std::unique_ptr<HFModel> model(new HFModel());
  model->dirPath = dir.str();

  Expected<ModelConfig> config = ModelConfig::load(joinPath(dir, "config.json"));
  if (!config)
    return config.takeError();
  model->cfg = std::move(*config);

  std::string indexPath = joinPath(dir, "model.safetensors.index.json");
  std::string singlePath = joinPath(dir, "model.safetensors");
  // Where a missing tensor is reported: the file that should have listed it.
  std::string listing;
  auto addShard = [&](const std::string &path) -> Error {
    Expected<std::unique_ptr<SafeTensorsFile>> file =
        SafeTensorsFile::open(path);
    if (!file)
      return file.takeError();
    size_t shardIndex = model->shards.size();
    for (const TensorView &t : (*file)->tensors()) {
      auto [it, inserted] =
          model->byName.try_emplace(t.name, &t, shardIndex);
      if (!inserted)
        return fail(path, "tensor '" + t.name + "' is also in " +
                              model->shards[it->second.second]->path());
    }
    model->shards.push_back(std::move(*file));
    return Error::success();
  };

  if (sys::fs::exists(indexPath)) {
    listing = indexPath;
    auto index = readIndex(indexPath);
    if (!index)
      return index.takeError();
    for (const auto &[shardName, names] : *index) {
      std::string shardPath = joinPath(dir, shardName);
      if (!sys::fs::exists(shardPath))
        return fail(indexPath, "weight_map: shard \"" + shardName +
                                   "\" (of tensor '" + names.front() +
                                   "') does not exist: " + shardPath);
      if (Error err = addShard(shardPath))
        return std::move(err);
      const SafeTensorsFile &shard = *model->shards.back();
      for (const std::string &name : names)
        if (!shard.lookup(name))
          return fail(indexPath, "weight_map: tensor '" + name +
                                     "' is mapped to \"" + shardName +
                                     "\", but " + shardPath +
                                     " has no such tensor");
    }
  } else if (sys::fs::exists(singlePath)) {
    listing = singlePath;
    if (Error err = addShard(singlePath))
      return std::move(err);
  } else {
    return fail(dir, "no model.safetensors or model.safetensors.index.json");
  }

  const ModelConfig &c = model->cfg;
  std::vector<std::string> projections;
  for (int64_t l = 0; l < c.numLayers; ++l)
    for (Projection p : kProjections)
      projections.push_back(projectionTensorName(l, p));
  if (!c.tieWordEmbeddings)
    projections.push_back("lm_head.weight");
  llvm::sort(projections);

  for (const TensorSpec &spec : expectedTensors(c)) {
    auto it = model->byName.find(spec.name);
    if (it == model->byName.end()) {
      if (!requireProjections &&
          std::binary_search(projections.begin(), projections.end(),
                             spec.name))
        continue;
      return fail(listing, "missing tensor '" + spec.name +
                               "' (config.json implies shape " +
                               shapeString(spec.shape) + ")");
    }
    const TensorView &t = *it->second.first;
    StringRef file = model->shards[it->second.second]->path();
    if (ArrayRef<int64_t>(t.shape) != ArrayRef<int64_t>(spec.shape))
      return fail(file, "tensor '" + spec.name + "' has shape " +
                            shapeString(t.shape) + ", but config.json " +
                            "implies " + shapeString(spec.shape));
    if (!isFloat(t.dtype))
      return fail(file, "tensor '" + spec.name + "' has dtype " +
                            dtypeName(t.dtype) +
                            ", expected a float dtype (F32, F16 or BF16)");
  }
  return std::move(model);
}

const TensorView *HFModel::lookup(StringRef name) const {
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : it->second.first;
}

const SafeTensorsFile *HFModel::fileOf(StringRef name) const {
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : shards[it->second.second].get();
}

Expected<const TensorView &> HFModel::tensor(StringRef name) const {
  if (const TensorView *t = lookup(name))
    return *t;
  return fail(dirPath, "no tensor named '" + name + "'");
}

Expected<std::vector<float>> HFModel::tensorF32(StringRef name) const {
  Expected<const TensorView &> t = tensor(name);
  if (!t)
    return t.takeError();
  Expected<std::vector<float>> values = toFloat32(*t);
  if (!values)
    return fail(fileOf(name)->path(), toString(values.takeError()));
  return values;
}

std::vector<const TensorView *> HFModel::allTensors() const {
  std::vector<const TensorView *> all;
  for (const auto &shard : shards)
    for (const TensorView &t : shard->tensors())
      all.push_back(&t);
  return all;
}

} // namespace pmpd
