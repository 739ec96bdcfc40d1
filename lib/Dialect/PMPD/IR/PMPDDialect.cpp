//===- PMPDDialect.cpp - The pmpd dialect ---------------------------------===//
//
// Registration, and verification of the dialect's discardable attributes
// (`pmpd.phase`, `pmpd.precision`, `pmpd.schedule`, `pmpd.model`) wherever
// they are attached.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Dialect/PMPD/IR/PMPD.h"

#include "mlir/Interfaces/FunctionInterfaces.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace pmpd;

#include "pmpd/Dialect/PMPD/IR/PMPDOpsDialect.cpp.inc"

void PMPDDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "pmpd/Dialect/PMPD/IR/PMPDOps.cpp.inc"
      >();
  registerAttributes();
  registerTypes();
}

LogicalResult PMPDDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  StringRef name = attr.getName().strref();
  if (name == getPhaseAttrName()) {
    if (!isa<PhaseAttr>(attr.getValue()))
      return op->emitError() << "'" << name
                             << "' must be a #pmpd.phase attribute, got "
                             << attr.getValue();
    if (!isa<FunctionOpInterface>(op))
      return op->emitError() << "'" << name
                             << "' may only be attached to a function";
    return success();
  }
  if (name == getPrecisionAttrName()) {
    if (!isa<PrecisionAttr>(attr.getValue()))
      return op->emitError() << "'" << name
                             << "' must be a #pmpd.precision attribute, got "
                             << attr.getValue();
    return success();
  }
  if (name == getScheduleAttrName()) {
    if (!isa<ScheduleAttr>(attr.getValue()))
      return op->emitError() << "'" << name
                             << "' must be a #pmpd.schedule attribute, got "
                             << attr.getValue();
    if (!isa<ModuleOp>(op))
      return op->emitError() << "'" << name
                             << "' may only be attached to a module";
    return success();
  }
  if (name == getModelAttrName()) {
    if (!isa<DictionaryAttr>(attr.getValue()))
      return op->emitError() << "'" << name
                             << "' must be a dictionary of the model "
                                "configuration, got "
                             << attr.getValue();
    if (!isa<ModuleOp>(op))
      return op->emitError() << "'" << name
                             << "' may only be attached to a module";
    return success();
  }
  return op->emitError() << "unknown pmpd attribute '" << name << "'";
}
