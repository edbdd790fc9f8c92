//===- Sema.h - Semantic checks of the .gate language -------------*- C++ -*-===//
//
// Part of gatec. Sema resolves names, binds symbolic dimensions, types every
// expression and checks every call against what the gate dialect accepts, so
// that a user sees a located message instead of an MLIR verifier error.
// MLIRGen trusts its results.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_FRONTEND_SEMA_H
#define GATEC_FRONTEND_SEMA_H

#include "gatec/Dialect/Gate/GateOps.h"
#include "gatec/Frontend/AST.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gatec {

class DiagnosticEngine;

/// One dimension of a checked tensor type.
struct Dim {
  enum class Kind { Static, Symbol, Dynamic };
  Kind kind = Kind::Dynamic;
  int64_t size = 0;   // Static
  std::string symbol; // Symbol
  /// Symbol: the constant added to it; `N + 1` is symbol N with offset 1.
  int64_t offset = 0;
  /// Where the dimension was written (a parameter type, a shape list), for
  /// notes; null for dimensions gatec derived.
  llvm::SMLoc loc;
  /// For a Dynamic dimension that one of the dialect's formulas computes
  /// from the parameters' dimensions, which formula (DispatchOp's
  /// getSortedLength and getSortedBlocks, ChunkedScanOp's
  /// getChunkStateRows); MLIRGen writes it into gate.shape.
  enum class Formula { None, SortedLength, SortedBlocks, ChunkStateRows };
  Formula formula = Formula::None;
  /// The dimensions the formula reads, each static or a symbol: (T, k) for
  /// dispatch, (T) for chunk states.
  std::vector<Dim> formulaDims;
  /// Its constants: (E, block size) for dispatch, (chunk size) for chunk
  /// states.
  llvm::SmallVector<int64_t, 2> formulaConstants;

  static Dim getStatic(int64_t size, llvm::SMLoc loc = {}) {
    Dim d;
    d.kind = Kind::Static;
    d.size = size;
    d.loc = loc;
    return d;
  }
  static Dim getSymbol(llvm::StringRef name, llvm::SMLoc loc,
                       int64_t offset = 0) {
    Dim d;
    d.kind = Kind::Symbol;
    d.symbol = name.str();
    d.offset = offset;
    d.loc = loc;
    return d;
  }
  static Dim getDynamic() { return Dim(); }

  bool isStatic() const { return kind == Kind::Static; }
  bool isSymbol() const { return kind == Kind::Symbol; }
  bool isDynamic() const { return kind == Kind::Dynamic; }
  bool isStaticOne() const { return isStatic() && size == 1; }
  /// The same symbol plus the same constant (a literal compares by value
  /// elsewhere).
  bool isSameSymbol(const Dim &other) const {
    return isSymbol() && other.isSymbol() && symbol == other.symbol &&
           offset == other.offset;
  }
};

/// A symbolic dimension as written and as #gate.dim prints it: "N",
/// "N + 1", "M - 1".
std::string formatSymbol(const Dim &dim);

/// A checked tensor type: dtype and dimensions (rank 0 for a scalar).
struct CheckedType {
  DType dtype = DType::f32;
  llvm::SmallVector<Dim, 4> dims;
  unsigned getRank() const { return dims.size(); }
};

/// What sema knows about an expression.
struct ExprInfo {
  enum class Kind {
    /// An error was reported in or below it; uses stay quiet.
    Invalid,
    /// A number known at compile time (literals and arithmetic on them).
    Constant,
    /// One tensor.
    Tensor,
    /// Several tensors: the results of scan, route or dispatch.
    Multi,
  };
  Kind kind = Kind::Invalid;
  double constant = 0.0;
  /// Whether a constant is an integer (written without a fraction and not
  /// produced by a division); integer keywords need one.
  bool constantIsInt = false;
  llvm::SmallVector<CheckedType, 1> types;

  bool isInvalid() const { return kind == Kind::Invalid; }
  bool isConstant() const { return kind == Kind::Constant; }
  bool isTensor() const { return kind == Kind::Tensor; }
  const CheckedType &getType() const { return types.front(); }
};

/// The built-in functions and layer calls of the language.
enum class Builtin {
  // Elementwise, one operand.
  Exp,
  Log,
  Sigmoid,
  Silu,
  Relu,
  Gelu,
  GeluTanh,
  Tanh,
  Softplus,
  LogSigmoid,
  Sqrt,
  Rsqrt,
  Abs,
  Neg,
  // Elementwise, two operands.
  Pow,
  Maximum,
  Minimum,
  // Conversions and shapes.
  Cast,
  Reshape,
  Broadcast,
  Arange,
  // Reductions over the last axis.
  Sum,
  Mean,
  Max,
  RmsNorm,
  // The layer calls, one per gate op family.
  Gate,
  Scan,
  Route,
  Dispatch,
  Conv,
};

/// How reshape regroups dimensions: source group i becomes destination
/// group i. Groups are contiguous and cover every dimension.
struct ReshapePlan {
  llvm::SmallVector<llvm::SmallVector<int64_t, 2>> srcGroups, dstGroups;
};

/// A checked call: the builtin and its options, keyword values resolved.
struct CallInfo {
  Builtin builtin = Builtin::Exp;

  // cast
  DType castTo = DType::f32;
  // rms_norm
  const ExprAST *normWeight = nullptr;
  double epsilon = 1e-6;
  // reshape
  ReshapePlan reshape;

  // gate
  bool fusedGate = false;
  mlir::gate::Activation activation = mlir::gate::Activation::sigmoid;
  mlir::gate::Granularity granularity = mlir::gate::Granularity::elementwise;
  mlir::gate::GateHalf gateHalf = mlir::gate::GateHalf::first;
  std::optional<float> clampLimit;

  // scan
  mlir::gate::DecayKind decayKind = mlir::gate::DecayKind::none;
  const ExprAST *decay = nullptr;
  /// `delta = beta`: the delta rule's learning rates; null for the additive
  /// update.
  const ExprAST *beta = nullptr;
  const ExprAST *initialState = nullptr;
  const ExprAST *cuSeqlens = nullptr;
  /// `pool = P, slots = S` (scan and conv): the states live in the
  /// parameter P ([P, HV, K, V] for a scan, [P, C, W - 1] for a conv),
  /// updated in place at rows S [N]; `poolParam` is P's index among the
  /// kernel's parameters.
  const ExprAST *statePool = nullptr;
  const ExprAST *stateSlots = nullptr;
  int poolParam = -1;
  int64_t chunkSize = 64;
  std::optional<float> scale;
  bool withFinalState = false;
  /// `history = tokens | chunks`: the second result is the state after
  /// every token (chunkSize is then 1) or every chunk, gate.chunked_scan's
  /// chunk_states, instead of the final state.
  bool withStateHistory = false;

  // route
  mlir::gate::Scoring scoring = mlir::gate::Scoring::softmax;
  int64_t topK = 1;
  bool renormalize = false;
  const ExprAST *selectionBias = nullptr;
  int64_t numGroups = 1;
  int64_t topkGroups = 1;
  mlir::gate::GroupScore groupScore = mlir::gate::GroupScore::sum_top2;
  float routedScalingFactor = 1.0f;
  std::optional<float> capacityFactor;
  mlir::gate::DropPolicy dropPolicy = mlir::gate::DropPolicy::token_order;

  // dispatch
  int64_t numExperts = 1;
  int64_t blockSize = 64;

  // conv: `act` in `activation` (identity when absent), `initial`,
  // `cu_seqlens` and the final state in the scan's fields above.
  const ExprAST *convBias = nullptr;
};

/// A symbolic dimension of one kernel.
struct SymbolInfo {
  /// Where the symbol first appears.
  llvm::SMLoc loc;
  /// The parameter (and its dimension) where it first appears; -1 when it
  /// appears only in the results.
  int paramIndex = -1;
  unsigned dimIndex = 0;
  /// The constant added to the symbol in that dimension (`cu: i32[N + 1]`
  /// gives 1 when no parameter has a plain N): the symbol's size is that
  /// dimension's size minus it.
  int64_t dimOffset = 0;
  /// Set once an operation equates the symbol with a literal size.
  std::optional<int64_t> value;
  llvm::SMLoc valueLoc; // the literal it was equated with
  llvm::SMLoc boundAt;  // the expression that did it
  /// For a results-only symbol: the dimension of the value returned for it.
  std::optional<Dim> resultBinding;
};

/// What sema learned about one kernel.
struct KernelInfo {
  llvm::StringMap<SymbolInfo> symbols;
  llvm::SmallVector<CheckedType, 4> paramTypes;
  llvm::SmallVector<CheckedType, 2> resultTypes;
  /// Parameters the kernel updates in place (a scan's state pool), in the
  /// order their updates happen; each becomes a kernel result tied to it.
  llvm::SmallVector<unsigned, 1> updatedParams;
};

/// The annotations sema puts beside the AST.
class SemaResult {
public:
  const ExprInfo &getInfo(const ExprAST &expr) const;
  const CallInfo &getCall(const CallExprAST &call) const;
  const KernelInfo &getKernel(const KernelAST &kernel) const;

  /// The static size `dim` has in `kernel`, or ShapedType::kDynamic.
  int64_t resolve(const Dim &dim, const KernelInfo &kernel) const;

  // Filled by sema.
  llvm::DenseMap<const ExprAST *, ExprInfo> exprs;
  llvm::DenseMap<const CallExprAST *, CallInfo> calls;
  llvm::DenseMap<const KernelAST *, std::unique_ptr<KernelInfo>> kernels;
};

/// Checks every kernel of `module`, reporting every independent error.
/// Kernels with syntax errors are checked too, except for the whole-kernel
/// checks the syntax error may explain. Valid iff !diag.hadErrors().
std::unique_ptr<SemaResult> checkModule(const ModuleAST &module,
                                        DiagnosticEngine &diag);

/// Prints `type` as written in the language: `bf16[T, 4096]`.
std::string formatType(const CheckedType &type);

} // namespace gatec

#endif // GATEC_FRONTEND_SEMA_H
