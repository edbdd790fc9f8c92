//===- KernelABI.h - What a kernel promises its callers ---------*- C++ -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//
//
// A kernel is a public function of gate-level IR. Besides its types, it
// carries the facts its entry points need, as attributes on the function and
// on each argument and result:
//
//   gate.doc     StringAttr         the kernel's doc comment
//   gate.source  StringAttr         "file.gate:12", where it was written
//   gate.name    StringAttr         the argument's or result's name
//   gate.shape   #gate.shape<...>   its dimensions as expressions of symbols
//   gate.updates IntegerAttr        (result) the argument it writes back
//   gate.offsets {upper_bound = #gate.dim<...>}
//                                   (argument) offsets of packed sequences
//   gate.slots   {pool = <index>}   (argument) rows of a state pool
//
// MLIRGen writes them with writeKernelABI(); the dialect verifies their types
// on every function; the emitters of entry points (C/C++ and CUDA headers,
// the PyTorch extension, gatec-check) read them with readKernelABI().
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_DIALECT_GATE_KERNELABI_H
#define GATEC_DIALECT_GATE_KERNELABI_H

#include "gatec/Dialect/Gate/GateOps.h"

#include "mlir/Interfaces/FunctionInterfaces.h"

#include <optional>

namespace mlir::gate {

inline constexpr llvm::StringLiteral kDocAttrName = "gate.doc";
inline constexpr llvm::StringLiteral kSourceAttrName = "gate.source";
inline constexpr llvm::StringLiteral kNameAttrName = "gate.name";
inline constexpr llvm::StringLiteral kShapeAttrName = "gate.shape";
inline constexpr llvm::StringLiteral kUpdatesAttrName = "gate.updates";
inline constexpr llvm::StringLiteral kOffsetsAttrName = "gate.offsets";
inline constexpr llvm::StringLiteral kSlotsAttrName = "gate.slots";

/// True for a C identifier, [A-Za-z_][A-Za-z0-9_]*: what a #gate.dim
/// symbol must be, and what the generated headers' names are checked to be.
bool isCIdentifier(llvm::StringRef text);

/// What a kernel promises about one argument or result.
struct TensorABI {
  Type type;
  StringAttr name; ///< Null when unnamed.
  ShapeAttr shape; ///< Null when not written.
  /// A result that is the new value of this argument.
  std::optional<uint64_t> updates;
  /// An argument holding the offsets of packed sequences, and their upper
  /// bound (null when unknown).
  bool isOffsets = false;
  DimAttr offsetsBound;
  /// An argument holding rows of the state pool at this argument index.
  std::optional<uint64_t> slotsPool;

  /// The name, or `fallback` when unnamed.
  std::string getName(llvm::StringRef fallback) const {
    return name ? name.getValue().str() : fallback.str();
  }
};

/// What a kernel promises its callers.
struct KernelABI {
  StringAttr doc;    ///< Null when undocumented.
  StringAttr source; ///< Null when unknown.
  SmallVector<TensorABI> arguments, results;
};

/// Reads the ABI of `func`. Its attributes passed the dialect's verifier, so
/// this fails only on a malformed function that was not verified, with an
/// error at its location.
FailureOr<KernelABI> readKernelABI(FunctionOpInterface func);

/// Writes the ABI attributes of `abi` onto `func`, whose argument and result
/// counts match it (types are the function's own and are not written).
void writeKernelABI(FunctionOpInterface func, const KernelABI &abi);

/// A dimension as #gate.dim: the shape's entry when there is one, else the
/// size of a static dimension, else `<fallbackPrefix>_dim<i>`, the symbol of
/// a dimension nobody named.
DimAttr getDimOrDefault(const TensorABI &tensor, unsigned i,
                        llvm::StringRef fallbackPrefix);

/// Expressions, for the ops' formulas (DispatchOp::getSortedLength): nodes
/// without folding, so that the text of a formula shows its terms.
DimAttr operator+(DimAttr lhs, DimAttr rhs);
DimAttr operator-(DimAttr lhs, DimAttr rhs);
DimAttr operator*(DimAttr lhs, DimAttr rhs);
DimAttr operator/(DimAttr lhs, DimAttr rhs);

} // namespace mlir::gate

#endif // GATEC_DIALECT_GATE_KERNELABI_H
