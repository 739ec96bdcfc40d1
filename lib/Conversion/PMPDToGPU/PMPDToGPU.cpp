//===- PMPDToGPU.cpp - pmpd.qlinear to launches of the GPU kernels --------===//
//
// The GPU target runs the quantized projections in its CUDA kernels, built
// into one device binary that the backend adds to the module as a
// `gpu.binary`; this pass rewrites each pmpd.qlinear into a `gpu.launch_func`
// of the kernel of its precision and shape, with the geometry the kernels'
// ABI (pmpd/Target/GPU/KernelABI.h) states. Decode projections (one token)
// launch the GEMV kernel of their bit width over the shared bit-planes;
// prefill launches the tiled GEMM.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Conversion/Passes.h"
#include "pmpd/Conversion/QLinearLowering.h"
#include "pmpd/Target/GPU/KernelABI.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

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

struct LowerToGPU : pmpd::impl::PMPDLowerToGPUBase<LowerToGPU> {
  using PMPDLowerToGPUBase::PMPDLowerToGPUBase;

  LogicalResult lowerQLinear(QLinearOp op, SymbolTable &symbols);

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
  Value cols = arith::ConstantIntOp::create(b, loc, b.getI64Type(), q.cols);
  Value rows = arith::ConstantIntOp::create(b, loc, b.getI64Type(), q.rows);
  Value data = pointerTo(b, loc, q.weights, q.dataOffset());

  StringRef kernel;
  SmallVector<Value> args;
  Value gridX, gridY = indexConstant(b, loc, 1);
  int64_t threads;
  if (q.packed) {
    if (q.bits < unsigned(abi::kMinKernelBits) ||
        q.bits > unsigned(abi::kMaxKernelBits))
      return op.emitOpError("the GPU kernels read 2..8 bits, not ") << q.bits;
    Value parent = arith::ConstantIntOp::create(b, loc, b.getI32Type(),
                                                q.packed.getParent());
    Value lut = pointerTo(b, loc, q.weights, q.lutOffset());
    if (oneToken) {
      kernel = abi::qgemvKernelName(q.bits);
      args = {input, cols, data, rows, parent, lut, q.bias, output};
      abi::LaunchGeometry geometry = abi::qgemvLaunch(q.rows);
      gridX = indexConstant(b, loc, geometry.gridX);
      threads = geometry.blockX;
    } else {
      kernel = abi::kQGemmKernel;
      Value bits = arith::ConstantIntOp::create(b, loc, b.getI32Type(), q.bits);
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
      Value one = arith::ConstantIntOp::create(b, loc, b.getI64Type(), 1);
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
  Value one = indexConstant(b, loc, 1);
  auto symbol =
      SymbolRefAttr::get(b.getStringAttr(kernels),
                         {FlatSymbolRefAttr::get(b.getContext(), kernel)});
  mlir::gpu::LaunchFuncOp::create(
      b, loc, symbol, mlir::gpu::KernelDim3{gridX, gridY, one},
      mlir::gpu::KernelDim3{indexConstant(b, loc, threads), one, one},
      /*dynamicSharedMemorySize=*/Value(), args);
  replaceQLinear(b, op, q);
  return success();
}
