//===- PMPDTypes.td - pmpd types --------------------------*- tablegen -*-===//
//
// The any-precision packed weight: one copy in memory that serves every bit
// width between its seed and parent precisions.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_DIALECT_PMPD_IR_PMPDTYPES_TD
#define PMPD_DIALECT_PMPD_IR_PMPDTYPES_TD

include "pmpd/Dialect/PMPD/IR/PMPDDialect.td"
include "mlir/IR/AttrTypeBase.td"

class PMPD_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<PMPD_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def PMPD_QWeightType : PMPD_Type<"QWeight", "qweight"> {
  let summary = "Any-precision packed weight matrix";
  let description = [{
    An `N`x`K` weight matrix (N output rows, K inputs) stored as `parent`
    bit-planes with, for every bit width `b` in [`seed`, `parent`], a per-row
    lookup table of 2^b fp16 centroids. The top `b` planes of a row's codes are
    that row's `b`-bit codes.

    ```mlir
    !pmpd.qweight<1536x512, parent = 4, seed = 2>
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t", "[rows, columns]">:$shape,
    "unsigned":$parent,
    "unsigned":$seed
  );
  let assemblyFormat = [{
    `<` custom<StaticShape>($shape) `,` `parent` `=` $parent `,`
        `seed` `=` $seed `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getRows() const { return getShape()[0]; }
    int64_t getCols() const { return getShape()[1]; }
    /// True if `bits` is a width this weight can serve.
    bool supportsBits(unsigned bits) const {
      return bits >= getSeed() && bits <= getParent();
    }
  }];
}

#endif // PMPD_DIALECT_PMPD_IR_PMPDTYPES_TD
