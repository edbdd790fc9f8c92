//===- Sema.cpp - Semantic checks of the .gate language -------------------===//
//
// Part of gatec. Everything the gate dialect's verifiers would reject is
// rejected here first, with the location of the offending source and, where
// two places disagree, a note at the other one.
//
//===----------------------------------------------------------------------===//

#include "gatec/Frontend/Sema.h"

#include "gatec/Frontend/Diagnostics.h"

#include "gatec/Dialect/Gate/OperandDims.h"

#include "mlir/IR/BuiltinTypeInterfaces.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>
#include <limits>

using namespace gatec;
using llvm::SMLoc;
using llvm::StringRef;
using llvm::Twine;
namespace gate = mlir::gate;

//===----------------------------------------------------------------------===//
// SemaResult
//===----------------------------------------------------------------------===//

const ExprInfo &SemaResult::getInfo(const ExprAST &expr) const {
  static const ExprInfo invalid;
  auto it = exprs.find(&expr);
  return it == exprs.end() ? invalid : it->second;
}

const CallInfo &SemaResult::getCall(const CallExprAST &call) const {
  static const CallInfo none;
  auto it = calls.find(&call);
  return it == calls.end() ? none : it->second;
}

const KernelInfo &SemaResult::getKernel(const KernelAST &kernel) const {
  static const KernelInfo none;
  auto it = kernels.find(&kernel);
  return it == kernels.end() ? none : *it->second;
}

int64_t SemaResult::resolve(const Dim &dim, const KernelInfo &kernel) const {
  // Results-only symbols resolve through the value returned for them; the
  // chain is at most one link long (a binding is never another such symbol).
  switch (dim.kind) {
  case Dim::Kind::Static:
    return dim.size;
  case Dim::Kind::Dynamic:
    return mlir::ShapedType::kDynamic;
  case Dim::Kind::Symbol: {
    auto it = kernel.symbols.find(dim.symbol);
    if (it == kernel.symbols.end())
      return mlir::ShapedType::kDynamic;
    const SymbolInfo &sym = it->second;
    if (sym.value)
      return *sym.value + dim.offset;
    if (dim.offset != 0) // only parameters' symbols take constants
      return mlir::ShapedType::kDynamic;
    if (sym.resultBinding && !sym.resultBinding->isSymbol())
      return resolve(*sym.resultBinding, kernel);
    if (sym.resultBinding && sym.resultBinding->symbol != dim.symbol) {
      auto other = kernel.symbols.find(sym.resultBinding->symbol);
      if (other != kernel.symbols.end() && other->second.value)
        return *other->second.value + sym.resultBinding->offset;
    }
    return mlir::ShapedType::kDynamic;
  }
  }
  return mlir::ShapedType::kDynamic;
}

std::string gatec::formatSymbol(const Dim &dim) {
  if (dim.offset == 0)
    return dim.symbol;
  // The magnitude as unsigned: the parser bounds offsets, but -INT64_MIN
  // must not be computed in any case.
  uint64_t magnitude = dim.offset < 0 ? 0 - static_cast<uint64_t>(dim.offset)
                                      : static_cast<uint64_t>(dim.offset);
  return dim.symbol + (dim.offset < 0 ? " - " : " + ") +
         std::to_string(magnitude);
}

std::string gatec::formatType(const CheckedType &type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << stringifyDType(type.dtype) << "[";
  llvm::interleaveComma(type.dims, os, [&](const Dim &d) {
    if (d.isStatic())
      os << d.size;
    else if (d.isSymbol())
      os << formatSymbol(d);
    else
      os << "?";
  });
  os << "]";
  return text;
}

//===----------------------------------------------------------------------===//
// Builtins
//===----------------------------------------------------------------------===//

namespace {

struct BuiltinSpec {
  StringRef name;
  Builtin builtin;
  unsigned minArgs, maxArgs;
  /// How the positional parameters are called, for messages.
  StringRef argNames;
  /// Accepted keywords, comma-separated.
  StringRef keywords;
};

const BuiltinSpec kBuiltins[] = {
    {"exp", Builtin::Exp, 1, 1, "x", ""},
    {"log", Builtin::Log, 1, 1, "x", ""},
    {"sigmoid", Builtin::Sigmoid, 1, 1, "x", ""},
    {"silu", Builtin::Silu, 1, 1, "x", ""},
    {"relu", Builtin::Relu, 1, 1, "x", ""},
    {"gelu", Builtin::Gelu, 1, 1, "x", ""},
    {"gelu_tanh", Builtin::GeluTanh, 1, 1, "x", ""},
    {"tanh", Builtin::Tanh, 1, 1, "x", ""},
    {"softplus", Builtin::Softplus, 1, 1, "x", ""},
    {"logsigmoid", Builtin::LogSigmoid, 1, 1, "x", ""},
    {"sqrt", Builtin::Sqrt, 1, 1, "x", ""},
    {"rsqrt", Builtin::Rsqrt, 1, 1, "x", ""},
    {"abs", Builtin::Abs, 1, 1, "x", ""},
    {"neg", Builtin::Neg, 1, 1, "x", ""},
    {"pow", Builtin::Pow, 2, 2, "a, b", ""},
    {"maximum", Builtin::Maximum, 2, 2, "a, b", ""},
    {"minimum", Builtin::Minimum, 2, 2, "a, b", ""},
    {"cast", Builtin::Cast, 2, 2, "x, dtype", ""},
    {"reshape", Builtin::Reshape, 2, 2, "x, [dims]", ""},
    {"broadcast", Builtin::Broadcast, 2, 2, "x, [dims]", ""},
    {"arange", Builtin::Arange, 1, 1, "n", ""},
    {"sum", Builtin::Sum, 1, 1, "x", ""},
    {"mean", Builtin::Mean, 1, 1, "x", ""},
    {"max", Builtin::Max, 1, 1, "x", ""},
    {"rms_norm", Builtin::RmsNorm, 1, 2, "x, weight", "eps"},
    {"gate", Builtin::Gate, 1, 2, "x, g", "act,granularity,half,clamp"},
    {"scan", Builtin::Scan, 3, 3, "q, k, v",
     "decay,delta,initial,chunk,scale,cu_seqlens,pool,slots,history"},
    {"route", Builtin::Route, 1, 1, "logits",
     "k,score,renormalize,bias,groups,topk_groups,group_score,scale,capacity,"
     "drop"},
    {"dispatch", Builtin::Dispatch, 1, 1, "experts", "num_experts,block"},
    {"conv", Builtin::Conv, 2, 2, "x, weight",
     "bias,act,initial,cu_seqlens,pool,slots"},
};

const BuiltinSpec *lookupBuiltin(StringRef name) {
  for (const BuiltinSpec &spec : kBuiltins)
    if (spec.name == name)
      return &spec;
  return nullptr;
}

bool isUnaryElementwise(Builtin b) {
  return b >= Builtin::Exp && b <= Builtin::Neg;
}

/// "; did you mean 'x'?" when a candidate is close to `name`, else "".
std::string suggest(StringRef name, llvm::ArrayRef<StringRef> candidates) {
  unsigned best = std::numeric_limits<unsigned>::max();
  StringRef bestName;
  for (StringRef candidate : candidates) {
    unsigned distance = name.edit_distance(candidate, /*AllowReplacements=*/true,
                                           /*MaxEditDistance=*/8);
    if (distance < best) {
      best = distance;
      bestName = candidate;
    }
  }
  // Close enough to be a typo, and not a rewrite of the whole name.
  unsigned limit = std::max<unsigned>(1, name.size() / 3);
  if (bestName.empty() || best > limit || best >= name.size())
    return "";
  return ("; did you mean '" + bestName + "'?").str();
}

/// Prints a number as %g does: 0.5, 1e-06, 2048.
std::string formatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

double sigmoidOf(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double softplusOf(double x) {
  return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x)));
}

/// Evaluates a one-operand builtin on a compile-time number, with the same
/// formulas MLIRGen emits.
double foldUnary(Builtin builtin, double x) {
  switch (builtin) {
  case Builtin::Exp:
    return std::exp(x);
  case Builtin::Log:
    return std::log(x);
  case Builtin::Sigmoid:
    return sigmoidOf(x);
  case Builtin::Silu:
    return x * sigmoidOf(x);
  case Builtin::Relu:
    return std::max(x, 0.0);
  case Builtin::Gelu:
    return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  case Builtin::GeluTanh:
    return 0.5 * x *
           (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
  case Builtin::Tanh:
    return std::tanh(x);
  case Builtin::Softplus:
    return softplusOf(x);
  case Builtin::LogSigmoid:
    return -softplusOf(-x);
  case Builtin::Sqrt:
    return std::sqrt(x);
  case Builtin::Rsqrt:
    return 1.0 / std::sqrt(x);
  case Builtin::Abs:
    return std::fabs(x);
  case Builtin::Neg:
    return -x;
  default:
    return std::nan("");
  }
}

/// The names of an enum of the gate dialect, for parsing keyword values and
/// listing the accepted ones. The language uses the dialect's spellings, so
/// a case added to the dialect is accepted here without a change.
template <typename E>
struct EnumInfo;

#define GATEC_ENUM_INFO(Enum)                                                  \
  template <>                                                                  \
  struct EnumInfo<gate::Enum> {                                                \
    static std::optional<gate::Enum> parse(StringRef s) {                      \
      return gate::symbolize##Enum(s);                                         \
    }                                                                          \
    static std::string list() {                                                \
      std::string all;                                                         \
      for (uint32_t i = 0; i <= gate::getMaxEnumValFor##Enum(); ++i)          \
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

//===----------------------------------------------------------------------===//
// Checker
//===----------------------------------------------------------------------===//

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
  // Declarations
  //===--------------------------------------------------------------------===//

  CheckedType declareType(const TypeAST &type, int paramIndex);
  void bindName(const BindingAST &target, ExprInfo value);
  void checkLet(const LetStmtAST &let);
  void checkReturn(const ReturnStmtAST &ret);
  void checkReturnedType(unsigned index, const CheckedType &type, SMLoc loc);

  //===--------------------------------------------------------------------===//
  // Dimensions
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
  std::optional<llvm::SmallVector<Dim, 4>>
  broadcast(const CheckedType &a, const CheckedType &b, SMLoc at,
            StringRef opName);
  /// A dimension for a shape list element (`T`, `16`, a constant name).
  std::optional<Dim> checkListDim(const ExprAST &element);

  //===--------------------------------------------------------------------===//
  // Expressions
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
                            const ExprInfo &rhs,
                            double (*fold)(double, double), bool foldKeepsInt);
  ExprInfo checkCall(const CallExprAST &call, unsigned wanted);
  ExprInfo checkBuiltin(const CallExprAST &call, const BuiltinSpec &spec,
                        CallInfo &callInfo, unsigned wanted);

  /// A positional argument that must be a tensor; `role` names it.
  std::optional<CheckedType> tensorArg(const CallExprAST &call, unsigned index,
                                      StringRef role);
  /// Requires a float dtype of `type`, used as `role` of `what`.
  bool requireFloat(const CheckedType &type, SMLoc loc, const Twine &what);

  //===--------------------------------------------------------------------===//
  // Keyword values
  //===--------------------------------------------------------------------===//

  const KeywordArgAST *findKeyword(const CallExprAST &call, StringRef name) {
    for (const KeywordArgAST &kw : call.getKeywords())
      if (kw.name == name)
        return &kw;
    return nullptr;
  }
  template <typename E>
  std::optional<E> enumKeyword(const KeywordArgAST &kw);
  std::optional<int64_t> intKeyword(const KeywordArgAST &kw, int64_t min,
                                    int64_t max);
  std::optional<double> numberKeyword(const KeywordArgAST &kw);
  /// A number stored as an f32 attribute: finite as an f32, and > 0 when
  /// `positive` is set.
  std::optional<float> f32Keyword(const KeywordArgAST &kw, bool positive);
  std::optional<bool> boolKeyword(const KeywordArgAST &kw);
  std::optional<CheckedType> tensorKeyword(const KeywordArgAST &kw);

  //===--------------------------------------------------------------------===//
  // Layer calls
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
  ExprInfo checkGate(const CallExprAST &call, CallInfo &callInfo);
  ExprInfo checkScan(const CallExprAST &call, CallInfo &callInfo,
                     unsigned wanted);
  ExprInfo checkRoute(const CallExprAST &call, CallInfo &callInfo);
  ExprInfo checkDispatch(const CallExprAST &call, CallInfo &callInfo);
  ExprInfo checkConv(const CallExprAST &call, CallInfo &callInfo,
                     unsigned wanted);
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

} // namespace

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

CheckedType Checker::declareType(const TypeAST &type, int paramIndex) {
  CheckedType checked;
  checked.dtype = type.dtype;
  for (auto [i, dim] : llvm::enumerate(type.dims)) {
    if (!dim.isSymbol()) {
      checked.dims.push_back(Dim::getStatic(dim.value, dim.loc));
      continue;
    }
    auto [it, inserted] = info.symbols.try_emplace(dim.symbol);
    if (inserted)
      it->second.loc = dim.loc;
    // The size comes from the first parameter dimension that is the plain
    // symbol, else from the first `symbol + c` one.
    bool better = paramIndex >= 0 &&
                  (it->second.paramIndex < 0 ||
                   (it->second.dimOffset != 0 && dim.offset == 0));
    if (better) {
      it->second.paramIndex = paramIndex;
      it->second.dimIndex = i;
      it->second.dimOffset = dim.offset;
    }
    checked.dims.push_back(Dim::getSymbol(dim.symbol, dim.loc, dim.offset));
  }
  return checked;
}

void Checker::bindName(const BindingAST &target, ExprInfo value) {
  // `_` discards a result.
  if (target.name == "_")
    return;
  auto [it, inserted] = vars.try_emplace(target.name);
  if (!inserted) {
    diag.error(target.loc,
               "'" + target.name + "' is already bound; every name is bound "
               "once (pick a new name)");
    diag.note(it->second.loc, "'" + target.name + "' was bound here");
    // Keep the first binding, but quiet: its later uses are fine.
    return;
  }
  it->second.loc = target.loc;
  it->second.value = std::move(value);
  letNames.push_back(target.name);
}

void Checker::check() {
  unsigned errorsBefore = diag.getNumErrors();
  for (auto [i, param] : llvm::enumerate(kernel.params)) {
    CheckedType type = declareType(param.type, static_cast<int>(i));
    info.paramTypes.push_back(type);
    auto [it, inserted] = vars.try_emplace(param.name);
    if (!inserted) {
      diag.error(param.loc, "parameter '" + param.name + "' is declared twice");
      diag.note(it->second.loc, "first declared here");
      continue;
    }
    it->second.loc = param.loc;
    it->second.value = tensor(type);
    it->second.isParam = true;
  }

  llvm::StringMap<SMLoc> resultNames;
  for (const ResultAST &res : kernel.results) {
    info.resultTypes.push_back(declareType(res.type, /*paramIndex=*/-1));
    if (res.name.empty())
      continue;
    auto [it, inserted] = resultNames.try_emplace(res.name, res.loc);
    if (!inserted) {
      diag.error(res.loc, "result '" + res.name + "' is declared twice");
      diag.note(it->second, "first declared here");
    }
  }

  for (const auto &stmt : kernel.body) {
    if (sawReturn) {
      diag.error(stmt->getLoc(), "statement after 'return': 'return' ends "
                                 "the kernel");
      break;
    }
    if (const auto *let = llvm::dyn_cast<LetStmtAST>(stmt.get()))
      checkLet(*let);
    else
      checkReturn(llvm::cast<ReturnStmtAST>(*stmt));
  }

  if (!sawReturn && !kernel.hadSyntaxErrors) {
    diag.error(kernel.rBraceLoc.isValid() ? kernel.rBraceLoc : kernel.loc,
               "kernel '" + kernel.name + "' ends without 'return'");
    diag.note(kernel.loc, "kernel '" + kernel.name + "' starts here");
  }

  // A state pool is read and written by its scan or conv, in place: any
  // other use would see it before or after the update depending on the
  // schedule.
  for (unsigned index : info.updatedParams) {
    const ParamAST &param = kernel.params[index];
    if (vars[param.name].uses > 1)
      diag.error(param.loc,
                 "'" + param.name +
                     "' is a state pool, updated "
                     "in place by its scan or conv; it may not be used "
                     "anywhere else in the kernel");
  }

  // Unused names hint at a typo; only worth saying in a kernel that checks.
  if (diag.getNumErrors() != errorsBefore)
    return;
  for (const std::string &name : letNames) {
    const Var &var = vars[name];
    if (!var.used && !StringRef(name).starts_with("_"))
      diag.warning(var.loc, "'" + name + "' is never used (bind it to a "
                                         "name starting with '_' to keep "
                                         "it)");
  }
}

void Checker::checkLet(const LetStmtAST &let) {
  const auto &targets = let.getTargets();
  const ExprAST *value = let.getValue();
  unsigned wanted = let.isTupleBinding() ? targets.size() : 1;
  ExprInfo checked = value ? checkExpr(*value, wanted) : invalid();

  for (auto [i, target] : llvm::enumerate(targets)) {
    ExprInfo one;
    if (checked.kind == ExprInfo::Kind::Multi && i < checked.types.size())
      one = tensor(checked.types[i]);
    else if (wanted == 1)
      one = checked;
    bindName(target, std::move(one));
  }
}

void Checker::checkReturn(const ReturnStmtAST &ret) {
  sawReturn = true;
  if (ret.hadSyntaxError())
    return;
  const auto &values = ret.getValues();
  unsigned numResults = kernel.results.size();

  // `return scan(...)` in a kernel with two results returns both.
  if (values.size() == 1 && numResults > 1 &&
      llvm::isa<CallExprAST>(*values[0])) {
    ExprInfo checked = checkExpr(*values[0], numResults);
    if (checked.kind != ExprInfo::Kind::Multi)
      return;
    for (unsigned i = 0; i < numResults; ++i)
      checkReturnedType(i, checked.types[i], values[0]->getLoc());
    return;
  }

  llvm::SmallVector<ExprInfo, 4> checked;
  for (const ExprPtr &value : values)
    checked.push_back(checkExpr(*value));
  if (values.size() != numResults) {
    diag.error(ret.getLoc(), "kernel '" + kernel.name + "' declares " +
                                 Twine(numResults) + " result" +
                                 (numResults == 1 ? "" : "s") +
                                 " but this returns " + Twine(values.size()));
    diag.note(kernel.results.front().loc, "the results are declared here");
    return;
  }
  for (auto [i, value] : llvm::enumerate(checked)) {
    if (value.isInvalid())
      continue;
    if (value.isConstant()) {
      diag.error(values[i]->getLoc(),
                 "a kernel returns tensors, not the number " +
                     formatNumber(value.constant));
      continue;
    }
    checkReturnedType(i, value.getType(), values[i]->getLoc());
  }
}

void Checker::checkReturnedType(unsigned index, const CheckedType &type,
                                SMLoc loc) {
  const ResultAST &declared = kernel.results[index];
  const CheckedType &want = info.resultTypes[index];
  std::string name = declared.name.empty()
                         ? ("result " + Twine(index)).str()
                         : "result '" + declared.name + "'";
  if (type.dtype != want.dtype || type.getRank() != want.getRank()) {
    diag.error(loc, "the returned value is " + formatType(type) +
                        " but kernel '" + kernel.name + "' declares " + name +
                        " as " + formatType(want));
    diag.note(declared.loc, name + " is declared here");
    return;
  }
  for (unsigned i = 0; i < type.getRank(); ++i) {
    const Dim &got = type.dims[i];
    const Dim &decl = want.dims[i];
    // A symbol that appears only in the results names whatever is returned.
    bool resultsOnly =
        decl.isSymbol() && info.symbols[decl.symbol].paramIndex < 0;
    if (resultsOnly && decl.offset != 0) {
      diag.error(decl.loc, "a constant can be added only to a symbol that a "
                           "parameter's type holds; give this size a symbol "
                           "of its own");
      return;
    }
    const std::optional<Dim> *earlier =
        resultsOnly ? &info.symbols[decl.symbol].resultBinding : nullptr;
    // A size known only at run time (dispatch's padded length with a
    // symbolic T) can be declared only as a symbol of its own: nothing else
    // can be shown equal to it.
    if (earlier && earlier->has_value() && (*earlier)->isDynamic()) {
      diag.error(loc, decl.symbol + " stands for a size known only at run "
                                    "time (of an earlier result), so " +
                          name + " cannot use it; give it a symbol of its "
                                 "own");
      diag.note(decl.loc, "declared here");
      return;
    }
    if (got.isDynamic() && (!resultsOnly || earlier->has_value())) {
      diag.error(loc, "dimension " + Twine(i) + " of the returned value is " +
                          "known only at run time, so " + name +
                          " must declare it with a symbol of its own (one "
                          "that no parameter and no other result uses)");
      diag.note(decl.loc, "declared here as " + describe(decl));
      return;
    }
    if (resultsOnly) {
      SymbolInfo &sym = info.symbols[decl.symbol];
      if (!sym.resultBinding) {
        sym.resultBinding = got;
        continue;
      }
      Dim bound = *sym.resultBinding;
      if (!unify(got, bound, loc,
                 "the returned value does not match " + name + " " +
                     formatType(want),
                 "its dimension " + Twine(i),
                 decl.symbol + " (from another result)"))
        return;
      continue;
    }
    if (!unify(got, decl, loc,
               "the returned value does not match " + name + " " +
                   formatType(want),
               "its dimension " + Twine(i), "the declared dimension"))
      return;
  }
}

//===----------------------------------------------------------------------===//
// Dimensions
//===----------------------------------------------------------------------===//

std::optional<int64_t> Checker::valueOf(const Dim &dim) const {
  if (dim.isStatic())
    return dim.size;
  if (dim.isSymbol()) {
    auto it = info.symbols.find(dim.symbol);
    if (it != info.symbols.end() && it->second.value)
      return *it->second.value + dim.offset;
  }
  return std::nullopt;
}

SMLoc Checker::valueLocOf(const Dim &dim) const {
  if (dim.isSymbol()) {
    auto it = info.symbols.find(dim.symbol);
    if (it != info.symbols.end() && it->second.value)
      return it->second.valueLoc;
  }
  return dim.loc;
}

std::string Checker::describe(const Dim &dim) const {
  if (dim.isStatic())
    return std::to_string(dim.size);
  if (dim.isDynamic())
    return "a size known only at run time";
  if (std::optional<int64_t> value = valueOf(dim))
    return formatSymbol(dim) + " (= " + std::to_string(*value) + ")";
  return formatSymbol(dim);
}

void Checker::noteOrigin(const Dim &dim) {
  if (dim.isSymbol()) {
    auto it = info.symbols.find(dim.symbol);
    if (it != info.symbols.end() && it->second.value) {
      diag.note(it->second.boundAt, dim.symbol + " was bound to " +
                                        Twine(*it->second.value) + " here");
      return;
    }
  }
  if (dim.loc.isValid())
    diag.note(dim.loc, describe(dim) + " comes from here");
}

bool Checker::unify(const Dim &a, const Dim &b, SMLoc at, const Twine &context,
                    const Twine &aWhat, const Twine &bWhat) {
  // A size known only at run time (dispatch's padded length with a
  // symbolic T) cannot be shown equal to anything, itself included: the
  // kernel would index one tensor by the other's size unchecked.
  if (a.isDynamic() || b.isDynamic()) {
    diag.error(at, context + ": " + aWhat + " is " + describe(a) + " and " +
                       bWhat + " is " + describe(b) +
                       "; gatec cannot show that they are equal");
    return false;
  }
  std::optional<int64_t> va = valueOf(a), vb = valueOf(b);
  if (va && vb && *va == *vb)
    return true;
  if (a.isSameSymbol(b))
    return true;
  // `N + c` equal to a literal binds N to the literal minus c, which must
  // be a size.
  auto bind = [&](const Dim &symbol, int64_t value, SMLoc valueLoc) {
    if (value - symbol.offset < 0)
      return false;
    SymbolInfo &sym = info.symbols[symbol.symbol];
    sym.value = value - symbol.offset;
    sym.valueLoc = valueLoc;
    sym.boundAt = at;
    return true;
  };
  if (va && !vb && b.isSymbol() && bind(b, *va, valueLocOf(a)))
    return true;
  if (vb && !va && a.isSymbol() && bind(a, *vb, valueLocOf(b)))
    return true;
  std::string hint;
  if (a.isSymbol() && b.isSymbol() && !va && !vb) {
    if (a.symbol == b.symbol)
      hint = "; they differ by a constant, so they are never equal";
    else if (a.offset != 0 || b.offset != 0)
      // a + ca == b + cb: declare a as b + (cb - ca) where a is declared.
      hint = "; if they are equal, declare " + a.symbol + " as " +
             formatSymbol(Dim::getSymbol(b.symbol, {}, b.offset - a.offset));
    else
      hint = "; different symbols may have different sizes: write the same "
             "symbol for both";
  }
  diag.error(at, context + ": " + aWhat + " is " + describe(a) + " but " +
                     bWhat + " is " + describe(b) + hint);
  noteOrigin(a);
  if (a.loc != b.loc || a.kind != b.kind)
    noteOrigin(b);
  return false;
}

std::optional<llvm::SmallVector<Dim, 4>>
Checker::broadcast(const CheckedType &a, const CheckedType &b, SMLoc at,
                   StringRef opName) {
  unsigned ra = a.getRank(), rb = b.getRank(), rank = std::max(ra, rb);
  llvm::SmallVector<Dim, 4> out(rank);
  bool ok = true;
  for (unsigned i = 0; i < rank; ++i) {
    const Dim *da = i < ra ? &a.dims[ra - 1 - i] : nullptr;
    const Dim *db = i < rb ? &b.dims[rb - 1 - i] : nullptr;
    Dim &o = out[rank - 1 - i];
    if (!da || !db) {
      o = da ? *da : *db;
      continue;
    }
    // Only a literal 1 (or a symbol bound to 1) broadcasts.
    std::optional<int64_t> va = valueOf(*da), vb = valueOf(*db);
    if (va == 1 && vb != 1) {
      o = *db;
      continue;
    }
    if (vb == 1) {
      o = *da;
      continue;
    }
    if (!unify(*da, *db, at,
               "'" + opName + "' cannot broadcast " + formatType(a) +
                   " with " + formatType(b) +
                   " (dimensions align from the right; only a 1 stretches)",
               "dimension " + Twine(ra - 1 - i) + " of the left operand",
               "dimension " + Twine(rb - 1 - i) + " of the right operand")) {
      ok = false;
      break;
    }
    o = da->isStatic() || !db->isStatic() ? *da : *db;
  }
  if (!ok)
    return std::nullopt;
  return out;
}

std::optional<Dim> Checker::checkListDim(const ExprAST &element) {
  if (const auto *name = llvm::dyn_cast<NameExprAST>(&element)) {
    auto it = info.symbols.find(name->getName());
    if (it != info.symbols.end() && it->second.paramIndex >= 0)
      return Dim::getSymbol(name->getName(), element.getLoc());
    if (!vars.count(name->getName())) {
      std::vector<StringRef> symbols;
      for (const auto &entry : info.symbols)
        if (entry.second.paramIndex >= 0)
          symbols.push_back(entry.first());
      diag.error(element.getLoc(),
                 "unknown dimension '" + name->getName() +
                     "': a symbol must appear in a parameter type first" +
                     suggest(name->getName(), symbols));
      return std::nullopt;
    }
  }
  ExprInfo value = checkExpr(element);
  if (value.isInvalid())
    return std::nullopt;
  if (!value.isConstant() || !value.constantIsInt || value.constant < 1) {
    diag.error(element.getLoc(), "expected a dimension (a symbol such as T "
                                 "or an integer >= 1)");
    return std::nullopt;
  }
  return Dim::getStatic(static_cast<int64_t>(value.constant),
                        element.getLoc());
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

ExprInfo Checker::checkConstant(double value, bool isInt, SMLoc loc) {
  if (!std::isfinite(value)) {
    diag.error(loc, "this constant expression is not a finite number");
    return invalid();
  }
  // Integers stay integers only while doubles hold them exactly.
  if (std::fabs(value) > 9007199254740992.0)
    isInt = false;
  return constant(value, isInt);
}

ExprInfo Checker::checkExpr(const ExprAST &expr, unsigned wanted) {
  if (wanted != 1 && !llvm::isa<CallExprAST>(expr)) {
    // Check it anyway, for its own errors.
    ExprInfo one = checkExpr(expr, 1);
    if (!one.isInvalid())
      diag.error(expr.getLoc(),
                 "expected " + Twine(wanted) +
                     " values here, but this expression gives one (only "
                     "scan, conv, route and dispatch give several)");
    return record(expr, invalid());
  }
  switch (expr.getKind()) {
  case ExprAST::Kind::Number: {
    const auto &num = llvm::cast<NumberExprAST>(expr);
    return record(expr, constant(num.getValue(), num.getIntValue().has_value()));
  }
  case ExprAST::Kind::Bool:
    diag.error(expr.getLoc(), "'true' and 'false' are only valid as keyword "
                              "values (as in 'renormalize = true')");
    return record(expr, invalid());
  case ExprAST::Kind::Name:
    return record(expr, checkName(llvm::cast<NameExprAST>(expr)));
  case ExprAST::Kind::Unary:
    return record(expr, checkUnaryMinus(llvm::cast<UnaryExprAST>(expr)));
  case ExprAST::Kind::Binary:
    return record(expr, checkBinary(llvm::cast<BinaryExprAST>(expr)));
  case ExprAST::Kind::Call:
    return record(expr, checkCall(llvm::cast<CallExprAST>(expr), wanted));
  case ExprAST::Kind::List:
    diag.error(expr.getLoc(), "a list of dimensions is only valid as the "
                              "shape argument of reshape or broadcast");
    return record(expr, invalid());
  }
  return record(expr, invalid());
}

int Checker::parameterIndex(const ExprAST &expr) const {
  const auto *name = llvm::dyn_cast<NameExprAST>(&expr);
  if (!name)
    return -1;
  for (auto [i, param] : llvm::enumerate(kernel.params))
    if (param.name == name->getName())
      return static_cast<int>(i);
  return -1;
}

ExprInfo Checker::checkName(const NameExprAST &name) {
  auto it = vars.find(name.getName());
  if (it != vars.end()) {
    it->second.used = true;
    ++it->second.uses;
    return it->second.value;
  }
  StringRef n = name.getName();
  std::string hint;
  if (lookupBuiltin(n))
    hint = "; '" + n.str() + "' is a function: call it as " + n.str() + "(...)";
  else if (parseDType(n))
    hint = "; a dtype is only valid in a type or as cast(x, " + n.str() + ")";
  else if (info.symbols.count(n))
    hint = "; '" + n.str() +
           "' is a dimension symbol, only valid in types and shape lists";
  else {
    std::vector<StringRef> names;
    for (const auto &entry : vars)
      names.push_back(entry.first());
    hint = suggest(n, names);
  }
  diag.error(name.getLoc(), "unknown name '" + n + "'" + hint);
  return invalid();
}

ExprInfo Checker::checkUnaryMinus(const UnaryExprAST &expr) {
  ExprInfo operand = checkExpr(expr.getOperand());
  if (operand.isInvalid())
    return invalid();
  if (operand.isConstant())
    return constant(-operand.constant, operand.constantIsInt);
  if (operand.kind != ExprInfo::Kind::Tensor)
    return invalid();
  if (!requireFloat(operand.getType(), expr.getLoc(), "'-'"))
    return invalid();
  return operand;
}

bool Checker::requireFloat(const CheckedType &type, SMLoc loc,
                           const Twine &what) {
  if (isFloatDType(type.dtype))
    return true;
  diag.error(loc, what + " needs a float tensor, got " + formatType(type) +
                      "; convert it with cast(x, f32)");
  return false;
}

static double addFold(double a, double b) { return a + b; }
static double subFold(double a, double b) { return a - b; }
static double mulFold(double a, double b) { return a * b; }
static double divFold(double a, double b) { return a / b; }
static double powFold(double a, double b) { return std::pow(a, b); }
static double maxFold(double a, double b) { return std::max(a, b); }
static double minFold(double a, double b) { return std::min(a, b); }

ExprInfo Checker::checkBinary(const BinaryExprAST &expr) {
  ExprInfo lhs = checkExpr(expr.getLHS());
  ExprInfo rhs = checkExpr(expr.getRHS());
  if (lhs.isInvalid() || rhs.isInvalid())
    return invalid();
  BinaryOp op = expr.getOp();
  if (op == BinaryOp::MatMul) {
    if (!lhs.isTensor() || !rhs.isTensor()) {
      diag.error(expr.getLoc(), "'@' needs two tensors; to scale by a number "
                                "use '*'");
      return invalid();
    }
    return checkMatMul(expr, lhs.getType(), rhs.getType());
  }
  switch (op) {
  case BinaryOp::Add:
    return checkElementwise(expr.getLoc(), "+", lhs, rhs, addFold, true);
  case BinaryOp::Sub:
    return checkElementwise(expr.getLoc(), "-", lhs, rhs, subFold, true);
  case BinaryOp::Mul:
    return checkElementwise(expr.getLoc(), "*", lhs, rhs, mulFold, true);
  case BinaryOp::Div:
    return checkElementwise(expr.getLoc(), "/", lhs, rhs, divFold, false);
  case BinaryOp::MatMul:
    break;
  }
  return invalid();
}

ExprInfo Checker::checkElementwise(SMLoc loc, StringRef opName,
                                   const ExprInfo &lhs, const ExprInfo &rhs,
                                   double (*fold)(double, double),
                                   bool foldKeepsInt) {
  if (lhs.isConstant() && rhs.isConstant())
    return checkConstant(fold(lhs.constant, rhs.constant),
                         foldKeepsInt && lhs.constantIsInt &&
                             rhs.constantIsInt,
                         loc);
  if (!lhs.isTensor() && !lhs.isConstant())
    return invalid();
  if (!rhs.isTensor() && !rhs.isConstant())
    return invalid();
  // A number takes the dtype of the tensor it meets.
  if (lhs.isConstant() || rhs.isConstant()) {
    const CheckedType &type = lhs.isTensor() ? lhs.getType() : rhs.getType();
    if (!requireFloat(type, loc, "'" + opName + "'"))
      return invalid();
    return tensor(type);
  }
  const CheckedType &a = lhs.getType(), &b = rhs.getType();
  if (a.dtype != b.dtype) {
    diag.error(loc, "'" + opName + "' needs operands of one dtype, got " +
                        formatType(a) + " and " + formatType(b) +
                        "; convert one with cast(x, " +
                        stringifyDType(a.dtype) + ")");
    return invalid();
  }
  if (!requireFloat(a, loc, "'" + opName + "'"))
    return invalid();
  std::optional<llvm::SmallVector<Dim, 4>> dims = broadcast(a, b, loc, opName);
  if (!dims)
    return invalid();
  CheckedType out;
  out.dtype = a.dtype;
  out.dims = std::move(*dims);
  return tensor(std::move(out));
}

ExprInfo Checker::checkMatMul(const BinaryExprAST &expr, const CheckedType &lhs,
                              const CheckedType &rhs) {
  SMLoc loc = expr.getLoc();
  if (lhs.dtype != rhs.dtype) {
    diag.error(loc, "'@' needs operands of one dtype, got " + formatType(lhs) +
                        " and " + formatType(rhs) + "; convert one with cast(x, " +
                        stringifyDType(lhs.dtype) + ")");
    return invalid();
  }
  if (!requireFloat(lhs, loc, "'@'"))
    return invalid();
  if (rhs.getRank() != 2) {
    diag.error(loc, "the right operand of '@' must be a matrix [K, N], got " +
                        formatType(rhs));
    return invalid();
  }
  if (lhs.getRank() < 2) {
    diag.error(loc, "the left operand of '@' must have rank 2 or more "
                    "[..., M, K], got " +
                        formatType(lhs) + "; reshape(x, [1, K]) makes a row");
    return invalid();
  }
  if (!unify(lhs.dims.back(), rhs.dims.front(), loc,
             "'@' contracts the last dimension of its left operand with the "
             "first of its right operand",
             "the left one", "the right one"))
    return invalid();
  CheckedType out;
  out.dtype = lhs.dtype;
  out.dims.assign(lhs.dims.begin(), lhs.dims.end() - 1);
  out.dims.push_back(rhs.dims.back());
  return tensor(std::move(out));
}

//===----------------------------------------------------------------------===//
// Calls
//===----------------------------------------------------------------------===//

std::optional<CheckedType> Checker::tensorArg(const CallExprAST &call,
                                             unsigned index, StringRef role) {
  const ExprAST &arg = *call.getArgs()[index];
  ExprInfo value = checkExpr(arg);
  if (value.isInvalid())
    return std::nullopt;
  if (!value.isTensor()) {
    diag.error(arg.getLoc(), "'" + call.getCallee() + "' needs a tensor for " +
                                 role + ", got a number");
    return std::nullopt;
  }
  return value.getType();
}

ExprInfo Checker::checkCall(const CallExprAST &call, unsigned wanted) {
  const BuiltinSpec *spec = lookupBuiltin(call.getCallee());
  if (!spec) {
    StringRef callee = call.getCallee();
    std::string hint;
    if (callee == "vector" || callee == "scalar" || callee == "fixed")
      hint = "; " + callee.str() +
             "(...) is only valid as the value of 'decay' in scan(...)";
    else if (vars.count(callee))
      hint = "; '" + callee.str() + "' is a tensor, not a function";
    else if (callee == "softmax" || callee == "topk")
      hint = "; routing is route(logits, k = ..., score = softmax)";
    else if (callee == "swish")
      hint = "; swish is silu";
    else {
      std::vector<StringRef> names;
      for (const BuiltinSpec &b : kBuiltins)
        names.push_back(b.name);
      hint = suggest(callee, names);
    }
    diag.error(call.getLoc(), "unknown function '" + callee + "'" + hint);
    // Still check the arguments: their errors are independent.
    for (const ExprPtr &arg : call.getArgs())
      if (!llvm::isa<ListExprAST>(*arg))
        checkExpr(*arg);
    return invalid();
  }

  // Arity and keywords are checked alike for every builtin.
  unsigned numArgs = call.getArgs().size();
  bool ok = true;
  if (numArgs < spec->minArgs || numArgs > spec->maxArgs) {
    std::string expectedCount =
        spec->minArgs == spec->maxArgs
            ? std::to_string(spec->minArgs)
            : std::to_string(spec->minArgs) + " or " +
                  std::to_string(spec->maxArgs);
    SMLoc where = numArgs > spec->maxArgs
                      ? call.getArgs()[spec->maxArgs]->getLoc()
                      : call.getLoc();
    diag.error(where, "'" + spec->name + "' takes " + expectedCount +
                          " positional argument" +
                          (spec->maxArgs == 1 ? "" : "s") + " (" +
                          spec->argNames + "), got " + Twine(numArgs));
    ok = false;
  }
  llvm::SmallVector<StringRef> allowed;
  spec->keywords.split(allowed, ',', -1, /*KeepEmpty=*/false);
  llvm::StringMap<SMLoc> seen;
  for (const KeywordArgAST &kw : call.getKeywords()) {
    if (!llvm::is_contained(allowed, kw.name)) {
      std::string message = "unknown keyword '" + kw.name + "' for '" +
                            spec->name.str() + "'";
      if (allowed.empty())
        message += ": '" + spec->name.str() + "' takes no keywords";
      else
        message += ": expected one of " + llvm::join(allowed, ", ") +
                   suggest(kw.name, allowed);
      diag.error(kw.loc, message);
      ok = false;
      continue;
    }
    auto [it, inserted] = seen.try_emplace(kw.name, kw.loc);
    if (!inserted) {
      diag.error(kw.loc, "keyword '" + kw.name + "' is given twice");
      diag.note(it->second, "first given here");
      ok = false;
    }
  }
  if (!ok) {
    for (const ExprPtr &arg : call.getArgs())
      if (!llvm::isa<ListExprAST>(*arg) && !llvm::isa<NameExprAST>(*arg))
        checkExpr(*arg);
    return invalid();
  }

  CallInfo callInfo;
  callInfo.builtin = spec->builtin;
  ExprInfo value = checkBuiltin(call, *spec, callInfo, wanted);
  if (value.isInvalid())
    return value;

  unsigned produced =
      value.kind == ExprInfo::Kind::Multi ? value.types.size() : 1;
  if (produced != wanted) {
    StringRef names = spec->builtin == Builtin::Route
                          ? "(weights, experts)"
                      : spec->builtin == Builtin::Dispatch
                          ? "(sorted_pairs, block_experts, expert_offsets, "
                            "expert_counts, pair_positions)"
                          : "";
    if (wanted == 1)
      diag.error(call.getLoc(), "'" + spec->name + "' gives " +
                                    Twine(produced) + " results " + names +
                                    "; bind them all, as in '" + names +
                                    " = " + spec->name + "(...)'");
    else
      diag.error(call.getLoc(), "'" + spec->name + "' gives " +
                                    Twine(produced) + " result" +
                                    (produced == 1 ? "" : "s") +
                                    (names.empty() ? "" : " ") + names +
                                    ", but " + Twine(wanted) +
                                    " are expected here");
    return invalid();
  }
  result.calls[&call] = callInfo;
  return value;
}

ExprInfo Checker::checkBuiltin(const CallExprAST &call,
                               const BuiltinSpec &spec, CallInfo &callInfo,
                               unsigned wanted) {
  Builtin builtin = spec.builtin;
  const auto &args = call.getArgs();
  SMLoc loc = call.getLoc();

  if (isUnaryElementwise(builtin)) {
    ExprInfo x = checkExpr(*args[0]);
    if (x.isInvalid())
      return invalid();
    if (x.isConstant())
      return checkConstant(foldUnary(builtin, x.constant), false, loc);
    if (!x.isTensor() || !requireFloat(x.getType(), loc, "'" + spec.name + "'"))
      return invalid();
    return x;
  }

  switch (builtin) {
  case Builtin::Pow:
  case Builtin::Maximum:
  case Builtin::Minimum: {
    ExprInfo a = checkExpr(*args[0]);
    ExprInfo b = checkExpr(*args[1]);
    if (a.isInvalid() || b.isInvalid())
      return invalid();
    double (*fold)(double, double) = builtin == Builtin::Pow ? powFold
                                     : builtin == Builtin::Maximum
                                         ? maxFold
                                         : minFold;
    return checkElementwise(loc, spec.name, a, b, fold,
                            builtin != Builtin::Pow);
  }

  case Builtin::Cast: {
    std::optional<CheckedType> x = tensorArg(call, 0, "the value");
    const auto *dtypeName = llvm::dyn_cast<NameExprAST>(args[1].get());
    std::optional<DType> dtype =
        dtypeName ? parseDType(dtypeName->getName()) : std::nullopt;
    if (!dtype) {
      diag.error(args[1]->getLoc(), "'cast' needs a dtype as its second "
                                    "argument: f32, f16, bf16, i32 or i64");
      return invalid();
    }
    if (!x)
      return invalid();
    callInfo.castTo = *dtype;
    CheckedType out = *x;
    out.dtype = *dtype;
    return tensor(std::move(out));
  }

  case Builtin::Reshape:
  case Builtin::Broadcast:
    return checkReshape(call, callInfo, builtin == Builtin::Broadcast);

  case Builtin::Arange: {
    ExprInfo n = checkExpr(*args[0]);
    if (n.isInvalid())
      return invalid();
    if (!n.isConstant() || !n.constantIsInt || n.constant < 1 ||
        n.constant > static_cast<double>(kMaxIntKeyword)) {
      diag.error(args[0]->getLoc(), "'arange' needs an integer count "
                                    "between 1 and 2147483647");
      return invalid();
    }
    CheckedType out;
    out.dtype = DType::f32;
    out.dims.push_back(
        Dim::getStatic(static_cast<int64_t>(n.constant), args[0]->getLoc()));
    return tensor(std::move(out));
  }

  case Builtin::Sum:
  case Builtin::Mean:
  case Builtin::Max: {
    std::optional<CheckedType> x = tensorArg(call, 0, "its operand");
    if (!x || !requireFloat(*x, loc, "'" + spec.name + "'"))
      return invalid();
    if (x->getRank() == 0) {
      diag.error(loc, "'" + spec.name + "' reduces the last dimension, but " +
                          formatType(*x) + " has none");
      return invalid();
    }
    CheckedType out = *x;
    out.dims.back() = Dim::getStatic(1);
    return tensor(std::move(out));
  }

  case Builtin::RmsNorm: {
    std::optional<CheckedType> x = tensorArg(call, 0, "its operand");
    std::optional<CheckedType> w;
    bool ok = x.has_value();
    if (args.size() == 2) {
      w = tensorArg(call, 1, "the weight");
      ok &= w.has_value();
    }
    if (const KeywordArgAST *kw = findKeyword(call, "eps")) {
      std::optional<double> eps = numberKeyword(*kw);
      if (eps && (*eps < 0 || !std::isfinite(static_cast<float>(*eps)))) {
        diag.error(kw->value->getLoc(),
                   "'eps' must be a finite number >= 0");
        eps.reset();
      }
      ok &= eps.has_value();
      if (eps)
        callInfo.epsilon = *eps;
    }
    if (!ok || !requireFloat(*x, loc, "'rms_norm'"))
      return invalid();
    if (x->getRank() == 0) {
      diag.error(loc, "'rms_norm' normalizes the last dimension, but " +
                          formatType(*x) + " has none");
      return invalid();
    }
    if (w) {
      if (!requireFloat(*w, args[1]->getLoc(), "the weight of 'rms_norm'"))
        return invalid();
      if (w->getRank() != 1) {
        diag.error(args[1]->getLoc(),
                   "the weight of 'rms_norm' must have rank 1 (the size of "
                   "the last dimension), got " +
                       formatType(*w));
        return invalid();
      }
      if (!unify(w->dims[0], x->dims.back(), args[1]->getLoc(),
                 "the weight of 'rms_norm' scales the last dimension",
                 "its size", "the last dimension of the operand"))
        return invalid();
      callInfo.normWeight = args[1].get();
    }
    return tensor(*x);
  }

  case Builtin::Gate:
    return checkGate(call, callInfo);
  case Builtin::Scan:
    return checkScan(call, callInfo, wanted);
  case Builtin::Route:
    return checkRoute(call, callInfo);
  case Builtin::Dispatch:
    return checkDispatch(call, callInfo);
  case Builtin::Conv:
    return checkConv(call, callInfo, wanted);
  default:
    break;
  }
  return invalid();
}

//===----------------------------------------------------------------------===//
// Keyword values
//===----------------------------------------------------------------------===//

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
                                       name->getName() +
                                       "': expected one of " + all + hint);
  } else {
    diag.error(kw.value->getLoc(),
               "'" + kw.name + "' expects one of " + all);
  }
  return std::nullopt;
}

std::optional<int64_t> Checker::intKeyword(const KeywordArgAST &kw,
                                           int64_t min, int64_t max) {
  ExprInfo value = checkExpr(*kw.value);
  if (value.isInvalid())
    return std::nullopt;
  if (!value.isConstant() || !value.constantIsInt) {
    diag.error(kw.value->getLoc(), "'" + kw.name + "' expects an integer");
    return std::nullopt;
  }
  if (value.constant < static_cast<double>(min) ||
      value.constant > static_cast<double>(max)) {
    diag.error(kw.value->getLoc(), "'" + kw.name + "' must be between " +
                                       Twine(min) + " and " + Twine(max) +
                                       ", got " +
                                       Twine(static_cast<int64_t>(
                                           std::clamp(value.constant, -9e18,
                                                      9e18))));
    return std::nullopt;
  }
  return static_cast<int64_t>(value.constant);
}

std::optional<double> Checker::numberKeyword(const KeywordArgAST &kw) {
  ExprInfo value = checkExpr(*kw.value);
  if (value.isInvalid())
    return std::nullopt;
  if (!value.isConstant()) {
    diag.error(kw.value->getLoc(), "'" + kw.name + "' expects a number");
    return std::nullopt;
  }
  return value.constant;
}

std::optional<float> Checker::f32Keyword(const KeywordArgAST &kw,
                                         bool positive) {
  std::optional<double> value = numberKeyword(kw);
  if (!value)
    return std::nullopt;
  // The gate ops store these as f32: check the value they will hold.
  float stored = static_cast<float>(*value);
  if (!std::isfinite(stored) || (positive && !(stored > 0.0f))) {
    diag.error(kw.value->getLoc(),
               "'" + kw.name + "' must be " +
                   (positive ? "finite and > 0" : "finite") +
                   " as a 32-bit float, got " + formatNumber(*value));
    return std::nullopt;
  }
  return stored;
}

std::optional<bool> Checker::boolKeyword(const KeywordArgAST &kw) {
  if (const auto *b = llvm::dyn_cast<BoolExprAST>(kw.value.get()))
    return b->getValue();
  diag.error(kw.value->getLoc(), "'" + kw.name + "' expects true or false");
  return std::nullopt;
}

std::optional<CheckedType> Checker::tensorKeyword(const KeywordArgAST &kw) {
  ExprInfo value = checkExpr(*kw.value);
  if (value.isInvalid())
    return std::nullopt;
  if (!value.isTensor()) {
    diag.error(kw.value->getLoc(), "'" + kw.name + "' expects a tensor");
    return std::nullopt;
  }
  return value.getType();
}

//===----------------------------------------------------------------------===//
// gate(...)
//===----------------------------------------------------------------------===//

ExprInfo Checker::checkGate(const CallExprAST &call, CallInfo &callInfo) {
  const auto &args = call.getArgs();
  bool fused = args.size() == 1;
  callInfo.fusedGate = fused;
  bool ok = true;

  std::optional<CheckedType> x = tensorArg(call, 0, fused ? "xg" : "x");
  std::optional<CheckedType> g;
  if (!fused)
    g = tensorArg(call, 1, "the gate g");
  ok = x.has_value() && (fused || g.has_value());

  const KeywordArgAST *act = findKeyword(call, "act");
  if (!act) {
    diag.error(call.getLoc(), "'gate' needs an activation: act = " +
                                  EnumInfo<gate::Activation>::list());
    ok = false;
  } else if (std::optional<gate::Activation> a =
                 enumKeyword<gate::Activation>(*act)) {
    callInfo.activation = *a;
  } else {
    ok = false;
  }
  if (const KeywordArgAST *clamp = findKeyword(call, "clamp")) {
    if (std::optional<float> limit = f32Keyword(*clamp, /*positive=*/true))
      callInfo.clampLimit = *limit;
    else
      ok = false;
  }
  std::optional<gate::Granularity> explicitGranularity;
  if (const KeywordArgAST *kw = findKeyword(call, "granularity")) {
    if (fused) {
      diag.error(kw->loc, "'granularity' applies to gate(x, g) with two "
                          "operands; the fused form gate(xg, ...) is "
                          "elementwise");
      ok = false;
    } else if (!(explicitGranularity = enumKeyword<gate::Granularity>(*kw))) {
      ok = false;
    }
  }
  if (const KeywordArgAST *kw = findKeyword(call, "half")) {
    if (!fused) {
      diag.error(kw->loc, "'half' applies to the fused form gate(xg, ...) "
                          "with one operand");
      ok = false;
    } else if (std::optional<gate::GateHalf> half =
                   enumKeyword<gate::GateHalf>(*kw)) {
      callInfo.gateHalf = *half;
    } else {
      ok = false;
    }
  }
  if (!ok)
    return invalid();

  SMLoc loc = call.getLoc();
  if (!requireFloat(*x, args[0]->getLoc(), "'gate'"))
    return invalid();
  if (x->getRank() == 0) {
    diag.error(args[0]->getLoc(),
               "'gate' needs a tensor of rank 1 or more, got " +
                   formatType(*x));
    return invalid();
  }

  if (fused) {
    const Dim &last = x->dims.back();
    std::optional<int64_t> size = valueOf(last);
    if (!size || *size % 2 != 0) {
      diag.error(args[0]->getLoc(),
                 "the fused gate(xg, ...) splits the last dimension into two "
                 "equal halves, so it must be an even literal size, got " +
                     describe(last) + " in " + formatType(*x));
      return invalid();
    }
    CheckedType out = *x;
    out.dims.back() = Dim::getStatic(*size / 2);
    return tensor(std::move(out));
  }

  if (x->dtype != g->dtype) {
    diag.error(args[1]->getLoc(),
               "the gate g must have the dtype of x: x is " + formatType(*x) +
                   ", g is " + formatType(*g) + "; convert it with cast(g, " +
                   stringifyDType(x->dtype) + ")");
    return invalid();
  }
  if (g->getRank() != x->getRank()) {
    diag.error(args[1]->getLoc(),
               "the gate g must have the shape of x " + formatType(*x) +
                   " (elementwise) or that shape with a last dimension of 1 "
                   "(headwise), got " +
                   formatType(*g));
    return invalid();
  }
  // Headwise when g ends in a literal 1 that x does not have.
  bool gEndsInOne = valueOf(g->dims.back()) == 1;
  gate::Granularity granularity =
      explicitGranularity ? *explicitGranularity
      : gEndsInOne && valueOf(x->dims.back()) != 1
          ? gate::Granularity::headwise
          : gate::Granularity::elementwise;
  callInfo.granularity = granularity;
  unsigned rank = x->getRank();
  if (granularity == gate::Granularity::headwise && !gEndsInOne) {
    diag.error(args[1]->getLoc(),
               "a headwise gate g must end in a dimension of 1, broadcast over "
               "x's last dimension; got " +
                   formatType(*g) + " for x " + formatType(*x));
    return invalid();
  }
  unsigned checkedDims =
      granularity == gate::Granularity::headwise ? rank - 1 : rank;
  for (unsigned i = 0; i < checkedDims; ++i)
    if (!unify(g->dims[i], x->dims[i], loc,
               "the gate g must have the shape of x" +
                   Twine(granularity == gate::Granularity::headwise
                             ? " (with a last dimension of 1)"
                             : ""),
               "dimension " + Twine(i) + " of g",
               "dimension " + Twine(i) + " of x"))
      return invalid();
  return tensor(*x);
}

//===----------------------------------------------------------------------===//
// scan(...)
//===----------------------------------------------------------------------===//

std::optional<Dim>
Checker::checkCuSeqlens(const std::optional<CheckedType> &cuType,
                        const ExprAST *cuExpr, const Dim &B,
                        StringRef batchOf) {
  if (!cuType)
    return B;
  const CheckedType &cu = *cuType;
  SMLoc cuLoc = cuExpr->getLoc();
  if (cu.dtype != DType::i32 && cu.dtype != DType::i64) {
    diag.error(cuLoc, "cu_seqlens must hold i32 or i64 offsets, got " +
                          formatType(cu));
    return std::nullopt;
  }
  if (cu.getRank() != 1) {
    diag.error(cuLoc, "cu_seqlens must be [N + 1], got " + formatType(cu));
    return std::nullopt;
  }
  // The entry points check a parameter's offsets before the kernel runs
  // (docs/DSL.md); offsets computed inside the kernel would reach it
  // unchecked.
  if (parameterIndex(*cuExpr) < 0) {
    diag.error(cuLoc, "cu_seqlens must be a parameter of the kernel, so "
                      "that its offsets are checked at the call");
    return std::nullopt;
  }
  std::optional<int64_t> len = valueOf(cu.dims[0]);
  if (len && *len < 2) {
    diag.error(cuLoc, "cu_seqlens must hold at least 2 offsets (one "
                      "sequence), got " +
                          formatType(cu));
    return std::nullopt;
  }
  if (!unify(B, Dim::getStatic(1, cuLoc), cuLoc,
             "with cu_seqlens the sequences are packed along T",
             "the batch B of " + batchOf, "the required batch"))
    return std::nullopt;
  // A parameter's length is a literal or `M + c`: N is M + c - 1, which
  // every state's first dimension must then be (as a literal binds M, a
  // symbol must be the same one: `cu: i32[N + 1]` with `s0: f32[N, ...]`).
  const Dim &cuLen = cu.dims[0];
  return len ? Dim::getStatic(*len - 1)
             : Dim::getSymbol(cuLen.symbol, cuLen.loc, cuLen.offset - 1);
}

bool Checker::checkStatesPerSequence(const Dim &first, const Dim &numSeqs,
                                     const CheckedType &cu,
                                     const ExprAST &cuExpr, SMLoc at,
                                     StringRef stateWhat) {
  if (!first.isSymbol() || !numSeqs.isSymbol() ||
      first.symbol == numSeqs.symbol || valueOf(first) || valueOf(numSeqs))
    return true;
  // The kernel would take any two sizes; the sequences must match the
  // states one to one.
  Dim stated = Dim::getSymbol(first.symbol, {}, first.offset + 1);
  diag.error(at, stateWhat + " holds " + formatSymbol(first) +
                     " sequences but cu_seqlens " + formatSymbol(numSeqs) +
                     ": state the relation as " +
                     "cu: " + stringifyDType(cu.dtype).str() + "[" +
                     formatSymbol(stated) + "]");
  diag.note(cuExpr.getLoc(), "cu_seqlens is " + formatType(cu) + " here");
  return false;
}

bool Checker::parseStatePool(const CallExprAST &call, CallInfo &callInfo,
                             unsigned wanted, StringRef op, StringRef poolShape,
                             StringRef output, bool hasInitial,
                             std::optional<CheckedType> &pool,
                             std::optional<CheckedType> &slots) {
  bool ok = true;
  if (const KeywordArgAST *kw = findKeyword(call, "pool")) {
    pool = tensorKeyword(*kw);
    ok &= pool.has_value();
    callInfo.statePool = kw->value.get();
    callInfo.poolParam = parameterIndex(*callInfo.statePool);
  }
  if (const KeywordArgAST *kw = findKeyword(call, "slots")) {
    slots = tensorKeyword(*kw);
    ok &= slots.has_value();
    callInfo.stateSlots = kw->value.get();
  }
  if (!ok)
    return false;
  if (pool.has_value() != slots.has_value()) {
    diag.error(pool ? callInfo.statePool->getLoc()
                    : callInfo.stateSlots->getLoc(),
               "a state pool needs both 'pool = <states " + poolShape +
                   ">' and 'slots = <the pool row of each sequence [N]>'");
    return false;
  }
  if (pool && hasInitial) {
    diag.error(callInfo.initialState->getLoc(),
               "'initial' and 'pool' both give the " + op +
                   "'s starting states; with a pool, each sequence starts "
                   "from its slot's row");
    return false;
  }
  if (pool && wanted == 2) {
    diag.error(callInfo.statePool->getLoc(),
               "the " + op +
                   " updates its state pool in place and gives "
                   "only " +
                   output + "; bind one name");
    return false;
  }
  return true;
}

bool Checker::checkStatePool(const CallInfo &callInfo, const CheckedType &pool,
                             const CheckedType &slots, const Dim &numSeqs,
                             DType dtype, llvm::ArrayRef<const Dim *> rowDims,
                             llvm::ArrayRef<llvm::StringLiteral> rowNames,
                             StringRef op, StringRef dtypeText) {
  std::string poolShape = dtypeText.str() + gate::shapes::format(rowNames, "P");
  // The pool and the slots are parameters: the kernel writes the pool's
  // memory, and the entry points check the slots before the call.
  SMLoc poolLoc = callInfo.statePool->getLoc();
  SMLoc slotsLoc = callInfo.stateSlots->getLoc();
  if (callInfo.poolParam < 0) {
    diag.error(poolLoc, "the state pool must be a parameter of the kernel: "
                        "the kernel updates it in place");
    return false;
  }
  int slotsParam = parameterIndex(*callInfo.stateSlots);
  if (slotsParam < 0) {
    diag.error(slotsLoc, "slots must be a parameter of the kernel, so that "
                         "they are checked at the call");
    return false;
  }

  if (pool.dtype != dtype || pool.getRank() != rowDims.size() + 1) {
    diag.error(poolLoc, "the state pool must be " + poolShape + ", got " +
                            formatType(pool));
    return false;
  }
  for (unsigned d = 0; d < rowDims.size(); ++d)
    if (!unify(pool.dims[d + 1], *rowDims[d], poolLoc,
               "the state pool must be " + poolShape, "its " + rowNames[d],
               "the " + op + "'s " + rowNames[d]))
      return false;
  if ((slots.dtype != DType::i32 && slots.dtype != DType::i64) ||
      slots.getRank() != 1) {
    diag.error(slotsLoc, "slots must be i32 or i64 [N], the pool row of "
                         "each sequence, got " +
                             formatType(slots));
    return false;
  }
  if (!unify(slots.dims[0], numSeqs, slotsLoc,
             "slots must hold one pool row per sequence", "its length",
             "the number of sequences N"))
    return false;
  // The entry points check a slots parameter against its one pool's P.
  auto [known, inserted] =
      poolOfSlots.try_emplace(slotsParam, callInfo.poolParam);
  if (!inserted && known->second != callInfo.poolParam) {
    diag.error(
        slotsLoc,
        "'" + kernel.params[slotsParam].name +
            "' already indexes the "
            "pool '" +
            kernel.params[known->second].name +
            "'; give each pool its own slots parameter (a caller may pass "
            "the same array to both)");
    return false;
  }
  if (!llvm::is_contained(info.updatedParams, callInfo.poolParam))
    info.updatedParams.push_back(static_cast<unsigned>(callInfo.poolParam));
  return true;
}

ExprInfo Checker::checkScan(const CallExprAST &call, CallInfo &callInfo,
                            unsigned wanted) {
  const auto &args = call.getArgs();
  SMLoc loc = call.getLoc();
  std::optional<CheckedType> q = tensorArg(call, 0, "q");
  std::optional<CheckedType> k = tensorArg(call, 1, "k");
  std::optional<CheckedType> v = tensorArg(call, 2, "v");
  bool ok = q && k && v;

  // decay = vector(g) | scalar(a) | fixed(a) | none
  std::optional<CheckedType> decay;
  SMLoc decayLoc;
  const KeywordArgAST *decayKw = findKeyword(call, "decay");
  if (!decayKw) {
    diag.error(loc, "'scan' needs 'decay = vector(g)', 'scalar(a)', "
                    "'fixed(a)' or 'none'");
    ok = false;
  } else {
    const ExprAST &value = *decayKw->value;
    const auto *name = llvm::dyn_cast<NameExprAST>(&value);
    const auto *form = llvm::dyn_cast<CallExprAST>(&value);
    std::optional<gate::DecayKind> kind;
    if (name && name->getName() == "none")
      kind = gate::DecayKind::none;
    else if (form && form->getCallee() != "none")
      kind = gate::symbolizeDecayKind(form->getCallee());
    if (!kind || (form && (form->getArgs().size() != 1 ||
                           !form->getKeywords().empty()))) {
      diag.error(value.getLoc(), "'decay' must be vector(g) (one log-decay "
                                 "per key channel), scalar(a) (one per token "
                                 "and head), fixed(a) (one per head) or none");
      ok = false;
    } else {
      callInfo.decayKind = *kind;
      if (form) {
        const ExprAST &operand = *form->getArgs()[0];
        ExprInfo d = checkExpr(operand);
        decayLoc = operand.getLoc();
        if (d.isTensor()) {
          decay = d.getType();
          callInfo.decay = &operand;
        } else {
          if (d.isConstant())
            diag.error(operand.getLoc(), "the decay must be a tensor");
          ok = false;
        }
      }
    }
  }

  std::optional<CheckedType> initial, cu, beta;
  if (const KeywordArgAST *kw = findKeyword(call, "delta")) {
    beta = tensorKeyword(*kw);
    ok &= beta.has_value();
    callInfo.beta = kw->value.get();
  }
  if (const KeywordArgAST *kw = findKeyword(call, "initial")) {
    initial = tensorKeyword(*kw);
    ok &= initial.has_value();
    callInfo.initialState = kw->value.get();
  }
  if (const KeywordArgAST *kw = findKeyword(call, "cu_seqlens")) {
    cu = tensorKeyword(*kw);
    ok &= cu.has_value();
    callInfo.cuSeqlens = kw->value.get();
  }
  // history = tokens | chunks: the states after every token or chunk are the
  // second result (speculative decoding, prefix caching).
  const KeywordArgAST *historyKw = findKeyword(call, "history");
  bool perToken = false;
  if (historyKw) {
    const auto *name = llvm::dyn_cast<NameExprAST>(historyKw->value.get());
    StringRef kind = name ? StringRef(name->getName()) : StringRef();
    if (kind != "tokens" && kind != "chunks") {
      diag.error(historyKw->value->getLoc(),
                 "'history' expects tokens (the state after every token) or "
                 "chunks (the state after every chunk)");
      ok = false;
    } else if (wanted != 2) {
      diag.error(historyKw->loc, "'history = " + kind +
                                     "' gives the states as a second result; "
                                     "bind two names, (o, states) = scan(...)");
      ok = false;
    } else {
      callInfo.withStateHistory = true;
      perToken = kind == "tokens";
    }
  }
  std::optional<CheckedType> pool, slots;
  ok &= parseStatePool(call, callInfo, callInfo.withStateHistory ? 1 : wanted,
                       "scan",
                       gate::shapes::format(gate::shapes::kScanStateRow, "P"),
                       "o", initial.has_value(), pool, slots);
  if (const KeywordArgAST *kw = findKeyword(call, "chunk")) {
    std::optional<int64_t> chunk = intKeyword(*kw, 1, kMaxIntKeyword);
    ok &= chunk.has_value();
    if (chunk && perToken && *chunk != 1) {
      diag.error(kw->value->getLoc(),
                 "'history = tokens' evaluates one token per chunk; drop "
                 "'chunk' or use history = chunks");
      ok = false;
    }
    if (chunk)
      callInfo.chunkSize = *chunk;
  }
  if (perToken)
    callInfo.chunkSize = 1;
  if (const KeywordArgAST *kw = findKeyword(call, "scale")) {
    std::optional<float> scale = f32Keyword(*kw, /*positive=*/false);
    ok &= scale.has_value();
    callInfo.scale = scale;
  }
  if (!ok)
    return invalid();

  // q, k: [B, T, H, K]; v: [B, T, HV, V], all of one float dtype.
  namespace shapes = gate::shapes;
  const std::string qkShape = shapes::format(shapes::kScanQK),
                    vShape = shapes::format(shapes::kScanV);
  static const char *const names[] = {"q", "k", "v"};
  const CheckedType *qkv[] = {&*q, &*k, &*v};
  for (unsigned i = 0; i < 3; ++i) {
    if (qkv[i]->getRank() != 4) {
      diag.error(args[i]->getLoc(), Twine("scan's ") + names[i] + " must be " +
                                        (i == 2 ? vShape : qkShape) + ", got " +
                                        formatType(*qkv[i]));
      return invalid();
    }
    if (!requireFloat(*qkv[i], args[i]->getLoc(), "'scan'"))
      return invalid();
  }
  for (unsigned i = 1; i < 3; ++i)
    if (qkv[i]->dtype != q->dtype) {
      diag.error(args[i]->getLoc(), Twine("scan's q, k and v must share one "
                                          "dtype: q is ") +
                                        formatType(*q) + ", " + names[i] +
                                        " is " + formatType(*qkv[i]));
      return invalid();
    }
  llvm::ArrayRef<llvm::StringLiteral> dimNames = shapes::kScanQK;
  for (unsigned d = 0; d < 4; ++d)
    if (!unify(k->dims[d], q->dims[d], args[1]->getLoc(),
               "k must have the shape of q " + qkShape, "its " + dimNames[d],
               "q's " + dimNames[d]))
      return invalid();
  for (unsigned d = 0; d < 2; ++d)
    if (!unify(v->dims[d], q->dims[d], args[2]->getLoc(),
               "v must be " + vShape + " with q's B and T",
               "its " + dimNames[d], "q's " + dimNames[d]))
      return invalid();
  // Grouped value heads: HV = G * H literal heads, value head j reading q/k
  // head j / G; otherwise v has q's heads.
  std::optional<int64_t> keyHeads = valueOf(q->dims[2]),
                         valueHeads = valueOf(v->dims[2]);
  if (keyHeads && valueHeads && *keyHeads != *valueHeads) {
    if (*keyHeads == 0 || *valueHeads % *keyHeads != 0) {
      diag.error(args[2]->getLoc(),
                 "v's heads HV (" + Twine(*valueHeads) +
                     ") must be q's heads H (" + Twine(*keyHeads) +
                     ") or a multiple of them (grouped value heads)");
      return invalid();
    }
  } else if (!unify(v->dims[2], q->dims[2], args[2]->getLoc(),
                    "v must be " + vShape +
                        " with HV q's heads H, or a literal multiple of a "
                        "literal H",
                    "its HV", "q's H")) {
    return invalid();
  }
  // Kernels are specialized for their head dimensions.
  for (auto [t, role, d] : {std::make_tuple(&*q, "K (q's last dimension)", 0),
                            std::make_tuple(&*v, "V (v's last dimension)", 2)}) {
    if (!valueOf(t->dims[3])) {
      diag.error(args[d]->getLoc(),
                 Twine("scan needs a literal head dimension ") + role +
                     ", got " + describe(t->dims[3]));
      return invalid();
    }
  }
  // H below is the value heads HV: the decay, beta, states and o have one
  // entry per value head.
  const Dim &B = q->dims[0], &T = q->dims[1], &H = v->dims[2],
            &K = q->dims[3], &V = v->dims[3];

  if (decay) {
    if (!requireFloat(*decay, decayLoc, "the decay of 'scan'"))
      return invalid();
    llvm::SmallVector<const Dim *, 4> expect;
    std::string shape;
    switch (callInfo.decayKind) {
    case gate::DecayKind::vector:
      expect = {&B, &T, &H, &K};
      shape = shapes::format(shapes::kScanVectorDecay);
      break;
    case gate::DecayKind::scalar:
      expect = {&B, &T, &H};
      shape = shapes::format(shapes::kScanScalarDecay);
      break;
    default:
      expect = {&H};
      shape = shapes::format(shapes::kScanFixedDecay);
      break;
    }
    std::string kindName =
        gate::stringifyDecayKind(callInfo.decayKind).str();
    if (decay->getRank() != expect.size()) {
      diag.error(decayLoc, "a " + kindName + " decay must be " + shape +
                               ", got " + formatType(*decay));
      return invalid();
    }
    for (unsigned d = 0; d < expect.size(); ++d)
      if (!unify(decay->dims[d], *expect[d], decayLoc,
                 "a " + kindName + " decay must be " + shape,
                 "its dimension " + Twine(d), "the scan's matching dimension"))
        return invalid();
  }
  if (beta) {
    SMLoc betaLoc = callInfo.beta->getLoc();
    if (!requireFloat(*beta, betaLoc, "the delta rule's beta"))
      return invalid();
    const std::string betaShape = shapes::format(shapes::kScanBeta);
    if (beta->getRank() != 3) {
      diag.error(betaLoc, "the delta rule's beta must be " + betaShape +
                              " (one learning rate per token and value "
                              "head), got " +
                              formatType(*beta));
      return invalid();
    }
    const Dim *expect[] = {&B, &T, &H};
    for (unsigned d = 0; d < 3; ++d)
      if (!unify(beta->dims[d], *expect[d], betaLoc,
                 "the delta rule's beta must be " + betaShape,
                 "its dimension " + Twine(d), "the scan's matching dimension"))
        return invalid();
  }

  // N, the number of sequences (and of states): B, or len(cu_seqlens) - 1.
  std::optional<Dim> n = checkCuSeqlens(cu, callInfo.cuSeqlens, B, "q");
  if (!n)
    return invalid();
  Dim numSeqs = *n;
  if (initial) {
    SMLoc sLoc = callInfo.initialState->getLoc();
    const std::string stateShape =
        "f32" + shapes::format(shapes::kScanStateRow, "N");
    if (initial->dtype != DType::f32 || initial->getRank() != 4) {
      diag.error(sLoc, "the initial state must be " + stateShape + ", got " +
                           formatType(*initial));
      return invalid();
    }
    if (cu &&
        !checkStatesPerSequence(initial->dims[0], numSeqs, *cu,
                                *callInfo.cuSeqlens, sLoc, "the initial state"))
      return invalid();
    const Dim *expect[] = {&numSeqs, &H, &K, &V};
    llvm::SmallVector<StringRef, 5> stateNames =
        shapes::refs(shapes::kScanStateRow, "N");
    for (unsigned d = 0; d < 4; ++d)
      if (!unify(initial->dims[d], *expect[d], sLoc,
                 "the initial state must be " + stateShape,
                 "its " + stateNames[d], "the scan's " + stateNames[d]))
        return invalid();
    if (numSeqs.isDynamic())
      numSeqs = initial->dims[0];
  }

  // A pool holds f32 states, or bf16 ones (widened when read, rounded once
  // when written back).
  if (pool && !checkStatePool(
                  callInfo, *pool, *slots, numSeqs,
                  pool->dtype == DType::bf16 ? DType::bf16 : DType::f32,
                  {&H, &K, &V}, shapes::kScanStateRow, "scan", "f32 or bf16 "))
    return invalid();

  CheckedType o;
  o.dtype = v->dtype;
  o.dims = {B, T, H, V};
  ExprInfo value = tensor(std::move(o));
  if (callInfo.withStateHistory) {
    // [B, ceil(T / C), HV, K, V]; packed sequences start anywhere, so only
    // the per-token history has a row for each of their states.
    if (cu && !perToken) {
      diag.error(historyKw->loc,
                 "'history = chunks' needs a dense batch: packed sequences' "
                 "chunks do not start at multiples of the chunk length; use "
                 "history = tokens with cu_seqlens");
      return invalid();
    }
    Dim rows = T;
    int64_t c = callInfo.chunkSize;
    if (c != 1) {
      if (std::optional<int64_t> t = valueOf(T)) {
        rows = Dim::getStatic(gate::ChunkedScanOp::getChunkStateRows(*t, c));
      } else {
        rows = Dim::getDynamic();
        if (T.isSymbol())
          rows.expr = "(" + formatSymbol(T) + " + " + std::to_string(c - 1) +
                      ")/" + std::to_string(c);
      }
    }
    CheckedType history;
    history.dtype = DType::f32;
    history.dims = {B, rows, H, K, V};
    value.kind = ExprInfo::Kind::Multi;
    value.types.push_back(std::move(history));
    return value;
  }
  if (wanted == 2) {
    CheckedType state;
    state.dtype = DType::f32;
    state.dims = {numSeqs, H, K, V};
    value.kind = ExprInfo::Kind::Multi;
    value.types.push_back(std::move(state));
    callInfo.withFinalState = true;
  }
  return value;
}

//===----------------------------------------------------------------------===//
// route(...)
//===----------------------------------------------------------------------===//

ExprInfo Checker::checkRoute(const CallExprAST &call, CallInfo &callInfo) {
  const auto &args = call.getArgs();
  SMLoc loc = call.getLoc();
  std::optional<CheckedType> logits = tensorArg(call, 0, "the logits");
  bool ok = logits.has_value();

  const KeywordArgAST *kKw = findKeyword(call, "k");
  const KeywordArgAST *scoreKw = findKeyword(call, "score");
  if (!kKw || !scoreKw) {
    diag.error(loc, Twine("'route' needs ") +
                        (!kKw ? "'k = <experts per token>'" : "") +
                        (!kKw && !scoreKw ? " and " : "") +
                        (!scoreKw ? "'score = softmax' or 'score = sigmoid'"
                                  : ""));
    ok = false;
  }
  std::optional<int64_t> k;
  if (kKw)
    ok &= (k = intKeyword(*kKw, 1, kMaxIntKeyword)).has_value();
  if (scoreKw) {
    std::optional<gate::Scoring> s = enumKeyword<gate::Scoring>(*scoreKw);
    ok &= s.has_value();
    if (s)
      callInfo.scoring = *s;
  }
  if (const KeywordArgAST *kw = findKeyword(call, "renormalize")) {
    std::optional<bool> b = boolKeyword(*kw);
    ok &= b.has_value();
    if (b)
      callInfo.renormalize = *b;
  }
  std::optional<CheckedType> bias;
  if (const KeywordArgAST *kw = findKeyword(call, "bias")) {
    ok &= (bias = tensorKeyword(*kw)).has_value();
    callInfo.selectionBias = kw->value.get();
  }
  const KeywordArgAST *groupsKw = findKeyword(call, "groups");
  const KeywordArgAST *topkGroupsKw = findKeyword(call, "topk_groups");
  const KeywordArgAST *groupScoreKw = findKeyword(call, "group_score");
  std::optional<int64_t> groups, topkGroups;
  if (groupsKw)
    ok &= (groups = intKeyword(*groupsKw, 1, kMaxIntKeyword)).has_value();
  if (topkGroupsKw)
    ok &=
        (topkGroups = intKeyword(*topkGroupsKw, 1, kMaxIntKeyword)).has_value();
  if (groupScoreKw) {
    std::optional<gate::GroupScore> gs =
        enumKeyword<gate::GroupScore>(*groupScoreKw);
    ok &= gs.has_value();
    if (gs)
      callInfo.groupScore = *gs;
  }
  // Grouped selection is all or nothing: half of it is always a mistake.
  if (groupsKw && !topkGroupsKw) {
    diag.error(groupsKw->loc, "'groups' needs 'topk_groups', the number of "
                              "groups that stay eligible");
    ok = false;
  }
  for (const KeywordArgAST *kw : {topkGroupsKw, groupScoreKw})
    if (kw && !groupsKw) {
      diag.error(kw->loc, "'" + kw->name + "' needs 'groups', the number of "
                                           "expert groups");
      ok = false;
    }
  if (const KeywordArgAST *kw = findKeyword(call, "scale")) {
    std::optional<float> s = f32Keyword(*kw, /*positive=*/true);
    ok &= s.has_value();
    if (s)
      callInfo.routedScalingFactor = *s;
  }
  const KeywordArgAST *capacityKw = findKeyword(call, "capacity");
  if (capacityKw) {
    std::optional<float> c = f32Keyword(*capacityKw, /*positive=*/true);
    ok &= c.has_value();
    callInfo.capacityFactor = c;
  }
  if (const KeywordArgAST *kw = findKeyword(call, "drop")) {
    if (!capacityKw) {
      diag.error(kw->loc, "'drop' needs 'capacity': without a capacity no "
                          "assignment is dropped");
      ok = false;
    } else if (std::optional<gate::DropPolicy> d =
                   enumKeyword<gate::DropPolicy>(*kw)) {
      callInfo.dropPolicy = *d;
    } else {
      ok = false;
    }
  }
  if (!ok)
    return invalid();

  SMLoc logitsLoc = args[0]->getLoc();
  if (!requireFloat(*logits, logitsLoc, "'route'"))
    return invalid();
  if (logits->getRank() != 2) {
    diag.error(logitsLoc,
               "the router logits must be " +
                   gate::shapes::format(gate::shapes::kRouterLogits) +
                   " (tokens x experts), got " + formatType(*logits));
    return invalid();
  }
  const Dim &E = logits->dims[1];
  std::optional<int64_t> numExperts = valueOf(E);
  if (!numExperts) {
    diag.error(logitsLoc, "'route' needs a literal number of experts (the "
                          "last dimension of the logits), got " +
                              describe(E));
    return invalid();
  }
  if (*k > *numExperts) {
    diag.error(kKw->value->getLoc(),
               "'k' must be between 1 and the number of experts (" +
                   Twine(*numExperts) + "), got " + Twine(*k));
    return invalid();
  }
  callInfo.topK = *k;
  if (bias) {
    SMLoc biasLoc = callInfo.selectionBias->getLoc();
    if (!requireFloat(*bias, biasLoc, "the bias of 'route'"))
      return invalid();
    if (bias->getRank() != 1) {
      diag.error(biasLoc, "the selection bias must be " +
                              gate::shapes::format(gate::shapes::kRouterBias) +
                              ", one per expert, got " + formatType(*bias));
      return invalid();
    }
    if (!unify(bias->dims[0], E, biasLoc,
               "the selection bias must be " +
                   gate::shapes::format(gate::shapes::kRouterBias) +
                   ", one per expert",
               "its size", "the number of experts E"))
      return invalid();
  }
  if (groups) {
    if (*numExperts % *groups != 0) {
      diag.error(groupsKw->value->getLoc(),
                 "'groups' must divide the number of experts (" +
                     Twine(*numExperts) + "), got " + Twine(*groups));
      return invalid();
    }
    if (*topkGroups > *groups) {
      diag.error(topkGroupsKw->value->getLoc(),
                 "'topk_groups' must be between 1 and 'groups' (" +
                     Twine(*groups) + "), got " + Twine(*topkGroups));
      return invalid();
    }
    int64_t groupSize = *numExperts / *groups;
    if (*groups > 1 && callInfo.groupScore == gate::GroupScore::sum_top2 &&
        groupSize < 2) {
      diag.error(groupsKw->value->getLoc(),
                 "group_score sum_top2 needs groups of at least 2 experts, "
                 "but " +
                     Twine(*numExperts) + " experts in " + Twine(*groups) +
                     " groups makes groups of " + Twine(groupSize));
      return invalid();
    }
    if (*k > *topkGroups * groupSize) {
      diag.error(kKw->value->getLoc(),
                 "'k' is " + Twine(*k) + " but only topk_groups * (E / "
                                         "groups) = " +
                     Twine(*topkGroups * groupSize) +
                     " experts stay eligible");
      return invalid();
    }
    callInfo.numGroups = *groups;
    callInfo.topkGroups = *topkGroups;
  }

  const Dim &T = logits->dims[0];
  CheckedType weights, experts;
  weights.dtype = DType::f32;
  weights.dims = {T, Dim::getStatic(*k)};
  experts.dtype = DType::i32;
  experts.dims = {T, Dim::getStatic(*k)};
  ExprInfo value;
  value.kind = ExprInfo::Kind::Multi;
  value.types = {weights, experts};
  return value;
}

//===----------------------------------------------------------------------===//
// dispatch(...)
//===----------------------------------------------------------------------===//

ExprInfo Checker::checkDispatch(const CallExprAST &call, CallInfo &callInfo) {
  const auto &args = call.getArgs();
  std::optional<CheckedType> experts = tensorArg(call, 0, "the experts");
  bool ok = experts.has_value();
  const KeywordArgAST *numKw = findKeyword(call, "num_experts");
  std::optional<int64_t> numExperts, block = 64;
  if (!numKw) {
    diag.error(call.getLoc(), "'dispatch' needs 'num_experts = <E>'");
    ok = false;
  } else {
    ok &= (numExperts = intKeyword(*numKw, 1, kMaxIntKeyword)).has_value();
  }
  if (const KeywordArgAST *kw = findKeyword(call, "block"))
    ok &= (block = intKeyword(*kw, 1, kMaxIntKeyword)).has_value();
  if (!ok)
    return invalid();
  if (experts->dtype != DType::i32 || experts->getRank() != 2) {
    diag.error(args[0]->getLoc(), "'dispatch' needs the i32[T, k] expert "
                                  "indices that route gives, got " +
                                      formatType(*experts));
    return invalid();
  }
  callInfo.numExperts = *numExperts;
  callInfo.blockSize = *block;

  const Dim &T = experts->dims[0], &k = experts->dims[1];
  Dim length = Dim::getDynamic(), blocks = Dim::getDynamic();
  // The dialect's worst-case length, ceil((T*k + E*(block-1)) / block) *
  // block, written out so that a caller can size the outputs up front.
  auto term = [&](const Dim &d) {
    std::optional<int64_t> v = valueOf(d);
    if (v)
      return std::to_string(*v);
    return d.offset == 0 ? d.symbol : "(" + formatSymbol(d) + ")";
  };
  if (!T.isDynamic() && !k.isDynamic()) {
    std::string b = std::to_string(*block);
    std::string padded = "(" + term(T) + "*" + term(k) + " + " +
                         std::to_string(*numExperts) + "*" +
                         std::to_string(*block - 1) + " + " +
                         std::to_string(*block - 1) + ")/" + b;
    length.expr = padded + "*" + b;
    blocks.expr = padded;
  }
  std::optional<int64_t> tokens = valueOf(T), slots = valueOf(k);
  if (tokens && slots) {
    // The worst case of the dialect's formula; it must fit an i32 index.
    std::optional<int64_t> pairs = llvm::checkedMul(*tokens, *slots);
    std::optional<int64_t> padding =
        llvm::checkedMul(*numExperts, *block - 1);
    std::optional<int64_t> worst =
        pairs && padding ? llvm::checkedAdd(*pairs, *padding) : std::nullopt;
    if (!worst || *worst > kMaxIntKeyword) {
      diag.error(call.getLoc(), "'dispatch' of " + formatType(*experts) +
                                    " needs more than 2^31 slots; i32 "
                                    "indices cannot address them");
      return invalid();
    }
    int64_t l = mlir::gate::DispatchOp::getSortedLength(*pairs, *numExperts,
                                                        *block);
    length = Dim::getStatic(l);
    blocks = Dim::getStatic(l / *block);
  }
  auto i32 = [](llvm::SmallVector<Dim, 4> dims) {
    CheckedType t;
    t.dtype = DType::i32;
    t.dims = std::move(dims);
    return t;
  };
  ExprInfo value;
  value.kind = ExprInfo::Kind::Multi;
  value.types = {i32({length}), i32({blocks}),
                 i32({Dim::getStatic(*numExperts + 1)}),
                 i32({Dim::getStatic(*numExperts)}), i32({T, k})};
  return value;
}

//===----------------------------------------------------------------------===//
// conv(...)
//===----------------------------------------------------------------------===//

ExprInfo Checker::checkConv(const CallExprAST &call, CallInfo &callInfo,
                            unsigned wanted) {
  const auto &args = call.getArgs();
  SMLoc loc = call.getLoc();
  std::optional<CheckedType> x = tensorArg(call, 0, "x");
  std::optional<CheckedType> w = tensorArg(call, 1, "the weight");
  bool ok = x && w;

  callInfo.activation = gate::Activation::identity;
  if (const KeywordArgAST *kw = findKeyword(call, "act")) {
    if (std::optional<gate::Activation> a = enumKeyword<gate::Activation>(*kw))
      callInfo.activation = *a;
    else
      ok = false;
  }
  std::optional<CheckedType> bias, initial, cu;
  const KeywordArgAST *initialKw = findKeyword(call, "initial");
  if (const KeywordArgAST *kw = findKeyword(call, "bias")) {
    bias = tensorKeyword(*kw);
    ok &= bias.has_value();
    callInfo.convBias = kw->value.get();
  }
  if (initialKw) {
    initial = tensorKeyword(*initialKw);
    ok &= initial.has_value();
    callInfo.initialState = initialKw->value.get();
  }
  if (const KeywordArgAST *kw = findKeyword(call, "cu_seqlens")) {
    cu = tensorKeyword(*kw);
    ok &= cu.has_value();
    callInfo.cuSeqlens = kw->value.get();
  }
  std::optional<CheckedType> pool, slots;
  ok &= parseStatePool(call, callInfo, wanted, "conv",
                       gate::shapes::format(gate::shapes::kConvStateRow, "P"),
                       "y", initial.has_value(), pool, slots);
  if (!ok)
    return invalid();

  // x: [B, T, C]; weight: [C, W] with a literal W (the taps are unrolled).
  namespace shapes = gate::shapes;
  const std::string weightShape = shapes::format(shapes::kConvWeight),
                    biasShape = shapes::format(shapes::kConvBias);
  if (!requireFloat(*x, args[0]->getLoc(), "'conv'") ||
      !requireFloat(*w, args[1]->getLoc(), "the weight of 'conv'"))
    return invalid();
  if (x->getRank() != 3) {
    diag.error(args[0]->getLoc(), "conv's x must be " +
                                      shapes::format(shapes::kConvX) +
                                      ", got " + formatType(*x));
    return invalid();
  }
  const Dim &B = x->dims[0], &C = x->dims[2];
  if (w->getRank() != 2) {
    diag.error(args[1]->getLoc(), "conv's weight must be " + weightShape +
                                      " (a filter of width W per channel), "
                                      "got " +
                                      formatType(*w));
    return invalid();
  }
  const int64_t maxWidth = gate::CausalConv1dOp::kMaxWidth;
  std::optional<int64_t> width = valueOf(w->dims[1]);
  if (!width || *width < 1 || *width > maxWidth) {
    diag.error(args[1]->getLoc(),
               "conv needs a literal kernel width W between 1 and " +
                   Twine(maxWidth) + " (the weight's last dimension), got " +
                   describe(w->dims[1]));
    return invalid();
  }
  if (!unify(w->dims[0], C, args[1]->getLoc(),
             "the weight must be " + weightShape + " with x's channels C",
             "its C", "x's C"))
    return invalid();
  if (bias) {
    SMLoc biasLoc = callInfo.convBias->getLoc();
    if (!requireFloat(*bias, biasLoc, "the bias of 'conv'"))
      return invalid();
    if (bias->getRank() != 1) {
      diag.error(biasLoc, "conv's bias must be " + biasShape + ", got " +
                              formatType(*bias));
      return invalid();
    }
    if (!unify(bias->dims[0], C, biasLoc,
               "the bias must be " + biasShape + " with x's channels C",
               "its C", "x's C"))
      return invalid();
  }

  // N, the number of sequences (and of states): B, or len(cu_seqlens) - 1.
  std::optional<Dim> n = checkCuSeqlens(cu, callInfo.cuSeqlens, B, "x");
  if (!n)
    return invalid();
  Dim numSeqs = *n;

  // States hold the last W - 1 inputs, in x's dtype; width 1 has none.
  std::string stateType = stringifyDType(x->dtype).str() +
                          shapes::format(shapes::kConvStateRow, "N");
  if (initial) {
    SMLoc sLoc = callInfo.initialState->getLoc();
    if (*width == 1) {
      diag.error(initialKw->loc, "a width-1 conv reads no earlier inputs and "
                                 "keeps no state: drop 'initial'");
      return invalid();
    }
    if (initial->dtype != x->dtype || initial->getRank() != 3) {
      diag.error(sLoc, "the initial conv state must be " + stateType +
                           " (the last W - 1 inputs, in x's dtype), got " +
                           formatType(*initial));
      return invalid();
    }
    if (cu && !checkStatesPerSequence(initial->dims[0], numSeqs, *cu,
                                      *callInfo.cuSeqlens, sLoc,
                                      "the initial conv state"))
      return invalid();
    Dim taps = Dim::getStatic(*width - 1);
    const Dim *expect[] = {&numSeqs, &C, &taps};
    llvm::SmallVector<StringRef, 5> stateNames =
        shapes::refs(shapes::kConvStateRow, "N");
    for (unsigned d = 0; d < 3; ++d)
      if (!unify(initial->dims[d], *expect[d], sLoc,
                 "the initial conv state must be " + stateType +
                     " (W = " + Twine(*width) + ")",
                 "its " + stateNames[d], "the conv's " + stateNames[d]))
        return invalid();
    if (numSeqs.isDynamic())
      numSeqs = initial->dims[0];
  }
  if (pool) {
    if (*width == 1) {
      diag.error(callInfo.statePool->getLoc(),
                 "a width-1 conv reads no earlier inputs and keeps no state: "
                 "drop 'pool' and 'slots'");
      return invalid();
    }
    Dim taps = Dim::getStatic(*width - 1);
    if (!checkStatePool(callInfo, *pool, *slots, numSeqs, x->dtype, {&C, &taps},
                        gate::shapes::kConvStateRow, "conv",
                        stringifyDType(x->dtype)))
      return invalid();
  }

  CheckedType y = *x;
  ExprInfo value = tensor(std::move(y));
  if (wanted >= 2) {
    if (*width == 1) {
      diag.error(loc, "a width-1 conv reads no earlier inputs and keeps no "
                      "state: bind y alone");
      return invalid();
    }
    CheckedType state;
    state.dtype = x->dtype;
    state.dims = {numSeqs, C, Dim::getStatic(*width - 1)};
    value.kind = ExprInfo::Kind::Multi;
    value.types.push_back(std::move(state));
    callInfo.withFinalState = true;
  }
  return value;
}

//===----------------------------------------------------------------------===//
// reshape(...) and broadcast(...)
//===----------------------------------------------------------------------===//

ExprInfo Checker::checkReshape(const CallExprAST &call, CallInfo &callInfo,
                               bool isBroadcast) {
  const auto &args = call.getArgs();
  StringRef name = call.getCallee();
  std::optional<CheckedType> x = tensorArg(call, 0, "its operand");
  const auto *list = llvm::dyn_cast<ListExprAST>(args[1].get());
  if (!list) {
    diag.error(args[1]->getLoc(), "'" + name + "' needs the new shape as a "
                                               "list such as [B, T, 16, 128]");
    if (!llvm::isa<NameExprAST>(*args[1]))
      checkExpr(*args[1]);
    return invalid();
  }
  CheckedType out;
  bool ok = x.has_value();
  for (const ExprPtr &element : list->getElements()) {
    std::optional<Dim> dim = checkListDim(*element);
    ok &= dim.has_value();
    if (dim)
      out.dims.push_back(*dim);
  }
  if (out.dims.size() > 8) {
    diag.error(list->getLoc(), "a tensor has at most 8 dimensions");
    ok = false;
  }
  if (!ok)
    return invalid();
  out.dtype = x->dtype;

  if (isBroadcast) {
    if (x->getRank() > out.getRank()) {
      diag.error(call.getLoc(), "'broadcast' cannot drop dimensions: " +
                                    formatType(*x) + " has more than " +
                                    formatType(out));
      return invalid();
    }
    unsigned offset = out.getRank() - x->getRank();
    for (unsigned i = 0; i < x->getRank(); ++i) {
      if (valueOf(x->dims[i]) == 1)
        continue;
      if (!unify(x->dims[i], out.dims[offset + i], call.getLoc(),
                 "'broadcast' stretches only dimensions of size 1 "
                 "(dimensions align from the right)",
                 "dimension " + Twine(i) + " of the operand",
                 "the target dimension"))
        return invalid();
    }
    return tensor(std::move(out));
  }

  std::optional<ReshapePlan> plan = planReshape(*x, out, call.getLoc());
  if (!plan)
    return invalid();
  callInfo.reshape = std::move(*plan);
  return tensor(std::move(out));
}

/// Pairs up groups of dimensions with equal products. A symbolic dimension
/// must map onto the same symbol (only literal sizes split or merge);
/// dimensions of size 1 join a neighbouring group.
std::optional<ReshapePlan> Checker::planReshape(const CheckedType &from,
                                                const CheckedType &to,
                                                SMLoc at) {
  auto fail = [&](const Twine &why) -> std::optional<ReshapePlan> {
    diag.error(at, "cannot reshape " + formatType(from) + " to " +
                       formatType(to) + ": " + why);
    return std::nullopt;
  };
  llvm::SmallVector<int64_t> src, dst;
  for (unsigned i = 0; i < from.getRank(); ++i)
    if (valueOf(from.dims[i]) != 1)
      src.push_back(i);
  for (unsigned i = 0; i < to.getRank(); ++i)
    if (valueOf(to.dims[i]) != 1)
      dst.push_back(i);

  // Group the dimensions that are not 1; record each group's first index.
  llvm::SmallVector<std::pair<int64_t, int64_t>> starts;
  size_t i = 0, j = 0;
  while (i < src.size() || j < dst.size()) {
    if (i == src.size() || j == dst.size())
      return fail("they hold different numbers of elements");
    const Dim &a = from.dims[src[i]], &b = to.dims[dst[j]];
    starts.push_back({src[i], dst[j]});
    std::optional<int64_t> va = valueOf(a), vb = valueOf(b);
    if (!va || !vb) {
      if (a.isSameSymbol(b) && !va && !vb) {
        ++i, ++j;
        continue;
      }
      return fail("a symbolic dimension (" + describe(va ? b : a) +
                  ") can only stay as it is; only literal sizes split or "
                  "merge");
    }
    int64_t pa = *va, pb = *vb;
    ++i, ++j;
    while (pa != pb) {
      bool growA = pa < pb;
      llvm::SmallVector<int64_t> &idx = growA ? src : dst;
      size_t &pos = growA ? i : j;
      const CheckedType &t = growA ? from : to;
      if (pos == idx.size())
        return fail("they hold different numbers of elements");
      std::optional<int64_t> next = valueOf(t.dims[idx[pos]]);
      if (!next)
        return fail("a symbolic dimension (" + describe(t.dims[idx[pos]]) +
                    ") can only stay as it is; only literal sizes split or "
                    "merge");
      std::optional<int64_t> product =
          llvm::checkedMul(growA ? pa : pb, *next);
      if (!product)
        return fail("the sizes overflow");
      (growA ? pa : pb) = *product;
      ++pos;
    }
  }

  ReshapePlan plan;
  if (starts.empty()) {
    // Only dimensions of size 1: everything is one group (possibly empty).
    plan.srcGroups.emplace_back();
    plan.dstGroups.emplace_back();
    for (unsigned d = 0; d < from.getRank(); ++d)
      plan.srcGroups.back().push_back(d);
    for (unsigned d = 0; d < to.getRank(); ++d)
      plan.dstGroups.back().push_back(d);
    return plan;
  }
  // Group g spans from its start (0 for the first) up to the next start, so
  // each 1 joins the group on its left (or the first group).
  auto spans = [&](bool isSrc, unsigned rank) {
    llvm::SmallVector<llvm::SmallVector<int64_t, 2>> groups;
    for (size_t g = 0; g < starts.size(); ++g) {
      int64_t begin =
          g == 0 ? 0 : (isSrc ? starts[g].first : starts[g].second);
      int64_t end = g + 1 == starts.size()
                        ? rank
                        : (isSrc ? starts[g + 1].first : starts[g + 1].second);
      groups.emplace_back();
      for (int64_t d = begin; d < end; ++d)
        groups.back().push_back(d);
    }
    return groups;
  };
  plan.srcGroups = spans(true, from.getRank());
  plan.dstGroups = spans(false, to.getRank());
  return plan;
}

//===----------------------------------------------------------------------===//
// Module
//===----------------------------------------------------------------------===//

std::unique_ptr<SemaResult> gatec::checkModule(const ModuleAST &module,
                                               DiagnosticEngine &diag) {
  auto result = std::make_unique<SemaResult>();
  llvm::StringMap<SMLoc> kernelNames;
  for (const auto &kernel : module.kernels) {
    if (diag.tooManyErrors())
      break;
    auto [it, inserted] = kernelNames.try_emplace(kernel->name, kernel->loc);
    if (!inserted) {
      diag.error(kernel->loc, "kernel '" + kernel->name + "' is defined twice");
      diag.note(it->second, "first defined here");
    }
    auto info = std::make_unique<KernelInfo>();
    Checker checker(diag, *result, *kernel, *info);
    checker.check();
    result->kernels[kernel.get()] = std::move(info);
  }
  return result;
}
