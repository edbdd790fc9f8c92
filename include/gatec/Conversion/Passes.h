//===- Passes.h - gatec conversion passes -------------------------*- C++ -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_CONVERSION_PASSES_H
#define GATEC_CONVERSION_PASSES_H

#include "gatec/Conversion/GateToLinalg/GateToLinalg.h"
#include "mlir/Pass/Pass.h"

namespace gatec {

#define GEN_PASS_REGISTRATION
#include "gatec/Conversion/Passes.h.inc"

} // namespace gatec

#endif // GATEC_CONVERSION_PASSES_H
