//===- Driver.h - The gatec command -------------------------------*- C++ -*-===//
//
// Part of gatec. The driver reads one .gate file, checks it, generates
// gate-level MLIR and hands it to the emitter of each requested output. The
// emitters are rows of one table (getEmitKinds): a backend plugs in by
// filling in its row's function.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_DRIVER_DRIVER_H
#define GATEC_DRIVER_DRIVER_H

#include "gatec/Driver/Targets.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LogicalResult.h"
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
  /// The parsed file (what --emit=ast prints).
  const ModuleAST &ast;
  /// The gate-level module, after --gate-pipeline; null for --emit=ast.
  /// An emitter that lowers works on a clone: other emitters share it.
  mlir::ModuleOp module;
  DiagnosticEngine &diag;
  /// The kernel selected with --kernel, or empty for all of them.
  llvm::StringRef onlyKernel;
  /// Applies the --mlir-* pass-manager options (IR printing, timing,
  /// crash reproducers) to a PassManager; call it on every one you run.
  std::function<mlir::LogicalResult(mlir::PassManager &)> configurePassManager;
  /// The input's file stem (`stdin` for -): names generated headers.
  llvm::StringRef stem = "";
  /// The module after the CPU pipeline, built once by the first emitter that
  /// needs it (llvm, asm and obj all start from it).
  mlir::OwningOpRef<mlir::ModuleOp> loweredForCPU = nullptr;
};

using EmitFn = mlir::LogicalResult (*)(EmitContext &context,
                                       llvm::raw_ostream &os);

/// One choice of --emit=.
struct EmitKindInfo {
  /// What --emit= takes.
  llvm::StringRef name;
  /// Output file suffix: `-o DIR` writes DIR/<stem>.<suffix>.
  llvm::StringRef suffix;
  /// One line for --help.
  llvm::StringRef description;
  /// The target family this output exists for; none means every target.
  std::optional<TargetFamily> family;
  /// Binary outputs are never written to stdout.
  bool binary;
  /// What must be built in for `emit` to exist, for the error message;
  /// empty means "the <family of --target> backend".
  llvm::StringRef provider;
  /// Produces the output; null while its provider is not built into gatec.
  EmitFn emit;
  /// Whether --emit=all includes it.
  bool inAll;
};

/// Every --emit= choice except `all`, in the order `all` emits them.
llvm::ArrayRef<EmitKindInfo> getEmitKinds();

/// The whole gatec command: parses `argv`, compiles, returns the exit
/// status (0, or 1 after any error).
int runGatecMain(int argc, char **argv);

} // namespace gatec

#endif // GATEC_DRIVER_DRIVER_H
