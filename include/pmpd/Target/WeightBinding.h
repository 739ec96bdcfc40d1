//===- WeightBinding.h - Weights files of compiled artifacts ----*- C++ -*-===//
//
// An artifact carries one weights file holding exactly the tensors its module
// declares, and each pmpd.weight is bound to byte offsets in that file, so
// that compiled code reads weights straight out of the mapped file.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_TARGET_WEIGHTBINDING_H
#define PMPD_TARGET_WEIGHTBINDING_H

#include "pmpd/Dialect/PMPD/IR/PMPD.h"
#include "pmpd/Model/HFModel.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace pmpd {

/// The file tensors a weight stands for, in the order of its byte offsets:
/// the tensor itself, or a packed weight's planes then its LUTs from the
/// seed to the parent width.
llvm::SmallVector<std::string> dataTensorNames(WeightOp weight);

/// Writes the tensors of every pmpd.weight of `module`, taken from `model`,
/// to a safetensors file at `path` (fp16 tensors converted from bf16/f32
/// where the source has them), with a progress bar on a terminal. Errors name
/// a tensor that is missing or whose shape or dtype cannot serve its
/// declaration. When the model is one safetensors file that already holds
/// every tensor as the declarations need it (an fp16 model, or what
/// pmpd-quantize writes), the file is a copy of it: an artifact compiled
/// elsewhere can then be given its weights by copying the model's file.
llvm::Error writeWeightsFile(mlir::ModuleOp module, const HFModel &model,
                             llvm::StringRef path);

/// Binds each pmpd.weight of `module` to the byte offsets of its tensors in
/// `file`, checking their dtypes and shapes against the declaration.
llvm::Error bindWeights(mlir::ModuleOp module, const SafeTensorsFile &file);

} // namespace pmpd

#endif // PMPD_TARGET_WEIGHTBINDING_H
