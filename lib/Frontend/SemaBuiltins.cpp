//===- SemaBuiltins.cpp - Builtin calls in .gate sema ---------------------===//
//
// Part of gatec. The table of builtins (their arity and keywords), the checks
// every call gets (a known callee, the argument count, known keywords given
// once, the number of results bound) and the builtins that are not layer calls;
// reshape and broadcast are checked in SemaShapes.cpp, each layer call in a
// file of its own.
//
//===----------------------------------------------------------------------===//

#include "Frontend/SemaImpl.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <vector>

using namespace gatec;
using namespace gatec::sema;

//===----------------------------------------------------------------------===//
// Builtins
//===----------------------------------------------------------------------===//

namespace gatec::sema {

struct BuiltinSpec {
  StringRef name;
  Builtin builtin;
  unsigned minArgs, maxArgs;
  /// How the positional parameters are called, for messages.
  StringRef argNames;
  /// Accepted keywords, comma-separated.
  StringRef keywords;
};

} // namespace gatec::sema

namespace {

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

bool isUnaryElementwise(Builtin b) {
  return b >= Builtin::Exp && b <= Builtin::Neg;
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

} // namespace

const BuiltinSpec *gatec::sema::lookupBuiltin(StringRef name) {
  for (const BuiltinSpec &spec : kBuiltins)
    if (spec.name == name)
      return &spec;
  return nullptr;
}

static double powFold(double a, double b) { return std::pow(a, b); }
static double maxFold(double a, double b) { return std::max(a, b); }
static double minFold(double a, double b) { return std::min(a, b); }

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
    std::string expectedCount = spec->minArgs == spec->maxArgs
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
      std::string message =
          "unknown keyword '" + kw.name + "' for '" + spec->name.str() + "'";
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
    StringRef names = spec->builtin == Builtin::Route ? "(weights, experts)"
                      : spec->builtin == Builtin::Dispatch
                          ? "(sorted_pairs, block_experts, expert_offsets, "
                            "expert_counts, pair_positions)"
                          : "";
    if (wanted == 1)
      diag.error(call.getLoc(), "'" + spec->name + "' gives " +
                                    Twine(produced) + " results " + names +
                                    "; bind them all, as in '" + names + " = " +
                                    spec->name + "(...)'");
    else
      diag.error(call.getLoc(),
                 "'" + spec->name + "' gives " + Twine(produced) + " result" +
                     (produced == 1 ? "" : "s") + (names.empty() ? "" : " ") +
                     names + ", but " + Twine(wanted) + " are expected here");
    return invalid();
  }
  result.calls[&call] = callInfo;
  return value;
}

ExprInfo Checker::checkBuiltin(const CallExprAST &call, const BuiltinSpec &spec,
                               CallInfo &callInfo, unsigned wanted) {
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
    double (*fold)(double, double) = builtin == Builtin::Pow       ? powFold
                                     : builtin == Builtin::Maximum ? maxFold
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
        diag.error(kw->value->getLoc(), "'eps' must be a finite number >= 0");
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
