//===- SemaExpr.cpp - Expressions in .gate sema ---------------------------===//
//
// Part of gatec. Types every expression: constants (folded at compile time),
// names, unary minus, the elementwise operators with broadcasting, and '@'.
// Calls are checked in SemaBuiltins.cpp.
//
//===----------------------------------------------------------------------===//

#include "Frontend/SemaImpl.h"

#include <cmath>
#include <vector>

using namespace gatec;
using namespace gatec::sema;

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
    return record(expr,
                  constant(num.getValue(), num.getIntValue().has_value()));
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
                         foldKeepsInt && lhs.constantIsInt && rhs.constantIsInt,
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
                        " and " + formatType(rhs) +
                        "; convert one with cast(x, " +
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
