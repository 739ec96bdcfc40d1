//===- DecomposeLayerOps.cpp - pmpd layer ops as linalg -------------------===//
//
// Targets whose layer math is compiled by MLIR (cpu, hexagon) expand the layer
// ops into linalg on tensors; the expansion is each op's own `decompose`, the
// same code the gpu target's kernels are tested against.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Conversion/KernelLowering.h"
#include "pmpd/Conversion/Passes.h"

namespace pmpd {
#define GEN_PASS_DEF_PMPDDECOMPOSELAYEROPS
#include "pmpd/Conversion/Passes.h.inc"
} // namespace pmpd

using namespace mlir;
using namespace pmpd;

namespace {

struct DecomposeLayerOps
    : pmpd::impl::PMPDDecomposeLayerOpsBase<DecomposeLayerOps> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<RMSNormOp, AttentionOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops)
      decomposeLayerOp(op);
  }
};

} // namespace
