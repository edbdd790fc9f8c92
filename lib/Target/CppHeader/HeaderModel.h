//===- HeaderModel.h - The model of a kernel's header ABI -------*- C++ -*-===//
//
// Part of gatec. Private to the header emitter: what reading a kernel
// (KernelReader.cpp) hands to the printers, and the naming rules they share.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_TARGET_CPPHEADER_HEADERMODEL_H
#define GATEC_LIB_TARGET_CPPHEADER_HEADERMODEL_H

#include "gatec/Dialect/Gate/KernelABI.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gatec::cpp_header {

//===----------------------------------------------------------------------===//
// The model of one kernel
//===----------------------------------------------------------------------===//

/// An element type the header can pass: its gate spelling and its C type.
struct ElementType {
  const char *dtype;
  const char *cType;
};

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
  std::string written; ///< The gate.shape entry, as the dialect prints it.
  /// The entry with its constant parts folded (what the C code computes).
  mlir::gate::DimAttr expr;
  std::optional<int64_t> staticSize; ///< From the tensor type.
  Role role = Role::Literal;
};

struct Tensor {
  std::string name; ///< A C identifier.
  ElementType elem;
  bool isOutput;
  llvm::SmallVector<Dim> dims;
  /// `gate.offsets`: the input holds the offsets of packed sequences, which
  /// the entry point checks; `offsetsBound` is their upper bound (T), null
  /// when unknown.
  bool isOffsets = false;
  mlir::gate::DimAttr offsetsBound;
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
    for (llvm::StringRef part : llvm::split(name, '_'))
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

/// Keywords of C and C++, macros and types the header relies on, and the
/// names of the header's own parameters and types: a parameter with one of
/// these names gets a trailing '_' in the header.
bool isReservedName(llvm::StringRef name);

/// Makes `text` safe inside a `//` comment.
std::string commentText(llvm::StringRef text);

/// The file of a gate.source "file.gate:12".
llvm::StringRef sourceFile(llvm::StringRef source);

/// A C integer literal; INT64_MIN has none of its own.
std::string cInt(int64_t v);

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

/// Reads every kernel of `module`, reporting each one that fails. A kernel
/// whose generated top-level names clash with another kernel's fails too.
mlir::FailureOr<std::vector<Kernel>> readKernels(mlir::ModuleOp module);

} // namespace gatec::cpp_header

#endif // GATEC_LIB_TARGET_CPPHEADER_HEADERMODEL_H
