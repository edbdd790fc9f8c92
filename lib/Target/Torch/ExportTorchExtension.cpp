//===- ExportTorchExtension.cpp - PyTorch custom ops for kernels ----------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//
//
// The kernels come from readKernelSignatures(), so every name, dtype and rank
// here is the one the header declares, and a module the header rejects is
// rejected here with the same diagnostics. On top of that only names PyTorch
// cannot take are checked. The text goes to a buffer that reaches the stream
// only when every check passed, so a failed export writes nothing.
//
// The generated source checks what the header cannot see (device, layout,
// dtype, rank), makes inputs contiguous (an input the kernel updates in place
// must already be: it is passed as it is) and leaves every shape and value
// check to the header's entry points, whose messages become the RuntimeError
// text.
//
//===----------------------------------------------------------------------===//

#include "gatec/Target/Torch/ExportTorchExtension.h"
#include "Target/SourcePrinter.h"

#include "gatec/Target/CppHeader/KernelSignature.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

#include <cstring>
#include <string>
#include <vector>

using namespace mlir;
using gatec::KernelSignature;
using gatec::TensorSignature;

namespace {

/// The namespace of the generated C++ (helpers and op kernels). It must not
/// be a name the header defines at global scope: only a kernel named `torch`
/// has one (its entry point gatec_torch), which is rejected.
constexpr const char *kCxxNamespace = "gatec_torch";

/// The ATen scalar type of a gate element type; torch's bf16 and f16 have the
/// 16-bit layout of gatec_bf16 and gatec_f16.
const char *getScalarType(StringRef dtype) {
  return llvm::StringSwitch<const char *>(dtype)
      .Case("f32", "at::kFloat")
      .Case("f16", "at::kHalf")
      .Case("bf16", "at::kBFloat16")
      .Case("i32", "at::kInt")
      .Case("i64", "at::kLong");
}

/// Tokens TorchScript's schema lexer does not read as identifiers, and the
/// other Python keywords (which cannot be keyword arguments). A kernel named
/// after one cannot be an op; a parameter gets a trailing '_' in the schema.
bool isSchemaKeyword(StringRef name) {
  static const llvm::StringSet<> keywords = {
      "False",   "None",     "True",  "and",    "as",       "assert",
      "async",   "await",    "break", "class",  "continue", "def",
      "del",     "elif",     "else",  "except", "finally",  "for",
      "from",    "global",   "if",    "import", "in",       "is",
      "lambda",  "nonlocal", "not",   "or",     "pass",     "raise",
      "return",  "try",      "while", "with",   "yield",    "Ellipsis",
      "NoneType"};
  return keywords.contains(name);
}

/// `x: bf16[T, 4096]`, as the header's doc comments write it.
std::string describe(const TensorSignature &t) {
  return fmt::format("{}: {}[{}]", t.name, t.dtype, fmt::join(t.dims, ", "));
}

/// One kernel and the names its op uses.
struct TorchOp {
  const KernelSignature *kernel;
  /// Schema argument and return names, parallel to inputs and outputs.
  std::vector<std::string> inputNames, outputNames;

  /// `swiglu(Tensor x, Tensor w) -> Tensor out`; an input the kernel updates
  /// in place is `Tensor(a!) pool` (each in an alias set of its own), and its
  /// new value is not returned.
  std::string schema() const {
    std::vector<std::string> args, results;
    unsigned aliasSets = 0;
    for (auto [t, n] : llvm::zip_equal(kernel->inputs, inputNames)) {
      if (!t.updatedInPlace) {
        args.push_back("Tensor " + n);
        continue;
      }
      unsigned set = aliasSets++;
      args.push_back(
          fmt::format("Tensor({}!) {}",
                      set < 26 ? std::string(1, static_cast<char>('a' + set))
                               : fmt::format("a{}", set),
                      n));
    }
    for (const std::string &n : outputNames)
      results.push_back("Tensor " + n);
    std::string returns = results.size() == 1
                              ? results.front()
                              : fmt::format("({})", fmt::join(results, ", "));
    return fmt::format("{}({}) -> {}", kernel->name, fmt::join(args, ", "),
                       returns);
  }
  /// `at::Tensor` or `std::tuple<at::Tensor, at::Tensor>`.
  std::string returnType() const {
    if (kernel->outputs.size() == 1)
      return "at::Tensor";
    std::vector<std::string> types(kernel->outputs.size(), "at::Tensor");
    return fmt::format("std::tuple<{}>", fmt::join(types, ", "));
  }
  /// `const at::Tensor &x, const at::Tensor &w`.
  std::vector<std::string> params() const {
    std::vector<std::string> result;
    for (const TensorSignature &t : kernel->inputs)
      result.push_back("const at::Tensor &" + t.name);
    return result;
  }
};

/// Names the op of each kernel (in module order, as readKernelSignatures()
/// reads them), reporting the kernels PyTorch cannot take at their location.
LogicalResult makeOps(ModuleOp module, ArrayRef<KernelSignature> kernels,
                      std::vector<TorchOp> &ops) {
  bool ok = true;
  // Kernels are read in module order, as readKernelSignatures() does.
  auto funcs = llvm::make_filter_range(
      module.getOps<func::FuncOp>(),
      [](func::FuncOp f) { return f.isPublic() && !f.isExternal(); });
  for (auto [kernelRef, func] : llvm::zip_equal(kernels, funcs)) {
    const KernelSignature &kernel = kernelRef;
    Location loc = func.getLoc();
    auto error = [&]() {
      return mlir::emitError(loc) << "kernel '" << kernel.name << "': ";
    };
    if (isSchemaKeyword(kernel.name)) {
      error() << "'" << kernel.name
              << "' is a Python keyword and cannot name a PyTorch op";
      ok = false;
      continue;
    }
    if (kernel.entryPoint() == kCxxNamespace) {
      error() << "its header entry point '" << kernel.entryPoint()
              << "' is the namespace of the PyTorch extension's C++ code; "
                 "rename the kernel";
      ok = false;
      continue;
    }
    TorchOp &op = ops.emplace_back();
    op.kernel = &kernel;
    // The header made the names unique; a keyword's trailing '_' may not be.
    llvm::StringMap<std::string> owners; // schema name -> header name
    auto schemaName = [&](const TensorSignature &t) -> std::string {
      std::string name = isSchemaKeyword(t.name) ? t.name + "_" : t.name;
      auto [it, inserted] = owners.try_emplace(name, t.name);
      if (!inserted) {
        error() << "parameters '" << it->second << "' and '" << t.name
                << "' would both be named '" << name
                << "' in the PyTorch schema";
        ok = false;
      }
      return name;
    };
    for (const TensorSignature &t : kernel.inputs)
      op.inputNames.push_back(schemaName(t));
    for (const TensorSignature &t : kernel.outputs)
      op.outputNames.push_back(schemaName(t));
  }
  return success(ok);
}

/// Why `include` cannot follow `#include`, or empty.
std::string checkInclude(StringRef include) {
  if (include.empty())
    return "is empty";
  if (llvm::any_of(include, [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      }))
    return "contains a control character";
  if (include.front() == '<')
    return include.size() > 2 && include.back() == '>' &&
                   !include.drop_front().drop_back().contains('>')
               ? ""
               : "is not of the form <file>";
  if (include.contains('"') || include.contains('\\'))
    return "contains '\"' or '\\'";
  return "";
}

/// The helpers every op shares (Runtime/gatec_torch_runtime.h, a real
/// source file compiled by test/Target/Torch/runtime-sources.test);
/// `{library}` is the op namespace.
constexpr const char *kRuntime =
#include "GatecTorchRuntime.inc"
    ;

class ExtensionPrinter {
public:
  ExtensionPrinter(gatec::SourcePrinter &p, StringRef library)
      : p(p), library(library) {}

  void printRuntime();
  void printCpuKernel(const TorchOp &op);
  void printOtherKernel(const TorchOp &op);

private:
  /// One checkInput() per input.
  void printInputChecks(const KernelSignature &k);

  gatec::SourcePrinter &p;
  std::string library;
};

void ExtensionPrinter::printRuntime() {
  // The runtime is fixed text but for the library name; fmt's own braces
  // would clash with the C++ braces, so substitute by hand.
  std::string text = kRuntime;
  for (size_t pos; (pos = text.find("{library}")) != std::string::npos;)
    text.replace(pos, strlen("{library}"), library);
  // The runtime file keeps one statement in the layout extensions have always
  // had, which clang-format would rewrap; the markers saying so are not
  // emitted.
  for (const char *marker : {"// clang-format off\n", "// clang-format on\n"})
    for (size_t pos; (pos = text.find(marker)) != std::string::npos;)
      text.erase(pos, strlen(marker));
  p.raw(text);
}

void ExtensionPrinter::printInputChecks(const KernelSignature &k) {
  for (const TensorSignature &t : k.inputs) {
    p.line("{}::checkInput({}, \"{}\", \"{}\", {}, {}, \"{}\");", kCxxNamespace,
           t.name, k.name, t.name, getScalarType(t.dtype), t.rank(),
           describe(t));
    if (t.updatedInPlace)
      p.line("{}::checkInPlace({}, \"{}\", \"{}\");", kCxxNamespace, t.name,
             k.name, t.name);
  }
}

/// The tensor whose data the entry points get: the input itself if the
/// kernel updates it, else its contiguous version.
std::string dense(const TensorSignature &t) {
  return t.updatedInPlace ? t.name : "gatec_in_" + t.name;
}

void ExtensionPrinter::printCpuKernel(const TorchOp &op) {
  const KernelSignature &k = *op.kernel;
  p.line("/// {}", op.schema());
  for (const TensorSignature &t : k.inputs)
    p.line("///   {} (input{})", describe(t),
           t.updatedInPlace ? ", updated in place" : "");
  for (const TensorSignature &t : k.outputs)
    p.line("///   {} (output)", describe(t));
  p.call(op.returnType() + " " + k.name, op.params(), " {");
  p.indent();
  printInputChecks(k);
  // Locals are gatec_-prefixed, which no parameter can be; header names are
  // qualified with ::, so no local hides them.
  if (llvm::any_of(k.inputs,
                   [](const TensorSignature &t) { return !t.updatedInPlace; }))
    p.line("// The entry points take dense row-major data.");
  for (const TensorSignature &t : k.inputs)
    if (!t.updatedInPlace)
      p.line("const at::Tensor gatec_in_{} = {}.contiguous();", t.name, t.name);
  p.line("::gatec_error gatec_err = {{}};");
  p.line("::{} gatec_shapes = {{}};", k.shapesType());
  std::vector<std::string> shapeArgs;
  for (const TensorSignature &t : k.inputs) {
    std::vector<std::string> dims;
    for (unsigned i = 0; i < t.rank(); ++i)
      dims.push_back(fmt::format("{}.size({})", dense(t), i));
    if (!dims.empty())
      shapeArgs.push_back(fmt::format("{}", fmt::join(dims, ", ")));
  }
  shapeArgs.push_back("&gatec_shapes, &gatec_err");
  p.call(fmt::format("int gatec_rc = ::{}", k.outputShapesFunction()),
         shapeArgs, ";");
  p.line("{}::check(gatec_rc, gatec_err);", kCxxNamespace);

  // Outputs, at the shapes the header computed.
  for (const TensorSignature &t : k.outputs) {
    std::string sizes =
        t.rank() == 0 ? std::string("at::IntArrayRef()")
                      : fmt::format("at::IntArrayRef(gatec_shapes.{}, {})",
                                    t.name, t.rank());
    p.line("at::Tensor gatec_out_{} = at::empty(", t.name);
    p.line("    {}, at::TensorOptions().dtype({}));", sizes,
           getScalarType(t.dtype));
  }

  std::vector<std::string> args;
  for (const TensorSignature &t : k.inputs) {
    std::vector<std::string> group = {
        fmt::format("static_cast<{}{} *>({}.data_ptr())",
                    t.updatedInPlace ? "" : "const ", t.cType, dense(t))};
    for (unsigned i = 0; i < t.rank(); ++i)
      group.push_back(fmt::format("{}.size({})", dense(t), i));
    args.push_back(fmt::format("{}", fmt::join(group, ", ")));
  }
  for (const TensorSignature &t : k.outputs) {
    std::vector<std::string> group = {fmt::format(
        "static_cast<{} *>(gatec_out_{}.data_ptr())", t.cType, t.name)};
    for (unsigned i = 0; i < t.rank(); ++i)
      group.push_back(fmt::format("gatec_shapes.{}[{}]", t.name, i));
    args.push_back(fmt::format("{}", fmt::join(group, ", ")));
  }
  args.push_back("&gatec_err");
  p.call(fmt::format("gatec_rc = ::{}", k.entryPoint()), args, ";");
  p.line("{}::check(gatec_rc, gatec_err);", kCxxNamespace);

  std::vector<std::string> results;
  for (const TensorSignature &t : k.outputs)
    results.push_back("gatec_out_" + t.name);
  if (results.size() == 1)
    p.line("return {};", results.front());
  else
    p.line("return {{{}}};", fmt::join(results, ", "));
  p.unindent();
  p.line("}}");
  p.blank();
}

void ExtensionPrinter::printOtherKernel(const TorchOp &op) {
  const KernelSignature &k = *op.kernel;
  p.call(op.returnType() + " " + k.name, op.params(), " {");
  p.indent();
  printInputChecks(k);
  p.line("{}::unsupported(\"{}\");", kCxxNamespace, k.name);
  p.unindent();
  p.line("}}");
  p.blank();
}

} // namespace

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

LogicalResult
gatec::exportTorchExtension(ModuleOp module, llvm::raw_ostream &os,
                            const TorchExtensionOptions &options) {
  FailureOr<std::vector<KernelSignature>> kernels =
      readKernelSignatures(module);
  if (failed(kernels))
    return failure();
  std::vector<TorchOp> ops;
  if (failed(makeOps(module, *kernels, ops)))
    return failure();
  std::string moduleName = getKernelModuleName(module, options.moduleName);
  std::string library = "gatec_" + moduleName;
  std::string include = options.headerInclude;
  if (include.empty()) {
    std::string stem = getKernelModuleStem(module, options.moduleName);
    include = (stem.empty() ? moduleName : stem) + ".h";
  }
  if (std::string why = checkInclude(include); !why.empty())
    return mlir::emitError(module.getLoc())
           << "gate-to-torch-extension: the header include '" << include << "' "
           << why;
  std::string includeLine = include.front() == '<'
                                ? "#include " + include
                                : fmt::format("#include \"{}\"", include);

  std::string text;
  gatec::SourcePrinter p(text);
  ExtensionPrinter printer(p, library);

  // Banner.
  std::vector<std::string> names;
  for (const TorchOp &op : ops)
    names.push_back(op.kernel->name);
  p.line("// Generated by gatec (gate-to-torch-extension). Do not edit.");
  p.line("//");
  p.line("//   module:  {}", moduleName);
  p.line("//   library: {} (torch.ops.{}.<kernel>)", library, library);
  p.line("//   header:  {}", include);
  p.line("//   kernels: {}", fmt::join(names, ", "));
  p.line("//");
  p.line("// Registers each kernel as the PyTorch op {}::<kernel> for the CPU;",
         library);
  p.line("// tensors on any other device are refused. Build it as one shared");
  p.line("// library with the kernels' object file and load it with");
  p.line("// torch.ops.load_library(); see docs/torch.md in gatec.");
  p.line("//");
  p.line("// Ops:");
  for (const TorchOp &op : ops)
    p.line("//   {}::{}", library, op.schema());
  p.blank();
  p.line("#include <ATen/core/Tensor.h>");
  p.line("#include <ATen/ops/empty.h>");
  p.line("#include <c10/util/Exception.h>");
  p.line("#include <torch/library.h>");
  p.blank();
  p.line("#include <cstdint>");
  p.line("#include <cstdlib>");
  p.line("#include <tuple>");
  p.blank();
  p.line("// The kernels' checked entry points.");
  p.line("{}", includeLine);
  p.blank();

  // Internal linkage: several generated extensions can share a library.
  p.line("namespace {{");
  p.line("namespace {} {{", kCxxNamespace);
  p.blank();
  printer.printRuntime();
  p.blank();
  p.line("/// The ops on CPU tensors: call the compiled kernels.");
  p.line("namespace cpu {{");
  p.blank();
  for (const TorchOp &op : ops)
    printer.printCpuKernel(op);
  p.line("}} // namespace cpu");
  p.blank();
  p.line(
      "/// The ops on every other backend (CUDA, Meta, ...): refuse with the");
  p.line("/// name of the first tensor that is not a dense CPU tensor.");
  p.line("namespace other {{");
  p.blank();
  for (const TorchOp &op : ops)
    if (!op.kernel->inputs.empty())
      printer.printOtherKernel(op);
  p.line("}} // namespace other");
  p.line("}} // namespace {}", kCxxNamespace);
  p.line("}} // namespace");
  p.blank();

  // Registration.
  // A module without kernels still gets a (then empty) library.
  auto noOps = [&] {
    if (ops.empty())
      p.line("  (void)m; // No kernels.");
  };
  p.line("TORCH_LIBRARY({}, m) {{", library);
  for (const TorchOp &op : ops)
    p.line("  m.def(\"{}\");", op.schema());
  noOps();
  p.line("}}");
  p.blank();
  p.line("TORCH_LIBRARY_IMPL({}, CPU, m) {{", library);
  for (const TorchOp &op : ops)
    p.line("  m.impl(\"{}\", TORCH_FN({}::cpu::{}));", op.kernel->name,
           kCxxNamespace, op.kernel->name);
  noOps();
  p.line("}}");
  p.blank();
  p.line(
      "// CompositeExplicitAutograd serves every backend without a kernel of "
      "its own,");
  p.line("// so a CUDA tensor gets gatec's message instead of a missing-kernel "
         "error.");
  p.line("TORCH_LIBRARY_IMPL({}, CompositeExplicitAutograd, m) {{", library);
  for (const TorchOp &op : ops) {
    // Without tensor arguments PyTorch dispatches to no backend in
    // particular (the Undefined key, which this key also serves): such a
    // kernel reads nothing from a device and runs on the CPU.
    StringRef kind = op.kernel->inputs.empty() ? "cpu" : "other";
    p.line("  m.impl(\"{}\", TORCH_FN({}::{}::{}));", op.kernel->name,
           kCxxNamespace, kind, op.kernel->name);
  }
  noOps();
  p.line("}}");

  os << text;
  return success();
}

void gatec::registerToTorchExtensionTranslation() {
  static llvm::cl::OptionCategory category("gate-to-torch-extension options");
  static llvm::cl::opt<std::string> moduleName(
      "torch-extension-module",
      llvm::cl::desc("Module name: the ops are gatec_<name>::<kernel> "
                     "(same default as --cpp-header-module)"),
      llvm::cl::cat(category));
  static llvm::cl::opt<std::string> headerInclude(
      "torch-extension-header",
      llvm::cl::desc("What the source #includes for the kernels' header: "
                     "a file name (quoted) or <file> (default <module>.h)"),
      llvm::cl::cat(category));

  static TranslateFromMLIRRegistration registration(
      "gate-to-torch-extension",
      "emit the C++ source of a PyTorch extension for gate-level kernels",
      [](ModuleOp module, llvm::raw_ostream &os) {
        TorchExtensionOptions options;
        options.moduleName = moduleName;
        options.headerInclude = headerInclude;
        return exportTorchExtension(module, os, options);
      },
      registerKernelModuleDialects);
}
