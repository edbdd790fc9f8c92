//===- GateDialect.cpp - Gate dialect -------------------------------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Dialect/Gate/GateDialect.h"
#include "gatec/Dialect/Gate/GateOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::gate;

#include "gatec/Dialect/Gate/GateOpsDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "gatec/Dialect/Gate/GateOpsAttributes.cpp.inc"

void GateDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "gatec/Dialect/Gate/GateOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "gatec/Dialect/Gate/GateOpsAttributes.cpp.inc"
      >();
}
