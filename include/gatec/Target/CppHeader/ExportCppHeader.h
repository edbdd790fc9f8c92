//===- ExportCppHeader.h - C/C++ wrapper headers for kernels ----*- C++ -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//
//
// Emits the header that C and C++ programs include to call gatec's compiled
// CPU kernels: memref descriptor types, the `_mlir_ciface_<kernel>`
// prototypes, checked C entry points `gatec_<kernel>` and C++ wrappers in
// `namespace gatec_kernels::<module>`. docs/headers.md describes the result.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_TARGET_CPPHEADER_EXPORTCPPHEADER_H
#define GATEC_TARGET_CPPHEADER_EXPORTCPPHEADER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace gatec {

/// How the generated header names itself. Every field may be left empty.
struct CppHeaderOptions {
  /// Names the header: C++ namespace `gatec_kernels::<moduleName>` and include
  /// guard `GATEC_KERNELS_<MODULENAME>_H`. Empty: the module's `sym_name`,
  /// else the file stem of the first kernel's `gate.source`, else "kernels".
  /// Characters that cannot appear in a C identifier become '_'.
  std::string moduleName;
  /// Overrides the C++ namespace, e.g. "myapp::kernels" (`::`-separated
  /// identifiers).
  std::string cppNamespace;
  /// Overrides the include guard macro.
  std::string headerGuard;
  /// What the kernels were compiled for, quoted in the banner, e.g.
  /// "x86_64-unknown-linux-gnu, x86-64-v4". Empty: "unspecified".
  std::string target;
};

/// Writes the wrapper header for every public `func.func` with a body in
/// `module` (one kernel each, in module order). Reports unsupported types,
/// unbound output symbols and invalid `gate.shape` entries as errors at
/// the function's location and then writes nothing and returns failure.
/// The output depends only on `module` and `options`.
mlir::LogicalResult exportCppHeader(mlir::ModuleOp module,
                                    llvm::raw_ostream &os,
                                    const CppHeaderOptions &options = {});

/// Writes the CUDA header of `module` (gate level: the signatures) whose
/// kernels `lowered` holds (after gatec-cuda-pipeline: host functions of
/// sizes, workspace allocations and gpu.launch_func) with `ptx` embedded:
/// checked entry points `gatec_cuda_<kernel>(device pointers and dims...,
/// CUstream, err)` and C++ wrappers in `gatec_kernels::<module>_cuda` that
/// load the PTX once per CUDA context and launch on the caller's stream.
mlir::LogicalResult exportCUDAHeader(mlir::ModuleOp module,
                                     mlir::ModuleOp lowered,
                                     llvm::StringRef ptx,
                                     llvm::raw_ostream &os,
                                     const CppHeaderOptions &options = {});

/// Registers the `gate-to-cpp-header` translation and its options
/// (--cpp-header-module, --cpp-header-namespace, --cpp-header-guard,
/// --cpp-header-target) for mlir-translate-style tools.
void registerToCppHeaderTranslation();

} // namespace gatec

#endif // GATEC_TARGET_CPPHEADER_EXPORTCPPHEADER_H
