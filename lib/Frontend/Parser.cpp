//===- Parser.cpp - Parser of the .gate language --------------------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Frontend/Parser.h"

#include "gatec/Frontend/Diagnostics.h"
#include "gatec/Frontend/Lexer.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

using namespace gatec;
using llvm::SMLoc;
using llvm::StringRef;
using llvm::Twine;

namespace {

/// The most dimensions a tensor type may have. Far above what any layer
/// needs; it bounds the size of the affine maps MLIRGen builds.
constexpr size_t kMaxRank = 8;
/// The largest constant in a dimension such as `N + 1`: far above any
/// relation a layer states, and small enough that no sum overflows.
constexpr int64_t kMaxDimOffset = int64_t(1) << 32;

class Parser {
public:
  Parser(Lexer &lexer, DiagnosticEngine &diag) : lexer(lexer), diag(diag) {
    consume();
  }

  std::unique_ptr<ModuleAST> parseModule();

private:
  //===--------------------------------------------------------------------===//
  // Tokens
  //===--------------------------------------------------------------------===//

  /// Advances to the next token. Inside parentheses or brackets a statement
  /// continues across lines, so newlines are dropped there.
  void consume() {
    prevEnd = tok.getEndLoc();
    tok = lexer.lex();
    while (bracketDepth > 0 && tok.is(TokenKind::newline))
      tok = lexer.lex();
  }
  /// A line that ends with a binary operator, a ',' of a return list or the
  /// '->' of a kernel header goes on: called after consuming one of those.
  void skipNewlines() {
    while (tok.is(TokenKind::newline))
      consume();
  }
  /// Consumes an opening '(' or '['.
  void consumeOpen() {
    ++bracketDepth;
    consume();
  }
  /// Consumes a closing ')' or ']'.
  void consumeClose() {
    if (bracketDepth > 0)
      --bracketDepth;
    consume();
  }

  std::string describeToken() const {
    switch (tok.kind) {
    case TokenKind::identifier:
      return ("identifier '" + tok.spelling + "'").str();
    case TokenKind::integer:
    case TokenKind::floating:
      return ("number '" + tok.spelling + "'").str();
    default:
      return describeTokenKind(tok.kind).str();
    }
  }

  /// Whether the current token was already reported (by the lexer).
  bool tokenAlreadyReported() const {
    return tok.is(TokenKind::error) ||
           (tok.is(TokenKind::eof) && lexer.reachedEndThroughError());
  }

  /// Reports "expected <what>, got <current token>" at the current token.
  /// Returns false so that callers can `return expected(...)`.
  bool expected(const Twine &what) {
    if (tokenAlreadyReported())
      return false;
    // Inside brackets a statement runs on across lines, so a missing ')' or
    // ',' is only noticed on the next line: point at where it belongs.
    if (bracketDepth > 0 && prevEnd.isValid() &&
        diag.getLineAndColumn(prevEnd).first !=
            diag.getLineAndColumn(tok.getLoc()).first) {
      diag.error(prevEnd, "expected " + what + " after this, got " +
                              describeToken() + " on a later line");
      // The later line most likely starts the next statement.
      resumeAtToken = true;
      return false;
    }
    diag.error(tok.getLoc(), "expected " + what + ", got " + describeToken());
    return false;
  }

  bool atStatementEnd() const {
    return tok.is(TokenKind::newline) || tok.is(TokenKind::semicolon) ||
           tok.is(TokenKind::r_brace) || tok.is(TokenKind::eof);
  }

  //===--------------------------------------------------------------------===//
  // Recovery
  //===--------------------------------------------------------------------===//

  /// Skips to the next `kernel` keyword (or the end of the file).
  void skipToNextKernel() {
    bracketDepth = 0;
    while (tok.isNot(TokenKind::kw_kernel) && tok.isNot(TokenKind::eof))
      consume();
  }

  /// Skips the rest of a broken statement: to the end of its line, looking
  /// through the brackets it opened, but never past a '}' or `kernel`, which
  /// start something the parser can resume at.
  void skipStatement() {
    if (resumeAtToken) {
      resumeAtToken = false;
      bracketDepth = 0;
      return;
    }
    while (true) {
      switch (tok.kind) {
      case TokenKind::eof:
      case TokenKind::r_brace:
      case TokenKind::kw_kernel:
        bracketDepth = 0;
        return;
      case TokenKind::newline:
        consume();
        return;
      case TokenKind::semicolon:
        consume();
        if (bracketDepth == 0)
          return;
        break;
      case TokenKind::l_paren:
      case TokenKind::l_square:
        consumeOpen();
        break;
      case TokenKind::r_paren:
      case TokenKind::r_square:
        consumeClose();
        break;
      default:
        consume();
        break;
      }
    }
  }

  //===--------------------------------------------------------------------===//
  // Kernels
  //===--------------------------------------------------------------------===//

  std::unique_ptr<KernelAST> parseKernel();
  bool parseParam(ParamAST &param);
  bool parseResults(KernelAST &kernel);
  /// Parses `[d0, d1, ...]` after the dtype token `dtypeTok` (consumed).
  bool parseTypeAfterDType(const Token &dtypeTok, TypeAST &type);
  void parseBody(KernelAST &kernel);

  //===--------------------------------------------------------------------===//
  // Statements and expressions
  //===--------------------------------------------------------------------===//

  std::unique_ptr<StmtAST> parseStatement(KernelAST &kernel);
  bool expectStatementEnd();

  ExprPtr parseExpr() { return parseAdditive(); }
  ExprPtr parseAdditive();
  ExprPtr parseMultiplicative();
  ExprPtr parseUnary();
  ExprPtr parsePrimary();
  ExprPtr parseCall(StringRef callee, SMLoc loc);
  ExprPtr parseList();
  /// Builds `lhs op rhs` unless the tree would get too deep.
  ExprPtr makeBinary(SMLoc loc, BinaryOp op, ExprPtr lhs, ExprPtr rhs);
  void reportTooDeep(SMLoc loc);

  /// Counts the recursion of parseUnary (parentheses, calls, unary minus).
  struct DepthGuard {
    explicit DepthGuard(Parser &p) : p(p) { ++p.exprDepth; }
    ~DepthGuard() { --p.exprDepth; }
    bool tooDeep() const { return p.exprDepth > kMaxExprDepth; }
    Parser &p;
  };

  Lexer &lexer;
  DiagnosticEngine &diag;
  Token tok;
  /// The end of the token before `tok`.
  SMLoc prevEnd;
  /// Set when an error was placed at the end of an earlier line: recovery
  /// then resumes at the current token instead of skipping its line.
  bool resumeAtToken = false;
  unsigned bracketDepth = 0;
  unsigned exprDepth = 0;
  /// One "too deep" error per statement is enough.
  bool reportedTooDeep = false;
  /// Set when a kernel's header is invalid although it parsed (an unknown
  /// dtype, a zero dimension): the kernel is then not checked further.
  bool headerInvalid = false;
};

} // namespace

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

std::unique_ptr<ModuleAST> Parser::parseModule() {
  auto module = std::make_unique<ModuleAST>();
  while (!diag.tooManyErrors()) {
    while (tok.is(TokenKind::newline) || tok.is(TokenKind::semicolon))
      consume();
    if (tok.is(TokenKind::eof))
      break;
    if (tok.is(TokenKind::kw_kernel)) {
      if (std::unique_ptr<KernelAST> kernel = parseKernel())
        module->kernels.push_back(std::move(kernel));
      continue;
    }
    expected("'kernel' or the end of the file");
    consume();
    skipToNextKernel();
  }
  return module;
}

std::unique_ptr<KernelAST> Parser::parseKernel() {
  auto kernel = std::make_unique<KernelAST>();
  kernel->keywordLoc = tok.getLoc();
  kernel->doc = lexer.takeDocComment();
  headerInvalid = false;
  consume();

  auto fail = [&]() -> std::unique_ptr<KernelAST> {
    skipToNextKernel();
    return nullptr;
  };

  if (tok.isNot(TokenKind::identifier)) {
    expected("a kernel name after 'kernel'");
    return fail();
  }
  kernel->name = tok.spelling.str();
  kernel->loc = tok.getLoc();
  consume();

  if (tok.isNot(TokenKind::l_paren)) {
    expected("'(' to start the parameters of kernel '" + kernel->name + "'");
    return fail();
  }
  SMLoc lParen = tok.getLoc();
  consumeOpen();
  while (tok.isNot(TokenKind::r_paren)) {
    ParamAST param;
    if (!parseParam(param))
      return fail();
    kernel->params.push_back(std::move(param));
    if (tok.is(TokenKind::comma)) {
      consume();
      continue;
    }
    if (tok.isNot(TokenKind::r_paren)) {
      expected("',' or ')' after a parameter");
      if (!tokenAlreadyReported())
        diag.note(lParen, "to match this '('");
      return fail();
    }
  }
  consumeClose();

  // A long header may put its results on the next line.
  while (tok.is(TokenKind::newline))
    consume();
  if (tok.isNot(TokenKind::arrow)) {
    expected("'->' and the result types of kernel '" + kernel->name + "'");
    return fail();
  }
  consume();
  skipNewlines();
  if (!parseResults(*kernel))
    return fail();

  while (tok.is(TokenKind::newline))
    consume();
  if (tok.isNot(TokenKind::l_brace)) {
    expected("'{' to start the body of kernel '" + kernel->name + "'");
    return fail();
  }
  kernel->lBraceLoc = tok.getLoc();
  consume();
  // Header problems that did not stop the parse (an unknown dtype) were
  // reported; parse the body for its syntax errors, then drop the kernel.
  bool dropKernel = headerInvalid;
  parseBody(*kernel);
  if (dropKernel)
    return nullptr;
  return kernel;
}

bool Parser::parseParam(ParamAST &param) {
  if (tok.isNot(TokenKind::identifier))
    return expected("a parameter name");
  param.name = tok.spelling.str();
  param.loc = tok.getLoc();
  consume();
  if (tok.isNot(TokenKind::colon))
    return expected("':' and the type of parameter '" + param.name + "'");
  consume();
  if (tok.isNot(TokenKind::identifier))
    return expected("a tensor type such as 'bf16[T, 4096]'");
  Token dtypeTok = tok;
  consume();
  return parseTypeAfterDType(dtypeTok, param.type);
}

bool Parser::parseResults(KernelAST &kernel) {
  auto parseOne = [&](bool allowName) -> bool {
    if (tok.isNot(TokenKind::identifier))
      return expected("a result type such as 'bf16[T, 4096]'");
    ResultAST result;
    result.loc = tok.getLoc();
    Token first = tok;
    consume();
    if (allowName && tok.is(TokenKind::colon)) {
      result.name = first.spelling.str();
      consume();
      if (tok.isNot(TokenKind::identifier))
        return expected("a tensor type such as 'bf16[T, 4096]'");
      first = tok;
      consume();
    }
    if (!parseTypeAfterDType(first, result.type))
      return false;
    kernel.results.push_back(std::move(result));
    return true;
  };

  if (tok.isNot(TokenKind::l_paren))
    return parseOne(/*allowName=*/false);
  SMLoc lParen = tok.getLoc();
  consumeOpen();
  if (tok.is(TokenKind::r_paren))
    return expected("at least one result");
  while (true) {
    if (!parseOne(/*allowName=*/true))
      return false;
    if (tok.is(TokenKind::comma)) {
      consume();
      if (tok.is(TokenKind::r_paren))
        break;
      continue;
    }
    if (tok.is(TokenKind::r_paren))
      break;
    expected("',' or ')' after a result");
    if (!tokenAlreadyReported())
      diag.note(lParen, "to match this '('");
    return false;
  }
  consumeClose();
  return true;
}

bool Parser::parseTypeAfterDType(const Token &dtypeTok, TypeAST &type) {
  type.loc = dtypeTok.getLoc();
  if (std::optional<DType> dtype = parseDType(dtypeTok.spelling)) {
    type.dtype = *dtype;
  } else {
    diag.error(dtypeTok.getLoc(), "unknown dtype '" + dtypeTok.spelling +
                                      "': expected one of f32, f16, bf16, "
                                      "i32, i64");
    headerInvalid = true;
  }
  if (tok.isNot(TokenKind::l_square))
    return expected("'[' and the dimensions of the tensor (a scalar is '" +
                    dtypeTok.spelling + "[]')");
  SMLoc lSquare = tok.getLoc();
  consumeOpen();
  while (tok.isNot(TokenKind::r_square)) {
    DimAST dim;
    dim.loc = tok.getLoc();
    if (tok.is(TokenKind::identifier)) {
      dim.symbol = tok.spelling.str();
    } else if (tok.is(TokenKind::integer)) {
      dim.value = tok.intValue;
      if (dim.value < 1) {
        diag.error(dim.loc, "a dimension must be at least 1, got " +
                                tok.spelling);
        headerInvalid = true;
      }
    } else {
      return expected("a dimension: a size such as 4096 or a symbol such "
                      "as T");
    }
    consume();
    // `N + 1`, `N - 1`: a symbol plus a constant.
    if (dim.isSymbol() && (tok.is(TokenKind::plus) || tok.is(TokenKind::minus))) {
      bool minus = tok.is(TokenKind::minus);
      consume();
      if (tok.isNot(TokenKind::integer))
        return expected(Twine("an integer after '") + (minus ? "-" : "+") +
                        "' in the dimension " + dim.symbol + " " +
                        (minus ? "-" : "+") + " <integer>");
      if (tok.intValue > kMaxDimOffset) {
        diag.error(tok.getLoc(), "the constant of a dimension must be at most " +
                                     Twine(kMaxDimOffset) + ", got " +
                                     tok.spelling);
        headerInvalid = true;
      }
      dim.offset = minus ? -tok.intValue : tok.intValue;
      consume();
    }
    if (type.dims.size() == kMaxRank) {
      diag.error(dim.loc, "a tensor has at most " + Twine(kMaxRank) +
                              " dimensions");
      headerInvalid = true;
    }
    type.dims.push_back(std::move(dim));
    if (tok.is(TokenKind::comma)) {
      consume();
      continue;
    }
    if (tok.isNot(TokenKind::r_square)) {
      expected("',' or ']' in the dimensions");
      if (!tokenAlreadyReported())
        diag.note(lSquare, "to match this '['");
      return false;
    }
  }
  consumeClose();
  return true;
}

void Parser::parseBody(KernelAST &kernel) {
  while (!diag.tooManyErrors()) {
    while (tok.is(TokenKind::newline) || tok.is(TokenKind::semicolon))
      consume();
    if (tok.is(TokenKind::r_brace)) {
      kernel.rBraceLoc = tok.getLoc();
      consume();
      return;
    }
    if (tok.is(TokenKind::eof) || tok.is(TokenKind::kw_kernel)) {
      if (!tokenAlreadyReported()) {
        diag.error(tok.getLoc(),
                   (tok.is(TokenKind::eof) ? "unexpected end of file: "
                                           : "unexpected 'kernel': ") +
                       Twine("expected '}' to close the body of kernel '") +
                       kernel.name + "'");
        diag.note(kernel.lBraceLoc, "the body starts here");
      }
      kernel.hadSyntaxErrors = true;
      kernel.rBraceLoc = tok.getLoc();
      return;
    }
    reportedTooDeep = false;
    resumeAtToken = false;
    if (std::unique_ptr<StmtAST> stmt = parseStatement(kernel))
      kernel.body.push_back(std::move(stmt));
  }
  kernel.hadSyntaxErrors = true;
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

bool Parser::expectStatementEnd() {
  if (tok.is(TokenKind::newline) || tok.is(TokenKind::semicolon)) {
    consume();
    return true;
  }
  if (tok.is(TokenKind::r_brace) || tok.is(TokenKind::eof))
    return true;
  return expected("the end of the statement (a new line, ';' or '}')");
}

std::unique_ptr<StmtAST> Parser::parseStatement(KernelAST &kernel) {
  SMLoc loc = tok.getLoc();
  if (tok.is(TokenKind::kw_return)) {
    consume();
    std::vector<ExprPtr> values;
    if (atStatementEnd()) {
      diag.error(loc, "'return' needs at least one value");
      kernel.hadSyntaxErrors = true;
      skipStatement();
      return std::make_unique<ReturnStmtAST>(loc, std::move(values), true);
    }
    while (true) {
      ExprPtr value = parseExpr();
      if (!value) {
        kernel.hadSyntaxErrors = true;
        skipStatement();
        return std::make_unique<ReturnStmtAST>(loc, std::move(values), true);
      }
      values.push_back(std::move(value));
      if (tok.isNot(TokenKind::comma))
        break;
      consume();
      skipNewlines();
    }
    if (!expectStatementEnd()) {
      kernel.hadSyntaxErrors = true;
      skipStatement();
      return std::make_unique<ReturnStmtAST>(loc, std::move(values), true);
    }
    return std::make_unique<ReturnStmtAST>(loc, std::move(values), false);
  }

  std::vector<BindingAST> targets;
  bool isTuple = false;
  auto failStatement = [&]() -> std::unique_ptr<StmtAST> {
    kernel.hadSyntaxErrors = true;
    skipStatement();
    return nullptr;
  };

  if (tok.is(TokenKind::l_paren)) {
    isTuple = true;
    SMLoc lParen = tok.getLoc();
    consumeOpen();
    while (true) {
      if (tok.isNot(TokenKind::identifier)) {
        expected("a name to bind");
        return failStatement();
      }
      targets.push_back({tok.spelling.str(), tok.getLoc()});
      consume();
      if (tok.is(TokenKind::comma)) {
        consume();
        if (tok.is(TokenKind::r_paren))
          break;
        continue;
      }
      if (tok.is(TokenKind::r_paren))
        break;
      expected("',' or ')' in the names being bound");
      if (!tokenAlreadyReported())
        diag.note(lParen, "to match this '('");
      return failStatement();
    }
    consumeClose();
  } else if (tok.is(TokenKind::identifier)) {
    targets.push_back({tok.spelling.str(), tok.getLoc()});
    consume();
  } else {
    expected("a statement ('name = expression' or 'return values')");
    return failStatement();
  }

  if (tok.isNot(TokenKind::equal)) {
    expected("'=' after '" +
             (isTuple ? StringRef("(...)") : StringRef(targets[0].name)) +
             "' (a statement is 'name = expression' or 'return values')");
    return failStatement();
  }
  consume();

  ExprPtr value = parseExpr();
  bool ok = value && expectStatementEnd();
  if (!ok) {
    kernel.hadSyntaxErrors = true;
    skipStatement();
  }
  return std::make_unique<LetStmtAST>(loc, std::move(targets), isTuple,
                                      ok ? std::move(value) : nullptr);
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

void Parser::reportTooDeep(SMLoc loc) {
  if (reportedTooDeep)
    return;
  reportedTooDeep = true;
  diag.error(loc, "expression is nested too deeply (the limit is " +
                      Twine(kMaxExprDepth) + " levels)");
}

ExprPtr Parser::makeBinary(SMLoc loc, BinaryOp op, ExprPtr lhs, ExprPtr rhs) {
  auto expr =
      std::make_unique<BinaryExprAST>(loc, op, std::move(lhs), std::move(rhs));
  if (expr->getHeight() > kMaxExprDepth) {
    reportTooDeep(loc);
    return nullptr;
  }
  return expr;
}

ExprPtr Parser::parseAdditive() {
  ExprPtr lhs = parseMultiplicative();
  while (lhs && (tok.is(TokenKind::plus) || tok.is(TokenKind::minus))) {
    BinaryOp op = tok.is(TokenKind::plus) ? BinaryOp::Add : BinaryOp::Sub;
    SMLoc loc = tok.getLoc();
    consume();
    skipNewlines();
    ExprPtr rhs = parseMultiplicative();
    if (!rhs)
      return nullptr;
    lhs = makeBinary(loc, op, std::move(lhs), std::move(rhs));
  }
  return lhs;
}

ExprPtr Parser::parseMultiplicative() {
  ExprPtr lhs = parseUnary();
  while (lhs) {
    BinaryOp op;
    if (tok.is(TokenKind::star))
      op = BinaryOp::Mul;
    else if (tok.is(TokenKind::slash))
      op = BinaryOp::Div;
    else if (tok.is(TokenKind::at))
      op = BinaryOp::MatMul;
    else if (tok.is(TokenKind::star_star)) {
      diag.error(tok.getLoc(), "'**' is not an operator: write pow(a, b)");
      return nullptr;
    } else
      break;
    SMLoc loc = tok.getLoc();
    consume();
    skipNewlines();
    ExprPtr rhs = parseUnary();
    if (!rhs)
      return nullptr;
    lhs = makeBinary(loc, op, std::move(lhs), std::move(rhs));
  }
  return lhs;
}

ExprPtr Parser::parseUnary() {
  DepthGuard guard(*this);
  if (guard.tooDeep()) {
    reportTooDeep(tok.getLoc());
    return nullptr;
  }
  if (tok.is(TokenKind::minus)) {
    SMLoc loc = tok.getLoc();
    consume();
    ExprPtr operand = parseUnary();
    if (!operand)
      return nullptr;
    auto expr = std::make_unique<UnaryExprAST>(loc, std::move(operand));
    if (expr->getHeight() > kMaxExprDepth) {
      reportTooDeep(loc);
      return nullptr;
    }
    return expr;
  }
  return parsePrimary();
}

ExprPtr Parser::parsePrimary() {
  SMLoc loc = tok.getLoc();
  switch (tok.kind) {
  case TokenKind::integer: {
    auto expr =
        std::make_unique<NumberExprAST>(loc, tok.floatValue, tok.intValue);
    consume();
    return expr;
  }
  case TokenKind::floating: {
    auto expr =
        std::make_unique<NumberExprAST>(loc, tok.floatValue, std::nullopt);
    consume();
    return expr;
  }
  case TokenKind::kw_true:
  case TokenKind::kw_false: {
    auto expr =
        std::make_unique<BoolExprAST>(loc, tok.is(TokenKind::kw_true));
    consume();
    return expr;
  }
  case TokenKind::identifier: {
    StringRef name = tok.spelling;
    consume();
    if (tok.is(TokenKind::l_paren))
      return parseCall(name, loc);
    return std::make_unique<NameExprAST>(loc, name);
  }
  case TokenKind::l_paren: {
    consumeOpen();
    ExprPtr expr = parseExpr();
    if (!expr)
      return nullptr;
    if (tok.isNot(TokenKind::r_paren)) {
      expected("')'");
      if (!tokenAlreadyReported())
        diag.note(loc, "to match this '('");
      return nullptr;
    }
    consumeClose();
    return expr;
  }
  case TokenKind::l_square:
    return parseList();
  default:
    expected("an expression");
    return nullptr;
  }
}

ExprPtr Parser::parseCall(StringRef callee, SMLoc loc) {
  std::string name = callee.str();
  SMLoc lParen = tok.getLoc();
  consumeOpen();
  std::vector<ExprPtr> args;
  std::vector<KeywordArgAST> keywords;
  while (tok.isNot(TokenKind::r_paren)) {
    ExprPtr arg = parseExpr();
    if (!arg)
      return nullptr;
    if (tok.is(TokenKind::equal)) {
      auto *keyword = llvm::dyn_cast<NameExprAST>(arg.get());
      if (!keyword) {
        diag.error(tok.getLoc(),
                   "expected a keyword name before '=' (as in 'act = silu')");
        return nullptr;
      }
      consume();
      ExprPtr value = parseExpr();
      if (!value)
        return nullptr;
      keywords.push_back(
          {keyword->getName().str(), keyword->getLoc(), std::move(value)});
    } else {
      if (!keywords.empty()) {
        diag.error(arg->getLoc(), "positional argument after keyword "
                                  "arguments in the call to '" +
                                      name + "'");
        return nullptr;
      }
      args.push_back(std::move(arg));
    }
    if (tok.is(TokenKind::comma)) {
      consume();
      continue;
    }
    if (tok.isNot(TokenKind::r_paren)) {
      expected("',' or ')' in the call to '" + name + "'");
      if (!tokenAlreadyReported())
        diag.note(lParen, "to match this '('");
      return nullptr;
    }
  }
  SMLoc rParen = tok.getLoc();
  consumeClose();
  return std::make_unique<CallExprAST>(loc, name, std::move(args),
                                       std::move(keywords), rParen);
}

ExprPtr Parser::parseList() {
  SMLoc loc = tok.getLoc();
  consumeOpen();
  std::vector<ExprPtr> elements;
  while (tok.isNot(TokenKind::r_square)) {
    ExprPtr element = parseExpr();
    if (!element)
      return nullptr;
    elements.push_back(std::move(element));
    if (tok.is(TokenKind::comma)) {
      consume();
      continue;
    }
    if (tok.isNot(TokenKind::r_square)) {
      expected("',' or ']' in the list");
      if (!tokenAlreadyReported())
        diag.note(loc, "to match this '['");
      return nullptr;
    }
  }
  consumeClose();
  return std::make_unique<ListExprAST>(loc, std::move(elements));
}

std::unique_ptr<ModuleAST> gatec::parseModule(DiagnosticEngine &diag) {
  llvm::SourceMgr &sourceMgr = diag.getSourceMgr();
  const llvm::MemoryBuffer *buffer =
      sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  Lexer lexer(buffer->getBuffer(), diag);
  Parser parser(lexer, diag);
  return parser.parseModule();
}
