//===- MapParallelLoops.cpp - Parallel loops onto GPU blocks and threads --===//
//
// After bufferization and `convert-linalg-to-parallel-loops`, the model's
// elementwise work, norms, RoPE and attention are `scf.parallel` nests in
// host functions, and the writes into the KV cache are `memref.copy`s, which
// this pass turns into parallel loops too. It decides how each outermost
// parallel loop runs on the GPU:
// its innermost dimension is tiled into blocks of threads, the tiles and the
// next two dimensions go to the grid, anything beyond runs sequentially in
// each thread, as do parallel loops nested deeper (inside a reduction);
// `convert-parallel-loops-to-gpu` then makes the launches.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Conversion/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"

namespace pmpd {
#define GEN_PASS_DEF_PMPDMAPPARALLELLOOPSTOGPU
#include "pmpd/Conversion/Passes.h.inc"
} // namespace pmpd

using namespace mlir;
using mlir::gpu::Processor;

namespace {

mlir::gpu::ParallelLoopDimMappingAttr mapTo(MLIRContext *ctx,
                                            Processor processor) {
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
  return mlir::gpu::ParallelLoopDimMappingAttr::get(ctx, processor, identity,
                                                    identity);
}

/// Replaces `copy` by an scf.parallel loop of loads and stores.
void copyAsParallelLoop(memref::CopyOp copy) {
  OpBuilder b(copy);
  Location loc = copy.getLoc();
  Value source = copy.getSource(), target = copy.getTarget();
  auto type = cast<MemRefType>(source.getType());
  SmallVector<Value> lower, upper, steps;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t i = 0, e = type.getRank(); i < e; ++i) {
    lower.push_back(zero);
    upper.push_back(memref::DimOp::create(b, loc, source, i));
    steps.push_back(one);
  }
  if (lower.empty()) {
    Value value = memref::LoadOp::create(b, loc, source, ValueRange());
    memref::StoreOp::create(b, loc, value, target, ValueRange());
  } else {
    scf::ParallelOp::create(
        b, loc, lower, upper, steps,
        [&](OpBuilder &nested, Location nestedLoc, ValueRange indices) {
          Value value =
              memref::LoadOp::create(nested, nestedLoc, source, indices);
          memref::StoreOp::create(nested, nestedLoc, value, target, indices);
        });
  }
  copy.erase();
}

/// Replaces `loop` (no reductions) by a nest of scf.for loops.
void sequentialize(scf::ParallelOp loop) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  SmallVector<Value> indices;
  for (auto [lower, upper, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    auto forOp = scf::ForOp::create(b, loc, lower, upper, step);
    indices.push_back(forOp.getInductionVar());
    b.setInsertionPoint(forOp.getBody()->getTerminator());
  }
  IRMapping mapping;
  mapping.map(loop.getInductionVars(), indices);
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, mapping);
  loop.erase();
}

struct MapParallelLoops
    : pmpd::impl::PMPDMapParallelLoopsToGPUBase<MapParallelLoops> {
  using PMPDMapParallelLoopsToGPUBase::PMPDMapParallelLoopsToGPUBase;

  LogicalResult map(scf::ParallelOp loop);

  void runOnOperation() override {
    // Copies (into slices of the KV cache, say) run on the device too.
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp copy) {
      if (!copy->getParentOfType<mlir::gpu::LaunchOp>())
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies)
      copyAsParallelLoop(copy);

    SmallVector<scf::ParallelOp> outermost;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>() &&
          !loop->getParentOfType<mlir::gpu::LaunchOp>())
        outermost.push_back(loop);
    });
    for (scf::ParallelOp loop : outermost)
      if (failed(map(loop)))
        return signalPassFailure();
  }
};

} // namespace

LogicalResult MapParallelLoops::map(scf::ParallelOp loop) {
  MLIRContext *ctx = loop.getContext();
  size_t rank = loop.getNumLoops();
  // Threads of a block along the innermost dimension: fewer when it is
  // statically short (a head of 64), so that no thread idles.
  int64_t tile = threadsPerBlock;
  std::optional<int64_t> lower =
      getConstantIntValue(loop.getLowerBound().back());
  std::optional<int64_t> upper =
      getConstantIntValue(loop.getUpperBound().back());
  std::optional<int64_t> step = getConstantIntValue(loop.getStep().back());
  if (lower && upper && step && *step > 0)
    tile = std::clamp<int64_t>((*upper - *lower + *step - 1) / *step, 1, tile);

  SmallVector<int64_t> tileSizes(rank, 1);
  tileSizes.back() = tile;
  // Constant tile bounds (the body guarded against the remainder), from
  // which the conversion takes the block size.
  auto [outer, inner] =
      scf::tileParallelLoop(loop, tileSizes, /*noMinMaxBounds=*/true);

  // Grid: the innermost dimensions (x has the largest limit), the rest
  // sequential in each thread.
  const Processor grid[] = {Processor::BlockX, Processor::BlockY,
                            Processor::BlockZ};
  SmallVector<mlir::gpu::ParallelLoopDimMappingAttr> outerMapping(
      rank, mapTo(ctx, Processor::Sequential));
  for (size_t i = 0; i < rank && i < std::size(grid); ++i)
    outerMapping[rank - 1 - i] = mapTo(ctx, grid[i]);
  SmallVector<mlir::gpu::ParallelLoopDimMappingAttr> innerMapping(
      rank, mapTo(ctx, Processor::Sequential));
  innerMapping.back() = mapTo(ctx, Processor::ThreadX);
  if (failed(mlir::gpu::setMappingAttr(outer, outerMapping)) ||
      failed(mlir::gpu::setMappingAttr(inner, innerMapping)))
    return outer.emitOpError("cannot be mapped to the GPU");
  // Parallel loops nested deeper (linalg makes them for parallel dimensions
  // inside a reduction) run sequentially in their thread.
  SmallVector<scf::ParallelOp> nested;
  inner.getBody()->walk([&](scf::ParallelOp op) { nested.push_back(op); });
  for (scf::ParallelOp op : llvm::reverse(nested))
    sequentialize(op);
  return success();
}
