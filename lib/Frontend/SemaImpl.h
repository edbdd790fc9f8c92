//===- SemaImpl.h - Sema's checker, shared by its files ---------*- C++ -*-===//
//
// Part of gatec. Private to lib/Frontend. Sema checks each kernel with one
// Checker whose methods are spread over the Sema*.cpp files by concern (each
// group of declarations below names its file); this declares the checker and
// the few helpers that more than one of those files uses.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_FRONTEND_SEMAIMPL_H
#define GATEC_LIB_FRONTEND_SEMAIMPL_H

#include "gatec/Frontend/Diagnostics.h"
#include "gatec/Frontend/Sema.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/SMLoc.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace gatec::sema {

using llvm::SMLoc;
using llvm::StringRef;
using llvm::Twine;
namespace gate = mlir::gate;

/// How a builtin is called (SemaBuiltins.cpp).
struct BuiltinSpec;

/// The builtin called `name`, or null.
const BuiltinSpec *lookupBuiltin(StringRef name);

/// "; did you mean 'x'?" when a candidate is close to `name`, else "".
std::string suggest(StringRef name, llvm::ArrayRef<StringRef> candidates);

/// Prints a number as %g does: 0.5, 1e-06, 2048.
std::string formatNumber(double value);

/// The names of an enum of the gate dialect, for parsing keyword values and
/// listing the accepted ones. The language uses the dialect's spellings, so
/// a case added to the dialect is accepted here without a change.
template <typename E> struct EnumInfo;

#define GATEC_ENUM_INFO(Enum)                                                  \
  template <> struct EnumInfo<gate::Enum> {                                    \
    static std::optional<gate::Enum> parse(StringRef s) {                      \
      return gate::symbolize##Enum(s);                                         \
    }                                                                          \
    static std::string list() {                                                \
      std::string all;                                                         \
      for (uint32_t i = 0; i <= gate::getMaxEnumValFor##Enum(); ++i)           \
        if (std::optional<gate::Enum> e = gate::symbolize##Enum(i)) {          \
          if (!all.empty())                                                    \
            all += ", ";                                                       \
          all += gate::stringify##Enum(*e).str();                              \
        }                                                                      \
      return all;                                                              \
    }                                                                          \
  };
GATEC_ENUM_INFO(Activation)
GATEC_ENUM_INFO(Granularity)
GATEC_ENUM_INFO(GateHalf)
GATEC_ENUM_INFO(DecayKind)
GATEC_ENUM_INFO(Scoring)
GATEC_ENUM_INFO(GroupScore)
GATEC_ENUM_INFO(DropPolicy)
#undef GATEC_ENUM_INFO

/// The largest value an integer keyword (k, chunk, block...) may take: the
/// gate ops store them as i64, but sizes this large are always a typo and
/// keeping them small keeps every size computation far from overflow.
constexpr int64_t kMaxIntKeyword = std::numeric_limits<int32_t>::max();

/// Checks one kernel.
class Checker {
public:
  Checker(DiagnosticEngine &diag, SemaResult &result, const KernelAST &kernel,
          KernelInfo &info)
      : diag(diag), result(result), kernel(kernel), info(info) {}

  void check();

private:
  struct Var {
    SMLoc loc;
    ExprInfo value;
    bool used = false;
    bool isParam = false;
    /// How often the name is read (a state pool must be read once).
    unsigned uses = 0;
  };

  //===--------------------------------------------------------------------===//
  // Declarations and statements (Sema.cpp)
  //===--------------------------------------------------------------------===//

  CheckedType declareType(const TypeAST &type, int paramIndex);
  void bindName(const BindingAST &target, ExprInfo value);
  void checkLet(const LetStmtAST &let);
  void checkReturn(const ReturnStmtAST &ret);
  void checkReturnedType(unsigned index, const CheckedType &type, SMLoc loc);

  //===--------------------------------------------------------------------===//
  // Dimensions (SemaShapes.cpp)
  //===--------------------------------------------------------------------===//

  std::optional<int64_t> valueOf(const Dim &dim) const;
  SMLoc valueLocOf(const Dim &dim) const;
  std::string describe(const Dim &dim) const;
  /// Requires `a` and `b` to denote the same size. A symbol meeting a
  /// literal (or a bound symbol) is bound to it at `at`; the first binding
  /// wins. On a conflict reports "<context>: <aWhat> is .. but <bWhat> is .."
  /// with notes at the places the sizes come from.
  bool unify(const Dim &a, const Dim &b, SMLoc at, const Twine &context,
             const Twine &aWhat, const Twine &bWhat);
  void noteOrigin(const Dim &dim);
  /// numpy-style broadcasting of two shapes.
  std::optional<llvm::SmallVector<Dim, 4>> broadcast(const CheckedType &a,
                                                     const CheckedType &b,
                                                     SMLoc at,
                                                     StringRef opName);
  /// A dimension for a shape list element (`T`, `16`, a constant name).
  std::optional<Dim> checkListDim(const ExprAST &element);

  //===--------------------------------------------------------------------===//
  // Expressions (SemaExpr.cpp)
  //===--------------------------------------------------------------------===//

  ExprInfo record(const ExprAST &expr, ExprInfo value) {
    result.exprs[&expr] = value;
    return value;
  }
  static ExprInfo invalid() { return ExprInfo(); }
  static ExprInfo tensor(CheckedType type) {
    ExprInfo e;
    e.kind = ExprInfo::Kind::Tensor;
    e.types.push_back(std::move(type));
    return e;
  }
  static ExprInfo constant(double value, bool isInt) {
    ExprInfo e;
    e.kind = ExprInfo::Kind::Constant;
    e.constant = value;
    e.constantIsInt = isInt;
    return e;
  }
  ExprInfo checkConstant(double value, bool isInt, SMLoc loc);

  /// Checks `expr`, which must produce `wanted` values (more than one only
  /// for a call of scan, route or dispatch).
  ExprInfo checkExpr(const ExprAST &expr, unsigned wanted = 1);
  ExprInfo checkName(const NameExprAST &name);
  /// The index of the kernel parameter that `expr` names, or -1 when it is
  /// anything else (values the entry points must check, or the kernel
  /// writes, must be parameters).
  int parameterIndex(const ExprAST &expr) const;
  ExprInfo checkUnaryMinus(const UnaryExprAST &expr);
  ExprInfo checkBinary(const BinaryExprAST &expr);
  ExprInfo checkMatMul(const BinaryExprAST &expr, const CheckedType &lhs,
                       const CheckedType &rhs);
  /// Elementwise `a op b` with broadcasting; `opName` names it in messages.
  ExprInfo checkElementwise(SMLoc loc, StringRef opName, const ExprInfo &lhs,
                            const ExprInfo &rhs, double (*fold)(double, double),
                            bool foldKeepsInt);
  /// Requires a float dtype of `type`, used as `role` of `what`.
  bool requireFloat(const CheckedType &type, SMLoc loc, const Twine &what);

  //===--------------------------------------------------------------------===//
  // Calls (SemaBuiltins.cpp)
  //===--------------------------------------------------------------------===//

  ExprInfo checkCall(const CallExprAST &call, unsigned wanted);
  ExprInfo checkBuiltin(const CallExprAST &call, const BuiltinSpec &spec,
                        CallInfo &callInfo, unsigned wanted);

  /// A positional argument that must be a tensor; `role` names it.
  std::optional<CheckedType> tensorArg(const CallExprAST &call, unsigned index,
                                       StringRef role);

  //===--------------------------------------------------------------------===//
  // Keyword values (SemaKeywords.cpp; enumKeyword below)
  //===--------------------------------------------------------------------===//

  const KeywordArgAST *findKeyword(const CallExprAST &call, StringRef name) {
    for (const KeywordArgAST &kw : call.getKeywords())
      if (kw.name == name)
        return &kw;
    return nullptr;
  }
  template <typename E> std::optional<E> enumKeyword(const KeywordArgAST &kw);
  std::optional<int64_t> intKeyword(const KeywordArgAST &kw, int64_t min,
                                    int64_t max);
  std::optional<double> numberKeyword(const KeywordArgAST &kw);
  /// A number stored as an f32 attribute: finite as an f32, and > 0 when
  /// `positive` is set.
  std::optional<float> f32Keyword(const KeywordArgAST &kw, bool positive);
  std::optional<bool> boolKeyword(const KeywordArgAST &kw);
  std::optional<CheckedType> tensorKeyword(const KeywordArgAST &kw);

  //===--------------------------------------------------------------------===//
  // Layer calls: packed sequences and state pools (SemaStates.cpp)
  //===--------------------------------------------------------------------===//

  /// N, the number of sequences of a scan or conv over the batch `B` (of the
  /// argument `batchOf`): B, or with packed sequences `cu` (the type of
  /// `cuExpr`) len(cu_seqlens) - 1. Checks that the offsets are i32 or i64
  /// `[N + 1]` read straight from a kernel parameter, hold at least one
  /// sequence, and that B is 1. Returns nullopt after an error.
  std::optional<Dim> checkCuSeqlens(const std::optional<CheckedType> &cu,
                                    const ExprAST *cuExpr, const Dim &B,
                                    StringRef batchOf);
  /// With cu_seqlens, requires the states' first dimension `first` (of
  /// `stateWhat`, at `at`) to be the number of sequences `numSeqs` where both
  /// are unbound symbols, which the kernel could not tell apart.
  bool checkStatesPerSequence(const Dim &first, const Dim &numSeqs,
                              const CheckedType &cu, const ExprAST &cuExpr,
                              SMLoc at, StringRef stateWhat);
  /// Reads `pool = ...` and `slots = ...` of a call whose state is `op`'s
  /// (`scan`, `conv`) into `pool` and `slots` and checks that they come
  /// together, without `initial`, and that the call binds one name
  /// (`output`). False after an error.
  bool parseStatePool(const CallExprAST &call, CallInfo &callInfo,
                      unsigned wanted, StringRef op, StringRef poolShape,
                      StringRef output, bool hasInitial,
                      std::optional<CheckedType> &pool,
                      std::optional<CheckedType> &slots);
  /// Checks a state pool dtype[P, rowNames...] (`dtypeText` says which
  /// dtypes are allowed, `dtype` is the one required) and its slots
  /// [numSeqs] (both kernel parameters) and records the pool as updated in
  /// place. False after an error.
  bool checkStatePool(const CallInfo &callInfo, const CheckedType &pool,
                      const CheckedType &slots, const Dim &numSeqs, DType dtype,
                      llvm::ArrayRef<const Dim *> rowDims,
                      llvm::ArrayRef<llvm::StringLiteral> rowNames,
                      StringRef op, StringRef dtypeText);

  //===--------------------------------------------------------------------===//
  // Layer calls, one file each: SemaGate.cpp, SemaScan.cpp, SemaRouting.cpp
  // (route and dispatch), SemaConv.cpp
  //===--------------------------------------------------------------------===//

  ExprInfo checkGate(const CallExprAST &call, CallInfo &callInfo);
  ExprInfo checkScan(const CallExprAST &call, CallInfo &callInfo,
                     unsigned wanted);
  ExprInfo checkRoute(const CallExprAST &call, CallInfo &callInfo);
  ExprInfo checkDispatch(const CallExprAST &call, CallInfo &callInfo);
  ExprInfo checkConv(const CallExprAST &call, CallInfo &callInfo,
                     unsigned wanted);

  //===--------------------------------------------------------------------===//
  // reshape(...) and broadcast(...) (SemaShapes.cpp)
  //===--------------------------------------------------------------------===//

  ExprInfo checkReshape(const CallExprAST &call, CallInfo &callInfo,
                        bool isBroadcast);
  std::optional<ReshapePlan> planReshape(const CheckedType &from,
                                         const CheckedType &to, SMLoc at);

  DiagnosticEngine &diag;
  SemaResult &result;
  const KernelAST &kernel;
  KernelInfo &info;
  llvm::StringMap<Var> vars;
  /// Binding order, for deterministic warnings.
  llvm::SmallVector<std::string> letNames;
  /// The pool parameter that each slots parameter indexes.
  llvm::DenseMap<int, int> poolOfSlots;
  bool sawReturn = false;
};

// Defined here rather than in SemaKeywords.cpp: each layer call instantiates
// it for the enums it reads.
template <typename E>
std::optional<E> Checker::enumKeyword(const KeywordArgAST &kw) {
  const auto *name = llvm::dyn_cast<NameExprAST>(kw.value.get());
  if (name)
    if (std::optional<E> value = EnumInfo<E>::parse(name->getName()))
      return value;
  std::string all = EnumInfo<E>::list();
  if (name) {
    llvm::SmallVector<StringRef> options;
    StringRef(all).split(options, ", ");
    std::string hint = suggest(name->getName(), options);
    if (name->getName() == "swish")
      hint = "; swish is silu";
    else if (name->getName() == "none" && kw.name == "act")
      hint = "; no activation is identity";
    diag.error(kw.value->getLoc(), "unsupported " + kw.name + " '" +
                                       name->getName() + "': expected one of " +
                                       all + hint);
  } else {
    diag.error(kw.value->getLoc(), "'" + kw.name + "' expects one of " + all);
  }
  return std::nullopt;
}

} // namespace gatec::sema

#endif // GATEC_LIB_FRONTEND_SEMAIMPL_H
