//===- AST.cpp - Syntax tree of the .gate language ------------------------===//
//
// Part of gatec. Besides the small helpers, this is the `--emit=ast` dump.
//
//===----------------------------------------------------------------------===//

#include "gatec/Frontend/AST.h"

#include "gatec/Frontend/Diagnostics.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>

using namespace gatec;
using llvm::StringRef;

StringRef gatec::stringifyDType(DType type) {
  switch (type) {
  case DType::f32:
    return "f32";
  case DType::f16:
    return "f16";
  case DType::bf16:
    return "bf16";
  case DType::i32:
    return "i32";
  case DType::i64:
    return "i64";
  }
  return "?";
}

std::optional<DType> gatec::parseDType(StringRef name) {
  return llvm::StringSwitch<std::optional<DType>>(name)
      .Case("f32", DType::f32)
      .Case("f16", DType::f16)
      .Case("bf16", DType::bf16)
      .Case("i32", DType::i32)
      .Case("i64", DType::i64)
      .Default(std::nullopt);
}

StringRef gatec::stringifyBinaryOp(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add:
    return "+";
  case BinaryOp::Sub:
    return "-";
  case BinaryOp::Mul:
    return "*";
  case BinaryOp::Div:
    return "/";
  case BinaryOp::MatMul:
    return "@";
  }
  return "?";
}

namespace {

/// Prints one node a line, indented by depth, each with its line:col.
class ASTDumper {
public:
  ASTDumper(const DiagnosticEngine &diag, llvm::raw_ostream &os)
      : diag(diag), os(os) {}

  void dump(const ModuleAST &module, StringRef onlyKernel) {
    os << "Module\n";
    for (const auto &kernel : module.kernels)
      if (onlyKernel.empty() || kernel->name == onlyKernel)
        dump(*kernel, 1);
  }

private:
  void indent(unsigned depth) { os.indent(2 * depth); }
  void loc(llvm::SMLoc l) {
    auto [line, col] = diag.getLineAndColumn(l);
    os << " @" << line << ":" << col << "\n";
  }

  void dump(const TypeAST &type) {
    os << stringifyDType(type.dtype) << "[";
    llvm::interleaveComma(type.dims, os, [&](const DimAST &dim) {
      if (!dim.isSymbol())
        os << dim.value;
      else if (dim.offset == 0)
        os << dim.symbol;
      else
        os << dim.symbol << (dim.offset > 0 ? " + " : " - ")
           << (dim.offset > 0 ? dim.offset : -dim.offset);
    });
    os << "]";
  }

  void dump(const KernelAST &kernel, unsigned depth) {
    indent(depth);
    os << "Kernel " << kernel.name;
    loc(kernel.loc);
    if (!kernel.doc.empty()) {
      indent(depth + 1);
      os << "Doc \"";
      os.write_escaped(kernel.doc);
      os << "\"\n";
    }
    for (const ParamAST &param : kernel.params) {
      indent(depth + 1);
      os << "Param " << param.name << ": ";
      dump(param.type);
      loc(param.loc);
    }
    for (const ResultAST &result : kernel.results) {
      indent(depth + 1);
      os << "Result ";
      if (!result.name.empty())
        os << result.name << ": ";
      dump(result.type);
      loc(result.loc);
    }
    for (const auto &stmt : kernel.body)
      dump(*stmt, depth + 1);
  }

  void dump(const StmtAST &stmt, unsigned depth) {
    indent(depth);
    if (const auto *let = llvm::dyn_cast<LetStmtAST>(&stmt)) {
      os << "Let ";
      if (let->isTupleBinding())
        os << "(";
      llvm::interleaveComma(let->getTargets(), os,
                            [&](const BindingAST &b) { os << b.name; });
      if (let->isTupleBinding())
        os << ")";
      loc(stmt.getLoc());
      if (const ExprAST *value = let->getValue())
        dump(*value, depth + 1);
      return;
    }
    const auto &ret = llvm::cast<ReturnStmtAST>(stmt);
    os << "Return";
    loc(stmt.getLoc());
    for (const ExprPtr &value : ret.getValues())
      dump(*value, depth + 1);
  }

  void dump(const ExprAST &expr, unsigned depth) {
    indent(depth);
    switch (expr.getKind()) {
    case ExprAST::Kind::Number: {
      const auto &num = llvm::cast<NumberExprAST>(expr);
      os << "Number ";
      if (std::optional<int64_t> i = num.getIntValue()) {
        os << *i;
      } else {
        char text[32];
        std::snprintf(text, sizeof(text), "%g", num.getValue());
        os << text;
      }
      loc(expr.getLoc());
      return;
    }
    case ExprAST::Kind::Bool:
      os << "Bool " << (llvm::cast<BoolExprAST>(expr).getValue() ? "true"
                                                                 : "false");
      loc(expr.getLoc());
      return;
    case ExprAST::Kind::Name:
      os << "Name " << llvm::cast<NameExprAST>(expr).getName();
      loc(expr.getLoc());
      return;
    case ExprAST::Kind::Unary:
      os << "Neg";
      loc(expr.getLoc());
      dump(llvm::cast<UnaryExprAST>(expr).getOperand(), depth + 1);
      return;
    case ExprAST::Kind::Binary: {
      const auto &bin = llvm::cast<BinaryExprAST>(expr);
      os << "BinOp " << stringifyBinaryOp(bin.getOp());
      loc(expr.getLoc());
      dump(bin.getLHS(), depth + 1);
      dump(bin.getRHS(), depth + 1);
      return;
    }
    case ExprAST::Kind::Call: {
      const auto &call = llvm::cast<CallExprAST>(expr);
      os << "Call " << call.getCallee();
      loc(expr.getLoc());
      for (const ExprPtr &arg : call.getArgs())
        dump(*arg, depth + 1);
      for (const KeywordArgAST &kw : call.getKeywords()) {
        indent(depth + 1);
        os << "Keyword " << kw.name;
        loc(kw.loc);
        dump(*kw.value, depth + 2);
      }
      return;
    }
    case ExprAST::Kind::List:
      os << "List";
      loc(expr.getLoc());
      for (const ExprPtr &e : llvm::cast<ListExprAST>(expr).getElements())
        dump(*e, depth + 1);
      return;
    }
  }

  const DiagnosticEngine &diag;
  llvm::raw_ostream &os;
};

} // namespace

void gatec::dumpAST(const ModuleAST &module, const DiagnosticEngine &diag,
                    llvm::raw_ostream &os, StringRef onlyKernel) {
  ASTDumper(diag, os).dump(module, onlyKernel);
}
