//===- AST.h - Syntax tree of the .gate language ------------------*- C++ -*-===//
//
// Part of gatec. The tree is what the parser read, nothing more: names are
// unresolved and expressions untyped. Sema annotates it on the side.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_FRONTEND_AST_H
#define GATEC_FRONTEND_AST_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Casting.h"
#include "llvm/Support/SMLoc.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace gatec {

class DiagnosticEngine;

/// Element types a .gate tensor may have.
enum class DType { f32, f16, bf16, i32, i64 };

llvm::StringRef stringifyDType(DType type);
std::optional<DType> parseDType(llvm::StringRef name);
inline bool isFloatDType(DType type) {
  return type == DType::f32 || type == DType::f16 || type == DType::bf16;
}

/// One dimension as written in a type or a shape list: `T` or `4096`.
struct DimAST {
  /// Empty for a literal.
  std::string symbol;
  int64_t value = 0;
  /// For a symbol: the constant added to it (`N + 1` is symbol N, offset 1),
  /// so that a parameter can state a size relation such as cu_seqlens'.
  int64_t offset = 0;
  llvm::SMLoc loc;

  bool isSymbol() const { return !symbol.empty(); }
};

/// A tensor type as written: `bf16[T, 4096]`.
struct TypeAST {
  DType dtype = DType::f32;
  llvm::SMLoc loc;
  llvm::SmallVector<DimAST, 4> dims;
};

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

class ExprAST {
public:
  enum class Kind { Number, Bool, Name, Unary, Binary, Call, List };

  ExprAST(Kind kind, llvm::SMLoc loc) : kind(kind), loc(loc) {}
  virtual ~ExprAST() = default;

  Kind getKind() const { return kind; }
  /// Where diagnostics about this expression point: the operator of a
  /// binary expression, the callee of a call, the start of anything else.
  llvm::SMLoc getLoc() const { return loc; }
  /// Depth of the tree below and including this node; the parser bounds it
  /// so that every recursive walk over expressions has bounded depth.
  unsigned getHeight() const { return height; }

protected:
  unsigned height = 1;

private:
  const Kind kind;
  llvm::SMLoc loc;
};

using ExprPtr = std::unique_ptr<ExprAST>;

/// `64`, `2.5`, `1e-6`.
class NumberExprAST : public ExprAST {
public:
  NumberExprAST(llvm::SMLoc loc, double value, std::optional<int64_t> intValue)
      : ExprAST(Kind::Number, loc), value(value), intValue(intValue) {}
  double getValue() const { return value; }
  /// Set for a literal written without a fraction or exponent.
  std::optional<int64_t> getIntValue() const { return intValue; }
  static bool classof(const ExprAST *e) { return e->getKind() == Kind::Number; }

private:
  double value;
  std::optional<int64_t> intValue;
};

/// `true`, `false`.
class BoolExprAST : public ExprAST {
public:
  BoolExprAST(llvm::SMLoc loc, bool value)
      : ExprAST(Kind::Bool, loc), value(value) {}
  bool getValue() const { return value; }
  static bool classof(const ExprAST *e) { return e->getKind() == Kind::Bool; }

private:
  bool value;
};

/// A variable, or in keyword position a word such as `silu`.
class NameExprAST : public ExprAST {
public:
  NameExprAST(llvm::SMLoc loc, llvm::StringRef name)
      : ExprAST(Kind::Name, loc), name(name.str()) {}
  llvm::StringRef getName() const { return name; }
  static bool classof(const ExprAST *e) { return e->getKind() == Kind::Name; }

private:
  std::string name;
};

/// `-x`.
class UnaryExprAST : public ExprAST {
public:
  UnaryExprAST(llvm::SMLoc loc, ExprPtr operand)
      : ExprAST(Kind::Unary, loc), operand(std::move(operand)) {
    height = this->operand->getHeight() + 1;
  }
  const ExprAST &getOperand() const { return *operand; }
  static bool classof(const ExprAST *e) { return e->getKind() == Kind::Unary; }

private:
  ExprPtr operand;
};

enum class BinaryOp { Add, Sub, Mul, Div, MatMul };
llvm::StringRef stringifyBinaryOp(BinaryOp op);

/// `a + b`, `x @ w`, ...; the location is the operator's.
class BinaryExprAST : public ExprAST {
public:
  BinaryExprAST(llvm::SMLoc opLoc, BinaryOp op, ExprPtr lhs, ExprPtr rhs)
      : ExprAST(Kind::Binary, opLoc), op(op), lhs(std::move(lhs)),
        rhs(std::move(rhs)) {
    height = std::max(this->lhs->getHeight(), this->rhs->getHeight()) + 1;
  }
  BinaryOp getOp() const { return op; }
  const ExprAST &getLHS() const { return *lhs; }
  const ExprAST &getRHS() const { return *rhs; }
  static bool classof(const ExprAST *e) { return e->getKind() == Kind::Binary; }

private:
  BinaryOp op;
  ExprPtr lhs, rhs;
};

/// `name = value` inside a call.
struct KeywordArgAST {
  std::string name;
  llvm::SMLoc loc;
  ExprPtr value;
};

/// `callee(arg, ..., key = value, ...)`; the location is the callee's.
class CallExprAST : public ExprAST {
public:
  CallExprAST(llvm::SMLoc loc, llvm::StringRef callee,
              std::vector<ExprPtr> args, std::vector<KeywordArgAST> keywords,
              llvm::SMLoc rParenLoc)
      : ExprAST(Kind::Call, loc), callee(callee.str()), args(std::move(args)),
        keywords(std::move(keywords)), rParenLoc(rParenLoc) {
    for (const ExprPtr &arg : this->args)
      height = std::max(height, arg->getHeight() + 1);
    for (const KeywordArgAST &kw : this->keywords)
      height = std::max(height, kw.value->getHeight() + 1);
  }
  llvm::StringRef getCallee() const { return callee; }
  const std::vector<ExprPtr> &getArgs() const { return args; }
  const std::vector<KeywordArgAST> &getKeywords() const { return keywords; }
  llvm::SMLoc getRParenLoc() const { return rParenLoc; }
  static bool classof(const ExprAST *e) { return e->getKind() == Kind::Call; }

private:
  std::string callee;
  std::vector<ExprPtr> args;
  std::vector<KeywordArgAST> keywords;
  llvm::SMLoc rParenLoc;
};

/// `[B, T, 16, 1]`: a shape argument of reshape and broadcast.
class ListExprAST : public ExprAST {
public:
  ListExprAST(llvm::SMLoc loc, std::vector<ExprPtr> elements)
      : ExprAST(Kind::List, loc), elements(std::move(elements)) {
    for (const ExprPtr &e : this->elements)
      height = std::max(height, e->getHeight() + 1);
  }
  const std::vector<ExprPtr> &getElements() const { return elements; }
  static bool classof(const ExprAST *e) { return e->getKind() == Kind::List; }

private:
  std::vector<ExprPtr> elements;
};

//===----------------------------------------------------------------------===//
// Statements and kernels
//===----------------------------------------------------------------------===//

/// A name being bound, with where it is written.
struct BindingAST {
  std::string name;
  llvm::SMLoc loc;
};

class StmtAST {
public:
  enum class Kind { Let, Return };
  StmtAST(Kind kind, llvm::SMLoc loc) : kind(kind), loc(loc) {}
  virtual ~StmtAST() = default;
  Kind getKind() const { return kind; }
  llvm::SMLoc getLoc() const { return loc; }

private:
  const Kind kind;
  llvm::SMLoc loc;
};

/// `h = expr` or `(w, e) = expr`. After a syntax error in the value, the
/// value is null: the names stay bound (to nothing) so that later uses do
/// not cascade into "unknown name" errors.
class LetStmtAST : public StmtAST {
public:
  LetStmtAST(llvm::SMLoc loc, std::vector<BindingAST> targets, bool isTuple,
             ExprPtr value)
      : StmtAST(Kind::Let, loc), targets(std::move(targets)),
        isTuple(isTuple), value(std::move(value)) {}
  const std::vector<BindingAST> &getTargets() const { return targets; }
  bool isTupleBinding() const { return isTuple; }
  const ExprAST *getValue() const { return value.get(); }
  static bool classof(const StmtAST *s) { return s->getKind() == Kind::Let; }

private:
  std::vector<BindingAST> targets;
  bool isTuple;
  ExprPtr value;
};

/// `return a, b`. `hadError` marks a return whose values did not parse.
class ReturnStmtAST : public StmtAST {
public:
  ReturnStmtAST(llvm::SMLoc loc, std::vector<ExprPtr> values, bool hadError)
      : StmtAST(Kind::Return, loc), values(std::move(values)),
        hadError(hadError) {}
  const std::vector<ExprPtr> &getValues() const { return values; }
  bool hadSyntaxError() const { return hadError; }
  static bool classof(const StmtAST *s) { return s->getKind() == Kind::Return; }

private:
  std::vector<ExprPtr> values;
  bool hadError;
};

struct ParamAST {
  std::string name;
  llvm::SMLoc loc;
  TypeAST type;
};

/// A declared result; `name` is empty when the result is not named.
struct ResultAST {
  std::string name;
  llvm::SMLoc loc;
  TypeAST type;
};

struct KernelAST {
  std::string name;
  llvm::SMLoc loc;        // the name
  llvm::SMLoc keywordLoc; // `kernel`
  std::string doc;        // `//` lines right above `kernel`
  std::vector<ParamAST> params;
  std::vector<ResultAST> results;
  std::vector<std::unique_ptr<StmtAST>> body;
  llvm::SMLoc lBraceLoc, rBraceLoc;
  /// Some statement failed to parse: sema skips the whole-kernel checks
  /// (a missing return, the result count) that the error may explain.
  bool hadSyntaxErrors = false;
};

struct ModuleAST {
  std::vector<std::unique_ptr<KernelAST>> kernels;
};

/// Prints the tree, one node a line, with line:col locations (what
/// `gatec --emit=ast` shows); only the kernel `onlyKernel` if not empty.
void dumpAST(const ModuleAST &module, const DiagnosticEngine &diag,
             llvm::raw_ostream &os, llvm::StringRef onlyKernel = "");

} // namespace gatec

#endif // GATEC_FRONTEND_AST_H
