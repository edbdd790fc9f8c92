//===- Emitters.h - The outputs gatec produces ------------------*- C++ -*-===//
//
// Part of gatec. Private to libGatecCompiler. Every output (--emit= kind) is
// one row of a table; a backend plugs in by filling in its row's function.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_COMPILER_EMITTERS_H
#define GATEC_LIB_COMPILER_EMITTERS_H

#include "gatec/Compiler.h"
#include "gatec/Compiler/Targets.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LogicalResult.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <functional>
#include <optional>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace mlir {
class PassManager;
} // namespace mlir

namespace gatec {

class DiagnosticEngine;
struct ModuleAST;

/// What one emitter gets.
struct EmitContext {
  const TargetInfo &target;
  const CompileOptions &options;
  /// The parsed file (what --emit=ast prints).
  const ModuleAST &ast;
  /// The gate-level module, after CompileOptions::gatePipeline; null for
  /// --emit=ast. An emitter that lowers works on a clone: others share it.
  mlir::ModuleOp module;
  DiagnosticEngine &diag;
  /// Names the outputs and the generated header.
  llvm::StringRef moduleName;
  /// Applies the pass-manager options (IR printing, timing); call it on
  /// every PassManager you run.
  std::function<mlir::LogicalResult(mlir::PassManager &)> configurePassManager;
  /// Where stages outside a pass manager (LLVM's) are timed.
  mlir::TimingScope &timing;
  /// The module after the CPU pipeline, built once by the first emitter that
  /// needs it (llvm, asm and obj all start from it).
  mlir::OwningOpRef<mlir::ModuleOp> loweredForCPU = nullptr;
  /// The module after the CUDA pipeline and its PTX, built once by the first
  /// emitter that needs them (ptx, cubin and header).
  mlir::OwningOpRef<mlir::ModuleOp> loweredForCUDA = nullptr;
  std::string ptx = {};
};

using EmitFn = mlir::LogicalResult (*)(EmitContext &context,
                                       llvm::raw_ostream &os);

/// One choice of --emit=.
struct EmitKindInfo {
  /// What --emit= takes.
  llvm::StringRef name;
  /// Output file suffix: `-o DIR` writes DIR/<module>.<suffix>.
  llvm::StringRef suffix;
  /// One line for --help.
  llvm::StringRef description;
  /// The target family this output exists for; none means every target.
  std::optional<TargetFamily> family;
  /// Binary outputs are never written to stdout.
  bool binary;
  /// What must be built in for `emit` to exist, for the error message;
  /// empty means "the <family of the target> backend".
  llvm::StringRef provider;
  /// Produces the output; null while its provider is not built into gatec.
  EmitFn emit;
  /// Whether --emit=all includes it.
  bool inAll;
  /// The kinds without which this output is unusable (the torch source
  /// includes the header and calls the object's kernels): a request must
  /// name them too.
  llvm::ArrayRef<llvm::StringRef> needs = {};
  /// What `needs` are for, for the error message.
  llvm::StringRef needsWhy = "";
};

/// Every --emit= choice except `all`, in the order `all` emits them.
llvm::ArrayRef<EmitKindInfo> getEmitKinds();

/// The row called `name`, or null.
const EmitKindInfo *lookupEmitKind(llvm::StringRef name);

} // namespace gatec

#endif // GATEC_LIB_COMPILER_EMITTERS_H
