//===- Passes.h - gatec CPU code generation passes --------------*- C++ -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_CODEGEN_CPU_PASSES_H
#define GATEC_CODEGEN_CPU_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace gatec {

#define GEN_PASS_DECL
#include "gatec/Codegen/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "gatec/Codegen/CPU/Passes.h.inc"

} // namespace gatec

#endif // GATEC_CODEGEN_CPU_PASSES_H
