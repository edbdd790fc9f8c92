//===- KernelSignature.h - What the generated header exposes ----*- C++ -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//
//
// The kernels of a gate-level module as the generated C/C++ header exposes
// them: entry point names, parameter names, element types and shapes. The
// header emitter reads and validates every kernel into this form; emitters
// that call the header's entry points (the PyTorch extension) read it through
// readKernelSignatures() so that they agree with the header by construction.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_TARGET_CPPHEADER_KERNELSIGNATURE_H
#define GATEC_TARGET_CPPHEADER_KERNELSIGNATURE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace gatec {

/// One input or output of a kernel, as the header's entry points take it.
struct TensorSignature {
  /// The parameter name in the header: the `gate.name` (a C keyword or a name
  /// the header reserves gets a trailing '_'), else `arg<i>` / `result<i>`.
  std::string name;
  /// The gate element type: "f32", "f16", "bf16", "i32" or "i64".
  std::string dtype;
  /// Its C type in the header: "float", "gatec_f16", "gatec_bf16",
  /// "int32_t" or "int64_t".
  std::string cType;
  /// One entry per dimension of `gate.shape` as the dialect prints it,
  /// e.g. {"T", "4096"}; empty for rank 0.
  std::vector<std::string> dims;
  /// An input the kernel updates in place (a result of the gate-level
  /// function has `gate.updates` = its index): the entry points take it
  /// mutable and have no output for that result.
  bool updatedInPlace = false;

  unsigned rank() const { return dims.size(); }
};

/// One kernel: a public `func.func` with a body.
struct KernelSignature {
  std::string name;
  std::string doc;    ///< `gate.doc`, possibly empty.
  std::string source; ///< `gate.source`, e.g. "swiglu.gate:3", possibly empty.
  std::vector<TensorSignature> inputs;
  /// The results, but those that update an input in place.
  std::vector<TensorSignature> outputs;

  /// The checked entry point `gatec_<kernel>`: data pointer and dims of each
  /// input, then of each output, then `gatec_error *`.
  std::string entryPoint() const { return "gatec_" + name; }
  /// `gatec_<kernel>_output_shapes`: dims of each input, then a
  /// `gatec_<kernel>_shapes *` and a `gatec_error *`.
  std::string outputShapesFunction() const {
    return "gatec_" + name + "_output_shapes";
  }
  /// `gatec_<kernel>_shapes`: `int64_t <output>[rank]` for each output of
  /// rank >= 1 and `int64_t <output>_numel` for each output.
  std::string shapesType() const { return "gatec_" + name + "_shapes"; }
};

/// Reads every kernel of `module` in module order, with the checks and the
/// names of the header emitter. Any kernel the header could not declare is
/// reported as an error at its location, and then the result is failure.
mlir::FailureOr<std::vector<KernelSignature>>
readKernelSignatures(mlir::ModuleOp module);

/// The module name before it is made an identifier: `requested` if not
/// empty, else the module's `sym_name`, else the file stem of the first
/// kernel's `gate.source`, else empty. `gatec -o DIR` names its outputs
/// `<stem>.<suffix>` after the same name.
std::string getKernelModuleStem(mlir::ModuleOp module,
                                llvm::StringRef requested);

/// The module name the header uses (its namespace `gatec_kernels::<name>`):
/// getKernelModuleStem() with characters that cannot appear in a C
/// identifier replaced by '_', a leading digit prefixed with "module_" and a
/// keyword given a trailing '_'; "kernels" when the stem is empty.
std::string getKernelModuleName(mlir::ModuleOp module,
                                llvm::StringRef requested);

/// Adds the dialects of gate-level kernel modules (what the frontend
/// generates) to `registry`: all that translations reading kernel signatures
/// and attributes need to load.
void registerKernelModuleDialects(mlir::DialectRegistry &registry);

} // namespace gatec

#endif // GATEC_TARGET_CPPHEADER_KERNELSIGNATURE_H
