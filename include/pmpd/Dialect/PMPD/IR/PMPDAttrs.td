//===- PMPDAttrs.td - pmpd attributes ---------------------*- tablegen -*-===//
//
// Phase, precision and schedule: the three facts every pass of the pipeline
// reads or writes.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_DIALECT_PMPD_IR_PMPDATTRS_TD
#define PMPD_DIALECT_PMPD_IR_PMPDATTRS_TD

include "pmpd/Dialect/PMPD/IR/PMPDDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

class PMPD_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<PMPD_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def PMPD_PhasePrefill : I32EnumAttrCase<"prefill", 0>;
def PMPD_PhaseDecode : I32EnumAttrCase<"decode", 1>;
def PMPD_PhaseKind : I32EnumAttr<"Phase", "inference phase",
    [PMPD_PhasePrefill, PMPD_PhaseDecode]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::pmpd";
}

def PMPD_PhaseAttr : EnumAttr<PMPD_Dialect, PMPD_PhaseKind, "phase"> {
  let summary = "Inference phase: prefill (the prompt) or decode (one token)";
  let assemblyFormat = "`<` $value `>`";
}

def PMPD_PrecisionAttr : PMPD_Attr<"Precision", "precision"> {
  let summary = "Weight precision in bits (2 to 8, or 16 for fp16)";
  let description = [{
    The number of bits per weight a projection runs at. 2 to 8 select the
    top bit-planes of an any-precision weight; 16 selects an fp16 weight.

    ```mlir
    #pmpd.precision<3>
    ```
  }];
  let parameters = (ins "unsigned":$bits);
  let assemblyFormat = "`<` $bits `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    bool isFP16() const { return getBits() == 16; }
  }];
}

def PMPD_ScheduleAttr : PMPD_Attr<"Schedule", "schedule"> {
  let summary = "Prefill precision and the decode precision of every step";
  let description = [{
    Prefill runs at `prefill` bits. Decode runs at `bits[i]` from step
    `steps[i]` on, until the next threshold; `steps` starts at 0 and strictly
    increases. Precision never rises during decode unless the schedule says
    `nonmonotone`. A learned schedule names its classifier file: the listed
    stages are then the precisions the classifier may choose among, each not
    before its step.

    A `kv_cache` learned schedule is PMPD's prompt-adaptive scheduler: once
    per generation, after the prefill, one classifier per pair of
    consecutive stages reads the prompt's last-layer KV cache and picks the
    step at which decode steps down (KVCacheScheduler.h). Its stages all
    list `from 0`: the classifiers choose every switch step.

    ```mlir
    #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 64, 2 from 128]>
    #pmpd.schedule<prefill = 16, decode = [16 from 0]>
    #pmpd.schedule<prefill = 4, decode = [4 from 0, 2 from 32], learned = "sched.json">
    #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 0, 2 from 0], learned = "kv.json", kv_cache>
    ```

    The textual form used on command lines and in manifests,
    `prefill=4;decode=4@0,3@64,2@128`, maps one to one onto this attribute.
  }];
  let parameters = (ins
    "unsigned":$prefill,
    ArrayRefParameter<"int64_t", "decode precision of each stage">:$bits,
    ArrayRefParameter<"int64_t", "first decode step of each stage">:$steps,
    "bool":$monotone,
    OptionalParameter<"::mlir::StringAttr", "learned classifier file">:$learned,
    AttrParameter<"bool", "classifiers read the prompt's KV cache">:$kvCache
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The decode precision the static thresholds give for `step`.
    unsigned getDecodeBitsAt(int64_t step) const;
    /// Distinct decode precisions, in the order they first appear.
    ::llvm::SmallVector<unsigned> getDistinctDecodeBits() const;
    bool isLearned() const { return static_cast<bool>(getLearned()); }
    /// A learned schedule whose classifiers read the prompt's KV cache.
    bool isKVCacheLearned() const { return isLearned() && getKvCache(); }
  }];
}

#endif // PMPD_DIALECT_PMPD_IR_PMPDATTRS_TD
