//===- ExportTorchExtension.h - PyTorch custom ops for kernels --*- C++ -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//
//
// Emits the C++ source of a PyTorch extension that registers each kernel of a
// module as a custom op `gatec_<module>::<kernel>` (TORCH_LIBRARY) taking and
// returning torch tensors. The ops call the compiled CPU kernels through the
// checked entry points of the generated C/C++ header (ExportCppHeader.h),
// which the source #includes. docs/torch.md describes the result.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_TARGET_TORCH_EXPORTTORCHEXTENSION_H
#define GATEC_TARGET_TORCH_EXPORTTORCHEXTENSION_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace gatec {

/// How the generated extension names its ops and finds the header. Every
/// field may be left empty.
struct TorchExtensionOptions {
  /// Same rule as CppHeaderOptions::moduleName; names the op namespace
  /// `gatec_<module>` (torch.ops.gatec_<module>.<kernel>).
  std::string moduleName;
  /// What the source #includes to reach the header's entry points: a file
  /// name, quoted as `#include "<headerInclude>"`, or a `<...>` form used as
  /// written. Empty: "<moduleName>.h", the name `gatec -o DIR --emit=header`
  /// writes (the module name before it is made an identifier).
  std::string headerInclude;
};

/// Writes the extension source for every public `func.func` with a body in
/// `module` (one op each, in module order). Reports what the header emitter
/// reports, plus names PyTorch cannot take, as errors at the function's
/// location and then writes nothing and returns failure. The output depends
/// only on `module` and `options`.
mlir::LogicalResult
exportTorchExtension(mlir::ModuleOp module, llvm::raw_ostream &os,
                     const TorchExtensionOptions &options = {});

/// Registers the `gate-to-torch-extension` translation and its options
/// (--torch-extension-module, --torch-extension-header) for
/// mlir-translate-style tools.
void registerToTorchExtensionTranslation();

} // namespace gatec

#endif // GATEC_TARGET_TORCH_EXPORTTORCHEXTENSION_H
