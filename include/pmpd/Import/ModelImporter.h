//===- ModelImporter.h - A Hugging Face model as an MLIR module -*- C++ -*-===//
//
// The importer turns a LLaMA-family decoder into the module every later stage
// of pmpd starts from (docs: the IR contract between importer and passes):
// one `pmpd.weight` per tensor, never inlined, and a phase-agnostic
// `@forward(tokens, start, k_cache, v_cache) -> (logits, k_cache, v_cache)`
// whose projections are `pmpd.qlinear`s and whose remaining math (embedding,
// RMSNorm, RoPE, causal GQA attention over the cache, SiLU-gated MLP) is
// upstream linalg/tensor/arith/math.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_IMPORT_MODELIMPORTER_H
#define PMPD_IMPORT_MODELIMPORTER_H

#include "pmpd/Import/WeightLayout.h"
#include "pmpd/Model/HFModel.h"
#include "pmpd/Model/ModelConfig.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include "llvm/Support/Error.h"

namespace pmpd {

/// Adds the dialects an imported module uses (func, arith, math, linalg,
/// tensor, pmpd) to `registry`.
void registerImportDialects(mlir::DialectRegistry &registry);

/// Imports `model`, reading the projections' layout off its weights files
/// (see detectWeightLayout). The module is verified.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importModel(mlir::MLIRContext &context, const HFModel &model);

/// Imports a model described only by its config and the layout of its
/// projections; nothing is read from disk. The module is verified. Fails on
/// a config the forward cannot be built for (e.g. heads not divisible by KV
/// heads, an odd head dimension) or a layout of another number of layers.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importModel(mlir::MLIRContext &context, const ModelConfig &config,
            const WeightLayout &layout);

} // namespace pmpd

#endif // PMPD_IMPORT_MODELIMPORTER_H
