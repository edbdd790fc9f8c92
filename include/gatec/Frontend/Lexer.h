//===- Lexer.h - Tokens of the .gate language ---------------------*- C++ -*-===//
//
// Part of gatec. The lexer works on one buffer of a llvm::SourceMgr so that
// every token carries an SMLoc the diagnostics can point at.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_FRONTEND_LEXER_H
#define GATEC_FRONTEND_LEXER_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"

#include <cstdint>
#include <string>

namespace gatec {

class DiagnosticEngine;

enum class TokenKind {
  eof,
  /// The end of a line outside any parentheses or brackets; ends statements.
  newline,
  /// Something the lexer already reported; the parser recovers silently.
  error,
  identifier,
  integer,
  floating,
  // Keywords.
  kw_kernel,
  kw_return,
  kw_true,
  kw_false,
  // Punctuation.
  l_paren,
  r_paren,
  l_square,
  r_square,
  l_brace,
  r_brace,
  comma,
  colon,
  semicolon,
  equal,
  arrow,
  at,
  plus,
  minus,
  star,
  star_star,
  slash,
};

/// One token: its kind and the text it spans in the source buffer.
struct Token {
  TokenKind kind = TokenKind::eof;
  llvm::StringRef spelling;
  /// The value of an integer or floating literal.
  int64_t intValue = 0;
  double floatValue = 0.0;

  bool is(TokenKind k) const { return kind == k; }
  bool isNot(TokenKind k) const { return kind != k; }
  llvm::SMLoc getLoc() const {
    return llvm::SMLoc::getFromPointer(spelling.data());
  }
  llvm::SMLoc getEndLoc() const {
    return llvm::SMLoc::getFromPointer(spelling.data() + spelling.size());
  }
  llvm::SMRange getRange() const { return {getLoc(), getEndLoc()}; }
};

/// Describes `kind` in messages: "'('", "identifier", "end of file"...
llvm::StringRef describeTokenKind(TokenKind kind);

/// Splits one source buffer into tokens. Reports malformed input (a bad
/// character, an unterminated comment, a literal out of range) itself and
/// returns an `error` token for it.
class Lexer {
public:
  /// Lexes `buffer`, which must be a whole SourceMgr buffer so that token
  /// locations resolve to file:line:col.
  Lexer(llvm::StringRef buffer, DiagnosticEngine &diag);

  Token lex();

  /// The `//` comment lines directly above the last token lexed, if that
  /// token began its line; used as the documentation of a `kernel`.
  std::string takeDocComment();

  /// Whether an unterminated comment swallowed the rest of the input: the
  /// parser then stays quiet about the end of file it finds.
  bool reachedEndThroughError() const { return truncated; }

private:
  Token makeToken(TokenKind kind, const char *start);
  Token lexIdentifier(const char *start);
  Token lexNumber(const char *start);
  Token lexBadCharacter(const char *start);
  /// Skips blanks and comments, not newlines. Returns false after reporting
  /// an unterminated block comment.
  bool skipBlanksAndComments();
  void recordLineComment(llvm::StringRef text, bool ownLine);

  const char *cur;
  const char *end;
  DiagnosticEngine &diag;

  /// 1-based line of `cur`, kept up to date as newlines are consumed.
  unsigned line = 1;
  /// Whether no token has been lexed yet on the current line.
  bool atLineStart = true;

  /// The run of `//` comment lines seen most recently, and the line of its
  /// last line; a token on the next line that begins its line gets it.
  llvm::SmallVector<std::string, 4> commentLines;
  unsigned lastCommentLine = 0;
  /// The documentation of the last token lexed.
  std::string pendingDoc;
  bool truncated = false;
};

} // namespace gatec

#endif // GATEC_FRONTEND_LEXER_H
