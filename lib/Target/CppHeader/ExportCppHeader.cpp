//===- ExportCppHeader.cpp - C/C++ wrapper headers for kernels ------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//
//
// Two phases per kernel: read the function into a model (names, element
// types, shapes as written, which input dimension binds each symbol), which is
// where every error is reported, then print. Printing cannot fail, and the
// text goes to a buffer that reaches the stream only when every kernel was
// read, so a failed export writes nothing.
//
//===----------------------------------------------------------------------===//

#include "gatec/Target/CppHeader/ExportCppHeader.h"

#include "CUDALaunch.h"
#include "Target/SourcePrinter.h"
#include "gatec/Target/CppHeader/KernelSignature.h"

#include "ShapeExpr.h"

#include "gatec/Dialect/Gate/GateDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace mlir;
namespace se = gatec::shape_expr;

namespace {

//===----------------------------------------------------------------------===//
// The model of one kernel
//===----------------------------------------------------------------------===//

/// An element type the header can pass: its gate spelling and its C type.
struct ElementType {
  const char *dtype;
  const char *cType;
};

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

/// How the checked entry point treats one input dimension.
enum class Role {
  Literal, ///< Must equal a constant.
  Bind,    ///< The first use of a symbol: binds it.
  Check,   ///< A later use of a symbol: must equal the bound value.
  Expr,    ///< An expression: evaluated once every symbol is bound.
  /// `N + c` where no input dimension is exactly N: binds N to the
  /// dimension minus c (cu_seqlens: i32[N + 1] alone gives N).
  BindOffset,
};

struct Dim {
  std::string written; ///< The gate.shape entry, whitespace-normalized.
  se::Expr expr;
  std::optional<int64_t> staticSize; ///< From the tensor type.
  Role role = Role::Literal;
};

struct Tensor {
  std::string name; ///< A C identifier.
  ElementType elem;
  bool isOutput;
  SmallVector<Dim> dims;
  /// `gate.offsets`: the input holds the offsets of packed sequences, which
  /// the entry point checks; `offsetsBound` is their upper bound (T), null
  /// when unknown.
  bool isOffsets = false;
  se::Expr offsetsBound;
  std::string offsetsBoundText;
  /// An input the kernel writes back (a result with `gate.updates` = its
  /// index): passed mutable, and no output parameter exists for it.
  bool updatedInPlace = false;
  /// `gate.slots`: the input holds rows of the input at this index (a state
  /// pool), which the entry point checks.
  std::optional<uint64_t> slotsPool;

  unsigned rank() const { return dims.size(); }
  /// The kernel writes through its data pointer.
  bool isMutable() const { return isOutput || updatedInPlace; }
  std::string dimParam(unsigned i) const {
    return fmt::format("{}_dim{}", name, i);
  }
  std::string descType() const {
    return fmt::format("gatec_memref_{}_{}d", elem.dtype, rank());
  }
  /// `T, 4096`: the dims as written in gate.shape.
  std::string dimsText() const {
    std::vector<std::string> texts;
    for (const Dim &d : dims)
      texts.push_back(d.written);
    return fmt::format("{}", fmt::join(texts, ", "));
  }
  /// `x: bf16[T, 4096]`.
  std::string signature() const {
    return fmt::format("{}: {}[{}]", name, elem.dtype, dimsText());
  }
};

/// Where a symbol is bound: the first input dimension that is exactly it.
struct Binding {
  unsigned input;
  unsigned dim;
  bool used = false; ///< Read after binding (else no variable is emitted).
  /// The symbol is the dimension minus this (BindOffset); 0 for Bind.
  int64_t offset = 0;
};

struct Kernel {
  std::string name;
  std::string doc;    ///< gate.doc
  std::string source; ///< gate.source, "file.gate:12"
  std::vector<Tensor> inputs, outputs;
  /// Looked up, never iterated: its order cannot reach the output.
  llvm::StringMap<Binding> symbols;

  /// "gatec_", or "gatec_cuda_" in CUDA headers (so that a program can
  /// include the CPU and the CUDA header of one module).
  std::string prefix = "gatec_";

  std::string entry() const { return prefix + name; }
  std::string shapesFn() const {
    return fmt::format("{}{}_output_shapes", prefix, name);
  }
  std::string shapesType() const {
    return fmt::format("{}{}_shapes", prefix, name);
  }
  /// The launch function, in the header's detail namespace: no name there
  /// starts with "launch_", and kernel names cannot start with "gatec_", so
  /// it collides neither with the module's own names nor with public ones.
  std::string launcher() const { return "launch_" + name; }
  std::string cxxShapesType() const {
    std::string camel;
    for (StringRef part : llvm::split(name, '_'))
      if (!part.empty())
        camel += llvm::toUpper(part.front()) + part.drop_front().str();
    return camel + "Shapes";
  }
  std::string cxxShapesFn() const {
    return fmt::format("{}_output_shapes", name);
  }
};

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

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

/// Why `name` cannot be used in the header, or empty.
std::string checkName(StringRef name) {
  if (!se::isIdentifier(name))
    return "is not a C identifier";
  if (name.starts_with("__") ||
      (name.size() > 1 && name[0] == '_' && llvm::isUpper(name[1])))
    return "is reserved in C (leading '__' or '_' and a capital)";
  if (name.lower().rfind("gatec_", 0) == 0 || name.starts_with("_mlir"))
    return "is reserved for the generated header (gatec_ and _mlir prefixes)";
  return "";
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

/// A C integer literal; INT64_MIN has none of its own.
std::string cInt(int64_t v) {
  if (v == INT64_MIN)
    return "INT64_MIN";
  return std::to_string(v);
}

//===----------------------------------------------------------------------===//
// Reading a kernel
//===----------------------------------------------------------------------===//

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
  LogicalResult readTensor(Type type, DictionaryAttr attrs, bool isOutput,
                           unsigned index, Tensor &tensor);
  LogicalResult readShape(RankedTensorType type, Attribute shape,
                          StringRef what, Tensor &tensor);
  LogicalResult bindSymbols(Kernel &kernel);
  LogicalResult checkNames(const Kernel &kernel);
  LogicalResult readOffsets(Attribute attr, StringRef what, Tensor &tensor);
  LogicalResult readSlots(Attribute attr, StringRef what, Tensor &tensor);
  /// A result's `gate.updates`: marks the argument it names.
  LogicalResult readUpdate(Attribute attr, unsigned result, Type type,
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
  if (auto doc = func->getAttrOfType<StringAttr>("gate.doc"))
    kernel.doc = doc.getValue().str();
  if (auto source = func->getAttrOfType<StringAttr>("gate.source"))
    kernel.source = source.getValue().str();

  FunctionType type = func.getFunctionType();
  for (auto [i, argType] : llvm::enumerate(type.getInputs())) {
    Tensor &t = kernel.inputs.emplace_back();
    if (failed(readTensor(argType, func.getArgAttrDict(i), false, i, t)))
      return failure();
  }
  for (auto [i, resultType] : llvm::enumerate(type.getResults())) {
    // The new value of a parameter (DestinationPassingABI writes it into
    // the parameter's buffer): not an output of the entry points.
    if (Attribute updates = func.getResultAttr(i, "gate.updates")) {
      if (failed(readUpdate(updates, i, resultType, kernel)))
        return failure();
      continue;
    }
    Tensor &t = kernel.outputs.emplace_back();
    if (failed(readTensor(resultType, func.getResultAttrDict(i), true, i, t)))
      return failure();
  }
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

LogicalResult KernelReader::readUpdate(Attribute attr, unsigned result,
                                       Type type, Kernel &kernel) {
  auto index = dyn_cast<IntegerAttr>(attr);
  uint64_t i = index ? index.getValue().getZExtValue() : UINT64_MAX;
  if (i >= kernel.inputs.size() || func.getFunctionType().getInput(i) != type)
    return error() << "result #" << result << ": gate.updates must be the "
                   << "index of an argument of the same type, got " << attr;
  Tensor &t = kernel.inputs[i];
  if (t.updatedInPlace)
    return error() << "argument '" << t.name << "' is updated by two results";
  t.updatedInPlace = true;
  return success();
}

LogicalResult KernelReader::readTensor(Type type, DictionaryAttr attrs,
                                       bool isOutput, unsigned index,
                                       Tensor &tensor) {
  tensor.isOutput = isOutput;
  StringRef kind = isOutput ? "result" : "argument";
  Attribute nameAttr = attrs ? attrs.get("gate.name") : Attribute();
  if (nameAttr && !isa<StringAttr>(nameAttr))
    return error() << kind << " #" << index
                   << " has a gate.name that is not a string";
  if (auto name = dyn_cast_or_null<StringAttr>(nameAttr)) {
    tensor.name = name.getValue().str();
    if (std::string why = checkName(tensor.name); !why.empty())
      return error() << kind << " name '" << tensor.name << "' " << why;
    if (isReservedName(tensor.name))
      tensor.name += "_";
  } else {
    tensor.name = fmt::format("{}{}", isOutput ? "result" : "arg", index);
  }
  std::string what = fmt::format("{} '{}'", kind.str(), tensor.name);

  auto tensorType = dyn_cast<RankedTensorType>(type);
  if (!tensorType)
    return error() << what << " has type " << type
                   << "; headers take ranked tensors only";
  std::optional<ElementType> elem = getElementType(tensorType.getElementType());
  if (!elem)
    return error() << what << " has unsupported element type "
                   << tensorType.getElementType()
                   << " (headers support f32, f16, bf16, i32 and i64)";
  tensor.elem = *elem;
  if (failed(readShape(tensorType,
                       attrs ? attrs.get("gate.shape") : Attribute(), what,
                       tensor)))
    return failure();
  if (failed(readOffsets(attrs ? attrs.get("gate.offsets") : Attribute(), what,
                         tensor)))
    return failure();
  return readSlots(attrs ? attrs.get("gate.slots") : Attribute(), what, tensor);
}

/// Whether `tensor` can hold offsets or slots: an i32 or i64 argument of
/// rank 1.
bool isIndexVector(const Tensor &tensor) {
  return !tensor.isOutput && tensor.rank() == 1 &&
         (StringRef(tensor.elem.dtype) == "i32" ||
          StringRef(tensor.elem.dtype) == "i64");
}

LogicalResult KernelReader::readSlots(Attribute attr, StringRef what,
                                      Tensor &tensor) {
  if (!attr)
    return success();
  auto dict = dyn_cast<DictionaryAttr>(attr);
  auto pool = dict ? dict.getAs<IntegerAttr>("pool") : IntegerAttr();
  if (!pool || !isIndexVector(tensor) || tensor.isOffsets)
    return error() << what
                   << ": gate.slots must be {pool = <argument index>} on an "
                      "i32 or i64 argument of rank 1";
  // Checked against the arguments once all are read.
  tensor.slotsPool = pool.getValue().getZExtValue();
  return success();
}

LogicalResult KernelReader::readOffsets(Attribute attr, StringRef what,
                                        Tensor &tensor) {
  if (!attr)
    return success();
  auto dict = dyn_cast<DictionaryAttr>(attr);
  if (!dict || !isIndexVector(tensor))
    return error() << what
                   << ": gate.offsets must be a dictionary on an i32 or i64 "
                      "argument of rank 1";
  tensor.isOffsets = true;
  Attribute bound = dict.get("upper_bound");
  if (!bound)
    return success();
  if (auto literal = dyn_cast<IntegerAttr>(bound)) {
    tensor.offsetsBound = se::constant(literal.getValue().getSExtValue());
    tensor.offsetsBoundText = std::to_string(tensor.offsetsBound->value);
    return success();
  }
  auto text = dyn_cast<StringAttr>(bound);
  std::string parseError;
  if (text)
    tensor.offsetsBound = se::parse(text.getValue(), parseError);
  if (!tensor.offsetsBound)
    return error() << what << ": invalid gate.offsets upper_bound " << bound
                   << (parseError.empty() ? "" : ": ") << parseError;
  tensor.offsetsBoundText = se::normalize(text.getValue());
  return success();
}

LogicalResult KernelReader::readShape(RankedTensorType type, Attribute shape,
                                      StringRef what, Tensor &tensor) {
  int64_t rank = type.getRank();
  auto entries = dyn_cast_or_null<ArrayAttr>(shape);
  if (shape && !entries)
    return error() << what << " has a gate.shape that is not an array";
  if (entries && static_cast<int64_t>(entries.size()) != rank)
    return error() << what << " has " << entries.size()
                   << " gate.shape entries but rank " << rank;

  for (int64_t i = 0; i < rank; ++i) {
    Dim &dim = tensor.dims.emplace_back();
    if (!type.isDynamicDim(i))
      dim.staticSize = type.getDimSize(i);
    if (!entries) {
      // No gate.shape: static sizes are literals; each '?' is a symbol of
      // its own, free unless some output names it.
      dim.written =
          dim.staticSize ? std::to_string(*dim.staticSize) : tensor.dimParam(i);
      dim.expr = dim.staticSize ? se::constant(*dim.staticSize)
                                : se::symbol(dim.written);
      continue;
    }
    Attribute entry = entries[i];
    if (auto literal = dyn_cast<IntegerAttr>(entry)) {
      dim.expr = se::constant(literal.getValue().getSExtValue());
      dim.written = std::to_string(dim.expr->value);
    } else if (auto text = dyn_cast<StringAttr>(entry)) {
      std::string parseError;
      dim.expr = se::parse(text.getValue(), parseError);
      if (!dim.expr)
        return error() << what << " dim " << i
                       << ": invalid gate.shape expression '" << text.getValue()
                       << "': " << parseError;
      dim.written = se::normalize(text.getValue());
    } else {
      return error() << what << " dim " << i
                     << ": gate.shape entries must be integers or strings, got "
                     << entry;
    }
    if (dim.expr->isConstant() && dim.expr->value < 0)
      return error() << what << " dim " << i << " is " << dim.written
                     << ", which is negative";
    if (dim.expr->isConstant() && dim.staticSize &&
        dim.expr->value != *dim.staticSize)
      return error() << what << " dim " << i << " is " << dim.written
                     << " in gate.shape but " << *dim.staticSize
                     << " in its type " << type;
  }
  return success();
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
      if (dim.expr->isConstant()) {
        dim.role = Role::Literal;
      } else if (!dim.expr->isSymbol()) {
        dim.role = Role::Expr;
      } else {
        auto [it, inserted] = kernel.symbols.try_emplace(
            dim.expr->symbol,
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
      std::optional<se::SymbolPlusConstant> m =
          se::matchSymbolPlusConstant(*dim.expr);
      if (!m || kernel.symbols.count(m->symbol))
        continue;
      kernel.symbols[m->symbol] =
          Binding{static_cast<unsigned>(ti), static_cast<unsigned>(di),
                  /*used=*/false, m->offset};
      dim.role = Role::BindOffset;
    }

  // Everything else reads symbols, which must be bound by then.
  auto use = [&](const Tensor &t, unsigned di) -> LogicalResult {
    const Dim &dim = t.dims[di];
    SmallVector<std::string> used;
    se::collectSymbols(*dim.expr, used);
    for (const std::string &s : used) {
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
    SmallVector<std::string> used;
    se::collectSymbols(*t.offsetsBound, used);
    for (const std::string &s : used)
      if (!kernel.symbols.count(s))
        return error() << "argument '" << t.name
                       << "': the bound of its offsets ('"
                       << t.offsetsBoundText << "') uses symbol '" << s
                       << "', which no input binds";
  }
  for (Tensor &t : kernel.outputs)
    for (auto [di, dim] : llvm::enumerate(t.dims)) {
      if (failed(use(t, di)))
        return failure();
      // An output dim that is a symbol pinned to a static size by its
      // binding input dim needs no run-time check, unless the sizes differ,
      // which no call could satisfy.
      if (!dim.expr->isSymbol() || !dim.staticSize)
        continue;
      Binding b = kernel.symbols.lookup(dim.expr->symbol);
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

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

/// The part of the header every gatec header shares. Guarded so that any
/// number of generated headers can be included in one translation unit; the
/// version check catches headers from incompatible gatec releases.
constexpr const char *kRuntime =
#include "GatecRuntime.inc"
    ;

/// `/// text` lines (or `//` with `marker`), one per line of `text`.
void printComment(gatec::SourcePrinter &p, StringRef text,
                  std::string_view marker = "///") {
  SmallVector<StringRef> lines;
  text.split(lines, '\n');
  for (StringRef l : lines) {
    std::string safe = commentText(l);
    if (safe.empty())
      p.line("{}", marker);
    else
      p.line("{} {}", marker, safe);
  }
}

/// "(long long)x" for a %lld argument.
std::string ll(std::string_view value) {
  return fmt::format("(long long){}", value);
}

class HeaderPrinter {
public:
  HeaderPrinter(gatec::SourcePrinter &p, const gatec::CUDAHostCode *cuda,
                std::string cudaDetail)
      : p(p), cuda(cuda), cudaDetail(std::move(cudaDetail)) {}

  void printDescriptor(const ElementType &elem, unsigned rank);
  void printKernelC(const Kernel &k);
  void printKernelCxx(const Kernel &k);

private:
  void printDoc(const Kernel &k);
  void printOutputShapesC(const Kernel &k);
  void printEntryC(const Kernel &k);
  /// The check of the values of a `gate.offsets` or `gate.slots` input
  /// inside the entry point.
  void printValuesCheck(const Kernel &k, const Tensor &t);
  /// Evaluates `expr` into int64 temporaries (needs `gatec_rc` in scope);
  /// returns the C operand holding the value.
  std::string printEval(const se::Node &expr, unsigned &counter);
  /// `T = %lld, F = %lld` and the matching arguments, for messages.
  std::pair<std::string, std::string> symbolValues(const se::Node &expr);

  gatec::SourcePrinter &p;
  /// Set for CUDA headers: the launch code of each kernel.
  const gatec::CUDAHostCode *cuda;
  /// The C++ namespace holding the module loader (CUDA headers).
  std::string cudaDetail;
};

void HeaderPrinter::printDescriptor(const ElementType &elem, unsigned rank) {
  std::string type = fmt::format("gatec_memref_{}_{}d", elem.dtype, rank);
  std::string guard = llvm::StringRef(type).upper() + "_DEFINED";
  p.line("#ifndef {}", guard);
  p.line("#define {}", guard);
  p.line("/// A rank-{} {} memref descriptor, as the kernels' C interface "
         "takes it.",
         rank, elem.dtype);
  p.line("typedef struct {} {{", type);
  p.indent();
  p.line("{} *allocated;", elem.cType);
  p.line("{} *aligned;", elem.cType);
  p.line("int64_t offset;");
  if (rank > 0) {
    p.line("int64_t sizes[{}];", rank);
    p.line("int64_t strides[{}];", rank);
  }
  p.unindent();
  p.line("}} {};", type);
  p.line("#endif");
  p.blank();
}

void HeaderPrinter::printDoc(const Kernel &k) {
  if (!k.doc.empty()) {
    printComment(p, k.doc);
    p.line("///");
  }
  for (const Tensor &t : k.inputs) {
    std::string note;
    if (t.updatedInPlace)
      note = ", updated in place";
    if (t.slotsPool)
      note = fmt::format(", rows of {}; a negative slot skips its sequence",
                         k.inputs[*t.slotsPool].name);
    p.line("///   {} (input{})", t.signature(), note);
  }
  for (const Tensor &t : k.outputs)
    p.line("///   {} (output)", t.signature());
  if (!k.source.empty())
    printComment(p, fmt::format("Defined at {}.", k.source));
}

std::pair<std::string, std::string>
HeaderPrinter::symbolValues(const se::Node &expr) {
  SmallVector<std::string> symbols;
  se::collectSymbols(expr, symbols);
  std::vector<std::string> formats, args;
  for (const std::string &s : symbols) {
    formats.push_back(fmt::format("{} = %lld", s));
    args.push_back(ll("gatec_sym_" + s));
  }
  return {fmt::format("{}", fmt::join(formats, ", ")),
          fmt::format("{}", fmt::join(args, ", "))};
}

std::string HeaderPrinter::printEval(const se::Node &expr, unsigned &counter) {
  using Kind = se::Node::Kind;
  switch (expr.kind) {
  case Kind::Constant:
    return cInt(expr.value);
  case Kind::Symbol:
    return "gatec_sym_" + expr.symbol;
  default:
    break;
  }
  std::string lhs = printEval(*expr.lhs, counter);
  std::string rhs = expr.rhs ? printEval(*expr.rhs, counter) : "";
  std::string value = fmt::format("gatec_v{}", counter++);
  switch (expr.kind) {
  case Kind::Neg:
    p.line("int64_t {} = gatec_rt_sub(0, {}, &gatec_rc);", value, lhs);
    break;
  case Kind::Add:
    p.line("int64_t {} = gatec_rt_add({}, {}, &gatec_rc);", value, lhs, rhs);
    break;
  case Kind::Sub:
    p.line("int64_t {} = gatec_rt_sub({}, {}, &gatec_rc);", value, lhs, rhs);
    break;
  case Kind::Mul:
    p.line("int64_t {} = gatec_rt_mul({}, {}, &gatec_rc);", value, lhs, rhs);
    break;
  case Kind::Div:
    p.line("int64_t {} = gatec_rt_div({}, {}, &gatec_rc);", value, lhs, rhs);
    break;
  default:
    llvm_unreachable("leaves are handled above");
  }
  return value;
}

void HeaderPrinter::printOutputShapesC(const Kernel &k) {
  // The struct: one array per output of rank > 0 and every element count.
  p.line("/// The output shapes of {} for given input shapes, and the element",
         k.name);
  p.line("/// count of each output (what to allocate).");
  p.line("typedef struct {} {{", k.shapesType());
  p.indent();
  for (const Tensor &t : k.outputs) {
    if (t.rank() > 0)
      p.line("int64_t {}[{}]; // [{}]", t.name, t.rank(), t.dimsText());
    p.line("int64_t {}_numel;", t.name);
  }
  p.unindent();
  p.line("}} {};", k.shapesType());
  p.blank();

  std::vector<std::string> params;
  for (const Tensor &t : k.inputs) {
    std::vector<std::string> dims;
    for (unsigned i = 0; i < t.rank(); ++i)
      dims.push_back(fmt::format("int64_t {}", t.dimParam(i)));
    if (!dims.empty())
      params.push_back(fmt::format("{}", fmt::join(dims, ", ")));
  }
  params.push_back(fmt::format("{} *shapes", k.shapesType()));
  params.push_back("gatec_error *err");
  p.line("/// Checks the input shapes of {} as gatec_{} does and computes the",
         k.name, k.name);
  p.line("/// output shapes. Returns GATEC_OK or the gatec_status of the first "
         "failed check.");
  p.line("static inline GATEC_MAYBE_UNUSED int");
  p.call(k.shapesFn(), params, " {");
  p.indent();
  auto fail = [&](std::string_view code, std::string_view format,
                  std::string_view args) {
    p.indent();
    if (args.empty())
      p.line("return GATEC_RT_FAIL(err, {}, \"{}: {}\");", code, k.name,
             format);
    else
      p.line("return GATEC_RT_FAIL(err, {}, \"{}: {}\", {});", code, k.name,
             format, args);
    p.unindent();
  };
  p.line("gatec_rt_clear(err);");
  p.line("if (!shapes)");
  fail("GATEC_ERR_NULL", "shapes is NULL", "");

  // Literal and whole-symbol input dimensions, in order.
  for (const Tensor &t : k.inputs) {
    if (t.rank() == 0)
      continue;
    p.line("// {}", t.signature());
    for (auto [di, dim] : llvm::enumerate(t.dims)) {
      std::string param = t.dimParam(di);
      p.line("if ({} < 0)", param);
      fail("GATEC_ERR_SHAPE",
           fmt::format("{} dim {} is %lld but must be >= 0", t.name, di),
           ll(param));
      if (dim.staticSize && dim.role != Role::Literal) {
        p.line("if ({} != {})", param, *dim.staticSize);
        fail("GATEC_ERR_SHAPE",
             fmt::format("{} dim {} is %lld but must be {} (the kernel was "
                         "compiled for {} = {})",
                         t.name, di, *dim.staticSize, dim.written,
                         *dim.staticSize),
             ll(param));
      }
      switch (dim.role) {
      case Role::Literal:
        p.line("if ({} != {})", param, cInt(dim.expr->value));
        fail("GATEC_ERR_SHAPE",
             fmt::format("{} dim {} is %lld but must be {}", t.name, di,
                         dim.written),
             ll(param));
        break;
      case Role::Bind:
        if (k.symbols.lookup(dim.expr->symbol).used)
          p.line("int64_t gatec_sym_{} = {};", dim.expr->symbol, param);
        break;
      case Role::Check: {
        const std::string &s = dim.expr->symbol;
        Binding b = k.symbols.lookup(s);
        const Tensor &first = k.inputs[b.input];
        p.line("if ({} != gatec_sym_{})", param, s);
        fail("GATEC_ERR_SHAPE",
             fmt::format("{} dim {} is {} = %lld but {} dim {} is {} = %lld",
                         first.name, b.dim, s, t.name, di, s),
             fmt::format("{}, {}", ll("gatec_sym_" + s), ll(param)));
        break;
      }
      case Role::Expr:
      case Role::BindOffset:
        break;
      }
    }
  }

  // Symbols bound from `symbol + c` dimensions: N = dim - c, a size.
  for (const Tensor &t : k.inputs)
    for (auto [di, dim] : llvm::enumerate(t.dims)) {
      if (dim.role != Role::BindOffset)
        continue;
      std::optional<se::SymbolPlusConstant> m =
          se::matchSymbolPlusConstant(*dim.expr);
      std::string param = t.dimParam(di);
      std::string sym = "gatec_sym_" + m->symbol;
      p.line("int64_t {};", sym);
      p.line("{{ // {} dim {} = {}", t.name, di, dim.written);
      p.indent();
      p.line("int gatec_rc = GATEC_OK;");
      p.line("{} = gatec_rt_sub({}, {}, &gatec_rc);", sym, param,
             cInt(m->offset));
      p.line("if (gatec_rc != GATEC_OK || {} < 0)", sym);
      fail("GATEC_ERR_SHAPE",
           fmt::format("{} dim {} is %lld but must be {} with {} >= 0",
                       t.name, di, dim.written, m->symbol),
           ll(param));
      p.unindent();
      p.line("}}");
    }

  // Input dimensions that are expressions, now that every symbol is bound.
  for (const Tensor &t : k.inputs)
    for (auto [di, dim] : llvm::enumerate(t.dims)) {
      if (dim.role != Role::Expr)
        continue;
      std::string param = t.dimParam(di);
      auto [symFormat, symArgs] = symbolValues(*dim.expr);
      p.line("{{ // {} dim {} = {}", t.name, di, dim.written);
      p.indent();
      p.line("int gatec_rc = GATEC_OK;");
      unsigned counter = 0;
      std::string value = printEval(*dim.expr, counter);
      p.line("if (gatec_rc != GATEC_OK)");
      fail("gatec_rc",
           fmt::format("cannot evaluate {} dim {} = {} with {}: %s", t.name, di,
                       dim.written, symFormat),
           fmt::format("{}, gatec_rt_reason(gatec_rc)", symArgs));
      p.line("if ({} != {})", param, value);
      fail("GATEC_ERR_SHAPE",
           fmt::format("{} dim {} is %lld but must be {} = %lld with {}",
                       t.name, di, dim.written, symFormat),
           fmt::format("{}, {}, {}", ll(param), ll(value), symArgs));
      p.unindent();
      p.line("}}");
    }

  // Output shapes.
  for (const Tensor &t : k.outputs) {
    p.line("// {}", t.signature());
    for (auto [di, dim] : llvm::enumerate(t.dims)) {
      std::string slot = fmt::format("shapes->{}[{}]", t.name, di);
      if (dim.expr->isConstant()) {
        p.line("{} = {};", slot, cInt(dim.expr->value));
        continue;
      }
      if (dim.expr->isSymbol()) {
        p.line("{} = gatec_sym_{};", slot, dim.expr->symbol);
      } else {
        auto [symFormat, symArgs] = symbolValues(*dim.expr);
        p.line("{{ // {} dim {} = {}", t.name, di, dim.written);
        p.indent();
        p.line("int gatec_rc = GATEC_OK;");
        unsigned counter = 0;
        std::string value = printEval(*dim.expr, counter);
        p.line("if (gatec_rc != GATEC_OK)");
        fail("gatec_rc",
             fmt::format("cannot evaluate {} dim {} = {} with {}: %s", t.name,
                         di, dim.written, symFormat),
             fmt::format("{}, gatec_rt_reason(gatec_rc)", symArgs));
        p.line("if ({} < 0)", value);
        fail("GATEC_ERR_SHAPE",
             fmt::format("{} dim {} = {} is %lld with {}, which is negative",
                         t.name, di, dim.written, symFormat),
             fmt::format("{}, {}", ll(value), symArgs));
        p.line("{} = {};", slot, value);
        p.unindent();
        p.line("}}");
      }
      if (dim.staticSize) { // Not implied by the input checks.
        p.line("if ({} != {})", slot, *dim.staticSize);
        fail("GATEC_ERR_SHAPE",
             fmt::format("{} dim {} = {} is %lld but the kernel was compiled "
                         "for {}",
                         t.name, di, dim.written, *dim.staticSize),
             ll(slot));
      }
    }
    if (t.rank() == 0) {
      p.line("shapes->{}_numel = 1;", t.name);
      continue;
    }
    p.line("{{");
    p.indent();
    p.line("int gatec_rc = GATEC_OK;");
    p.line("shapes->{}_numel = gatec_rt_numel({}, shapes->{}, &gatec_rc);",
           t.name, t.rank(), t.name);
    p.line("if (gatec_rc != GATEC_OK)");
    fail("GATEC_ERR_OVERFLOW",
         fmt::format("{} has more than INT64_MAX elements", t.name), "");
    p.unindent();
    p.line("}}");
  }
  p.line("return GATEC_OK;");
  p.unindent();
  p.line("}}");
  p.blank();
}

void HeaderPrinter::printValuesCheck(const Kernel &k, const Tensor &t) {
  // The kernel clamps offsets to [0, T] and skips a sequence whose slot is
  // outside the pool, so any values are memory-safe; the check turns a
  // caller's mistake (or two sequences racing on one row) into an error
  // instead of a silently different result. On CUDA the values are in device
  // memory: reading them costs a synchronizing copy (and breaks stream
  // capture), so there it is opt-in.
  if (cuda)
    p.line("#ifdef GATEC_CUDA_CHECK_OFFSETS");
  std::string kind = "offsets", bound = "-1", boundName = t.offsetsBoundText;
  if (t.slotsPool) {
    const Tensor &pool = k.inputs[*t.slotsPool];
    const Dim &rows = pool.dims[0];
    kind = "slots";
    bound = pool.dimParam(0);
    boundName = rows.expr->isConstant() ? "dim 0" : rows.written;
    p.line("{{ // {}: rows of {}, each below {} or negative, none twice",
           t.name, pool.name, rows.written);
  } else {
    p.line("{{ // {}: offsets of packed sequences, 0 first, never "
           "decreasing{}",
           t.name,
           t.offsetsBound ? ", at most " + t.offsetsBoundText : std::string());
  }
  p.indent();
  if (t.offsetsBound) {
    SmallVector<std::string> used;
    se::collectSymbols(*t.offsetsBound, used);
    for (const std::string &s : used) {
      Binding b = k.symbols.lookup(s);
      std::string dim = k.inputs[b.input].dimParam(b.dim);
      if (b.offset == 0)
        p.line("int64_t gatec_sym_{} = {};", s, dim);
      else // the shapes function checked it: no overflow, not negative
        p.line("int64_t gatec_sym_{} = {} - {};", s, dim, cInt(b.offset));
    }
    unsigned counter = 0;
    bound = printEval(*t.offsetsBound, counter);
    p.line("if (gatec_rc != GATEC_OK)");
    p.line("  return GATEC_RT_FAIL(err, gatec_rc, \"{}: cannot evaluate the "
           "bound of {} ({}): %s\", gatec_rt_reason(gatec_rc));",
           k.name, t.name, t.offsetsBoundText);
  }
  std::string check = fmt::format("gatec_rt_check_{}_{}", kind, t.elem.dtype);
  if (cuda)
    p.line("gatec_rc = gatec_cuda_check_values(err, \"{}\", \"{}\", {}, {}, "
           "{}, \"{}\", stream, {});",
           k.name, t.name, t.name, t.dimParam(0), bound, boundName, check);
  else
    p.line("gatec_rc = {}(err, \"{}\", \"{}\", {}, {}, {}, \"{}\");", check,
           k.name, t.name, t.name, t.dimParam(0), bound, boundName);
  p.line("if (gatec_rc != GATEC_OK)");
  p.line("  return gatec_rc;");
  p.unindent();
  p.line("}}");
  if (cuda)
    p.line("#endif");
}

void HeaderPrinter::printEntryC(const Kernel &k) {
  std::vector<std::string> params;
  for (const auto *list : {&k.inputs, &k.outputs})
    for (const Tensor &t : *list) {
      std::vector<std::string> group = {fmt::format(
          "{}{} *{}", t.isMutable() ? "" : "const ", t.elem.cType, t.name)};
      for (unsigned i = 0; i < t.rank(); ++i)
        group.push_back(fmt::format("int64_t {}", t.dimParam(i)));
      params.push_back(fmt::format("{}", fmt::join(group, ", ")));
    }
  if (cuda)
    params.push_back("CUstream stream");
  params.push_back("gatec_error *err");

  printDoc(k);
  p.line("///");
  if (cuda)
    p.line("/// Checks every pointer (device memory, 16-byte aligned) and "
           "dimension,");
  if (cuda)
    p.line("/// then launches the kernels on `stream` (asynchronously).");
  else
    p.line("/// Checks every pointer and dimension, then calls "
           "_mlir_ciface_{}.",
           k.name);
  p.line("/// Returns GATEC_OK, or a gatec_status with err (if not NULL) "
         "filled.");
  p.line("static inline GATEC_MAYBE_UNUSED int");
  p.call(k.entry(), params, " {");
  p.indent();
  p.line("{} gatec_shapes;", k.shapesType());
  for (const auto *list : {&k.inputs, &k.outputs})
    for (const Tensor &t : *list)
      p.line("{} gatec_d_{};", t.descType(), t.name);
  std::vector<std::string> inputDims;
  for (const Tensor &t : k.inputs) {
    std::vector<std::string> group;
    for (unsigned i = 0; i < t.rank(); ++i)
      group.push_back(t.dimParam(i));
    if (!group.empty())
      inputDims.push_back(fmt::format("{}", fmt::join(group, ", ")));
  }
  inputDims.push_back("&gatec_shapes, err");
  p.call(fmt::format("int gatec_rc = {}", k.shapesFn()), inputDims, ";");
  p.line("if (gatec_rc != GATEC_OK)");
  p.line("  return gatec_rc;");

  // The caller's output shapes against the expected ones.
  for (const Tensor &t : k.outputs)
    for (auto [di, dim] : llvm::enumerate(t.dims)) {
      std::string param = t.dimParam(di);
      p.line("if ({} != gatec_shapes.{}[{}])", param, t.name, di);
      p.indent();
      if (dim.expr->isConstant())
        p.line("return GATEC_RT_FAIL(err, GATEC_ERR_SHAPE, \"{}: {} dim {} is "
               "%lld but must be {}\", {});",
               k.name, t.name, di, dim.written, ll(param));
      else
        p.line("return GATEC_RT_FAIL(err, GATEC_ERR_SHAPE, \"{}: {} dim {} is "
               "%lld but must be {} = %lld\", {}, {});",
               k.name, t.name, di, dim.written, ll(param),
               ll(fmt::format("gatec_shapes.{}[{}]", t.name, di)));
      p.unindent();
    }

  // Dense row-major descriptors; the kernel only reads inputs, except those
  // it updates in place.
  for (const auto *list : {&k.inputs, &k.outputs})
    for (const Tensor &t : *list) {
      std::string d = "gatec_d_" + t.name;
      // Through uintptr_t: the descriptor type is shared by inputs and
      // outputs, and a plain cast would trip -Wcast-qual.
      std::string ptr = t.isMutable() ? t.name
                                      : fmt::format("({} *)(uintptr_t){}",
                                                    t.elem.cType, t.name);
      p.line("{}.allocated = {};", d, ptr);
      p.line("{}.aligned = {};", d, ptr);
      p.line("{}.offset = 0;", d);
      for (unsigned i = 0; i < t.rank(); ++i)
        p.line("{}.sizes[{}] = {};", d, i, t.dimParam(i));
      if (t.rank() > 0)
        p.line("gatec_rc = gatec_rt_check_tensor(err, \"{}\", \"{}\", {}, "
               "sizeof({}), {}, {}.sizes, {}.strides);",
               k.name, t.name, t.name, t.elem.cType, t.rank(), d, d);
      else
        p.line("gatec_rc = gatec_rt_check_tensor(err, \"{}\", \"{}\", {}, "
               "sizeof({}), 0, NULL, NULL);",
               k.name, t.name, t.name, t.elem.cType);
      p.line("if (gatec_rc != GATEC_OK)");
      p.line("  return gatec_rc;");
      if (cuda) {
        // 16-byte cp.async copies and vector accesses need it; cuMemAlloc
        // gives 256.
        p.line("if ((uintptr_t){} % 16 != 0)", t.name);
        p.line("  return GATEC_RT_FAIL(err, GATEC_ERR_ALIGN, \"{}: {} is not "
               "16-byte aligned\");",
               k.name, t.name);
      }
    }

  for (const Tensor &t : k.inputs)
    if (t.isOffsets || t.slotsPool)
      printValuesCheck(k, t);

  std::vector<std::string> args;
  for (const auto *list : {&k.inputs, &k.outputs})
    for (const Tensor &t : *list)
      args.push_back("&gatec_d_" + t.name);
  if (cuda) {
    args.push_back("stream");
    args.push_back("err");
    p.line("return ::{}::{}({});", cudaDetail, k.launcher(),
           fmt::join(args, ", "));
    p.unindent();
    p.line("}}");
    p.blank();
    return;
  }
  p.line("_mlir_ciface_{}({});", k.name, fmt::join(args, ", "));
  p.line("return GATEC_OK;");
  p.unindent();
  p.line("}}");
  p.blank();
}

void HeaderPrinter::printKernelC(const Kernel &k) {
  p.line("//===--- {} {}===//", k.name,
         std::string(k.name.size() < 64 ? 64 - k.name.size() : 3, '-'));
  p.blank();
  std::vector<std::string> params;
  if (cuda) {
    unsigned i = 0;
    for (const auto *list : {&k.inputs, &k.outputs})
      for (const Tensor &t : *list)
        params.push_back(fmt::format("const {} *gatec_a{}", t.descType(), i++));
    params.push_back("CUstream stream");
    params.push_back("gatec_error *err");
    p.line("/// Launches the kernels of {} on `stream` (descriptors of device",
           k.name);
    p.line("/// buffers: inputs, then outputs). Temporaries are allocated and");
    p.line("/// freed on the stream (cuMemAllocAsync / cuMemFreeAsync).");
    p.line("}} // extern \"C\"");
    p.line("namespace {} {{", cudaDetail);
    p.line("static inline GATEC_MAYBE_UNUSED int");
    p.call(k.launcher(), params, " {");
    p.indent();
    p.line("static const char kernel[] = \"{}\";", k.name);
    size_t numKernels = std::max<size_t>(cuda->kernelNames.size(), 1);
    p.line("CUfunction gatec_fn[{}];", numKernels);
    p.line("int gatec_load = functions(gatec_fn, err);");
    p.line("if (gatec_load != GATEC_OK)");
    p.line("  return gatec_load;");
    p.line("(void)gatec_fn;");
    p.line("gatec_cuda_workspace gatec_ws(stream);");
    p.unindent();
    auto it = cuda->launchers.find(k.name);
    if (it != cuda->launchers.end())
      p.raw(it->second);
    p.indent();
    p.line("return gatec_ws.release(kernel, err);");
    p.unindent();
    p.line("}}");
    p.line("}} // namespace {}", cudaDetail);
    p.line("extern \"C\" {{");
    p.blank();
  } else {
    p.line("/// The compiled kernel (MLIR C interface): inputs, then outputs.");
    if (llvm::any_of(k.inputs,
                     [](const Tensor &t) { return t.updatedInPlace; }))
      p.line(
          "/// An input updated in place is written through its descriptor.");
    for (const auto *list : {&k.inputs, &k.outputs})
      for (const Tensor &t : *list)
        params.push_back(fmt::format("{} *{}", t.descType(), t.name));
    p.call(fmt::format("void _mlir_ciface_{}", k.name), params, ";");
    p.blank();
  }
  printOutputShapesC(k);
  printEntryC(k);
}

void HeaderPrinter::printKernelCxx(const Kernel &k) {
  auto viewType = [](const Tensor &t) {
    return fmt::format("TensorView<{}{}, {}>", t.isMutable() ? "" : "const ",
                       t.elem.cType, t.rank());
  };

  // Output shapes.
  p.line("/// The output shapes of {} and the element count of each output.",
         k.name);
  p.line("struct {} {{", k.cxxShapesType());
  p.indent();
  // Zero-initialized, so a struct filled only on success never reads as
  // uninitialized (gcc -Wmaybe-uninitialized in callers).
  for (const Tensor &t : k.outputs) {
    p.line("std::array<int64_t, {}> {}{{}};", t.rank(), t.name);
    p.line("int64_t {}_numel = 0;", t.name);
  }
  p.unindent();
  p.line("}};");
  p.blank();

  std::vector<std::string> params;
  std::vector<std::string> dimArgs;
  for (const Tensor &t : k.inputs) {
    if (t.rank() == 0)
      continue;
    params.push_back(
        fmt::format("const std::array<int64_t, {}> &{}", t.rank(), t.name));
    std::vector<std::string> group;
    for (unsigned i = 0; i < t.rank(); ++i)
      group.push_back(fmt::format("{}[{}]", t.name, i));
    dimArgs.push_back(fmt::format("{}", fmt::join(group, ", ")));
  }
  params.push_back(fmt::format("{} &shapes", k.cxxShapesType()));
  dimArgs.push_back("&gatec_s, &gatec_e");
  p.line("/// Checks the input shapes of {} and computes the output shapes.",
         k.name);
  p.call(fmt::format("inline Status {}", k.cxxShapesFn()), params, " {");
  p.indent();
  p.line("{} gatec_s = {{}};", k.shapesType());
  p.line("gatec_error gatec_e = {{}};");
  p.call(fmt::format("if ({}", k.shapesFn()), dimArgs, " != GATEC_OK)");
  p.line("  return Status(gatec_e.code, gatec_e.message);");
  for (const Tensor &t : k.outputs) {
    std::vector<std::string> elems;
    for (unsigned i = 0; i < t.rank(); ++i)
      elems.push_back(fmt::format("gatec_s.{}[{}]", t.name, i));
    if (t.rank() > 0)
      p.line("shapes.{} = {{{{{}}}}};", t.name, fmt::join(elems, ", "));
    p.line("shapes.{}_numel = gatec_s.{}_numel;", t.name, t.name);
  }
  p.line("return Status();");
  p.unindent();
  p.line("}}");
  p.blank();

  // The call.
  params.clear();
  std::vector<std::string> args;
  for (const auto *list : {&k.inputs, &k.outputs})
    for (const Tensor &t : *list) {
      params.push_back(fmt::format("{} {}", viewType(t), t.name));
      std::vector<std::string> group = {t.name + ".data"};
      for (unsigned i = 0; i < t.rank(); ++i)
        group.push_back(fmt::format("{}.shape[{}]", t.name, i));
      args.push_back(fmt::format("{}", fmt::join(group, ", ")));
    }
  if (cuda) {
    params.push_back("CUstream stream");
    args.push_back("stream");
  }
  args.push_back("&gatec_e");
  printDoc(k);
  p.call(fmt::format("inline Status {}", k.name), params, " {");
  p.indent();
  p.line("gatec_error gatec_e = {{}};");
  p.call(fmt::format("if ({}", k.entry()), args, " != GATEC_OK)");
  p.line("  return Status(gatec_e.code, gatec_e.message);");
  p.line("return Status();");
  p.unindent();
  p.line("}}");
  p.blank();
}

/// Why `ns` cannot be a C++ namespace name, or empty.
std::string checkNamespace(StringRef ns) {
  SmallVector<StringRef> parts;
  ns.split(parts, "::");
  for (StringRef part : parts)
    if (!se::isIdentifier(part) || isReservedName(part))
      return fmt::format("'{}' is not a C++ namespace name", ns.str());
  return "";
}

} // namespace

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

/// Reads every kernel of `module`, reporting each one that fails. A kernel
/// whose generated top-level names clash with another kernel's fails too.
static FailureOr<std::vector<Kernel>> readKernels(ModuleOp module) {
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

/// The C string literal of `text`, one source line per line of text.
static std::string cStringLiteral(StringRef text, unsigned indent) {
  std::string out;
  std::string pad(indent, ' ');
  if (text.empty())
    return pad + "\"\"";
  SmallVector<StringRef> lines;
  text.split(lines, '\n');
  for (auto [i, line] : llvm::enumerate(lines)) {
    if (i + 1 == lines.size() && line.empty())
      break;
    out += pad + "\"";
    for (char c : line) {
      if (c == '\\' || c == '"')
        out += '\\';
      if (c == '\t') {
        out += "\\t";
        continue;
      }
      out += c;
    }
    out += i + 1 < lines.size() ? "\\n\"\n" : "\"\n";
  }
  if (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

/// CUDA helpers shared by every generated CUDA header.
constexpr const char *kCUDARuntime =
#include "GatecCUDARuntime.inc"
    ;

static LogicalResult exportHeader(ModuleOp module, llvm::raw_ostream &os,
                                  const gatec::CppHeaderOptions &options,
                                  const gatec::CUDAHostCode *cuda, StringRef ptx) {
  // Read every kernel first: errors stop here, before any output.
  FailureOr<std::vector<Kernel>> read = readKernels(module);
  if (failed(read))
    return failure();
  std::vector<Kernel> &kernels = *read;
  if (cuda)
    for (Kernel &k : kernels)
      k.prefix = "gatec_cuda_";

  // Names.
  std::string moduleName =
      gatec::getKernelModuleName(module, options.moduleName);
  std::string cppNamespace =
      options.cppNamespace.empty()
          ? "gatec_kernels::" + moduleName + (cuda ? "_cuda" : "")
          : options.cppNamespace;
  if (std::string why = checkNamespace(cppNamespace); !why.empty())
    return mlir::emitError(module.getLoc()) << "gate-to-cpp-header: " << why;
  std::string guard =
      options.headerGuard.empty()
          ? fmt::format("GATEC_KERNELS_{}{}_H", StringRef(moduleName).upper(),
                        cuda ? "_CUDA" : "")
          : options.headerGuard;
  if (!se::isIdentifier(guard))
    return mlir::emitError(module.getLoc())
           << "gate-to-cpp-header: '" << guard << "' is not a macro name";

  std::string text;
  gatec::SourcePrinter p(text);
  // Inside the module's C++ namespace, under a name no kernel can have
  // (kernel names cannot start with "gatec_"): a kernel named like its
  // module cannot collide with it.
  std::string cudaDetail = cppNamespace + "::gatec_detail";
  HeaderPrinter printer(p, cuda, cudaDetail);

  // Banner.
  std::vector<std::string> sources, names;
  for (const Kernel &k : kernels) {
    std::string file = sourceFile(k.source).str();
    if (!file.empty() && !llvm::is_contained(sources, file))
      sources.push_back(file);
    names.push_back(k.name);
  }
  p.line("// Generated by gatec (gate-to-cpp-header). Do not edit.");
  p.line("//");
  printComment(p, fmt::format("  module:  {}", moduleName), "//");
  printComment(p,
               fmt::format("  source:  {}",
                           sources.empty()
                               ? std::string("(unknown)")
                               : fmt::format("{}", fmt::join(sources, ", "))),
               "//");
  printComment(p,
               fmt::format("  target:  {}", options.target.empty()
                                                ? std::string("unspecified")
                                                : options.target),
               "//");
  printComment(p, fmt::format("  kernels: {}", fmt::join(names, ", ")), "//");
  p.line("//");
  if (cuda) {
    p.line("// C++ only. gatec_cuda_<kernel>(device pointer and dims of each "
           "input, then");
    p.line("// of each output, CUstream, err) checks the call and launches "
           "the kernels");
    p.line("// (embedded PTX, loaded once per CUDA context with the driver "
           "API) on the");
    p.line("// stream; {}::<kernel>(TensorView..., CUstream)", cppNamespace);
    p.line("// returns a Status. Device tensors are dense, row-major and "
           "16-byte");
    p.line("// aligned. Link with -lcuda. See docs/headers.md in gatec.");
  } else {
  p.line("// C:   gatec_<kernel>(data and dims of each input, then of each "
         "output,");
  p.line("//      err) checks the call, fills the memref descriptors and "
         "calls the");
  p.line("//      compiled _mlir_ciface_<kernel>; "
         "gatec_<kernel>_output_shapes() gives");
  p.line("//      the output shapes for given input shapes.");
  p.line("// C++: {}::<kernel>(TensorView...) returns a Status.", cppNamespace);
  p.line("// Tensors are dense, row-major and aligned to their element size; "
         "see");
  p.line("// docs/headers.md in gatec.");
  }
  p.blank();
  p.line("#ifndef {}", guard);
  p.line("#define {}", guard);
  p.blank();
  p.line("#include <stddef.h>");
  p.line("#include <stdint.h>");
  p.line("#include <stdio.h>");
  p.line("#ifdef __cplusplus");
  p.line("#include <array>");
  p.line("#include <cstdint>");
  p.line("#include <string>");
  p.line("#endif");
  if (cuda) {
    p.line("#ifndef __cplusplus");
    p.line("#error \"gatec CUDA headers are C++\"");
    p.line("#endif");
    p.line("#include <cuda.h>");
    p.line("#include <mutex>");
    p.line("#include <string>");
    p.line("#include <vector>");
  }
  p.blank();
  p.raw(kRuntime);
  p.blank();
  if (cuda) {
    p.raw(kCUDARuntime);
    p.blank();
    p.line("namespace {} {{", cudaDetail);
    // In pieces of at most 32 KiB: C++ compilers need only accept string
    // literals of 64 KiB.
    std::vector<std::string> pieces;
    for (size_t begin = 0; begin < ptx.size();) {
      size_t end = std::min(ptx.size(), begin + 32768);
      if (end < ptx.size()) {
        size_t newline = ptx.rfind('\n', end - 1);
        if (newline != StringRef::npos && newline >= begin)
          end = newline + 1;
      }
      pieces.push_back(cStringLiteral(ptx.slice(begin, end), 4));
      begin = end;
    }
    if (pieces.empty())
      pieces.push_back(cStringLiteral("", 4));
    p.line("/// The kernels' PTX (gatec-cuda-pipeline, gpu-module-to-binary), "
           "in pieces.");
    p.line("inline const char *const kPTXPieces[] = {{");
    for (auto [i, piece] : llvm::enumerate(pieces)) {
      p.raw(piece);
      p.raw(i + 1 < pieces.size() ? ",\n" : "\n");
    }
    p.line("}};");
    std::vector<std::string> quoted;
    for (const std::string &name : cuda->kernelNames)
      quoted.push_back("\"" + name + "\"");
    size_t count = std::max<size_t>(cuda->kernelNames.size(), 1);
    if (quoted.empty())
      quoted.push_back("nullptr");
    p.line("inline const char *const kKernels[{}] = {{{}}};", count,
           fmt::join(quoted, ", "));
    p.line("inline constexpr int kNumKernels = {};",
           cuda->kernelNames.size());
    p.blank();
    p.raw(R"cuda(/// The module's functions in the current CUDA context, loading the PTX on
/// first use in each context (the driver JIT-compiles it for the device).
inline int functions(CUfunction *out, gatec_error *err) {
  if (kNumKernels == 0)
    return GATEC_OK;
  CUcontext context = nullptr;
  CUresult result = cuCtxGetCurrent(&context);
  if (result != CUDA_SUCCESS)
    return gatec_cuda_fail(err, "gatec", "cuCtxGetCurrent", result);
  if (!context)
    return GATEC_RT_FAIL(err, GATEC_ERR_CUDA,
                         "gatec: no current CUDA context (call cuInit and "
                         "make a context current, e.g. the device's primary "
                         "context)");
  struct Loaded {
    CUcontext context;
    CUmodule module;
    CUfunction functions[kNumKernels > 0 ? kNumKernels : 1];
  };
  static std::mutex mutex;
  static std::vector<Loaded> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  for (const Loaded &entry : loaded)
    if (entry.context == context) {
      for (int i = 0; i < kNumKernels; ++i)
        out[i] = entry.functions[i];
      return GATEC_OK;
    }
  Loaded entry = {};
  entry.context = context;
  char log[4096] = {0};
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {log, (void *)(uintptr_t)sizeof(log)};
  std::string ptx;
  for (const char *piece : kPTXPieces)
    ptx += piece;
  result = cuModuleLoadDataEx(&entry.module, ptx.c_str(), 2, options, values);
  if (result != CUDA_SUCCESS) {
    gatec_cuda_fail(err, "gatec", "cuModuleLoadDataEx (PTX JIT)", result);
    return GATEC_RT_FAIL(err, GATEC_ERR_CUDA,
                         "gatec: loading the kernels' PTX failed (%d): %.180s",
                         (int)result, log);
  }
  for (int i = 0; i < kNumKernels; ++i) {
    result = cuModuleGetFunction(&entry.functions[i], entry.module,
                                 kKernels[i]);
    if (result != CUDA_SUCCESS) {
      cuModuleUnload(entry.module);
      return gatec_cuda_fail(err, kKernels[i], "cuModuleGetFunction", result);
    }
    out[i] = entry.functions[i];
  }
  loaded.push_back(entry);
  return GATEC_OK;
}
)cuda");
    p.line("}} // namespace {}", cudaDetail);
    p.blank();
  }

  // C.
  p.line("#ifdef __cplusplus");
  p.line("extern \"C\" {{");
  p.line("#endif");
  p.blank();
  std::set<std::tuple<std::string, unsigned>> seen;
  for (const Kernel &k : kernels)
    for (const auto *list : {&k.inputs, &k.outputs})
      for (const Tensor &t : *list)
        if (seen.insert({t.elem.dtype, t.rank()}).second)
          printer.printDescriptor(t.elem, t.rank());
  for (const Kernel &k : kernels)
    printer.printKernelC(k);
  p.line("#ifdef __cplusplus");
  p.line("}} // extern \"C\"");
  p.blank();

  // C++.
  p.line("namespace {} {{", cppNamespace);
  p.blank();
  p.line("using ::gatec_kernels::Status;");
  p.line("using ::gatec_kernels::TensorView;");
  p.blank();
  for (const Kernel &k : kernels)
    printer.printKernelCxx(k);
  p.line("}} // namespace {}", cppNamespace);
  p.line("#endif // __cplusplus");
  p.blank();
  p.line("#endif // {}", guard);

  os << text;
  return success();
}

LogicalResult gatec::exportCppHeader(ModuleOp module, llvm::raw_ostream &os,
                                     const CppHeaderOptions &options) {
  return exportHeader(module, os, options, /*cuda=*/nullptr, "");
}

LogicalResult gatec::exportCUDAHeader(ModuleOp module, ModuleOp lowered,
                                      StringRef ptx, llvm::raw_ostream &os,
                                      const CppHeaderOptions &options) {
  FailureOr<gatec::CUDAHostCode> host = translateCUDAHostCode(lowered);
  if (failed(host))
    return failure();
  return exportHeader(module, os, options, &*host, ptx);
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
    if (auto source = func->getAttrOfType<StringAttr>("gate.source"))
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

void gatec::registerToCppHeaderTranslation() {
  static llvm::cl::OptionCategory category("gate-to-cpp-header options");
  static llvm::cl::opt<std::string> moduleName(
      "cpp-header-module",
      llvm::cl::desc("Module name of the generated header: namespace "
                     "gatec_kernels::<name>, guard GATEC_KERNELS_<NAME>_H"),
      llvm::cl::cat(category));
  static llvm::cl::opt<std::string> cppNamespace(
      "cpp-header-namespace",
      llvm::cl::desc("C++ namespace of the wrappers (default "
                     "gatec_kernels::<module>)"),
      llvm::cl::cat(category));
  static llvm::cl::opt<std::string> headerGuard(
      "cpp-header-guard", llvm::cl::desc("Include guard macro"),
      llvm::cl::cat(category));
  static llvm::cl::opt<std::string> target(
      "cpp-header-target",
      llvm::cl::desc("Target the kernels were compiled for, for the banner"),
      llvm::cl::cat(category));

  static TranslateFromMLIRRegistration registration(
      "gate-to-cpp-header",
      "emit the C/C++ header that calls gate-level kernels",
      [](ModuleOp module, llvm::raw_ostream &os) {
        CppHeaderOptions options;
        options.moduleName = moduleName;
        options.cppNamespace = cppNamespace;
        options.headerGuard = headerGuard;
        options.target = target;
        return exportCppHeader(module, os, options);
      },
      registerKernelModuleDialects);
}
