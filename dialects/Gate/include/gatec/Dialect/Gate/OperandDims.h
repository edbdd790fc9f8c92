//===- OperandDims.h - Operand dimension names ------------------*- C++ -*-===//
//
// Part of gatec. The one statement of each gate op's shape contract in
// named dimensions: the ops' verifiers bind these names, and the DSL's
// checker (Sema) prints and unifies the same names, so a relation cannot be
// worded one way in a verifier error and another way in a DSL error.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_DIALECT_GATE_OPERANDDIMS_H
#define GATEC_DIALECT_GATE_OPERANDDIMS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir::gate::shapes {

// gate.chunked_scan: H query/key heads, HV value heads (a multiple of H),
// N sequences, P rows of a state pool.
inline constexpr llvm::StringLiteral kScanQK[] = {"B", "T", "H", "K"};
inline constexpr llvm::StringLiteral kScanV[] = {"B", "T", "HV", "V"};
inline constexpr llvm::StringLiteral kScanVectorDecay[] = {"B", "T", "HV", "K"};
inline constexpr llvm::StringLiteral kScanScalarDecay[] = {"B", "T", "HV"};
inline constexpr llvm::StringLiteral kScanFixedDecay[] = {"HV"};
inline constexpr llvm::StringLiteral kScanBeta[] = {"B", "T", "HV"};
/// A state after its leading N (or P): [HV, K, V].
inline constexpr llvm::StringLiteral kScanStateRow[] = {"HV", "K", "V"};

// gate.causal_conv1d: C channels, W taps.
inline constexpr llvm::StringLiteral kConvX[] = {"B", "T", "C"};
inline constexpr llvm::StringLiteral kConvWeight[] = {"C", "W"};
inline constexpr llvm::StringLiteral kConvBias[] = {"C"};
/// A state after its leading N (or P): [C, W - 1].
inline constexpr llvm::StringLiteral kConvStateRow[] = {"C", "W - 1"};

// gate.router: T tokens, E experts, k choices per token.
inline constexpr llvm::StringLiteral kRouterLogits[] = {"T", "E"};
inline constexpr llvm::StringLiteral kRouterChoices[] = {"T", "k"};
inline constexpr llvm::StringLiteral kRouterBias[] = {"E"};

/// `names` as a shape, "[B, T, H, K]"; `leading` (e.g. "N") first if given.
inline std::string format(llvm::ArrayRef<llvm::StringLiteral> names,
                          llvm::StringRef leading = {}) {
  std::string text = "[";
  if (!leading.empty())
    text += leading.str() + (names.empty() ? "" : ", ");
  for (auto [i, name] : llvm::enumerate(names))
    text += (i ? ", " : "") + name.str();
  return text + "]";
}

/// `names` as StringRefs, with `leading` first if given.
inline llvm::SmallVector<llvm::StringRef, 5>
refs(llvm::ArrayRef<llvm::StringLiteral> names, llvm::StringRef leading = {}) {
  llvm::SmallVector<llvm::StringRef, 5> out;
  if (!leading.empty())
    out.push_back(leading);
  out.append(names.begin(), names.end());
  return out;
}

} // namespace mlir::gate::shapes

#endif // GATEC_DIALECT_GATE_OPERANDDIMS_H
