//===- KernelReader.cpp - Reading the kernel ABI of a module --------------===//
//
// Part of gatec. Reads each public gate-level function into the header model:
// names, element types, shapes as written, which input dimension binds each
// symbol, offsets and slots. Every error of the header (and of the PyTorch
// extension, through readKernelSignatures) is reported here.
//
//===----------------------------------------------------------------------===//

#include "Target/CppHeader/HeaderModel.h"

#include "gatec/Dialect/Gate/GateDialect.h"
#include "gatec/Target/CppHeader/KernelSignature.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Path.h"

#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

using namespace mlir;
using namespace gatec::cpp_header;

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

namespace gatec::cpp_header {

/// Keywords of C99 to C23 and C++17 to C++20, macros and types the header
/// relies on, and the names of the header's own parameters and types. A
/// parameter with one of these names gets a trailing '_' in the header.
bool isReservedName(StringRef name) {
  static const llvm::StringSet<> reserved = {
      // C
      "auto", "break", "case", "char", "const", "continue", "default", "do",
      "double", "else", "enum", "extern", "float", "for", "goto", "if",
      "inline", "int", "long", "register", "restrict", "return", "short",
      "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
      "unsigned", "void", "volatile", "while", "typeof", "typeof_unqual",
      // C++
      "alignas", "alignof", "and", "and_eq", "asm", "bitand", "bitor", "bool",
      "catch", "char8_t", "char16_t", "char32_t", "class", "compl", "concept",
      "consteval", "constexpr", "constinit", "const_cast", "co_await",
      "co_return", "co_yield", "decltype", "delete", "dynamic_cast", "explicit",
      "export", "false", "friend", "mutable", "namespace", "new", "noexcept",
      "not", "not_eq", "nullptr", "operator", "or", "or_eq", "private",
      "protected", "public", "reinterpret_cast", "requires", "static_assert",
      "static_cast", "template", "this", "thread_local", "throw", "true", "try",
      "typeid", "typename", "using", "virtual", "wchar_t", "xor", "xor_eq",
      // Standard macros and types the header uses.
      "NULL", "errno", "assert", "offsetof", "int8_t", "int16_t", "int32_t",
      "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t", "intptr_t",
      "uintptr_t", "size_t", "ptrdiff_t", "snprintf", "INT64_MAX", "INT64_MIN",
      "SIZE_MAX", "std",
      // The header's own parameter and type names.
      "err", "shapes", "Status", "TensorView"};
  return reserved.contains(name);
}

/// Makes `text` safe inside a `//` comment: no control characters, no line
/// splice through a trailing backslash, no "??" that C99 could read as a
/// trigraph.
std::string commentText(StringRef text) {
  std::string out;
  for (char c : text) {
    if (c == '\t')
      c = ' ';
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      continue;
    if (c == '?' && !out.empty() && out.back() == '?')
      out.push_back(' ');
    out.push_back(c);
  }
  StringRef trimmed = StringRef(out).rtrim();
  std::string result = trimmed.str();
  if (!result.empty() && result.back() == '\\')
    result.push_back('.');
  return result;
}

/// The file of a gate.source "file.gate:12".
StringRef sourceFile(StringRef source) {
  auto [file, line] = source.rsplit(':');
  if (!line.empty() && llvm::all_of(line, llvm::isDigit))
    return file;
  return source;
}

/// A C integer literal; INT64_MIN has none of its own.
std::string cInt(int64_t v) {
  if (v == INT64_MIN)
    return "INT64_MIN";
  return std::to_string(v);
}

} // namespace gatec::cpp_header

namespace {

/// Why `name` cannot be used in the header, or empty.
std::string checkName(StringRef name) {
  if (!gate::isCIdentifier(name))
    return "is not a C identifier";
  if (name.starts_with("__") ||
      (name.size() > 1 && name[0] == '_' && llvm::isUpper(name[1])))
    return "is reserved in C (leading '__' or '_' and a capital)";
  if (name.lower().rfind("gatec_", 0) == 0 || name.starts_with("_mlir"))
    return "is reserved for the generated header (gatec_ and _mlir prefixes)";
  return "";
}

/// `text` made into a C identifier: other characters become '_', a leading
/// digit gets a "module_" prefix, a keyword gets a trailing '_'.
std::string toIdentifier(StringRef text) {
  std::string out;
  for (char c : text)
    out.push_back(llvm::isAlnum(c) || c == '_' ? c : '_');
  if (out.empty())
    return "kernels";
  if (llvm::isDigit(out.front()))
    out = "module_" + out;
  if (isReservedName(out))
    out += "_";
  return out;
}

//===----------------------------------------------------------------------===//
// Reading a kernel
//===----------------------------------------------------------------------===//

std::optional<ElementType> getElementType(Type type) {
  if (type.isF32())
    return ElementType{"f32", "float"};
  if (type.isF16())
    return ElementType{"f16", "gatec_f16"};
  if (type.isBF16())
    return ElementType{"bf16", "gatec_bf16"};
  if (type.isSignlessInteger(32))
    return ElementType{"i32", "int32_t"};
  if (type.isSignlessInteger(64))
    return ElementType{"i64", "int64_t"};
  return std::nullopt;
}

class KernelReader {
public:
  explicit KernelReader(func::FuncOp func) : func(func) {}

  FailureOr<Kernel> read();

private:
  /// At the function's location, without the op dump Operation::emitError
  /// adds: the message names everything that matters.
  InFlightDiagnostic error() {
    return mlir::emitError(func.getLoc())
           << "kernel '" << func.getSymName() << "': ";
  }
  LogicalResult readTensor(const gate::TensorABI &abi, bool isOutput,
                           unsigned index, Tensor &tensor);
  void readShape(const gate::TensorABI &abi, Tensor &tensor);
  LogicalResult bindSymbols(Kernel &kernel);
  LogicalResult checkNames(const Kernel &kernel);
  LogicalResult readOffsets(const gate::TensorABI &abi, StringRef what,
                            Tensor &tensor);
  LogicalResult readSlots(const gate::TensorABI &abi, StringRef what,
                          Tensor &tensor);
  /// A result's `gate.updates`: marks the argument it names.
  LogicalResult readUpdate(uint64_t argument, unsigned result, Type type,
                           Kernel &kernel);

  func::FuncOp func;
};

FailureOr<Kernel> KernelReader::read() {
  Kernel kernel;
  kernel.name = func.getSymName().str();
  if (std::string why = checkName(kernel.name); !why.empty())
    return error() << "the kernel name " << why;
  if (isReservedName(kernel.name))
    return error() << "the kernel name is a C or C++ keyword or a name the "
                      "header reserves";
  FailureOr<gate::KernelABI> abi = gate::readKernelABI(func);
  if (failed(abi))
    return failure();
  if (abi->doc)
    kernel.doc = abi->doc.getValue().str();
  if (abi->source)
    kernel.source = abi->source.getValue().str();

  for (auto [i, arg] : llvm::enumerate(abi->arguments)) {
    Tensor &t = kernel.inputs.emplace_back();
    if (failed(readTensor(arg, false, i, t)))
      return failure();
  }
  for (auto [i, result] : llvm::enumerate(abi->results)) {
    // The new value of a parameter (DestinationPassingABI writes it into
    // the parameter's buffer): not an output of the entry points.
    if (result.updates) {
      if (failed(readUpdate(*result.updates, i, result.type, kernel)))
        return failure();
      continue;
    }
    Tensor &t = kernel.outputs.emplace_back();
    if (failed(readTensor(result, true, i, t)))
      return failure();
  }
  FunctionType type = func.getFunctionType();
  if (kernel.outputs.empty())
    return error() << (type.getNumResults() == 0
                           ? "has no results"
                           : "has no results besides parameters it updates "
                             "in place")
                   << "; a kernel must produce at least one output";
  for (const Tensor &t : kernel.inputs) {
    if (!t.slotsPool)
      continue;
    if (*t.slotsPool >= kernel.inputs.size() ||
        &kernel.inputs[*t.slotsPool] == &t ||
        kernel.inputs[*t.slotsPool].rank() == 0)
      return error() << "argument '" << t.name << "': gate.slots names "
                     << "argument #" << static_cast<int64_t>(*t.slotsPool)
                     << ", which is not another argument of rank >= 1";
  }
  if (failed(checkNames(kernel)) || failed(bindSymbols(kernel)))
    return failure();
  return kernel;
}

LogicalResult KernelReader::readUpdate(uint64_t i, unsigned result, Type type,
                                       Kernel &kernel) {
  if (i >= kernel.inputs.size() || func.getFunctionType().getInput(i) != type)
    return error() << "result #" << result << ": gate.updates must be the "
                   << "index of an argument of the same type, got " << i;
  Tensor &t = kernel.inputs[i];
  if (t.updatedInPlace)
    return error() << "argument '" << t.name << "' is updated by two results";
  t.updatedInPlace = true;
  return success();
}

LogicalResult KernelReader::readTensor(const gate::TensorABI &abi,
                                       bool isOutput, unsigned index,
                                       Tensor &tensor) {
  tensor.isOutput = isOutput;
  StringRef kind = isOutput ? "result" : "argument";
  if (abi.name) {
    tensor.name = abi.name.getValue().str();
    if (std::string why = checkName(tensor.name); !why.empty())
      return error() << kind << " name '" << tensor.name << "' " << why;
    if (isReservedName(tensor.name))
      tensor.name += "_";
  } else {
    tensor.name = fmt::format("{}{}", isOutput ? "result" : "arg", index);
  }
  std::string what = fmt::format("{} '{}'", kind.str(), tensor.name);

  auto tensorType = dyn_cast<RankedTensorType>(abi.type);
  if (!tensorType)
    return error() << what << " has type " << abi.type
                   << "; headers take ranked tensors only";
  std::optional<ElementType> elem = getElementType(tensorType.getElementType());
  if (!elem)
    return error() << what << " has unsupported element type "
                   << tensorType.getElementType()
                   << " (headers support f32, f16, bf16, i32 and i64)";
  tensor.elem = *elem;
  readShape(abi, tensor);
  if (failed(readOffsets(abi, what, tensor)))
    return failure();
  return readSlots(abi, what, tensor);
}

/// Whether `tensor` can hold offsets or slots: an i32 or i64 argument of
/// rank 1.
bool isIndexVector(const Tensor &tensor) {
  return !tensor.isOutput && tensor.rank() == 1 &&
         (StringRef(tensor.elem.dtype) == "i32" ||
          StringRef(tensor.elem.dtype) == "i64");
}

LogicalResult KernelReader::readSlots(const gate::TensorABI &abi,
                                      StringRef what, Tensor &tensor) {
  if (!abi.slotsPool)
    return success();
  if (!isIndexVector(tensor) || tensor.isOffsets)
    return error() << what
                   << ": gate.slots must be {pool = <argument index>} on an "
                      "i32 or i64 argument of rank 1";
  // Checked against the arguments once all are read.
  tensor.slotsPool = *abi.slotsPool;
  return success();
}

LogicalResult KernelReader::readOffsets(const gate::TensorABI &abi,
                                        StringRef what, Tensor &tensor) {
  if (!abi.isOffsets)
    return success();
  if (!isIndexVector(tensor))
    return error() << what
                   << ": gate.offsets must be a dictionary on an i32 or i64 "
                      "argument of rank 1";
  tensor.isOffsets = true;
  if (!abi.offsetsBound)
    return success();
  // The dialect's verifier checked that it folds.
  tensor.offsetsBound = abi.offsetsBound.fold();
  tensor.offsetsBoundText = abi.offsetsBound.str();
  return success();
}

void KernelReader::readShape(const gate::TensorABI &abi, Tensor &tensor) {
  // readKernelABI checked gate.shape against the type (rank, literals,
  // negative or undefined constants), so every entry folds.
  auto type = cast<RankedTensorType>(abi.type);
  for (int64_t i = 0; i < type.getRank(); ++i) {
    Dim &dim = tensor.dims.emplace_back();
    if (!type.isDynamicDim(i))
      dim.staticSize = type.getDimSize(i);
    // Without gate.shape, static sizes are literals and each '?' is a
    // symbol of its own, free unless some output names it.
    gate::DimAttr written = gate::getDimOrDefault(abi, i, tensor.name);
    dim.written = written.str();
    dim.expr = written.fold();
  }
}

LogicalResult KernelReader::checkNames(const Kernel &kernel) {
  // Every identifier of the entry point's parameter list must be unique.
  llvm::StringMap<std::string> owners;
  auto claim = [&](const std::string &id, const Tensor &t) -> LogicalResult {
    auto [it, inserted] = owners.try_emplace(id, t.name);
    if (inserted)
      return success();
    if (it->second == t.name && id == t.name)
      return error() << "two parameters are named '" << id << "'";
    return error() << "parameter names collide: '" << id
                   << "' is needed for both '" << it->second << "' and '"
                   << t.name << "'";
  };
  for (const auto *list : {&kernel.inputs, &kernel.outputs})
    for (const Tensor &t : *list) {
      if (failed(claim(t.name, t)))
        return failure();
      for (unsigned i = 0; i < t.rank(); ++i)
        if (failed(claim(t.dimParam(i), t)))
          return failure();
    }
  // The shapes struct has <output> and <output>_numel members.
  llvm::StringSet<> members;
  for (const Tensor &t : kernel.outputs)
    for (const std::string &m : {t.name, t.name + "_numel"})
      if (!members.insert(m).second)
        return error() << "output names collide in the shapes struct: '" << m
                       << "'";
  return success();
}

LogicalResult KernelReader::bindSymbols(Kernel &kernel) {
  // Whole-symbol input dimensions bind or check, in declaration order.
  for (auto [ti, t] : llvm::enumerate(kernel.inputs))
    for (auto [di, dim] : llvm::enumerate(t.dims)) {
      if (dim.expr.isConstant()) {
        dim.role = Role::Literal;
      } else if (!dim.expr.isSymbol()) {
        dim.role = Role::Expr;
      } else {
        auto [it, inserted] = kernel.symbols.try_emplace(
            dim.expr.getSymbolName(),
            Binding{static_cast<unsigned>(ti), static_cast<unsigned>(di)});
        dim.role = inserted ? Role::Bind : Role::Check;
        it->second.used |= !inserted;
      }
    }

  // A symbol no dimension holds whole binds from the first `symbol + c`.
  for (auto [ti, t] : llvm::enumerate(kernel.inputs))
    for (auto [di, dim] : llvm::enumerate(t.dims)) {
      if (dim.role != Role::Expr)
        continue;
      std::optional<std::pair<StringRef, int64_t>> m =
          dim.expr.matchSymbolPlusConstant();
      if (!m || kernel.symbols.count(m->first))
        continue;
      kernel.symbols[m->first] =
          Binding{static_cast<unsigned>(ti), static_cast<unsigned>(di),
                  /*used=*/false, m->second};
      dim.role = Role::BindOffset;
    }

  // Everything else reads symbols, which must be bound by then.
  auto use = [&](const Tensor &t, unsigned di) -> LogicalResult {
    const Dim &dim = t.dims[di];
    SmallVector<StringRef> used;
    dim.expr.collectSymbols(used);
    for (StringRef s : used) {
      auto it = kernel.symbols.find(s);
      if (it != kernel.symbols.end()) {
        it->second.used = true;
        continue;
      }
      std::string where = fmt::format(
          "{} '{}' dim {}", t.isOutput ? "result" : "argument", t.name, di);
      if (t.isOutput && s == t.dimParam(di))
        return error() << where
                       << " is dynamic and has no gate.shape, so its size "
                          "cannot be derived from the inputs";
      return error() << where << " ('" << dim.written << "') uses symbol '" << s
                     << "', which no input binds: some input dimension must "
                        "be exactly '"
                     << s << "'";
    }
    return success();
  };
  for (const Tensor &t : kernel.inputs)
    for (auto [di, dim] : llvm::enumerate(t.dims))
      if (dim.role == Role::Expr && failed(use(t, di)))
        return failure();
  // The bound of offsets is read in the entry point.
  for (const Tensor &t : kernel.inputs) {
    if (!t.offsetsBound)
      continue;
    SmallVector<StringRef> used;
    t.offsetsBound.collectSymbols(used);
    for (StringRef s : used)
      if (!kernel.symbols.count(s))
        return error() << "argument '" << t.name
                       << "': the bound of its offsets ('" << t.offsetsBoundText
                       << "') uses symbol '" << s << "', which no input binds";
  }
  for (Tensor &t : kernel.outputs)
    for (auto [di, dim] : llvm::enumerate(t.dims)) {
      if (failed(use(t, di)))
        return failure();
      // An output dim that is a symbol pinned to a static size by its
      // binding input dim needs no run-time check, unless the sizes differ,
      // which no call could satisfy.
      if (!dim.expr.isSymbol() || !dim.staticSize)
        continue;
      Binding b = kernel.symbols.lookup(dim.expr.getSymbolName());
      const Dim &binder = kernel.inputs[b.input].dims[b.dim];
      if (!binder.staticSize)
        continue;
      if (*binder.staticSize != *dim.staticSize)
        return error() << "result '" << t.name << "' dim " << di << " is "
                       << dim.written << ", which argument '"
                       << kernel.inputs[b.input].name << "' dim " << b.dim
                       << " fixes to " << *binder.staticSize
                       << ", but its type says " << *dim.staticSize;
      dim.staticSize.reset();
    }
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

/// Reads every kernel of `module`, reporting each one that fails. A kernel
/// whose generated top-level names clash with another kernel's fails too.
FailureOr<std::vector<Kernel>> gatec::cpp_header::readKernels(ModuleOp module) {
  std::vector<Kernel> kernels;
  llvm::StringMap<std::string> topLevel; // generated name -> kernel
  bool ok = true;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func.isPublic() || func.isExternal())
      continue;
    FailureOr<Kernel> kernel = KernelReader(func).read();
    if (failed(kernel)) {
      ok = false;
      continue;
    }
    for (std::string name :
         {kernel->entry(), kernel->shapesFn(), kernel->shapesType(),
          kernel->name, kernel->cxxShapesType(), kernel->cxxShapesFn()}) {
      auto [it, inserted] = topLevel.try_emplace(name, kernel->name);
      if (!inserted) {
        mlir::emitError(func.getLoc())
            << "kernel '" << kernel->name << "': its header name '" << name
            << "' is also generated for kernel '" << it->second << "'";
        ok = false;
      }
    }
    kernels.push_back(std::move(*kernel));
  }
  if (!ok)
    return failure();
  return kernels;
}

FailureOr<std::vector<gatec::KernelSignature>>
gatec::readKernelSignatures(ModuleOp module) {
  FailureOr<std::vector<Kernel>> kernels = readKernels(module);
  if (failed(kernels))
    return failure();
  auto convert = [](const Tensor &t) {
    TensorSignature sig;
    sig.name = t.name;
    sig.dtype = t.elem.dtype;
    sig.cType = t.elem.cType;
    sig.updatedInPlace = t.updatedInPlace;
    for (const Dim &d : t.dims)
      sig.dims.push_back(d.written);
    return sig;
  };
  std::vector<KernelSignature> result;
  for (const Kernel &k : *kernels) {
    KernelSignature &sig = result.emplace_back();
    sig.name = k.name;
    sig.doc = k.doc;
    sig.source = k.source;
    for (const Tensor &t : k.inputs)
      sig.inputs.push_back(convert(t));
    for (const Tensor &t : k.outputs)
      sig.outputs.push_back(convert(t));
  }
  return result;
}

std::string gatec::getKernelModuleStem(ModuleOp module, StringRef requested) {
  if (!requested.empty())
    return requested.str();
  if (module.getSymName() && !module.getSymName()->empty())
    return module.getSymName()->str();
  // The kernels, as readKernels() visits them.
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func.isPublic() || func.isExternal())
      continue;
    if (auto source = func->getAttrOfType<StringAttr>(gate::kSourceAttrName))
      if (!source.getValue().empty())
        return llvm::sys::path::stem(sourceFile(source.getValue())).str();
  }
  return "";
}

std::string gatec::getKernelModuleName(ModuleOp module, StringRef requested) {
  return toIdentifier(getKernelModuleStem(module, requested));
}

void gatec::registerKernelModuleDialects(DialectRegistry &registry) {
  // What the frontend's gate-level modules contain. Only signatures and
  // attributes are read, so no dialect beyond these needs to load.
  registry.insert<arith::ArithDialect, func::FuncDialect, gate::GateDialect,
                  linalg::LinalgDialect, tensor::TensorDialect>();
}
