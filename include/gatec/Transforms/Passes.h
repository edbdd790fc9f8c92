//===- Passes.h - gatec tensor-level transforms -----------------*- C++ -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_TRANSFORMS_PASSES_H
#define GATEC_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace gatec {

#define GEN_PASS_DECL
#include "gatec/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "gatec/Transforms/Passes.h.inc"

} // namespace gatec

#endif // GATEC_TRANSFORMS_PASSES_H
