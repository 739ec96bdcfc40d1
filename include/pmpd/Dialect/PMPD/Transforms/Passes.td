//===- Passes.td - pmpd dialect passes --------------------*- tablegen -*-===//
//
// The three passes that turn an imported, phase-agnostic @forward into the
// phase-specialized module the runtime loads: record and check the schedule,
// clone one function per phase and precision, and compile the switch logic.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_DIALECT_PMPD_TRANSFORMS_PASSES_TD
#define PMPD_DIALECT_PMPD_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def PMPDAssignPrecision : Pass<"pmpd-assign-precision", "mlir::ModuleOp"> {
  let summary = "Record the precision schedule and per-projection overrides";
  let description = [{
    Checks a schedule (`prefill=P;decode=B0@0,B1@S1,...`, 16 meaning fp16)
    against the module's projection weights and records it as the module's
    `pmpd.schedule` attribute. Without the `schedule` option the module's
    existing `pmpd.schedule` is checked instead.

    Every bit width the schedule asks for must be one every scheduled
    projection can serve: between the seed and parent widths of a packed
    `!pmpd.qweight`, or 16 for an fp16 tensor weight of a layer. An fp16
    tensor weight outside the layers (the `lm_head`, or the tied embedding)
    always runs at 16 bits and is not scheduled.

    `overrides` fixes the precision of some projections whatever the phase
    or step: `layers.0=4,layers.5=4` fixes every projection of layers 0 and
    5, `layers.3.down_proj=4` a single one. A name matches a weight symbol
    equal to it or starting with it followed by `.`; the longest match wins.
    Each matching `pmpd.qlinear` gets a discardable
    `pmpd.precision = #pmpd.precision<B>` that `pmpd-specialize-phases`
    turns into the op's precision.

    Running the pass twice with the same options changes nothing (overrides
    add to, or replace, those an earlier run attached); a schedule different
    from the one the module already records, or a module already
    specialized into phases, is an error. A learned schedule
    (`decode=learned:FILE`, or explicit stages with `;learned=FILE`) records
    the stages its classifier chooses among; the classifier itself is read
    by `pmpd-insert-switch-points`.
  }];
  let options = [
    Option<"schedule", "schedule", "std::string", /*default=*/"\"\"",
           "Schedule `prefill=P;decode=B0@0,B1@S1,...` (16 = fp16) or "
           "`prefill=P;decode=learned:FILE`; "
           "required unless the module has a pmpd.schedule">,
    Option<"overrides", "overrides", "std::string", /*default=*/"\"\"",
           "Fixed precisions, `NAME=BITS,...` where NAME is a layer "
           "(`layers.0`) or a projection (`layers.3.down_proj`)">,
  ];
}

def PMPDSpecializePhases : Pass<"pmpd-specialize-phases", "mlir::ModuleOp"> {
  let summary = "Clone @forward into @prefill and one @decode_b<K> per "
                "decode precision";
  let description = [{
    Reads the module's `pmpd.schedule` and replaces `@forward` by:
    - `@prefill`: the same signature (N tokens, matrix-matrix projections),
      tagged `pmpd.phase = #pmpd.phase<prefill>` and
      `pmpd.precision = #pmpd.precision<P>`;
    - one `@decode_b<K>` per distinct decode precision K, in schedule order
      (`@decode_b16` for fp16), tagged decode and K, whose tokens argument
      is `tensor<1xi64>` and whose body is specialized by canonicalization
      to one token: projections become matrix-vector products with static
      shapes, and the logits result becomes `tensor<1xVxf32>`.

    Every `pmpd.qlinear` of a variant gets its `precision`: the projection's
    override (see `pmpd-assign-precision`) if it has one, 16 for an fp16
    weight outside the layers (`lm_head`), else the variant's precision.
    The override attributes are dropped, and `pmpd.weight` declarations no
    function uses any more are erased.

    The schedule is checked against the weights as `pmpd-assign-precision`
    does, in case it was written by hand. A module without `@forward` (for
    instance one already specialized) is an error, as is one that already
    has a function of a variant's name.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def PMPDInsertSwitchPoints : Pass<"pmpd-insert-switch-points",
                                  "mlir::ModuleOp"> {
  let summary = "Add the @decode entry point that picks a variant per step";
  let description = [{
    Adds `@decode(%step: i64, <the variants' arguments>)` returning the
    variants' results and the precision (i32, in bits) that ran. It asks
    `pmpd.step_precision` for the step's precision under the module's
    schedule and dispatches with `scf.index_switch` to the matching
    `@decode_b<K>`.

    `pmpd.step_precision` of a static schedule only ever yields one of the
    schedule's decode precisions, so the switch's default region is dead.
    It calls the first stage's variant (the highest precision of a monotone
    schedule) and reports that precision, rather than trapping: the function
    stays total without a dialect the backends would have to lower, and a
    bug would degrade to the most accurate variant, visibly in the returned
    bits. Only monotone schedules are supported. Every decode precision of
    the schedule needs its variant, all of one signature, and a module that
    already has `@decode` is an error.

    A learned schedule's classifier is read from the file the schedule
    names (see `LearnedScheduler.h` for the format; its stages must equal
    the schedule's) and attached to `pmpd.step_precision`, so the compiled
    code carries it. `@decode` then takes one more argument and returns one
    more result before the bits: the scheduler state, `tensor<3xf32>`
    (stage index, previous step's confidence and entropy; zeros before the
    first step). After the variant runs, `@decode` computes the confidence
    (largest softmax probability) and entropy of its logits, which must be
    the variants' first result, `tensor<1xVxf32>`, and writes the new state
    into the state argument.

    A `kv_cache` schedule's classifiers (see `KVCacheScheduler.h`) become
    linalg on tensors in `@decode`, inside an `scf.if` that runs them when
    the state's first element is 0, i.e. in the first decode step after a
    prefill (the runtime zeroes the state at every prefill). They read the
    last layer of the K and V caches (the variants' two rank-4 f32
    arguments) at the rows before the position (their i64 or index
    argument), and
    return the state `tensor<Sxf32>` (S stages): 1, then the first step of
    each later stage (+inf: never), which `pmpd.step_precision` compares
    the step with. `@decode` returns that state before the bits.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // PMPD_DIALECT_PMPD_TRANSFORMS_PASSES_TD
