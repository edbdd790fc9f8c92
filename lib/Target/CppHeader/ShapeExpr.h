//===- ShapeExpr.h - gate.shape dimension expressions -----------*- C++ -*-===//
//
// Part of gatec. Private to the header emitter.
//
//===----------------------------------------------------------------------===//
//
// A `gate.shape` entry is an integer, a symbol (`T`) or a C-style integer
// expression over symbols and integers with + - * / and parentheses, e.g.
// `(T*2 + 8*63 + 63)/64*64`. Division is C's: int64, truncating toward zero.
// Constant subexpressions are folded while parsing, with the same int64
// overflow and division-by-zero rules the generated header applies at run
// time, so a constant that would overflow is rejected at generation time.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_TARGET_CPPHEADER_SHAPEEXPR_H
#define GATEC_LIB_TARGET_CPPHEADER_SHAPEEXPR_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace gatec::shape_expr {

struct Node;
using Expr = std::shared_ptr<const Node>;

/// One node of a parsed expression. Trees are immutable and may share nodes.
struct Node {
  enum class Kind { Constant, Symbol, Neg, Add, Sub, Mul, Div };
  Kind kind;
  int64_t value = 0;  ///< Constant.
  std::string symbol; ///< Symbol.
  Expr lhs, rhs;      ///< Operands; Neg uses lhs only.

  bool isConstant() const { return kind == Kind::Constant; }
  bool isSymbol() const { return kind == Kind::Symbol; }
};

/// Parses `text`. On failure returns null and sets `error` to a message that
/// names the offending column (1-based), e.g. "expected ')' at column 6".
Expr parse(llvm::StringRef text, std::string &error);

/// A constant expression.
Expr constant(int64_t value);
/// A single symbol.
Expr symbol(llvm::StringRef name);

/// `expr` as `symbol + offset` when it is a symbol plus or minus a constant
/// (`N + 1`, `M - 1`, `1 + N`), the form a parameter's dimension can bind
/// its symbol from; nullopt for anything else.
struct SymbolPlusConstant {
  std::string symbol;
  int64_t offset;
};
std::optional<SymbolPlusConstant> matchSymbolPlusConstant(const Node &expr);

/// Appends the symbols of `expr` to `symbols`, each once, in the order they
/// first appear when reading the expression left to right.
void collectSymbols(const Node &expr,
                    llvm::SmallVectorImpl<std::string> &symbols);

/// `text` with its whitespace runs collapsed to one space and trimmed: the
/// form quoted in comments and run-time messages.
std::string normalize(llvm::StringRef text);

/// True for [A-Za-z_][A-Za-z0-9_]*.
bool isIdentifier(llvm::StringRef text);

} // namespace gatec::shape_expr

#endif // GATEC_LIB_TARGET_CPPHEADER_SHAPEEXPR_H
