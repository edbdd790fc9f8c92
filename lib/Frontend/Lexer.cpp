//===- Lexer.cpp - Tokens of the .gate language ---------------------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Frontend/Lexer.h"

#include "gatec/Frontend/Diagnostics.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

using namespace gatec;
using llvm::SMLoc;
using llvm::StringRef;

StringRef gatec::describeTokenKind(TokenKind kind) {
  switch (kind) {
  case TokenKind::eof:
    return "end of file";
  case TokenKind::newline:
    return "end of line";
  case TokenKind::error:
    return "invalid token";
  case TokenKind::identifier:
    return "identifier";
  case TokenKind::integer:
    return "integer";
  case TokenKind::floating:
    return "number";
  case TokenKind::kw_kernel:
    return "'kernel'";
  case TokenKind::kw_return:
    return "'return'";
  case TokenKind::kw_true:
    return "'true'";
  case TokenKind::kw_false:
    return "'false'";
  case TokenKind::l_paren:
    return "'('";
  case TokenKind::r_paren:
    return "')'";
  case TokenKind::l_square:
    return "'['";
  case TokenKind::r_square:
    return "']'";
  case TokenKind::l_brace:
    return "'{'";
  case TokenKind::r_brace:
    return "'}'";
  case TokenKind::comma:
    return "','";
  case TokenKind::colon:
    return "':'";
  case TokenKind::semicolon:
    return "';'";
  case TokenKind::equal:
    return "'='";
  case TokenKind::arrow:
    return "'->'";
  case TokenKind::at:
    return "'@'";
  case TokenKind::plus:
    return "'+'";
  case TokenKind::minus:
    return "'-'";
  case TokenKind::star:
    return "'*'";
  case TokenKind::star_star:
    return "'**'";
  case TokenKind::slash:
    return "'/'";
  }
  return "token";
}

Lexer::Lexer(StringRef buffer, DiagnosticEngine &diag)
    : cur(buffer.begin()), end(buffer.end()), diag(diag) {}

static bool isIdentifierStart(char c) {
  return llvm::isAlpha(c) || c == '_';
}
static bool isIdentifierChar(char c) { return llvm::isAlnum(c) || c == '_'; }

Token Lexer::makeToken(TokenKind kind, const char *start) {
  Token tok;
  tok.kind = kind;
  tok.spelling = StringRef(start, cur - start);
  if (kind == TokenKind::newline)
    return tok;
  // Documentation belongs to a token that begins its line right below a run
  // of `//` lines; any other token ends the run.
  pendingDoc.clear();
  if (atLineStart && !commentLines.empty() && lastCommentLine + 1 == line)
    pendingDoc = llvm::join(commentLines, "\n");
  commentLines.clear();
  atLineStart = false;
  return tok;
}

void Lexer::recordLineComment(StringRef text, bool ownLine) {
  // A comment after code on its line documents nothing.
  if (!ownLine) {
    commentLines.clear();
    lastCommentLine = 0;
    return;
  }
  if (commentLines.empty() || lastCommentLine + 1 != line)
    commentLines.clear();
  // `// text` and `/// text` both document as `text`.
  text = text.ltrim('/');
  if (text.starts_with(" "))
    text = text.drop_front();
  commentLines.push_back(text.rtrim().str());
  lastCommentLine = line;
}

bool Lexer::skipBlanksAndComments() {
  while (cur != end) {
    char c = *cur;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      ++cur;
      continue;
    }
    if (c == '/' && cur + 1 != end && cur[1] == '/') {
      const char *textBegin = cur + 2;
      while (cur != end && *cur != '\n')
        ++cur;
      recordLineComment(StringRef(textBegin, cur - textBegin), atLineStart);
      continue;
    }
    if (c == '/' && cur + 1 != end && cur[1] == '*') {
      const char *start = cur;
      cur += 2;
      commentLines.clear();
      while (true) {
        if (cur == end) {
          diag.error(SMLoc::getFromPointer(start),
                     "unterminated '/*' comment: expected '*/' before the "
                     "end of the file");
          truncated = true;
          return false;
        }
        if (*cur == '*' && cur + 1 != end && cur[1] == '/') {
          cur += 2;
          break;
        }
        if (*cur == '\n')
          ++line;
        ++cur;
      }
      continue;
    }
    break;
  }
  return true;
}

Token Lexer::lex() {
  const char *start = cur;
  if (!skipBlanksAndComments())
    return makeToken(TokenKind::error, start);

  start = cur;
  if (cur == end)
    return makeToken(TokenKind::eof, start);

  char c = *cur;
  if (c == '\n') {
    // One token for a run of blank or comment-only lines.
    while (cur != end && *cur == '\n') {
      ++cur;
      ++line;
      atLineStart = true;
      // An unterminated comment was reported and took the rest of the
      // input; the next call returns the end of file.
      if (!skipBlanksAndComments())
        break;
    }
    Token tok;
    tok.kind = TokenKind::newline;
    tok.spelling = StringRef(start, 1);
    return tok;
  }

  if (isIdentifierStart(c))
    return lexIdentifier(start);
  if (llvm::isDigit(c))
    return lexNumber(start);

  ++cur;
  switch (c) {
  case '(':
    return makeToken(TokenKind::l_paren, start);
  case ')':
    return makeToken(TokenKind::r_paren, start);
  case '[':
    return makeToken(TokenKind::l_square, start);
  case ']':
    return makeToken(TokenKind::r_square, start);
  case '{':
    return makeToken(TokenKind::l_brace, start);
  case '}':
    return makeToken(TokenKind::r_brace, start);
  case ',':
    return makeToken(TokenKind::comma, start);
  case ':':
    return makeToken(TokenKind::colon, start);
  case ';':
    return makeToken(TokenKind::semicolon, start);
  case '=':
    return makeToken(TokenKind::equal, start);
  case '@':
    return makeToken(TokenKind::at, start);
  case '+':
    return makeToken(TokenKind::plus, start);
  case '/':
    return makeToken(TokenKind::slash, start);
  case '-':
    if (cur != end && *cur == '>') {
      ++cur;
      return makeToken(TokenKind::arrow, start);
    }
    return makeToken(TokenKind::minus, start);
  case '*':
    if (cur != end && *cur == '*') {
      ++cur;
      return makeToken(TokenKind::star_star, start);
    }
    return makeToken(TokenKind::star, start);
  default:
    cur = start;
    return lexBadCharacter(start);
  }
}

Token Lexer::lexBadCharacter(const char *start) {
  unsigned char c = static_cast<unsigned char>(*cur++);
  // Take a whole UTF-8 sequence so that one stray character is one error.
  if (c >= 0x80)
    while (cur != end && (static_cast<unsigned char>(*cur) & 0xC0) == 0x80)
      ++cur;
  std::string shown;
  llvm::raw_string_ostream os(shown);
  if (c >= 0x20 && c < 0x7F)
    os << "'" << static_cast<char>(c) << "'";
  else
    os << "byte 0x" << llvm::format_hex_no_prefix(c, 2, /*Upper=*/true);
  StringRef hint;
  if (c == '^')
    hint = "; for a power write pow(a, b)";
  else if (c == '#')
    hint = "; comments start with '//'";
  else if (c == '"' || c == '\'')
    hint = "; the language has no strings";
  diag.error(SMLoc::getFromPointer(start),
             "unexpected character " + shown + hint);
  return makeToken(TokenKind::error, start);
}

Token Lexer::lexIdentifier(const char *start) {
  while (cur != end && isIdentifierChar(*cur))
    ++cur;
  StringRef text(start, cur - start);
  TokenKind kind = llvm::StringSwitch<TokenKind>(text)
                       .Case("kernel", TokenKind::kw_kernel)
                       .Case("return", TokenKind::kw_return)
                       .Case("true", TokenKind::kw_true)
                       .Case("false", TokenKind::kw_false)
                       .Default(TokenKind::identifier);
  return makeToken(kind, start);
}

Token Lexer::lexNumber(const char *start) {
  bool isFloat = false;
  while (cur != end && llvm::isDigit(*cur))
    ++cur;
  if (cur + 1 < end && *cur == '.' && llvm::isDigit(cur[1])) {
    isFloat = true;
    ++cur;
    while (cur != end && llvm::isDigit(*cur))
      ++cur;
  }
  if (cur != end && (*cur == 'e' || *cur == 'E')) {
    const char *exp = cur + 1;
    if (exp != end && (*exp == '+' || *exp == '-'))
      ++exp;
    if (exp != end && llvm::isDigit(*exp)) {
      isFloat = true;
      cur = exp;
      while (cur != end && llvm::isDigit(*cur))
        ++cur;
    }
  }
  // `4096x` or `1.5e`: one bad literal, not a number and a name.
  if (cur != end && (isIdentifierChar(*cur) || *cur == '.')) {
    while (cur != end && (isIdentifierChar(*cur) || *cur == '.'))
      ++cur;
    diag.error(SMLoc::getFromPointer(start),
               "invalid number '" + StringRef(start, cur - start) + "'");
    return makeToken(TokenKind::error, start);
  }

  StringRef text(start, cur - start);
  if (!isFloat) {
    uint64_t value = 0;
    if (text.getAsInteger(10, value) ||
        value > static_cast<uint64_t>(INT64_MAX)) {
      diag.error(SMLoc::getFromPointer(start),
                 "integer literal '" + text +
                     "' is too large (the largest is 9223372036854775807)");
      return makeToken(TokenKind::error, start);
    }
    Token tok = makeToken(TokenKind::integer, start);
    tok.intValue = static_cast<int64_t>(value);
    tok.floatValue = static_cast<double>(value);
    return tok;
  }

  std::string copy = text.str();
  errno = 0;
  double value = std::strtod(copy.c_str(), nullptr);
  if (!std::isfinite(value)) {
    diag.error(SMLoc::getFromPointer(start),
               "number '" + text + "' is out of range for a 64-bit float");
    return makeToken(TokenKind::error, start);
  }
  Token tok = makeToken(TokenKind::floating, start);
  tok.floatValue = value;
  return tok;
}

std::string Lexer::takeDocComment() {
  std::string doc = std::move(pendingDoc);
  pendingDoc.clear();
  return doc;
}
