//===- GateOps.h - Gate dialect operations ------------------------*- C++ -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_DIALECT_GATE_GATEOPS_H
#define GATEC_DIALECT_GATE_GATEOPS_H

#include "gatec/Dialect/Gate/GateDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "gatec/Dialect/Gate/GateOpsEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "gatec/Dialect/Gate/GateOpsAttributes.h.inc"

#define GET_OP_CLASSES
#include "gatec/Dialect/Gate/GateOps.h.inc"

#endif // GATEC_DIALECT_GATE_GATEOPS_H
