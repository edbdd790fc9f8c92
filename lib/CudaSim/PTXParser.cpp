//===- PTXParser.cpp - PTX text to the emulator's decoded form ------------===//
//
// One pass over the text: directives lay out parameters and variables,
// register declarations (including those of inline-asm scoped blocks, which
// shadow outer names) get indices, and each instruction's dotted opcode is
// decoded into an Inst. Anything not understood is an error naming the line
// and the instruction: the emulator never skips an instruction.
//
//===----------------------------------------------------------------------===//

#include "gatec/CudaSim/PTX.h"

#include <cctype>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

namespace gatec::cudasim {

unsigned sizeOf(Ty t) {
  switch (t) {
  case Ty::B8: case Ty::U8: case Ty::S8: case Ty::Pred: return 1;
  case Ty::B16: case Ty::U16: case Ty::S16: case Ty::F16: case Ty::BF16:
    return 2;
  case Ty::B32: case Ty::U32: case Ty::S32: case Ty::F32: case Ty::F16x2:
  case Ty::BF16x2:
    return 4;
  case Ty::B64: case Ty::U64: case Ty::S64: case Ty::F64: return 8;
  case Ty::B128: return 16;
  case Ty::None: return 0;
  }
  return 0;
}

bool isFloat(Ty t) {
  return t == Ty::F16 || t == Ty::F16x2 || t == Ty::BF16 ||
         t == Ty::BF16x2 || t == Ty::F32 || t == Ty::F64;
}

bool isSigned(Ty t) {
  return t == Ty::S8 || t == Ty::S16 || t == Ty::S32 || t == Ty::S64;
}

const char *nameOf(Ty t) {
  static const char *names[] = {
      "none", "b8",  "b16",  "b32",   "b64", "b128",   "u8",
      "u16",  "u32", "u64",  "s8",    "s16", "s32",    "s64",
      "f16",  "f16x2", "bf16", "bf16x2", "f32", "f64", "pred"};
  return names[static_cast<int>(t)];
}

namespace {

struct ParseError : std::runtime_error {
  ParseError(unsigned line, const std::string &message)
      : std::runtime_error(message), line(line) {}
  unsigned line;
};

const std::unordered_map<std::string, Ty> &typeNames() {
  static const std::unordered_map<std::string, Ty> names = {
      {"b8", Ty::B8},     {"b16", Ty::B16},     {"b32", Ty::B32},
      {"b64", Ty::B64},   {"b128", Ty::B128},   {"u8", Ty::U8},
      {"u16", Ty::U16},   {"u32", Ty::U32},     {"u64", Ty::U64},
      {"s8", Ty::S8},     {"s16", Ty::S16},     {"s32", Ty::S32},
      {"s64", Ty::S64},   {"f16", Ty::F16},     {"f16x2", Ty::F16x2},
      {"bf16", Ty::BF16}, {"bf16x2", Ty::BF16x2}, {"f32", Ty::F32},
      {"f64", Ty::F64},   {"pred", Ty::Pred}};
  return names;
}

const std::unordered_map<std::string, Special> &specialNames() {
  static const std::unordered_map<std::string, Special> names = {
      {"%tid.x", Special::TidX},         {"%tid.y", Special::TidY},
      {"%tid.z", Special::TidZ},         {"%ntid.x", Special::NtidX},
      {"%ntid.y", Special::NtidY},       {"%ntid.z", Special::NtidZ},
      {"%ctaid.x", Special::CtaidX},     {"%ctaid.y", Special::CtaidY},
      {"%ctaid.z", Special::CtaidZ},     {"%nctaid.x", Special::NctaidX},
      {"%nctaid.y", Special::NctaidY},   {"%nctaid.z", Special::NctaidZ},
      {"%laneid", Special::Laneid},      {"%warpid", Special::Warpid},
      {"%nwarpid", Special::Nwarpid},    {"WARP_SZ", Special::WarpSize},
      {"%lanemask_eq", Special::LanemaskEq},
      {"%lanemask_lt", Special::LanemaskLt},
      {"%lanemask_le", Special::LanemaskLe},
      {"%lanemask_gt", Special::LanemaskGt},
      {"%lanemask_ge", Special::LanemaskGe},
      {"%clock", Special::Clock},        {"%clock64", Special::Clock64},
      {"%globaltimer", Special::Globaltimer}, {"%smid", Special::Smid},
      {"%nsmid", Special::Nsmid},
      {"%dynamic_smem_size", Special::DynamicSmemSize},
      {"%total_smem_size", Special::TotalSmemSize}};
  return names;
}

const std::unordered_map<std::string, Op> &opNames() {
  static const std::unordered_map<std::string, Op> names = {
      {"add", Op::Add},       {"sub", Op::Sub},         {"mul", Op::Mul},
      {"mad", Op::Mad},       {"fma", Op::Fma},         {"div", Op::Div},
      {"rem", Op::Rem},       {"abs", Op::Abs},         {"neg", Op::Neg},
      {"min", Op::Min},       {"max", Op::Max},         {"mul24", Op::Mul24},
      {"mad24", Op::Mad24},   {"sad", Op::Sad},         {"popc", Op::Popc},
      {"clz", Op::Clz},       {"brev", Op::Brev},       {"bfe", Op::Bfe},
      {"bfi", Op::Bfi},       {"bfind", Op::Bfind},     {"copysign", Op::Copysign},
      {"testp", Op::Testp},   {"rcp", Op::Rcp},         {"sqrt", Op::Sqrt},
      {"rsqrt", Op::Rsqrt},   {"ex2", Op::Ex2},         {"lg2", Op::Lg2},
      {"sin", Op::Sin},       {"cos", Op::Cos},         {"tanh", Op::Tanh},
      {"and", Op::And},       {"or", Op::Or},           {"xor", Op::Xor},
      {"not", Op::Not},       {"cnot", Op::Cnot},       {"lop3", Op::Lop3},
      {"shl", Op::Shl},       {"shr", Op::Shr},         {"shf", Op::Shf},
      {"prmt", Op::Prmt},     {"setp", Op::Setp},       {"set", Op::Set},
      {"selp", Op::Selp},     {"slct", Op::Slct},       {"mov", Op::Mov},
      {"ld", Op::Ld},         {"ldu", Op::Ldu},         {"st", Op::St},
      {"cvt", Op::Cvt},       {"cvta", Op::Cvta},       {"isspacep", Op::Isspacep},
      {"prefetch", Op::Prefetch}, {"prefetchu", Op::Prefetch},
      {"bra", Op::Bra},       {"ret", Op::Ret},         {"exit", Op::Exit},
      {"call", Op::Call},     {"trap", Op::Trap},       {"membar", Op::Membar},
      {"fence", Op::Fence},   {"atom", Op::Atom},       {"red", Op::Red},
      {"vote", Op::Vote},     {"shfl", Op::Shfl},       {"redux", Op::Redux},
      {"activemask", Op::Activemask}, {"nanosleep", Op::Nanosleep},
      {"mma", Op::MmaSync},   {"ldmatrix", Op::Ldmatrix},
      {"stmatrix", Op::Stmatrix}};
  return names;
}

/// Modifiers that only tune caching, ordering scope or alignment promises and
/// do not change an instruction's single-threaded result in the emulator
/// (PTX ISA 9.7.9.8 cache operators, 8.4 memory consistency scopes).
bool isIgnoredModifier(const std::string &m) {
  static const char *ignored[] = {
      "ca",  "cg",      "cs",      "lu",      "cv",  "wb",       "wt",
      "nc",  "volatile","relaxed", "acquire", "release", "acq_rel", "sc",
      "sys", "gpu",     "cta",     "cluster", "sync", "aligned", "weak",
      "mmio", "L1::evict_normal", "L1::evict_last", "L1::evict_first",
      "L1::no_allocate", "L2::64B", "L2::128B", "L2::256B",
      "L2::cache_hint", "L2::evict_normal", "L2::evict_first",
      "L2::evict_last", "unified", "uni"};
  for (const char *i : ignored)
    if (m == i)
      return true;
  return false;
}

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
                        bool guardNegate, unsigned startLine,
                        size_t startPos);
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

void Parser::run() {
  for (;;) {
    std::string t = next();
    if (t.empty())
      break;
    parseModuleDirective(t);
  }
}

void Parser::parseModuleDirective(const std::string &t) {
  if (t == ".version") {
    std::string v = next();
    size_t dot = v.find('.');
    m.ptxVersion = std::stoi(v.substr(0, dot)) * 10 +
                   (dot == std::string::npos ? 0 : std::stoi(v.substr(dot + 1)));
    return;
  }
  if (t == ".target") {
    m.target = next();
    while (peek() == ",") {
      next();
      next();
    }
    if (m.target.rfind("sm_", 0) != 0)
      fail("unsupported .target '" + m.target + "'");
    std::string digits = m.target.substr(3);
    m.archSpecific = !digits.empty() && digits.back() == 'a';
    if (m.archSpecific)
      digits.pop_back();
    m.smVersion = std::stoi(digits);
    return;
  }
  if (t == ".address_size") {
    if (next() != "64")
      fail("only .address_size 64 is supported");
    return;
  }
  if (t == ".file" || t == ".section" || t == ".pragma") {
    // Debug information and pragmas: skip to the end of the statement or
    // section body.
    int depth = 0;
    for (;;) {
      std::string x = next();
      if (x.empty())
        return;
      if (x == "{")
        ++depth;
      if (x == "}" && --depth <= 0)
        return;
      if (x == ";" && depth == 0)
        return;
      if (t == ".file" && depth == 0 && peek().size() && peek()[0] == '.')
        return;
    }
  }
  bool external = false;
  std::string d = t;
  while (d == ".visible" || d == ".extern" || d == ".weak" || d == ".common") {
    external |= d == ".extern";
    d = next();
  }
  if (d == ".entry" || d == ".func") {
    parseFunction(d == ".entry");
    return;
  }
  if (d == ".shared") {
    parseVariable(Space::Shared, external);
    return;
  }
  if (d == ".global") {
    parseVariable(Space::Global, external);
    return;
  }
  if (d == ".const") {
    parseVariable(Space::Const, external);
    return;
  }
  fail("unsupported module directive '" + d + "'");
}

Symbol Parser::parseDeclaration(Space space, bool &unsized, Ty &type) {
  Symbol sym;
  sym.space = space;
  type = Ty::B8;
  std::string t = next();
  for (;; t = next()) {
    if (t == ".align") {
      sym.align = static_cast<unsigned>(std::stoul(next()));
    } else if (t == ".v2" || t == ".v4") {
      fail("vector variables are not supported");
    } else if (t == ".ptr" || t == ".global" || t == ".shared" ||
               t == ".const" || t == ".local") {
      // A parameter's pointee space: no effect on its layout.
    } else if (!t.empty() && t[0] == '.' && typeNames().count(t.substr(1))) {
      type = typeNames().at(t.substr(1));
    } else {
      break;
    }
  }
  sym.name = t;
  uint64_t count = 1;
  unsized = false;
  if (peek() == "[") {
    next();
    std::string n = next();
    int64_t v;
    if (n == "]") {
      unsized = true;
    } else if (!parseInt(n, v)) {
      fail("bad array size '" + n + "'");
    } else {
      count = static_cast<uint64_t>(v);
      expect("]");
    }
  }
  sym.align = std::max<unsigned>(sym.align, sizeOf(type));
  sym.size = count * sizeOf(type);
  return sym;
}

/// `.shared .align A .b8 name[N];`, `.extern .shared .align A .b8 name[];`
/// and `.global`/`.const` variables with optional initializers.
void Parser::parseVariable(Space space, bool external) {
  bool unsized;
  Ty type;
  Symbol sym = parseDeclaration(space, unsized, type);
  std::vector<uint8_t> init;
  if (peek() == "=") {
    next();
    bool braced = peek() == "{";
    if (braced)
      next();
    for (;;) {
      std::string v = next();
      int64_t x = 0;
      if (!parseInt(v, x))
        fail("unsupported initializer '" + v + "'");
      for (unsigned b = 0; b < sizeOf(type); ++b)
        init.push_back(static_cast<uint8_t>(static_cast<uint64_t>(x) >> (8 * b)));
      if (!braced || peek() != ",")
        break;
      next();
    }
    if (braced)
      expect("}");
  }
  expect(";");
  if (space == Space::Shared) {
    if (unsized || (external && sym.size == 0)) {
      sym.dynamicShared = true;
      sym.size = 0;
      m.dynamicSharedAlign = std::max<uint64_t>(m.dynamicSharedAlign, sym.align);
    } else {
      place(m.sharedBytes, sym);
    }
  } else {
    uint64_t at = (m.globalImage.size() + sym.align - 1) / sym.align * sym.align;
    m.globalImage.resize(at + sym.size);
    sym.offset = at;
    std::copy(init.begin(), init.end(), m.globalImage.begin() + at);
  }
  moduleSymbols[sym.name] = static_cast<int32_t>(m.symbols.size());
  m.symbols.push_back(sym);
}

void Parser::parseFunction(bool isKernel) {
  auto f = std::make_unique<Function>();
  f->isKernel = isKernel;
  std::string t = next();
  if (t == "(") // a .func with return parameters
    fail("device functions with return values are not supported");
  f->name = t;
  // The kernel's shared memory starts with the module's static variables
  // (ptxas keeps only those referenced; the emulator reserves them all,
  // which only adds room).
  f->staticShared = m.sharedBytes;
  scopes.assign(1, {});
  functionSymbols.clear();
  branches.clear();
  labels.clear();
  if (peek() == "(")
    parseParams(*f);
  for (;;) {
    std::string d = peek();
    if (d == ".reqntid" || d == ".maxntid") {
      next();
      unsigned *dims = d == ".reqntid" ? f->reqntid : f->maxntid;
      for (int i = 0; i < 3; ++i) {
        dims[i] = static_cast<unsigned>(std::stoul(next()));
        if (peek() != ",")
          break;
        next();
      }
    } else if (d == ".minnctapersm" || d == ".maxnreg" || d == ".maxnctapersm") {
      next();
      next();
    } else if (d == ".noreturn") {
      next();
    } else {
      break;
    }
  }
  if (peek() == ";") { // a declaration
    next();
    return;
  }
  expect("{");
  parseBody(*f);
  for (auto &[inst, name] : branches) {
    auto it = labels.find(name);
    if (it == labels.end())
      throw ParseError(f->insts[inst].line, "unknown label '" + name + "'");
    f->operands[f->insts[inst].firstOperand].imm = it->second;
  }
  f->numRegs = static_cast<uint32_t>(f->regBytes.size());
  Function *raw = f.get();
  m.byName[raw->name] = raw;
  m.functions.push_back(std::move(f));
}

void Parser::parseParams(Function &f) {
  expect("(");
  if (peek() == ")") {
    next();
    return;
  }
  for (;;) {
    expect(".param");
    bool unsized;
    Ty type;
    Symbol p = parseDeclaration(Space::Param, unsized, type);
    if (unsized)
      fail("unsized parameter array");
    place(f.paramBytes, p);
    functionSymbols[p.name] = -2 - static_cast<int32_t>(f.params.size());
    f.params.push_back(p);
    std::string sep = next();
    if (sep == ")")
      break;
    if (sep != ",")
      fail("expected ',' or ')' in the parameter list");
  }
}

void Parser::parseRegDecl(Function &f) {
  std::string t = next();
  unsigned bytes = 0;
  while (!t.empty() && t[0] == '.') {
    if (t == ".v2" || t == ".v4")
      fail("vector registers are not supported");
    auto it = typeNames().find(t.substr(1));
    if (it == typeNames().end())
      fail("unknown register type '" + t + "'");
    bytes = std::max(1u, sizeOf(it->second));
    t = next();
  }
  for (;;) {
    std::string name = t;
    if (peek() == "<") {
      next();
      int64_t n;
      if (!parseInt(next(), n))
        fail("bad register count");
      expect(">");
      for (int64_t i = 0; i < n; ++i) {
        scopes.back()[name + std::to_string(i)] =
            static_cast<uint32_t>(f.regBytes.size());
        f.regBytes.push_back(static_cast<uint8_t>(bytes));
      }
    } else {
      scopes.back()[name] = static_cast<uint32_t>(f.regBytes.size());
      f.regBytes.push_back(static_cast<uint8_t>(bytes));
    }
    std::string sep = next();
    if (sep == ";")
      return;
    if (sep != ",")
      fail("expected ',' or ';' in a register declaration");
    t = next();
  }
}

uint32_t Parser::lookupReg(const std::string &name) {
  for (auto it = scopes.rbegin(); it != scopes.rend(); ++it) {
    auto found = it->find(name);
    if (found != it->end())
      return found->second;
  }
  return kNoReg;
}

int32_t Parser::lookupSymbol(Function &f, const std::string &name) {
  (void)f;
  auto it = functionSymbols.find(name);
  if (it != functionSymbols.end())
    return it->second;
  auto mt = moduleSymbols.find(name);
  if (mt != moduleSymbols.end())
    return mt->second;
  return -1;
}

void Parser::parseBody(Function &f) {
  for (;;) {
    std::string t = next();
    unsigned startLine = line;
    if (t.empty())
      fail("unterminated function body");
    if (t == "}") {
      if (scopes.size() == 1)
        return;
      scopes.pop_back();
      continue;
    }
    if (t == "{") {
      scopes.emplace_back();
      continue;
    }
    if (t == ".reg") {
      parseRegDecl(f);
      continue;
    }
    if (t == ".local" || t == ".shared") {
      // A function-scope array: local memory per thread, or shared.
      bool unsized;
      Ty type;
      Symbol sym = parseDeclaration(t == ".local" ? Space::Local : Space::Shared,
                                    unsized, type);
      expect(";");
      if (unsized)
        fail("unsized function-scope array");
      // Function-scope shared variables (LLVM demotes a kernel's shared
      // buffers into it) follow the module's, per kernel.
      place(sym.space == Space::Local ? f.localBytes : f.staticShared, sym);
      functionSymbols[sym.name] = static_cast<int32_t>(m.symbols.size());
      f.localSymbols.push_back(static_cast<uint32_t>(m.symbols.size()));
      m.symbols.push_back(sym);
      continue;
    }
    if (t == ".loc" || t == ".pragma") {
      // `.loc file line col` and `.pragma "..."`: no semicolon for .loc.
      if (t == ".pragma") {
        while (next() != ";") {
        }
      } else {
        unsigned l = line;
        while (peek() != "" && line == l && peek() != ";" &&
               (isdigit(static_cast<unsigned char>(peek()[0])) ||
                peek()[0] == ',')) {
          next();
          skipSpace();
          if (line != l)
            break;
        }
      }
      continue;
    }
    if (!t.empty() && t[0] == '.')
      fail("unsupported directive '" + t + "' in a function body");
    if (peek() == ":") { // a label
      next();
      labels[t] = static_cast<uint32_t>(f.insts.size());
      continue;
    }
    int32_t guard = -1;
    bool guardNegate = false;
    size_t startPos = pos - t.size();
    if (t == "@") {
      std::string g = next();
      if (g == "!") {
        guardNegate = true;
        g = next();
      }
      uint32_t r = lookupReg(g);
      if (r == kNoReg)
        fail("unknown guard predicate '" + g + "'");
      guard = static_cast<int32_t>(r);
      t = next();
    }
    parseInstruction(f, t, guard, guardNegate, startLine, startPos);
  }
}

Operand Parser::parseOperand(Function &f, std::vector<Operand> &pool) {
  Operand o;
  std::string t = next();
  if (t == "!") {
    o = parseOperand(f, pool);
    o.negate = true;
    return o;
  }
  if (t == "_") {
    o.kind = Operand::Sink;
    return o;
  }
  if (t == "{") {
    std::vector<Operand> elems;
    for (;;) {
      elems.push_back(parseOperand(f, pool));
      std::string sep = next();
      if (sep == "}")
        break;
      if (sep != ",")
        fail("expected ',' or '}' in a vector operand");
    }
    o.kind = Operand::Vector;
    o.reg = static_cast<uint32_t>(pool.size());
    o.count = static_cast<uint16_t>(elems.size());
    pool.insert(pool.end(), elems.begin(), elems.end());
    return o;
  }
  if (t == "[") {
    o.kind = Operand::Address;
    o.reg = kNoReg;
    std::string base = next();
    int64_t v;
    if (parseInt(base, v)) {
      o.imm = v;
    } else {
      uint32_t r = lookupReg(base);
      if (r != kNoReg) {
        o.reg = r;
      } else {
        o.sym = lookupSymbol(f, base);
        if (o.sym == -1)
          fail("unknown address base '" + base + "'");
      }
    }
    std::string sep = next();
    if (sep == "+" || sep == "-") {
      std::string off = next();
      if (off == "-" && sep == "+") {
        off = "-" + next();
      }
      if (!parseInt(off, v))
        fail("bad address offset '" + off + "'");
      o.imm += sep == "-" ? -v : v;
      sep = next();
    } else if (sep.size() > 1 && sep[0] == '-') {
      // "-16" lexed as one token after the base.
      if (!parseInt(sep, v))
        fail("bad address offset '" + sep + "'");
      o.imm += v;
      sep = next();
    }
    if (sep != "]")
      fail("expected ']' in an address");
    return o;
  }
  auto special = specialNames().find(t);
  if (special != specialNames().end()) {
    o.kind = Operand::Special;
    o.reg = static_cast<uint32_t>(special->second);
    return o;
  }
  int64_t v;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'f' || t[1] == 'F')) {
    o.kind = Operand::Imm;
    o.imm = static_cast<int64_t>(std::stoull(t.substr(2), nullptr, 16));
    return o;
  }
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'd' || t[1] == 'D')) {
    o.kind = Operand::Imm;
    o.imm = static_cast<int64_t>(std::stoull(t.substr(2), nullptr, 16));
    return o;
  }
  if (parseInt(t, v)) {
    o.kind = Operand::Imm;
    o.imm = v;
    return o;
  }
  uint32_t r = lookupReg(t);
  if (r != kNoReg) {
    o.kind = Operand::Reg;
    o.reg = r;
    return o;
  }
  int32_t sym = lookupSymbol(f, t);
  if (sym != -1) {
    o.kind = Operand::Symbol;
    o.sym = sym;
    return o;
  }
  // A label (branch target), resolved at the end of the function.
  if (!t.empty() && (isalpha(static_cast<unsigned char>(t[0])) || t[0] == '$' ||
                     t[0] == '_')) {
    o.kind = Operand::Imm;
    o.sym = -1;
    o.count = 0xffff; // marks an unresolved label
    labelName = t;
    return o;
  }
  fail("unknown operand '" + t + "'");
}
void Parser::parseInstruction(Function &f, std::string opcode, int32_t guard,
                              bool guardNegate, unsigned startLine,
                              size_t startPos) {
  Inst in;
  in.guard = guard;
  in.guardNegate = guardNegate;
  in.line = startLine;
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    size_t dot = opcode.find('.', start);
    parts.push_back(opcode.substr(start, dot - start));
    if (dot == std::string::npos)
      break;
    start = dot + 1;
  }
  auto unknown = [&](const std::string &why) {
    fail("unknown instruction '" + opcode + "'" +
         (why.empty() ? "" : " (" + why + ")"));
  };
  const std::string &base = parts[0];
  size_t first = 1; // first modifier
  if (base == "cp") {
    if (parts.size() < 2 || parts[1] != "async")
      unknown("");
    first = 2;
    std::string what = parts.size() > 2 ? parts[2] : "";
    if (what == "commit_group") {
      in.op = Op::CpAsyncCommit;
      first = 3;
    } else if (what == "wait_group") {
      in.op = Op::CpAsyncWait;
      first = 3;
    } else if (what == "wait_all") {
      in.op = Op::CpAsyncWaitAll;
      first = 3;
    } else {
      in.op = Op::CpAsync;
    }
  } else if (base == "bar" || base == "barrier") {
    in.op = Op::BarSync;
    if (parts.size() > 1 && parts[1] == "warp") {
      in.op = Op::BarWarpSync;
      first = 2;
    } else if (parts.size() > 1 && parts[1] == "arrive") {
      in.op = Op::BarArrive;
      first = 2;
    } else if (parts.size() > 1 && parts[1] == "red") {
      unknown("bar.red is not supported");
    }
  } else if (base == "wgmma") {
    std::string what = parts.size() > 1 ? parts[1] : "";
    first = 2;
    if (what == "fence")
      in.op = Op::WgmmaFence;
    else if (what == "commit_group")
      in.op = Op::WgmmaCommit;
    else if (what == "wait_group")
      in.op = Op::WgmmaWait;
    else if (what == "mma_async")
      in.op = Op::WgmmaMma;
    else
      unknown("");
  } else {
    auto it = opNames().find(base);
    if (it == opNames().end())
      unknown("");
    in.op = it->second;
  }

  std::vector<Ty> types;
  for (size_t i = first; i < parts.size(); ++i) {
    const std::string &p = parts[i];
    auto type = typeNames().find(p);
    if (type != typeNames().end()) {
      types.push_back(type->second);
      continue;
    }
    if (p == "global") { in.space = Space::Global; continue; }
    if (p == "shared" || p == "shared::cta") { in.space = Space::Shared; continue; }
    if (p == "local") { in.space = Space::Local; continue; }
    if (p == "param" || p == "param::entry") { in.space = Space::Param; continue; }
    if (p == "const") { in.space = Space::Const; continue; }
    if (p == "v2" || p == "v4" || p == "v8") { in.vec = static_cast<uint8_t>(p[1] - '0'); continue; }
    if (p == "ftz") { in.ftz = true; continue; }
    if (p == "sat") { in.sat = true; continue; }
    if (p == "approx") { in.approx = true; continue; }
    if (p == "full") { in.full = true; continue; }
    if (p == "relu") { in.relu = true; continue; }
    if (p == "NaN") { in.nanMode = true; continue; }
    if (p == "satfinite") { in.satfinite = true; continue; }
    if (p == "xorsign") { in.xorsign = true; continue; }
    if (p == "rn" || p == "rz" || p == "rm" || p == "rp") {
      in.rounding = p == "rn" ? 1 : p == "rz" ? 2 : p == "rm" ? 3 : 4;
      continue;
    }
    if (p == "rni" || p == "rzi" || p == "rmi" || p == "rpi") {
      in.rounding = p == "rni" ? 1 : p == "rzi" ? 2 : p == "rmi" ? 3 : 4;
      in.intRounding = true;
      continue;
    }
    bool handled = true;
    switch (in.op) {
    case Op::Setp: case Op::Set: {
      static const char *cmps[] = {"eq", "ne", "lt", "le", "gt", "ge",
                                   "lo", "ls", "hi", "hs", "equ", "neu",
                                   "ltu", "leu", "gtu", "geu", "num", "nan"};
      handled = false;
      for (int c = 0; c < 18; ++c)
        if (p == cmps[c]) {
          in.cmp = static_cast<Cmp>(c);
          handled = true;
        }
      if (p == "and") { in.mode = static_cast<uint8_t>(BoolOp::And); handled = true; }
      if (p == "or") { in.mode = static_cast<uint8_t>(BoolOp::Or); handled = true; }
      if (p == "xor") { in.mode = static_cast<uint8_t>(BoolOp::Xor); handled = true; }
      break;
    }
    case Op::Mul: case Op::Mad: case Op::Mul24: case Op::Mad24:
      if (p == "hi") in.hi = true;
      else if (p == "lo") in.lo = true;
      else if (p == "wide") in.wide = true;
      else handled = false;
      break;
    case Op::Shfl:
      if (p == "up") in.mode = static_cast<uint8_t>(ShflMode::Up);
      else if (p == "down") in.mode = static_cast<uint8_t>(ShflMode::Down);
      else if (p == "bfly") in.mode = static_cast<uint8_t>(ShflMode::Bfly);
      else if (p == "idx") in.mode = static_cast<uint8_t>(ShflMode::Idx);
      else handled = false;
      break;
    case Op::Vote:
      if (p == "all") in.mode = static_cast<uint8_t>(VoteMode::All);
      else if (p == "any") in.mode = static_cast<uint8_t>(VoteMode::Any);
      else if (p == "uni") in.mode = static_cast<uint8_t>(VoteMode::Uni);
      else if (p == "ballot") in.mode = static_cast<uint8_t>(VoteMode::Ballot);
      else handled = false;
      break;
    case Op::Atom: case Op::Red: case Op::Redux: {
      static const char *ops[] = {"add", "min", "max", "inc", "dec",
                                  "and", "or",  "xor", "exch", "cas"};
      handled = false;
      for (int a = 0; a < 10; ++a)
        if (p == ops[a]) {
          in.mode = static_cast<uint8_t>(a);
          handled = true;
        }
      if (p == "noftz")
        handled = true;
      break;
    }
    case Op::Cvta: case Op::Isspacep:
      handled = p == "to";
      in.toSpace |= handled;
      break;
    case Op::Shf:
      if (p == "l") in.shiftLeft = true;
      else if (p == "r") in.shiftLeft = false;
      else if (p == "clamp") in.clamp = true;
      else handled = p == "wrap";
      break;
    case Op::Prmt:
      if (p == "f4e") in.mode = 1;
      else if (p == "b4e") in.mode = 2;
      else if (p == "rc8") in.mode = 3;
      else if (p == "ecl") in.mode = 4;
      else if (p == "ecr") in.mode = 5;
      else if (p == "rc16") in.mode = 6;
      else handled = false;
      break;
    case Op::Testp:
      if (p == "finite") in.mode = 0;
      else if (p == "infinite") in.mode = 1;
      else if (p == "number") in.mode = 2;
      else if (p == "notanumber") in.mode = 3;
      else if (p == "normal") in.mode = 4;
      else if (p == "subnormal") in.mode = 5;
      else handled = false;
      break;
    case Op::Bfind:
      handled = p == "shiftamt";
      in.shiftLeft = handled;
      break;
    case Op::MmaSync:
      handled = p == "m16n8k16" || p == "row" || p == "col";
      if (p == "m16n8k16")
        in.n = 8;
      break;
    case Op::Ldmatrix: case Op::Stmatrix:
      if (p == "x1" || p == "x2" || p == "x4") in.mode = static_cast<uint8_t>(p[1] - '0');
      else if (p == "trans") in.trans = true;
      else handled = p == "m8n8";
      break;
    case Op::WgmmaMma:
      if (p.size() > 4 && p[0] == 'm' && p.rfind("k16") == p.size() - 3 &&
          p.rfind("m64n", 0) == 0)
        in.n = static_cast<uint16_t>(std::stoi(p.substr(4, p.size() - 7)));
      else
        handled = false;
      break;
    case Op::Membar: case Op::Fence:
      // Ordering is sequentially consistent in the emulator; every scope
      // and proxy qualifier is accepted.
      handled = true;
      break;
    case Op::CpAsync:
      if (p == "ca") in.mode = 0;
      else if (p == "cg") in.mode = 1;
      else handled = false;
      break;
    default:
      handled = false;
    }
    if (handled)
      continue;
    if (isIgnoredModifier(p) || (in.op == Op::Membar && (p == "gl")))
      continue;
    unknown("modifier ." + p);
  }
  if (in.op == Op::Ldmatrix && in.mode == 0)
    in.mode = 1;

  // Types: the first is the instruction type (cvt: destination), the second
  // cvt's source; mma/wgmma: D's type, then the multiplicands'.
  if (!types.empty())
    in.type = types[0];
  if (types.size() > 1)
    in.type2 = types[1];
  if (in.op == Op::MmaSync) {
    if (types.size() != 4 || types[0] != Ty::F32 || types[3] != Ty::F32 ||
        types[1] != types[2] || (types[1] != Ty::BF16 && types[1] != Ty::F16))
      unknown("only .f32.{bf16,f16}.{bf16,f16}.f32 mma.sync is supported");
    in.abType = types[1];
  }
  if (in.op == Op::WgmmaMma) {
    if (types.size() != 3 || types[0] != Ty::F32 || types[1] != types[2] ||
        (types[1] != Ty::BF16 && types[1] != Ty::F16) || in.n == 0)
      unknown("only .m64nNk16.f32.{bf16,f16}.{bf16,f16} wgmma is supported");
    in.abType = types[1];
  }

  // Operands.
  std::vector<Operand> ops;
  std::vector<Operand> &pool = f.operands;
  std::string t = peek();
  if (t != ";") {
    for (;;) {
      Operand o = parseOperand(f, pool);
      if (o.kind == Operand::Imm && o.count == 0xffff) {
        if (in.op != Op::Bra)
          fail("unknown operand '" + labelName + "'");
        o.count = 0;
        branches.emplace_back(static_cast<uint32_t>(f.insts.size()), labelName);
      }
      if (peek() == "|") { // setp's and shfl's `d|p`
        next();
        Operand second = parseOperand(f, pool);
        Operand pair;
        pair.kind = Operand::Vector;
        pair.reg = static_cast<uint32_t>(pool.size());
        pair.count = 2;
        pool.push_back(o);
        pool.push_back(second);
        o = pair;
      }
      ops.push_back(o);
      std::string sep = next();
      if (sep == ";")
        break;
      if (sep != ",")
        fail("expected ',' or ';' after an operand of '" + opcode + "'");
    }
  } else {
    next();
  }
  // Float immediates written as decimal integers or 0f bits are stored as
  // bits of the instruction's type by the interpreter's reads.
  in.firstOperand = static_cast<uint32_t>(pool.size());
  in.numOperands = static_cast<uint32_t>(ops.size());
  pool.insert(pool.end(), ops.begin(), ops.end());
  f.insts.push_back(in);
  // The instruction's text for reports (one line, without the semicolon).
  std::string text = s.substr(startPos, pos - startPos);
  for (char &c : text)
    if (c == '\n' || c == '\t')
      c = ' ';
  while (!text.empty() && (text.back() == ';' || text.back() == ' '))
    text.pop_back();
  f.text.push_back(text);
}

} // namespace

std::unique_ptr<Module> parsePTX(const std::string &text, std::string &error) {
  auto module = std::make_unique<Module>();
  Parser parser(text, *module);
  try {
    parser.run();
  } catch (const ParseError &e) {
    error = "line " + std::to_string(e.line) + ": " + e.what();
    return nullptr;
  } catch (const std::exception &e) {
    error = std::string("malformed PTX: ") + e.what();
    return nullptr;
  }
  return module;
}

} // namespace gatec::cudasim
