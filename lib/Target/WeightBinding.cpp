//===- WeightBinding.cpp - Weights files of compiled artifacts ------------===//

#include "pmpd/Target/WeightBinding.h"
#include "pmpd/Support/Half.h"
#include "pmpd/Support/Progress.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/FileSystem.h"

using namespace mlir;
using namespace pmpd;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

SmallVector<std::string> pmpd::dataTensorNames(WeightOp weight) {
  std::string base = weight.getTensor().str();
  auto qweight = dyn_cast<QWeightType>(weight.getType());
  if (!qweight)
    return {base};
  SmallVector<std::string> names = {base + ".qweight.planes"};
  for (unsigned b = qweight.getSeed(); b <= qweight.getParent(); ++b)
    names.push_back(base + ".qweight.lut" + std::to_string(b));
  return names;
}

namespace {
/// What a declaration needs of each of its tensors.
struct TensorNeed {
  DType dtype;
  SmallVector<int64_t> shape;
};

/// Whether `tensor` is exactly what `need` asks for.
bool serves(const TensorView &tensor, const TensorNeed &need) {
  return tensor.dtype == need.dtype &&
         ArrayRef<int64_t>(tensor.shape) == ArrayRef(need.shape);
}

SmallVector<TensorNeed> tensorNeeds(WeightOp weight) {
  if (auto qweight = dyn_cast<QWeightType>(weight.getType())) {
    int64_t rows = qweight.getRows(), cols = qweight.getCols();
    SmallVector<TensorNeed> result = {
        {DType::U8, {int64_t(qweight.getParent()), rows, (cols + 7) / 8}}};
    for (unsigned b = qweight.getSeed(); b <= qweight.getParent(); ++b)
      result.push_back({DType::F16, {rows, int64_t(1) << b}});
    return result;
  }
  auto tensor = cast<RankedTensorType>(weight.getType());
  Type element = tensor.getElementType();
  DType dtype = element.isF16()    ? DType::F16
                : element.isBF16() ? DType::BF16
                                   : DType::F32;
  return {{dtype, SmallVector<int64_t>(tensor.getShape())}};
}

bool isFloat(DType d) {
  return d == DType::F16 || d == DType::BF16 || d == DType::F32;
}
} // namespace

/// Whether `model` is one file whose tensors serve every declaration of
/// `module` as they are.
static bool servesAsIs(ModuleOp module, const HFModel &model) {
  if (model.files().size() != 1)
    return false;
  for (WeightOp weight : module.getOps<WeightOp>()) {
    SmallVector<std::string> names = dataTensorNames(weight);
    SmallVector<TensorNeed> expected = tensorNeeds(weight);
    for (size_t i = 0; i < names.size(); ++i) {
      const TensorView *tensor = model.lookup(names[i]);
      if (!tensor || !serves(*tensor, expected[i]))
        return false;
    }
  }
  return true;
}

llvm::Error pmpd::writeWeightsFile(ModuleOp module, const HFModel &model,
                                   StringRef path) {
  if (servesAsIs(module, model)) {
    StringRef source = model.files().front()->path();
    if (std::error_code ec = llvm::sys::fs::copy_file(source, path))
      return makeError("cannot copy " + source + " to " + path + ": " +
                       ec.message());
    return llvm::Error::success();
  }
  SafeTensorsWriter writer;
  for (WeightOp weight : module.getOps<WeightOp>()) {
    SmallVector<std::string> names = dataTensorNames(weight);
    SmallVector<TensorNeed> expected = tensorNeeds(weight);
    for (size_t i = 0; i < names.size(); ++i) {
      const TensorView *tensor = model.lookup(names[i]);
      if (!tensor)
        return makeError(model.dir() + ": no tensor '" + names[i] +
                         "' for weight @" + weight.getSymName());
      if (ArrayRef<int64_t>(tensor->shape) != ArrayRef(expected[i].shape))
        return makeError(model.dir() + ": tensor '" + names[i] + "' has shape " +
                         shapeString(tensor->shape) + ", but weight @" +
                         weight.getSymName() + " needs " +
                         shapeString(expected[i].shape));
      DType want = expected[i].dtype;
      if (tensor->dtype == want) {
        writer.addGeneratedTensor(
            names[i], want, tensor->shape,
            [tensor](uint64_t offset, MutableArrayRef<uint8_t> chunk) {
              std::memcpy(chunk.data(), tensor->data.data() + offset,
                          chunk.size());
            });
        continue;
      }
      if (want != DType::F16 || !isFloat(tensor->dtype))
        return makeError(model.dir() + ": tensor '" + names[i] + "' is " +
                         dtypeName(tensor->dtype) + ", but weight @" +
                         weight.getSymName() + " needs " + dtypeName(want));
      // A bf16 or f32 source for an fp16 declaration: convert while writing.
      size_t sourceSize = dtypeSize(tensor->dtype);
      writer.addGeneratedTensor(
          names[i], DType::F16, tensor->shape,
          [tensor, sourceSize](uint64_t offset,
                               MutableArrayRef<uint8_t> chunk) {
            const uint8_t *src = tensor->data.data() + offset / 2 * sourceSize;
            for (size_t j = 0; j < chunk.size() / 2; ++j) {
              float value;
              if (sourceSize == 4) {
                std::memcpy(&value, src + 4 * j, 4);
              } else {
                uint16_t bf;
                std::memcpy(&bf, src + 2 * j, 2);
                value = bf16ToFloat(bf);
              }
              uint16_t half = floatToHalf(value);
              std::memcpy(chunk.data() + 2 * j, &half, 2);
            }
          });
    }
  }
  ProgressBar progress("weights", writer.fileSize(), /*bytes=*/true);
  llvm::Error error =
      writer.write(path, [&](uint64_t n) { progress.advance(n); });
  progress.finish();
  return error;
}

llvm::Error pmpd::bindWeights(ModuleOp module, const SafeTensorsFile &file) {
  Builder builder(module.getContext());
  for (WeightOp weight : module.getOps<WeightOp>()) {
    SmallVector<std::string> names = dataTensorNames(weight);
    SmallVector<TensorNeed> expected = tensorNeeds(weight);
    SmallVector<int64_t> offsets;
    for (size_t i = 0; i < names.size(); ++i) {
      const TensorView *tensor = file.lookup(names[i]);
      if (!tensor)
        return makeError(file.path() + ": no tensor '" + names[i] +
                         "' for weight @" + weight.getSymName());
      if (!serves(*tensor, expected[i]))
        return makeError(file.path() + ": tensor '" + names[i] + "' is " +
                         dtypeName(tensor->dtype) + " " +
                         shapeString(tensor->shape) + ", but weight @" +
                         weight.getSymName() + " needs " +
                         dtypeName(expected[i].dtype) + " " +
                         shapeString(expected[i].shape));
      offsets.push_back(int64_t(file.fileOffset(*tensor)));
    }
    weight.setByteOffsetsAttr(builder.getDenseI64ArrayAttr(offsets));
  }
  return llvm::Error::success();
}
