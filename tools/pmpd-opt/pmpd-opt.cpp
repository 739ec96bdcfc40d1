//===- pmpd-opt.cpp - mlir-opt with the pmpd dialect and passes -----------===//
//
// The same driver and flags as mlir-opt, with every upstream dialect, pass and
// extension registered, plus pmpd's: for lit tests and for inspecting any
// stage of the pipeline.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Conversion/Passes.h"
#include "pmpd/Dialect/PMPD/IR/PMPD.h"
#include "pmpd/Dialect/PMPD/Transforms/Passes.h"
#include "pmpd/Target/Hexagon/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  pmpd::registerPMPDConversionPasses();
  pmpd::registerPMPDPasses();
  pmpd::registerPMPDPhasePipeline();
  pmpd::registerPMPDHexagonPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<pmpd::PMPDDialect>();

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "pmpd optimizer driver\n", registry));
}
