//===- Passes.h - gatec CUDA code generation passes -------------*- C++ -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_CODEGEN_CUDA_PASSES_H
#define GATEC_CODEGEN_CUDA_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace gatec {

#define GEN_PASS_DECL
#include "gatec/Codegen/CUDA/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "gatec/Codegen/CUDA/Passes.h.inc"

} // namespace gatec

#endif // GATEC_CODEGEN_CUDA_PASSES_H
