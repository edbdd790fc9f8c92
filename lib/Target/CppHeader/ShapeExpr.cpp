//===- ShapeExpr.cpp - gate.shape dimension expressions -------------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "Target/CppHeader/ShapeExpr.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CheckedArithmetic.h"

#include <fmt/format.h>

#include <optional>

using namespace gatec::shape_expr;

Expr gatec::shape_expr::constant(int64_t value) {
  auto node = std::make_shared<Node>();
  node->kind = Node::Kind::Constant;
  node->value = value;
  return node;
}

Expr gatec::shape_expr::symbol(llvm::StringRef name) {
  auto node = std::make_shared<Node>();
  node->kind = Node::Kind::Symbol;
  node->symbol = name.str();
  return node;
}

bool gatec::shape_expr::isIdentifier(llvm::StringRef text) {
  if (text.empty() || !(llvm::isAlpha(text.front()) || text.front() == '_'))
    return false;
  return llvm::all_of(text,
                      [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

std::string gatec::shape_expr::normalize(llvm::StringRef text) {
  std::string out;
  bool pendingSpace = false;
  for (char c : text) {
    if (llvm::isSpace(c)) {
      pendingSpace = !out.empty();
      continue;
    }
    if (pendingSpace)
      out.push_back(' ');
    pendingSpace = false;
    out.push_back(c);
  }
  return out;
}

std::optional<SymbolPlusConstant>
gatec::shape_expr::matchSymbolPlusConstant(const Node &expr) {
  if (expr.kind != Node::Kind::Add && expr.kind != Node::Kind::Sub)
    return std::nullopt;
  const Node &lhs = *expr.lhs, &rhs = *expr.rhs;
  // The parser bounds dimension constants far below INT64_MAX, so negating
  // one cannot overflow; INT64_MIN is refused all the same.
  if (lhs.isSymbol() && rhs.isConstant() && rhs.value != INT64_MIN)
    return SymbolPlusConstant{
        lhs.symbol, expr.kind == Node::Kind::Add ? rhs.value : -rhs.value};
  if (expr.kind == Node::Kind::Add && lhs.isConstant() && rhs.isSymbol())
    return SymbolPlusConstant{rhs.symbol, lhs.value};
  return std::nullopt;
}

void gatec::shape_expr::collectSymbols(
    const Node &expr, llvm::SmallVectorImpl<std::string> &symbols) {
  if (expr.isSymbol()) {
    if (!llvm::is_contained(symbols, expr.symbol))
      symbols.push_back(expr.symbol);
    return;
  }
  if (expr.lhs)
    collectSymbols(*expr.lhs, symbols);
  if (expr.rhs)
    collectSymbols(*expr.rhs, symbols);
}

namespace {

/// Recursive descent over
///   expr   := term (('+' | '-') term)*
///   term   := unary (('*' | '/') unary)*
///   unary  := ('-' | '+') unary | primary
///   primary:= integer | identifier | '(' expr ')'
/// Binary operators are left-associative, as in C.
class Parser {
public:
  explicit Parser(llvm::StringRef text) : text(text) {}

  Expr parseAll() {
    Expr e = parseExpr();
    if (!e)
      return nullptr;
    skipSpace();
    if (pos != text.size())
      return fail(fmt::format("unexpected '{}'", text[pos]));
    return e;
  }

  std::string error;

private:
  Expr fail(const std::string &what) {
    if (error.empty())
      error = fmt::format("{} at column {}", what, pos + 1);
    return nullptr;
  }

  void skipSpace() {
    while (pos < text.size() && llvm::isSpace(text[pos]))
      ++pos;
  }

  bool consume(char c) {
    skipSpace();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }

  /// Builds `lhs op rhs`, folding it when both sides are constants.
  Expr binary(Node::Kind kind, Expr lhs, Expr rhs, size_t opPos) {
    if (lhs->isConstant() && rhs->isConstant()) {
      int64_t a = lhs->value, b = rhs->value;
      std::optional<int64_t> r;
      switch (kind) {
      case Node::Kind::Add:
        r = llvm::checkedAdd(a, b);
        break;
      case Node::Kind::Sub:
        r = llvm::checkedSub(a, b);
        break;
      case Node::Kind::Mul:
        r = llvm::checkedMul(a, b);
        break;
      case Node::Kind::Div:
        if (b == 0) {
          pos = opPos;
          return fail("division by zero");
        }
        if (!(a == INT64_MIN && b == -1))
          r = a / b; // C and C++ both truncate toward zero.
        break;
      default:
        llvm_unreachable("not a binary operator");
      }
      if (!r) {
        pos = opPos;
        return fail("int64 overflow");
      }
      return constant(*r);
    }
    if (kind == Node::Kind::Div && rhs->isConstant() && rhs->value == 0) {
      pos = opPos;
      return fail("division by zero");
    }
    auto node = std::make_shared<Node>();
    node->kind = kind;
    node->lhs = std::move(lhs);
    node->rhs = std::move(rhs);
    return node;
  }

  Expr parseExpr() {
    Expr lhs = parseTerm();
    while (lhs) {
      skipSpace();
      size_t opPos = pos;
      Node::Kind kind;
      if (consume('+'))
        kind = Node::Kind::Add;
      else if (consume('-'))
        kind = Node::Kind::Sub;
      else
        break;
      Expr rhs = parseTerm();
      if (!rhs)
        return nullptr;
      lhs = binary(kind, lhs, rhs, opPos);
    }
    return lhs;
  }

  Expr parseTerm() {
    Expr lhs = parseUnary();
    while (lhs) {
      skipSpace();
      size_t opPos = pos;
      Node::Kind kind;
      if (consume('*'))
        kind = Node::Kind::Mul;
      else if (consume('/'))
        kind = Node::Kind::Div;
      else
        break;
      Expr rhs = parseUnary();
      if (!rhs)
        return nullptr;
      lhs = binary(kind, lhs, rhs, opPos);
    }
    return lhs;
  }

  Expr parseUnary() {
    skipSpace();
    size_t opPos = pos;
    if (consume('+'))
      return parseUnary();
    if (!consume('-'))
      return parsePrimary();
    Expr operand = parseUnary();
    if (!operand)
      return nullptr;
    if (operand->isConstant()) {
      if (operand->value == INT64_MIN) {
        pos = opPos;
        return fail("int64 overflow");
      }
      return constant(-operand->value);
    }
    auto node = std::make_shared<Node>();
    node->kind = Node::Kind::Neg;
    node->lhs = std::move(operand);
    return node;
  }

  Expr parsePrimary() {
    skipSpace();
    if (pos == text.size())
      return fail("expected an integer, a symbol or '('");
    char c = text[pos];
    if (c == '(') {
      ++pos;
      Expr inner = parseExpr();
      if (!inner)
        return nullptr;
      if (!consume(')'))
        return fail("expected ')'");
      return inner;
    }
    if (llvm::isDigit(c)) {
      size_t start = pos;
      while (pos < text.size() && llvm::isDigit(text[pos]))
        ++pos;
      if (pos < text.size() && (llvm::isAlpha(text[pos]) || text[pos] == '_'))
        return fail("expected an operator after an integer");
      int64_t value;
      // getAsInteger rejects values that do not fit in int64.
      if (text.slice(start, pos).getAsInteger(10, value)) {
        pos = start;
        return fail("integer does not fit in int64");
      }
      return constant(value);
    }
    if (llvm::isAlpha(c) || c == '_') {
      size_t start = pos;
      while (pos < text.size() &&
             (llvm::isAlnum(text[pos]) || text[pos] == '_'))
        ++pos;
      return symbol(text.slice(start, pos));
    }
    return fail(fmt::format("unexpected '{}'", c));
  }

  llvm::StringRef text;
  size_t pos = 0;
};

} // namespace

Expr gatec::shape_expr::parse(llvm::StringRef text, std::string &error) {
  Parser parser(text);
  Expr e = parser.parseAll();
  if (!e)
    error = parser.error;
  return e;
}
