//===- PMPDDialect.td - The pmpd dialect ------------------*- tablegen -*-===//
//
// The pmpd dialect carries what Progressive Mixed-Precision Decoding needs to
// say in IR: which phase a function serves, at which weight precision each
// quantized projection runs, and the schedule that steps decode precision down.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_DIALECT_PMPD_IR_PMPDDIALECT_TD
#define PMPD_DIALECT_PMPD_IR_PMPDDIALECT_TD

include "mlir/IR/OpBase.td"

def PMPD_Dialect : Dialect {
  let name = "pmpd";
  let cppNamespace = "::pmpd";
  let summary = "Phase-tagged, any-precision weights for mixed-precision decoding";
  let description = [{
    The pmpd dialect models LLM inference in which prefill and decode run at
    different weight precisions and decode steps its precision down at switch
    points. All precisions are served from one any-precision packed weight
    (`!pmpd.qweight`): the top `b` bit-planes of a `parent`-bit code are a
    valid `b`-bit code with its own lookup table, for every `b` between the
    `seed` and `parent` bit widths.

    Discardable attributes the dialect verifies wherever they appear:
    - `pmpd.phase` (`#pmpd.phase<...>`): the phase a function serves.
    - `pmpd.precision` (`#pmpd.precision<...>`): the weight precision a
      function was specialized for.
    - `pmpd.schedule` (`#pmpd.schedule<...>`): the schedule of a module.
    - `pmpd.model` (a dictionary): the configuration of the model a module
      was imported from (hidden_size, num_layers, ..., arch), so that later
      stages need not reopen config.json.
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  // tensor: the qlinear canonicalizer restores refined types with tensor.cast.
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::tensor::TensorDialect"];
  let extraClassDeclaration = [{
    static constexpr ::llvm::StringLiteral getPhaseAttrName() {
      return ::llvm::StringLiteral("pmpd.phase");
    }
    static constexpr ::llvm::StringLiteral getPrecisionAttrName() {
      return ::llvm::StringLiteral("pmpd.precision");
    }
    static constexpr ::llvm::StringLiteral getScheduleAttrName() {
      return ::llvm::StringLiteral("pmpd.schedule");
    }
    static constexpr ::llvm::StringLiteral getModelAttrName() {
      return ::llvm::StringLiteral("pmpd.model");
    }

  private:
    void registerAttributes();
    void registerTypes();

  public:
  }];
}

class PMPD_Op<string mnemonic, list<Trait> traits = []>
    : Op<PMPD_Dialect, mnemonic, traits>;

#endif // PMPD_DIALECT_PMPD_IR_PMPDDIALECT_TD
