//===- ir.cpp - Fuzz the pmpd dialect's parser and verifiers --------------===//
//
// pmpd-opt's first step on any input: parse a module with the pmpd dialect
// (and func, arith, tensor, linalg around it) and verify it. Errors are
// diagnostics, never crashes. The input goes through a NUL-terminated copy,
// as MLIR's lexer expects of every buffer (a file read by MLIR is one).
//
//===----------------------------------------------------------------------===//

#include "pmpd/Dialect/PMPD/IR/PMPD.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // One context for the whole run (creating one per input is 100x slower);
  // what inputs intern in it stays, which libFuzzer's memory limit bounds.
  static mlir::MLIRContext &context = *[] {
    mlir::DialectRegistry registry;
    registry.insert<pmpd::PMPDDialect, mlir::arith::ArithDialect,
                    mlir::func::FuncDialect, mlir::linalg::LinalgDialect,
                    mlir::tensor::TensorDialect>();
    auto *ctx =
        new mlir::MLIRContext(registry, mlir::MLIRContext::Threading::DISABLED);
    ctx->loadAllAvailableDialects();
    ctx->getDiagEngine().registerHandler(
        [](mlir::Diagnostic &) { return mlir::success(); });
    return ctx;
  }();
  llvm::SourceMgr sources;
  sources.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size), "in"),
      llvm::SMLoc());
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(sources, &context);
  if (module)
    (void)mlir::verify(*module);
  return 0;
}
