//===- PMPDOps.td - pmpd operations -----------------------*- tablegen -*-===//
//
// Weight declarations bound to a weights file, the quantized projection, the
// per-step precision query that switch points dispatch on, and the layer ops
// that targets run as kernels of their own (RMSNorm, attention over the KV
// cache) or expand into linalg.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_DIALECT_PMPD_IR_PMPDOPS_TD
#define PMPD_DIALECT_PMPD_IR_PMPDOPS_TD

include "pmpd/Dialect/PMPD/IR/PMPDDialect.td"
include "pmpd/Dialect/PMPD/IR/PMPDAttrs.td"
include "pmpd/Dialect/PMPD/IR/PMPDTypes.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def PMPD_WeightType : AnyTypeOf<[PMPD_QWeightType,
                                 RankedTensorOf<[F16, BF16, F32]>],
                                "packed any-precision weight or float tensor">;

def PMPD_WeightOp : PMPD_Op<"weight", [Symbol]> {
  let summary = "Declares a weight bound by name to a tensor of the weights file";
  let description = [{
    Declares a module-level weight. The weight is never inlined into the IR:
    `tensor` names the tensor (or, for a packed weight, the tensor-name prefix)
    in the model's weights file, which the runtime binds at load time.

    Once compiled against a particular weights file, `at` gives the byte
    offsets of the weight's data in it: one offset for a tensor; for a packed
    weight, the bit-planes followed by the lookup table of each width from the
    seed to the parent.

    ```mlir
    pmpd.weight @layer0_q = "model.layers.0.self_attn.q_proj"
        : !pmpd.qweight<512x512, parent = 4, seed = 2>
    pmpd.weight @embed = "model.embed_tokens.weight" at [128]
        : tensor<8192x512xf16>
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, StrAttr:$tensor,
                       TypeAttrOf<PMPD_WeightType>:$type,
                       OptionalAttr<DenseI64ArrayAttr>:$byte_offsets);
  let assemblyFormat = [{
    $sym_name `=` $tensor (`at` $byte_offsets^)? attr-dict `:` $type
  }];
  let extraClassDeclaration = [{
    /// Number of byte offsets a bound weight of this type carries.
    size_t getNumDataTensors();
  }];
  let hasVerifier = 1;
}

def PMPD_GetWeightOp : PMPD_Op<"get_weight",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Returns the value of a declared weight";
  let description = [{
    ```mlir
    %w = pmpd.get_weight @layer0_q : !pmpd.qweight<512x512, parent = 4, seed = 2>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs PMPD_WeightType:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

def PMPD_QLinearOp : PMPD_Op<"qlinear", [Pure]> {
  let summary = "y = x * W^T (+ bias) at a given weight precision";
  let description = [{
    A projection of the last dimension of `input` (K) to N outputs by an
    N x K weight. With a `!pmpd.qweight` operand the projection reads the
    weight's top `precision` bit-planes and that width's lookup tables; with
    an fp16 tensor weight it runs at fp16 (`precision` 16). Before precision
    assignment the precision may be absent.

    ```mlir
    %y = pmpd.qlinear %x, %w precision #pmpd.precision<3>
        : tensor<?x512xf32>, !pmpd.qweight<1536x512, parent = 4, seed = 2>
        -> tensor<?x1536xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F16, F32]>:$input,
                       PMPD_WeightType:$weight,
                       Optional<RankedTensorOf<[F16, F32]>>:$bias,
                       OptionalAttr<PMPD_PrecisionAttr>:$precision);
  let results = (outs RankedTensorOf<[F16, F32]>:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`precision` $precision^)? attr-dict
    `:` type($input) `,` type($weight) `->` type($result)
  }];
  let hasVerifier = 1;
  // Folds tensor.casts that erase static shape information into the
  // projection, so that specializing a function's token count reaches
  // through it (see pmpd-specialize-phases).
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// Rows (N) and columns (K) of the weight, whatever its representation.
    std::pair<int64_t, int64_t> getWeightShape();
  }];
}

def PMPD_StepPrecisionOp : PMPD_Op<"step_precision", [Pure]> {
  let summary = "The decode precision the schedule gives for a decode step";
  let description = [{
    Returns the weight precision, in bits, that decode step `step` runs at
    under `schedule`. A static schedule needs only the step:

    ```mlir
    %bits = pmpd.step_precision %step
        schedule <prefill = 4, decode = [4 from 0, 3 from 64]> : i64
    ```

    A learned schedule also takes the scheduler's state, `tensor<3xf32>`
    holding the current stage index and the previous step's confidence
    (largest softmax probability) and entropy, and the classifier: one row
    per transition, `[bias, w_confidence, w_entropy, w_step]`. In stage `i`,
    once `step` reaches the next stage's first step, the result is the next
    stage's precision if `bias + w . (confidence, entropy, step) > 0`, else
    stage `i`'s.

    ```mlir
    %bits = pmpd.step_precision %step features(%state : tensor<3xf32>)
        schedule <prefill = 4, decode = [4 from 0, 2 from 16], learned = "s.json">
        : i64 {classifier = dense<[[-1.0, 2.0, 0.0, 0.0]]> : tensor<1x4xf32>}
    ```
  }];
  let arguments = (ins I64:$step, Optional<RankedTensorOf<[F32]>>:$features,
                       PMPD_ScheduleAttr:$schedule,
                       OptionalAttr<FloatElementsAttr<32>>:$classifier);
  let results = (outs I32:$bits);
  let assemblyFormat = [{
    $step (`features` `(` $features^ `:` type($features) `)`)?
    `schedule` $schedule `:` type($step) attr-dict
  }];
  let hasVerifier = 1;
}

def PMPD_RMSNormOp : PMPD_Op<"rms_norm", [Pure]> {
  let summary = "RMS normalization of the last dimension, scaled by a weight";
  let description = [{
    `result[..., c] = weight[c] * (input[..., c] * rsqrt(mean_c'(input[...,
    c']^2) + epsilon))`, Hugging Face's LlamaRMSNorm, in f32 with the fp16
    weight widened. A target lowers it to a kernel of its own (the gpu
    target's reduces each row in one block) or expands it into linalg with
    `pmpd-decompose-layer-ops`.

    ```mlir
    %y = pmpd.rms_norm %x, %w epsilon 1.0e-05
        : tensor<?x512xf32>, tensor<512xf16> -> tensor<?x512xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$input,
                       RankedTensorOf<[F16]>:$weight, F64Attr:$epsilon);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $input `,` $weight `epsilon` $epsilon attr-dict
    `:` type($input) `,` type($weight) `->` type($result)
  }];
  let hasVerifier = 1;
  // Folds shape-erasing tensor.casts of the input, as pmpd.qlinear does.
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// The same computation as linalg on tensors, built at `b`'s point.
    ::mlir::Value decompose(::mlir::OpBuilder &b);
  }];
}

def PMPD_AttentionOp : PMPD_Op<"attention", [Pure,
    AllTypesMatch<["keys", "values"]>]> {
  let summary = "Causal grouped-query attention over one layer of the KV cache";
  let description = [{
    `query` holds the rotated queries of the n tokens of this call,
    `[n, Nh, D]`; `keys` and `values` are the whole caches `[L, M, Nkv, D]`
    with this call's rows already written at positions `start .. start +
    n - 1` of layer `layer`. Query `i` attends to the cache positions
    `p <= start + i` of that layer, query head `h` to KV head
    `h / (Nh / Nkv)` (Hugging Face's repeat_kv), with softmax over
    `q . k / sqrt(D)`. The result is `[n, Nh * D]`, the heads concatenated
    as the output projection reads them.

    A target lowers it to a kernel of its own (the gpu target's decode and
    prefill attention) or expands it into linalg with
    `pmpd-decompose-layer-ops`.

    ```mlir
    %a = pmpd.attention %q, %kc, %vc at %start layer 0
        : tensor<?x8x64xf32>, tensor<6x1024x4x64xf32> -> tensor<?x512xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$query,
                       RankedTensorOf<[F32]>:$keys,
                       RankedTensorOf<[F32]>:$values, Index:$start,
                       I64Attr:$layer);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $query `,` $keys `,` $values `at` $start `layer` $layer attr-dict
    `:` type($query) `,` type($keys) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    int64_t getNumHeads() { return getQuery().getType().getDimSize(1); }
    int64_t getNumKVHeads() { return getKeys().getType().getDimSize(2); }
    int64_t getHeadDim() { return getKeys().getType().getDimSize(3); }
    int64_t getMaxPositions() { return getKeys().getType().getDimSize(1); }
    /// The same computation as linalg on tensors, built at `b`'s point.
    ::mlir::Value decompose(::mlir::OpBuilder &b);
  }];
}

#endif // PMPD_DIALECT_PMPD_IR_PMPDOPS_TD
