//===- Passes.td - Passes of the hexagon target -----------*- tablegen -*-===//

#ifndef PMPD_TARGET_HEXAGON_PASSES_TD
#define PMPD_TARGET_HEXAGON_PASSES_TD

include "mlir/Pass/PassBase.td"

def PMPDRecordNPUWorkload
    : Pass<"pmpd-record-npu-workload", "mlir::ModuleOp"> {
  let summary = "Records what each entry point does, for the NPU cost model";
  let description = [{
    QEMU does not time the Hexagon code it runs, so the hexagon target's
    speed is modelled (pmpd::NPUCostModel) from what the compiled code does.
    This analysis reads the specialized module after its layer ops are
    decomposed into linalg (the form the hexagon target lowers) and records,
    for every entry point (`@prefill`, `@decode_b<K>`):

    - each `pmpd.qlinear`: rows, columns and precision (the HVX kernel it
      calls at that width, or the fp16 kernel);
    - each linalg op (the scalar unit's loop nests: norms, RoPE, attention,
      softmax, SiLU): its iterations, arithmetic and special-function
      operations (exp, pow, sin, cos, sqrt, rsqrt, log, fp divide) per
      iteration, and the bytes of its operands, as polynomials in the
      sequence length, since every dynamic dimension of an entry point is the
      token count (prefill from position 0) or the KV length (decode);
    - the module's static schedule, and the kernels' measured work per tile
      (runtime/hexagon/kernel-profile.json, built in).

    Identical ops of an entry are merged with a count (one per layer). The
    result is the module attribute `npu.workload` (the JSON text of
    pmpd::NPUWorkload), which the hexagon backend writes into the artifact
    as `npu-workload.json`, and the file `output` when given. The IR is not
    changed otherwise.
  }];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"\"",
           "Also write the workload JSON to this file">,
  ];
}

#endif // PMPD_TARGET_HEXAGON_PASSES_TD
