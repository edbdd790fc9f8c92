//===- PTXParser.cpp - PTX text to the emulator's decoded form ------------===//
//
// Part of gatec. One pass over the text: directives lay out parameters and
// variables, register declarations (including those of inline-asm scoped
// blocks, which shadow outer names) get indices, and each function body's
// labels and instructions are collected (decoded by PTXInstructions.cpp).
// Anything not understood is an error naming the line and the instruction:
// the emulator never skips an instruction.
//
//===----------------------------------------------------------------------===//

#include "CudaSim/PTXParser.h"

namespace gatec::cudasim {

unsigned sizeOf(Ty t) {
  switch (t) {
  case Ty::B8:
  case Ty::U8:
  case Ty::S8:
  case Ty::Pred:
    return 1;
  case Ty::B16:
  case Ty::U16:
  case Ty::S16:
  case Ty::F16:
  case Ty::BF16:
    return 2;
  case Ty::B32:
  case Ty::U32:
  case Ty::S32:
  case Ty::F32:
  case Ty::F16x2:
  case Ty::BF16x2:
    return 4;
  case Ty::B64:
  case Ty::U64:
  case Ty::S64:
  case Ty::F64:
    return 8;
  case Ty::B128:
    return 16;
  case Ty::None:
    return 0;
  }
  return 0;
}

bool isFloat(Ty t) {
  return t == Ty::F16 || t == Ty::F16x2 || t == Ty::BF16 || t == Ty::BF16x2 ||
         t == Ty::F32 || t == Ty::F64;
}

bool isSigned(Ty t) {
  return t == Ty::S8 || t == Ty::S16 || t == Ty::S32 || t == Ty::S64;
}

const char *nameOf(Ty t) {
  static const char *names[] = {"none", "b8",  "b16", "b32",   "b64",  "b128",
                                "u8",   "u16", "u32", "u64",   "s8",   "s16",
                                "s32",  "s64", "f16", "f16x2", "bf16", "bf16x2",
                                "f32",  "f64", "pred"};
  return names[static_cast<int>(t)];
}

namespace detail {

const std::unordered_map<std::string, Ty> &typeNames() {
  static const std::unordered_map<std::string, Ty> names = {
      {"b8", Ty::B8},     {"b16", Ty::B16},       {"b32", Ty::B32},
      {"b64", Ty::B64},   {"b128", Ty::B128},     {"u8", Ty::U8},
      {"u16", Ty::U16},   {"u32", Ty::U32},       {"u64", Ty::U64},
      {"s8", Ty::S8},     {"s16", Ty::S16},       {"s32", Ty::S32},
      {"s64", Ty::S64},   {"f16", Ty::F16},       {"f16x2", Ty::F16x2},
      {"bf16", Ty::BF16}, {"bf16x2", Ty::BF16x2}, {"f32", Ty::F32},
      {"f64", Ty::F64},   {"pred", Ty::Pred}};
  return names;
}

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
    m.ptxVersion =
        std::stoi(v.substr(0, dot)) * 10 +
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
        init.push_back(
            static_cast<uint8_t>(static_cast<uint64_t>(x) >> (8 * b)));
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
      m.dynamicSharedAlign =
          std::max<uint64_t>(m.dynamicSharedAlign, sym.align);
    } else {
      place(m.sharedBytes, sym);
    }
  } else {
    uint64_t at =
        (m.globalImage.size() + sym.align - 1) / sym.align * sym.align;
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
    } else if (d == ".minnctapersm" || d == ".maxnreg" ||
               d == ".maxnctapersm") {
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
      Symbol sym = parseDeclaration(
          t == ".local" ? Space::Local : Space::Shared, unsized, type);
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

} // namespace detail

std::unique_ptr<Module> parsePTX(const std::string &text, std::string &error) {
  auto module = std::make_unique<Module>();
  detail::Parser parser(text, *module);
  try {
    parser.run();
  } catch (const detail::ParseError &e) {
    error = "line " + std::to_string(e.line) + ": " + e.what();
    return nullptr;
  } catch (const std::exception &e) {
    error = std::string("malformed PTX: ") + e.what();
    return nullptr;
  }
  return module;
}

} // namespace gatec::cudasim
