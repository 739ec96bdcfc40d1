//===- Passes.td - Lowerings out of the pmpd dialect ------*- tablegen -*-===//

#ifndef PMPD_CONVERSION_PASSES_TD
#define PMPD_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def PMPDThreadWeightsBuffer
    : Pass<"pmpd-thread-weights-buffer", "mlir::ModuleOp"> {
  let summary = "Passes the weights as one buffer argument to every function";
  let description = [{
    Every target keeps the model's weights in one buffer: the artifact's
    weights file, mapped on the CPU or uploaded to a device. This pass,
    shared by all targets, runs first in their lowering:

    - Every defined function gains a trailing `memref<?xi8>` argument, the
      weights buffer, threaded through calls between them; public functions
      get a C interface (`llvm.emit_c_interface`) for the runtime.
    - `pmpd.get_weight` of a tensor becomes a `memref.view` of that buffer at
      the weight's byte offset (the `at` of its `pmpd.weight`, which must be
      bound), wrapped in `bufferization.to_tensor`, wherever it is not the
      weight of a `pmpd.qlinear`.
    - `pmpd.get_weight` of a packed weight stays for the target's lowering of
      `pmpd.qlinear`, the only op that may use it.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def PMPDDecomposeLayerOps
    : Pass<"pmpd-decompose-layer-ops", "mlir::ModuleOp"> {
  let summary = "Expands pmpd.rms_norm and pmpd.attention into linalg";
  let description = [{
    For targets without a kernel of their own for the layer ops (cpu,
    hexagon): each `pmpd.rms_norm` becomes a reduction of the squares of
    each row and an elementwise scaling; each `pmpd.attention` the slices of
    the caches it reads, the scores, the causal softmax and the weighted sum
    of the values, all linalg on tensors, with the same arithmetic in the
    same order as the kernels are checked against.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def PMPDLowerStepPrecision
    : Pass<"pmpd-lower-step-precision", "mlir::ModuleOp"> {
  let summary = "Lowers the switch points to arithmetic, for every target";
  let description = [{
    `pmpd.step_precision` of a static schedule becomes a compare/select chain
    over the thresholds; of a learned schedule, the classifier's dot products
    over the state's confidence and entropy and the step, compared with 0
    where the state's stage and the step allow the next stage, then a select
    of the chosen stage's precision.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def PMPDLowerToCPU : Pass<"pmpd-lower-to-cpu", "mlir::ModuleOp"> {
  let summary = "Lowers pmpd.qlinear and pmpd.attention to calls of the CPU "
                "micro-kernels";
  let description = [{
    Runs after `pmpd-thread-weights-buffer` and `pmpd-lower-step-precision`;
    afterwards only upstream dialects remain.

    - `pmpd.qlinear` becomes a call of the lookup-table kernel of its
      precision (`pmpd_qlinear_f32`) or of the fp16 kernel
      (`pmpd_linear_f16_f32`), writing a fresh buffer; the kernels come with
      the runtime and are linked into the artifact's library.
    - `pmpd.attention` becomes a call of `pmpd_attention_f32`, which reads
      the layer's rows of the caches where they are and writes a fresh
      buffer; `pmpd.rms_norm` is expanded into linalg (its `decompose`, as
      `pmpd-decompose-layer-ops` does).
    - `pmpd.weight` declarations are erased.
    - Float arithmetic may be reassociated and contracted (fast-math
      `reassoc,contract`), so that LLVM vectorizes the reductions of the
      norms; NaN and infinity semantics are kept.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def PMPDLowerToGPU : Pass<"pmpd-lower-to-gpu", "mlir::ModuleOp"> {
  let summary = "Lowers pmpd.qlinear and the layer ops to launches of the "
                "GPU kernels";
  let description = [{
    Runs after `pmpd-thread-weights-buffer` and `pmpd-lower-step-precision`,
    on a module that holds the projection kernels as a `gpu.binary` (the GPU
    backend adds it; the kernels' ABI is `pmpd/Target/GPU/KernelABI.h`).

    - `pmpd.qlinear` of a packed weight becomes a `gpu.launch_func` of
      `pmpd_qgemv_b<bits>` when its input is one token (decode: the GEMV of
      that bit width over the shared bit-planes and that width's lookup
      table), of `pmpd_qgemm` otherwise (prefill); of an fp16 weight, of
      `pmpd_linear_f16`. Each writes a fresh buffer; the grid follows the
      kernel ABI, from the token count at run time where it is dynamic.
    - `pmpd.rms_norm` becomes a launch of `pmpd_rms_norm` (a block per row).
    - `pmpd.attention` of one token becomes a launch of
      `pmpd_attention_decode` over (heads, splits of the visible positions),
      then, when there is more than one split, of `pmpd_attention_combine`;
      of more tokens, a launch of `pmpd_attention_prefill`. The kernels read
      the layer's rows of the caches where they are. A head size the kernels
      do not take (they take 32, 64 and 128) gets the op's linalg form, which
      the rest of the pipeline maps onto the GPU.
    - The module becomes a `gpu.container_module`; `pmpd.weight`
      declarations are erased.
  }];
  let options = [
    Option<"kernels", "kernels", "std::string", "\"pmpd_kernels\"",
           "Symbol of the gpu.binary holding the kernels">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def PMPDMapParallelLoopsToGPU
    : Pass<"pmpd-map-parallel-loops-to-gpu", "mlir::ModuleOp"> {
  let summary = "Maps the outermost parallel loops onto GPU blocks and threads";
  let description = [{
    For `convert-parallel-loops-to-gpu`: `memref.copy` outside GPU code
    becomes an `scf.parallel` loop of loads and stores (so that copies run on
    the device), then each outermost `scf.parallel` has
    its innermost dimension tiled by `threads-per-block` (or its static
    extent, when smaller); the tile loop goes to threads x, the tiles and up
    to two outer dimensions to blocks x, y, z (innermost first), and the
    remaining dimensions run sequentially in each thread, as do parallel
    loops nested deeper (inside a reduction loop), which become scf.for.
  }];
  let options = [
    Option<"threadsPerBlock", "threads-per-block", "int64_t", "128",
           "Threads of a block along the innermost dimension">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
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
