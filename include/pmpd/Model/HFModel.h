//===- HFModel.h - A Hugging Face model directory ---------------*- C++ -*-===//
//
// config.json plus model.safetensors (or shards listed in
// model.safetensors.index.json), checked against each other: every tensor the
// config implies must exist with the shape it implies.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_MODEL_HFMODEL_H
#define PMPD_MODEL_HFMODEL_H

#include "pmpd/Model/ModelConfig.h"
#include "pmpd/Model/SafeTensors.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pmpd {

/// The seven quantizable projections of a decoder layer.
enum class Projection { Q, K, V, O, Gate, Up, Down };
constexpr unsigned kNumProjections = 7;
llvm::StringRef projectionName(Projection p); // "q_proj", ..., "down_proj"

/// HF tensor name of a layer's projection weight, e.g.
/// "model.layers.3.self_attn.q_proj.weight".
std::string projectionTensorName(int64_t layer, Projection p);
/// {rows (out features), cols (in features)} of a projection.
std::pair<int64_t, int64_t> projectionShape(const ModelConfig &config,
                                            Projection p);

/// Name and shape of every tensor a model with this config has.
struct TensorSpec {
  std::string name;
  llvm::SmallVector<int64_t> shape;
};
std::vector<TensorSpec> expectedTensors(const ModelConfig &config);

class HFModel {
public:
  /// Opens `dir`: config.json, then model.safetensors or the shards named by
  /// model.safetensors.index.json. Errors name the file and the problem
  /// (missing tensor, shape that disagrees with the config, ...).
  static llvm::Expected<std::unique_ptr<HFModel>> open(llvm::StringRef dir);
  /// As `open(dir)`; with `requireProjections` false, the seven projection
  /// weights of each layer and an untied lm_head may be absent (a directory
  /// whose projections are stored packed). Projections that are present are
  /// still checked. Tensors the config does not imply are always allowed.
  static llvm::Expected<std::unique_ptr<HFModel>>
  open(llvm::StringRef dir, bool requireProjections);

  llvm::StringRef dir() const { return dirPath; }
  const ModelConfig &config() const { return cfg; }
  /// The tensor, or an error naming it and the model directory.
  llvm::Expected<const TensorView &> tensor(llvm::StringRef name) const;
  /// `tensor(name)` converted to fp32.
  llvm::Expected<std::vector<float>> tensorF32(llvm::StringRef name) const;
  /// Every tensor of every shard (shards in file-name order, each in file
  /// order).
  std::vector<const TensorView *> allTensors() const;
  /// The tensor, or nullptr when no shard has it.
  const TensorView *lookup(llvm::StringRef name) const;
  /// The file holding the tensor, or nullptr when no shard has it.
  const SafeTensorsFile *fileOf(llvm::StringRef name) const;
  /// The opened safetensors files (one unless the model is sharded).
  llvm::ArrayRef<std::unique_ptr<SafeTensorsFile>> files() const {
    return shards;
  }

private:
  HFModel() = default;
  std::string dirPath;
  ModelConfig cfg;
  std::vector<std::unique_ptr<SafeTensorsFile>> shards;
  // Tensor name -> (view, index into `shards`).
  std::map<std::string, std::pair<const TensorView *, size_t>, std::less<>>
      byName;
};

} // namespace pmpd

#endif // PMPD_MODEL_HFMODEL_H
