//===- PMPDTypes.cpp - pmpd types -----------------------------------------===//

#include "pmpd/Dialect/PMPD/IR/PMPD.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace pmpd;

/// A static shape written `AxB`.
static ParseResult parseStaticShape(AsmParser &parser,
                                    SmallVector<int64_t> &shape) {
  return parser.parseDimensionList(shape, /*allowDynamic=*/false,
                                   /*withTrailingX=*/false);
}

static void printStaticShape(AsmPrinter &printer, ArrayRef<int64_t> shape) {
  printer.printDimensionList(shape);
}

#define GET_TYPEDEF_CLASSES
#include "pmpd/Dialect/PMPD/IR/PMPDOpsTypes.cpp.inc"

void PMPDDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "pmpd/Dialect/PMPD/IR/PMPDOpsTypes.cpp.inc"
      >();
}

LogicalResult
QWeightType::verify(function_ref<InFlightDiagnostic()> emitError,
                    ArrayRef<int64_t> shape, unsigned parent, unsigned seed) {
  if (shape.size() != 2)
    return emitError() << "qweight must be a matrix (rows x columns), got rank "
                       << shape.size();
  if (shape[0] <= 0 || shape[1] <= 0)
    return emitError() << "qweight dimensions must be positive, got "
                       << shape[0] << "x" << shape[1];
  if (parent < 2 || parent > 8)
    return emitError() << "qweight parent bits must be in [2, 8], got "
                       << parent;
  if (seed < 2 || seed > parent)
    return emitError() << "qweight seed bits must be in [2, parent = " << parent
                       << "], got " << seed;
  return success();
}
