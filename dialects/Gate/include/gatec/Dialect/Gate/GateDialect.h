//===- GateDialect.h - Gate dialect -------------------------------*- C++ -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_DIALECT_GATE_GATEDIALECT_H
#define GATEC_DIALECT_GATE_GATEDIALECT_H

#include "mlir/IR/Dialect.h"

#include "gatec/Dialect/Gate/GateOpsDialect.h.inc"

#endif // GATEC_DIALECT_GATE_GATEDIALECT_H
