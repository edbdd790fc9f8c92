//===- CPUTarget.h - x86-64 code generation -----------------------*- C++ -*-===//
//
// Part of gatec. From the LLVM dialect to LLVM IR, assembly or an object file
// for one x86-64 level.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_TARGET_CPU_CPUTARGET_H
#define GATEC_TARGET_CPU_CPUTARGET_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace llvm {
class raw_pwrite_stream;
} // namespace llvm

namespace mlir {
class ModuleOp;
class DialectRegistry;
class TimingScope;
} // namespace mlir

namespace gatec {

/// One row of the CPU target table.
struct CPUTarget {
  /// What follows `cpu:` on the command line ("x86-64-v3", ...).
  std::string name;
  /// The LLVM CPU name (resolved for "native").
  std::string llvmCPU;
  /// Extra LLVM target features ("+avx512f,..." for native), else empty.
  std::string features;
  /// f32 lanes of the widest vector register the kernels use.
  int64_t vectorWidth = 8;
  /// f32 -> bf16 conversion in hardware (avx512_bf16).
  bool nativeBF16 = false;
};

/// The target for an LLVM CPU level: "x86-64", "x86-64-v3", "x86-64-v4",
/// "znver4" (AVX-512 with avx512_bf16) or "native" (the machine gatec runs
/// on); failure otherwise. The list users
/// choose from is the driver's target table (gatec/Compiler/Targets.h).
llvm::FailureOr<CPUTarget> lookupCPUTarget(llvm::StringRef name);

enum class CPUArtifact { LLVMIR, Assembly, Object };

/// Registers the LLVM IR translations a lowered CPU module needs.
void registerCPUTranslations(mlir::DialectRegistry &registry);

/// Translates `module` (LLVM dialect, as gatec-cpu-pipeline leaves it) to
/// LLVM IR, optimizes it at O3 for `target`, and writes `artifact` to `os`.
/// Errors are reported as diagnostics on the module. With `timing`, the
/// translation, the O3 pipeline and code generation are timed under it (what
/// --mlir-timing shows).
llvm::LogicalResult emitCPUArtifact(mlir::ModuleOp module,
                                    const CPUTarget &target,
                                    CPUArtifact artifact,
                                    llvm::raw_pwrite_stream &os,
                                    mlir::TimingScope *timing = nullptr);

} // namespace gatec

#endif // GATEC_TARGET_CPU_CPUTARGET_H
