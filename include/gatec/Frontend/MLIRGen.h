//===- MLIRGen.h - .gate AST to gate-level MLIR -------------------*- C++ -*-===//
//
// Part of gatec. Emits one public func.func per kernel: the three op
// families become gate dialect ops, everything else upstream linalg, tensor,
// arith and math ops. Runs only on a module that sema accepted.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_FRONTEND_MLIRGEN_H
#define GATEC_FRONTEND_MLIRGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

namespace mlir {
class DialectRegistry;
class MLIRContext;
} // namespace mlir

namespace gatec {

class DiagnosticEngine;
class SemaResult;
struct ModuleAST;

/// Adds the dialects MLIRGen emits to `registry`.
void registerFrontendDialects(mlir::DialectRegistry &registry);

/// Generates the gate-level module for `module`, or only for the kernel
/// named `onlyKernel` when it is not empty. Each function is verified; a
/// failure is reported as an internal error at its kernel and gives null.
mlir::OwningOpRef<mlir::ModuleOp> mlirGen(mlir::MLIRContext &context,
                                          const ModuleAST &module,
                                          const SemaResult &sema,
                                          DiagnosticEngine &diag,
                                          llvm::StringRef onlyKernel = "");

} // namespace gatec

#endif // GATEC_FRONTEND_MLIRGEN_H
