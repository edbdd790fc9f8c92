//===- PTXParser.h - The PTX parser's lexer and state -----------*- C++ -*-===//
//
// Part of gatec. What the PTX parser's files share: the lexer (tokens,
// numbers, line tracking) and the Parser's state. Directives, declarations
// and function bodies are parsed in PTXParser.cpp, instructions and their
// operands in PTXInstructions.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_CUDASIM_PTXPARSER_H
#define GATEC_LIB_CUDASIM_PTXPARSER_H

#include "gatec/CudaSim/PTX.h"

#include <cctype>
#include <stdexcept>
#include <unordered_map>

namespace gatec::cudasim::detail {

struct ParseError : std::runtime_error {
  ParseError(unsigned line, const std::string &message)
      : std::runtime_error(message), line(line) {}
  unsigned line;
};

/// The PTX type of each type suffix (without its dot).
const std::unordered_map<std::string, Ty> &typeNames();

class Parser {
public:
  Parser(const std::string &text, Module &module) : s(text), m(module) {}

  void run();

private:
  // Lexing ---------------------------------------------------------------
  void skipSpace() {
    while (pos < s.size()) {
      char c = s[pos];
      if (c == '\n') {
        ++line;
        ++pos;
      } else if (isspace(static_cast<unsigned char>(c))) {
        ++pos;
      } else if (c == '/' && pos + 1 < s.size() && s[pos + 1] == '/') {
        while (pos < s.size() && s[pos] != '\n')
          ++pos;
      } else if (c == '/' && pos + 1 < s.size() && s[pos + 1] == '*') {
        pos += 2;
        while (pos + 1 < s.size() && !(s[pos] == '*' && s[pos + 1] == '/')) {
          if (s[pos] == '\n')
            ++line;
          ++pos;
        }
        pos += 2;
      } else {
        break;
      }
    }
  }
  static bool isIdentChar(char c) {
    return isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
           c == '%' || c == '.';
  }
  /// The next token: an identifier-like word (with dots and '::'), a number,
  /// a string, or one punctuation character. Empty at the end.
  std::string next() {
    skipSpace();
    if (pos >= s.size())
      return "";
    size_t start = pos;
    char c = s[pos];
    if (c == '"') {
      ++pos;
      while (pos < s.size() && s[pos] != '"')
        ++pos;
      ++pos;
      return s.substr(start, pos - start);
    }
    if (isIdentChar(c) || (c == '-' && pos + 1 < s.size() &&
                           isdigit(static_cast<unsigned char>(s[pos + 1])))) {
      ++pos;
      while (pos < s.size()) {
        if (isIdentChar(s[pos])) {
          ++pos;
        } else if (s[pos] == ':' && pos + 2 < s.size() && s[pos + 1] == ':' &&
                   isIdentChar(s[pos + 2])) {
          pos += 2;
        } else if ((s[pos] == '+' || s[pos] == '-') &&
                   (s[pos - 1] == 'e' || s[pos - 1] == 'E') &&
                   isdigit(static_cast<unsigned char>(s[start]))) {
          ++pos; // exponent of a decimal float
        } else {
          break;
        }
      }
      return s.substr(start, pos - start);
    }
    ++pos;
    return std::string(1, c);
  }
  std::string peek() {
    size_t p = pos;
    unsigned l = line;
    std::string t = next();
    pos = p;
    line = l;
    return t;
  }
  void expect(const std::string &t) {
    std::string got = next();
    if (got != t)
      fail("expected '" + t + "', found '" + got + "'");
  }
  [[noreturn]] void fail(const std::string &message) {
    throw ParseError(line, message);
  }
  static bool parseInt(const std::string &t, int64_t &v) {
    if (t.empty())
      return false;
    const char *p = t.c_str();
    bool negative = *p == '-';
    if (negative)
      ++p;
    uint64_t value = 0;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
      p += 2;
      if (!*p)
        return false;
      for (; *p && *p != 'U'; ++p) {
        if (!isxdigit(static_cast<unsigned char>(*p)))
          return false;
        value = value * 16 + (isdigit(static_cast<unsigned char>(*p))
                                  ? *p - '0'
                                  : (tolower(*p) - 'a' + 10));
      }
    } else if (isdigit(static_cast<unsigned char>(*p))) {
      for (; *p && *p != 'U'; ++p) {
        if (!isdigit(static_cast<unsigned char>(*p)))
          return false;
        value = value * 10 + (*p - '0');
      }
    } else {
      return false;
    }
    v = negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
    return true;
  }

  // Structure ------------------------------------------------------------
  /// `{.align A | .type | .ptr/state space}* name{[N] | []}` of a variable
  /// or parameter: the symbol (name, alignment, size) and whether its array
  /// was unsized.
  Symbol parseDeclaration(Space space, bool &unsized, Ty &type);
  /// Places `sym` at the next multiple of its alignment of `cursor`.
  static void place(uint64_t &cursor, Symbol &sym) {
    cursor = (cursor + sym.align - 1) / sym.align * sym.align;
    sym.offset = cursor;
    cursor += sym.size;
  }
  void parseModuleDirective(const std::string &t);
  void parseVariable(Space space, bool external);
  void parseFunction(bool isKernel);
  void parseParams(Function &f);
  void parseBody(Function &f);
  void parseRegDecl(Function &f);
  void parseInstruction(Function &f, std::string opcode, int32_t guard,
                        bool guardNegate, unsigned startLine, size_t startPos);
  Operand parseOperand(Function &f, std::vector<Operand> &pool);
  uint32_t lookupReg(const std::string &name);
  int32_t lookupSymbol(Function &f, const std::string &name);

  const std::string &s;
  Module &m;
  size_t pos = 0;
  unsigned line = 1;
  /// Register scopes of the function being parsed: the body, then one per
  /// nested `{ }` block.
  std::vector<std::unordered_map<std::string, uint32_t>> scopes;
  std::unordered_map<std::string, int32_t> moduleSymbols;
  std::unordered_map<std::string, int32_t> functionSymbols;
  /// Branch targets to resolve at the end of the function: (inst, name).
  std::vector<std::pair<uint32_t, std::string>> branches;
  std::unordered_map<std::string, uint32_t> labels;
  /// The name of the label operand parseOperand returned last.
  std::string labelName;
};

} // namespace gatec::cudasim::detail

#endif // GATEC_LIB_CUDASIM_PTXPARSER_H
