//===- Parser.h - Parser of the .gate language --------------------*- C++ -*-===//
//
// Part of gatec. A recursive-descent parser in the style of MLIR's Toy
// tutorial, with error recovery: after an error in a statement it resumes at
// the next statement, after an error in a kernel header at the next kernel.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_FRONTEND_PARSER_H
#define GATEC_FRONTEND_PARSER_H

#include "gatec/Frontend/AST.h"

#include <memory>

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace gatec {

class DiagnosticEngine;

/// Parses the main buffer of the engine's SourceMgr. Always returns a module
/// holding every kernel that parsed far enough to be checked; whether the
/// input was valid is `diag.hadErrors()`.
std::unique_ptr<ModuleAST> parseModule(DiagnosticEngine &diag);

/// The deepest expression nesting accepted (parentheses, calls, operators);
/// deeper input is an error rather than a stack overflow.
constexpr unsigned kMaxExprDepth = 256;

} // namespace gatec

#endif // GATEC_FRONTEND_PARSER_H
