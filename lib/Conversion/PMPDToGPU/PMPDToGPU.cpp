//===- PMPDToGPU.cpp - pmpd ops to launches of the GPU kernels ------------===//
//
// The GPU target runs the quantized projections and the layer ops (RMSNorm,
// attention over the KV cache) in its CUDA kernels, built into one device
// binary that the backend adds to the module as a `gpu.binary`; this pass
// rewrites each pmpd.qlinear, pmpd.rms_norm and pmpd.attention into
// `gpu.launch_func`s with the geometry the kernels' ABI
// (pmpd/Target/GPU/KernelABI.h) states. Decode projections (one token)
// launch the GEMV kernel of their bit width over the shared bit-planes;
// prefill launches the tiled GEMM.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Conversion/KernelLowering.h"
#include "pmpd/Conversion/Passes.h"
#include "pmpd/Target/GPU/KernelABI.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>

namespace pmpd {
#define GEN_PASS_DEF_PMPDLOWERTOGPU
#include "pmpd/Conversion/Passes.h.inc"
} // namespace pmpd

using namespace mlir;
using namespace pmpd;
namespace abi = pmpd::gpu;

namespace {

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// ceil(tokens / tile) as an index.
Value tokenTiles(OpBuilder &b, Location loc, Value tokens, int64_t tile) {
  Value count = arith::IndexCastOp::create(b, loc, b.getIndexType(), tokens);
  return arith::CeilDivUIOp::create(b, loc, count, indexConstant(b, loc, tile));
}

Value asI64(OpBuilder &b, Location loc, Value index) {
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
}

struct LowerToGPU : pmpd::impl::PMPDLowerToGPUBase<LowerToGPU> {
  using PMPDLowerToGPUBase::PMPDLowerToGPUBase;

  LogicalResult lowerQLinear(QLinearOp op, SymbolTable &symbols);
  LogicalResult lowerRMSNorm(RMSNormOp op);
  LogicalResult lowerAttention(AttentionOp op);

  /// Launches kernel `name` of the kernels' binary.
  void launch(OpBuilder &b, Location loc, StringRef name,
              mlir::gpu::KernelDim3 grid, int64_t threads, ValueRange args) {
    auto symbol =
        SymbolRefAttr::get(b.getStringAttr(kernels),
                           {FlatSymbolRefAttr::get(b.getContext(), name)});
    Value one = indexConstant(b, loc, 1);
    mlir::gpu::LaunchFuncOp::create(
        b, loc, symbol, grid,
        mlir::gpu::KernelDim3{indexConstant(b, loc, threads), one, one},
        /*dynamicSharedMemorySize=*/Value(), args);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Operation *binary = SymbolTable::lookupSymbolIn(module, kernels);
    if (!binary || !isa<mlir::gpu::BinaryOp>(binary)) {
      module.emitError("no gpu.binary @")
          << kernels << " with the projection kernels in the module";
      return signalPassFailure();
    }
    module->setAttr(mlir::gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(module.getContext()));
    auto lower = [&](QLinearOp op, SymbolTable &symbols) {
      return lowerQLinear(op, symbols);
    };
    SmallVector<Operation *> layerOps;
    module.walk([&](Operation *op) {
      if (isa<RMSNormOp, AttentionOp>(op))
        layerOps.push_back(op);
    });
    for (Operation *op : layerOps) {
      LogicalResult lowered =
          isa<RMSNormOp>(op) ? lowerRMSNorm(cast<RMSNormOp>(op))
                             : lowerAttention(cast<AttentionOp>(op));
      if (failed(lowered))
        return signalPassFailure();
    }
    if (failed(lowerProjections(module, lower)))
      return signalPassFailure();
  }
};

} // namespace

LogicalResult LowerToGPU::lowerQLinear(QLinearOp op, SymbolTable &symbols) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  FailureOr<QLinearOperands> operands = prepareQLinear(b, op, symbols, "GPU");
  if (failed(operands))
    return failure();
  const QLinearOperands &q = *operands;
  // One token when every leading dimension is statically 1: decode.
  auto inputType = op.getInput().getType();
  bool oneToken = llvm::all_of(inputType.getShape().drop_back(),
                               [](int64_t d) { return d == 1; });
  Value input = pointerTo(b, loc, q.input);
  Value output = pointerTo(b, loc, q.output);
  Value cols = i64Constant(b, loc, q.cols);
  Value rows = i64Constant(b, loc, q.rows);
  Value data = pointerTo(b, loc, q.weights, q.dataOffset());

  StringRef kernel;
  SmallVector<Value> args;
  Value gridX, gridY = indexConstant(b, loc, 1);
  int64_t threads;
  if (q.packed) {
    if (q.bits < unsigned(abi::kMinKernelBits) ||
        q.bits > unsigned(abi::kMaxKernelBits))
      return op.emitOpError("the GPU kernels read 2..8 bits, not ") << q.bits;
    Value parent = i32Constant(b, loc, q.packed.getParent());
    Value lut = pointerTo(b, loc, q.weights, q.lutOffset());
    if (oneToken) {
      kernel = abi::qgemvKernelName(q.bits);
      args = {input, cols, data, rows, parent, lut, q.bias, output};
      abi::LaunchGeometry geometry = abi::qgemvLaunch(q.rows);
      gridX = indexConstant(b, loc, geometry.gridX);
      threads = geometry.blockX;
    } else {
      kernel = abi::kQGemmKernel;
      Value bits = i32Constant(b, loc, q.bits);
      args = {input,  q.tokens, cols, data,   rows,
              parent, lut,      bits, q.bias, output};
      abi::LaunchGeometry geometry = abi::qgemmLaunch(q.rows, 1);
      gridX = indexConstant(b, loc, geometry.gridX);
      gridY = tokenTiles(b, loc, q.tokens, abi::kGemmTileTokens);
      threads = geometry.blockX;
    }
  } else {
    kernel = abi::kLinearF16Kernel;
    args = {input, q.tokens, cols, data, rows, q.bias, output};
    abi::LaunchGeometry gemv = abi::linearF16Launch(q.rows, 1);
    abi::LaunchGeometry gemm = abi::linearF16Launch(q.rows, 2);
    threads = gemv.blockX;
    if (oneToken) {
      gridX = indexConstant(b, loc, gemv.gridX);
    } else {
      // The kernel takes its GEMV path for one token, whatever the shape.
      Value one = i64Constant(b, loc, 1);
      Value single = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                           q.tokens, one);
      Value gemvX = indexConstant(b, loc, gemv.gridX);
      Value gemmX = indexConstant(b, loc, gemm.gridX);
      gridX = arith::SelectOp::create(b, loc, single, gemvX, gemmX);
      Value tiles = tokenTiles(b, loc, q.tokens, abi::kGemmTileTokens);
      gridY = arith::SelectOp::create(b, loc, single, indexConstant(b, loc, 1),
                                      tiles);
    }
  }
  launch(b, loc, kernel, {gridX, gridY, indexConstant(b, loc, 1)}, threads,
         args);
  replaceQLinear(b, op, q);
  return success();
}

LogicalResult LowerToGPU::lowerRMSNorm(RMSNormOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value input = readOnlyBuffer(b, loc, op.getInput());
  Value weight = readOnlyBuffer(b, loc, op.getWeight());
  Value tokens = memref::DimOp::create(b, loc, input, 0);
  Value output = allocRows(b, loc, op.getResult().getType(), tokens);
  int64_t hidden = op.getInput().getType().getDimSize(1);
  Value epsilon = arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(float(op.getEpsilon().convertToDouble())));
  Value one = indexConstant(b, loc, 1);
  launch(b, loc, abi::kRMSNormKernel, {tokens, one, one},
         abi::kLayerOpThreads,
         {pointerTo(b, loc, input), i64Constant(b, loc, hidden),
          pointerTo(b, loc, weight), epsilon, pointerTo(b, loc, output)});
  replaceWithBuffer(b, op, output);
  return success();
}

LogicalResult LowerToGPU::lowerAttention(AttentionOp op) {
  int64_t heads = op.getNumHeads(), kvHeads = op.getNumKVHeads(),
          headDim = op.getHeadDim();
  OpBuilder b(op);
  Location loc = op.getLoc();
  if (!abi::isSupportedHeadDim(headDim)) {
    // No kernel for this head size: MLIR's own GPU code of the linalg form.
    decomposeLayerOp(op);
    return success();
  }
  Value query = readOnlyBuffer(b, loc, op.getQuery());
  // The layer's position 0 in each cache.
  int64_t layerBytes = op.getLayer() * op.getMaxPositions() * kvHeads *
                       headDim * int64_t(sizeof(float));
  Value keys = pointerTo(b, loc, readOnlyBuffer(b, loc, op.getKeys()), layerBytes);
  Value values =
      pointerTo(b, loc, readOnlyBuffer(b, loc, op.getValues()), layerBytes);
  Value tokens = memref::DimOp::create(b, loc, query, 0);
  Value output = allocRows(b, loc, op.getResult().getType(), tokens);
  Value scale = arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(float(std::pow(double(headDim), -0.5))));
  Value headsArg = i32Constant(b, loc, heads);
  Value kvHeadsArg = i32Constant(b, loc, kvHeads);
  Value headDimArg = i32Constant(b, loc, headDim);
  Value one = indexConstant(b, loc, 1);
  Value headsGrid = indexConstant(b, loc, heads);

  if (op.getQuery().getType().getDimSize(0) != 1) {
    Value queryTiles =
        arith::CeilDivUIOp::create(b, loc, tokens,
                                   indexConstant(b, loc, abi::kPrefillQueries));
    launch(b, loc, abi::kAttentionPrefillKernel, {queryTiles, headsGrid, one},
           abi::kLayerOpThreads,
           {pointerTo(b, loc, query), asI64(b, loc, tokens), keys, values,
            asI64(b, loc, op.getStart()), headsArg, kvHeadsArg, headDimArg,
            scale, pointerTo(b, loc, output)});
    replaceWithBuffer(b, op, output);
    return success();
  }

  // Decode: splits = min(ceil(visible / kAttentionSplitPositions), max).
  Value visible = arith::AddIOp::create(b, loc, op.getStart(), one);
  Value chunks = arith::CeilDivUIOp::create(
      b, loc, visible, indexConstant(b, loc, abi::kAttentionSplitPositions));
  Value splits = arith::MinUIOp::create(
      b, loc, chunks, indexConstant(b, loc, abi::kAttentionMaxSplits));
  Value partialSize = arith::MulIOp::create(
      b, loc, splits, indexConstant(b, loc, heads * (headDim + 2)));
  Value partial = memref::AllocOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, b.getF32Type()),
      ValueRange{partialSize});
  Value partialPtr = pointerTo(b, loc, partial);
  Value outputPtr = pointerTo(b, loc, output);
  launch(b, loc, abi::kAttentionDecodeKernel, {headsGrid, splits, one},
         abi::kLayerOpThreads,
         {pointerTo(b, loc, query), keys, values, asI64(b, loc, visible),
          headsArg, kvHeadsArg, headDimArg, scale, partialPtr, outputPtr});
  Value split = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                      splits, one);
  auto ifSplit = scf::IfOp::create(b, loc, split, /*withElseRegion=*/false);
  OpBuilder inner = ifSplit.getThenBodyBuilder();
  Value splitsArg =
      arith::IndexCastOp::create(inner, loc, inner.getI32Type(), splits);
  launch(inner, loc, abi::kAttentionCombineKernel, {headsGrid, one, one},
         abi::kLayerOpThreads, {partialPtr, splitsArg, headDimArg, outputPtr});
  replaceWithBuffer(b, op, output);
  return success();
}
