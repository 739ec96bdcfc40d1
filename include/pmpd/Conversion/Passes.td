//===- Passes.td - Lowerings out of the pmpd dialect ------*- tablegen -*-===//

#ifndef PMPD_CONVERSION_PASSES_TD
#define PMPD_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def PMPDLowerToCPU : Pass<"pmpd-lower-to-cpu", "mlir::ModuleOp"> {
  let summary = "Lowers pmpd ops to weights-buffer views and CPU kernel calls";
  let description = [{
    Prepares a specialized module for bufferization and the LLVM lowering of
    the CPU target; afterwards only upstream dialects remain.

    - Every defined function gains a trailing `memref<?xi8>` argument, the
      mapped weights file, threaded through calls between them; public
      functions get a C interface (`llvm.emit_c_interface`) for the runtime.
    - `pmpd.get_weight` of a tensor becomes a `memref.view` of that buffer at
      the weight's byte offset (the `at` of its `pmpd.weight`, which must be
      bound), wrapped in `bufferization.to_tensor`.
    - `pmpd.qlinear` becomes a call of the lookup-table kernel of its
      precision (`pmpd_qlinear_f32`) or of the fp16 kernel
      (`pmpd_linear_f16_f32`), writing a fresh buffer; the kernels come with
      the runtime and are linked into the artifact's library.
    - `pmpd.step_precision` of a static schedule becomes a compare/select
      chain over the thresholds; of a learned schedule, the classifier's
      dot products over the state's confidence and entropy and the step,
      compared with 0 where the state's stage and the step allow the next
      stage, then a select of the chosen stage's precision.
    - `pmpd.weight` declarations are erased.
    - Float arithmetic may be reassociated and contracted (fast-math
      `reassoc,contract`), so that LLVM vectorizes the reductions of norms
      and attention; NaN and infinity semantics are kept.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def PMPDDropArgumentResults
    : Pass<"pmpd-drop-argument-results", "mlir::ModuleOp"> {
  let summary = "Drops function results that return a memref argument";
  let description = [{
    After bufferization, the KV caches a compiled model updates are written
    in place, and the functions still return them: each such result is
    literally one of the function's own memref arguments (directly, or
    through `scf.index_switch`/`scf.if` whose every branch yields the same
    argument). This pass removes those results from every function,
    including the public entry points whose C ABI pmpd defines, and makes
    callers use the argument instead. Without it, buffer deallocation would
    clone the caches on every call. Upstream `drop-equivalent-buffer-results`
    leaves public functions alone.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

#endif // PMPD_CONVERSION_PASSES_TD
