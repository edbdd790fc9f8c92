//===- PTXInstructions.cpp - Decoding PTX instructions --------------------===//
//
// Part of gatec. Each instruction's dotted opcode is decoded into an Inst:
// its operation, type, state space and modifiers, and its operands
// (registers, vectors, immediates, addresses, special registers, symbols
// and labels). Modifiers that do not change a single thread's result
// (cache operators, scopes) are accepted and ignored; any other unknown
// one is an error.
//
//===----------------------------------------------------------------------===//

#include "CudaSim/PTXParser.h"

namespace gatec::cudasim::detail {
namespace {

const std::unordered_map<std::string, Special> &specialNames() {
  static const std::unordered_map<std::string, Special> names = {
      {"%tid.x", Special::TidX},
      {"%tid.y", Special::TidY},
      {"%tid.z", Special::TidZ},
      {"%ntid.x", Special::NtidX},
      {"%ntid.y", Special::NtidY},
      {"%ntid.z", Special::NtidZ},
      {"%ctaid.x", Special::CtaidX},
      {"%ctaid.y", Special::CtaidY},
      {"%ctaid.z", Special::CtaidZ},
      {"%nctaid.x", Special::NctaidX},
      {"%nctaid.y", Special::NctaidY},
      {"%nctaid.z", Special::NctaidZ},
      {"%laneid", Special::Laneid},
      {"%warpid", Special::Warpid},
      {"%nwarpid", Special::Nwarpid},
      {"WARP_SZ", Special::WarpSize},
      {"%lanemask_eq", Special::LanemaskEq},
      {"%lanemask_lt", Special::LanemaskLt},
      {"%lanemask_le", Special::LanemaskLe},
      {"%lanemask_gt", Special::LanemaskGt},
      {"%lanemask_ge", Special::LanemaskGe},
      {"%clock", Special::Clock},
      {"%clock64", Special::Clock64},
      {"%globaltimer", Special::Globaltimer},
      {"%smid", Special::Smid},
      {"%nsmid", Special::Nsmid},
      {"%dynamic_smem_size", Special::DynamicSmemSize},
      {"%total_smem_size", Special::TotalSmemSize}};
  return names;
}

const std::unordered_map<std::string, Op> &opNames() {
  static const std::unordered_map<std::string, Op> names = {
      {"add", Op::Add},
      {"sub", Op::Sub},
      {"mul", Op::Mul},
      {"mad", Op::Mad},
      {"fma", Op::Fma},
      {"div", Op::Div},
      {"rem", Op::Rem},
      {"abs", Op::Abs},
      {"neg", Op::Neg},
      {"min", Op::Min},
      {"max", Op::Max},
      {"mul24", Op::Mul24},
      {"mad24", Op::Mad24},
      {"sad", Op::Sad},
      {"popc", Op::Popc},
      {"clz", Op::Clz},
      {"brev", Op::Brev},
      {"bfe", Op::Bfe},
      {"bfi", Op::Bfi},
      {"bfind", Op::Bfind},
      {"copysign", Op::Copysign},
      {"testp", Op::Testp},
      {"rcp", Op::Rcp},
      {"sqrt", Op::Sqrt},
      {"rsqrt", Op::Rsqrt},
      {"ex2", Op::Ex2},
      {"lg2", Op::Lg2},
      {"sin", Op::Sin},
      {"cos", Op::Cos},
      {"tanh", Op::Tanh},
      {"and", Op::And},
      {"or", Op::Or},
      {"xor", Op::Xor},
      {"not", Op::Not},
      {"cnot", Op::Cnot},
      {"lop3", Op::Lop3},
      {"shl", Op::Shl},
      {"shr", Op::Shr},
      {"shf", Op::Shf},
      {"prmt", Op::Prmt},
      {"setp", Op::Setp},
      {"set", Op::Set},
      {"selp", Op::Selp},
      {"slct", Op::Slct},
      {"mov", Op::Mov},
      {"ld", Op::Ld},
      {"ldu", Op::Ldu},
      {"st", Op::St},
      {"cvt", Op::Cvt},
      {"cvta", Op::Cvta},
      {"isspacep", Op::Isspacep},
      {"prefetch", Op::Prefetch},
      {"prefetchu", Op::Prefetch},
      {"bra", Op::Bra},
      {"ret", Op::Ret},
      {"exit", Op::Exit},
      {"call", Op::Call},
      {"trap", Op::Trap},
      {"membar", Op::Membar},
      {"fence", Op::Fence},
      {"atom", Op::Atom},
      {"red", Op::Red},
      {"vote", Op::Vote},
      {"shfl", Op::Shfl},
      {"redux", Op::Redux},
      {"activemask", Op::Activemask},
      {"nanosleep", Op::Nanosleep},
      {"mma", Op::MmaSync},
      {"ldmatrix", Op::Ldmatrix},
      {"stmatrix", Op::Stmatrix}};
  return names;
}

/// Modifiers that only tune caching, ordering scope or alignment promises and
/// do not change an instruction's single-threaded result in the emulator
/// (PTX ISA 9.7.9.8 cache operators, 8.4 memory consistency scopes).
bool isIgnoredModifier(const std::string &m) {
  static const char *ignored[] = {"ca",
                                  "cg",
                                  "cs",
                                  "lu",
                                  "cv",
                                  "wb",
                                  "wt",
                                  "nc",
                                  "volatile",
                                  "relaxed",
                                  "acquire",
                                  "release",
                                  "acq_rel",
                                  "sc",
                                  "sys",
                                  "gpu",
                                  "cta",
                                  "cluster",
                                  "sync",
                                  "aligned",
                                  "weak",
                                  "mmio",
                                  "L1::evict_normal",
                                  "L1::evict_last",
                                  "L1::evict_first",
                                  "L1::no_allocate",
                                  "L2::64B",
                                  "L2::128B",
                                  "L2::256B",
                                  "L2::cache_hint",
                                  "L2::evict_normal",
                                  "L2::evict_first",
                                  "L2::evict_last",
                                  "unified",
                                  "uni"};
  for (const char *i : ignored)
    if (m == i)
      return true;
  return false;
}

} // namespace

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
    if (p == "global") {
      in.space = Space::Global;
      continue;
    }
    if (p == "shared" || p == "shared::cta") {
      in.space = Space::Shared;
      continue;
    }
    if (p == "local") {
      in.space = Space::Local;
      continue;
    }
    if (p == "param" || p == "param::entry") {
      in.space = Space::Param;
      continue;
    }
    if (p == "const") {
      in.space = Space::Const;
      continue;
    }
    if (p == "v2" || p == "v4" || p == "v8") {
      in.vec = static_cast<uint8_t>(p[1] - '0');
      continue;
    }
    if (p == "ftz") {
      in.ftz = true;
      continue;
    }
    if (p == "sat") {
      in.sat = true;
      continue;
    }
    if (p == "approx") {
      in.approx = true;
      continue;
    }
    if (p == "full") {
      in.full = true;
      continue;
    }
    if (p == "relu") {
      in.relu = true;
      continue;
    }
    if (p == "NaN") {
      in.nanMode = true;
      continue;
    }
    if (p == "satfinite") {
      in.satfinite = true;
      continue;
    }
    if (p == "xorsign") {
      in.xorsign = true;
      continue;
    }
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
    case Op::Setp:
    case Op::Set: {
      static const char *cmps[] = {"eq",  "ne",  "lt",  "le",  "gt",  "ge",
                                   "lo",  "ls",  "hi",  "hs",  "equ", "neu",
                                   "ltu", "leu", "gtu", "geu", "num", "nan"};
      handled = false;
      for (int c = 0; c < 18; ++c)
        if (p == cmps[c]) {
          in.cmp = static_cast<Cmp>(c);
          handled = true;
        }
      if (p == "and") {
        in.mode = static_cast<uint8_t>(BoolOp::And);
        handled = true;
      }
      if (p == "or") {
        in.mode = static_cast<uint8_t>(BoolOp::Or);
        handled = true;
      }
      if (p == "xor") {
        in.mode = static_cast<uint8_t>(BoolOp::Xor);
        handled = true;
      }
      break;
    }
    case Op::Mul:
    case Op::Mad:
    case Op::Mul24:
    case Op::Mad24:
      if (p == "hi")
        in.hi = true;
      else if (p == "lo")
        in.lo = true;
      else if (p == "wide")
        in.wide = true;
      else
        handled = false;
      break;
    case Op::Shfl:
      if (p == "up")
        in.mode = static_cast<uint8_t>(ShflMode::Up);
      else if (p == "down")
        in.mode = static_cast<uint8_t>(ShflMode::Down);
      else if (p == "bfly")
        in.mode = static_cast<uint8_t>(ShflMode::Bfly);
      else if (p == "idx")
        in.mode = static_cast<uint8_t>(ShflMode::Idx);
      else
        handled = false;
      break;
    case Op::Vote:
      if (p == "all")
        in.mode = static_cast<uint8_t>(VoteMode::All);
      else if (p == "any")
        in.mode = static_cast<uint8_t>(VoteMode::Any);
      else if (p == "uni")
        in.mode = static_cast<uint8_t>(VoteMode::Uni);
      else if (p == "ballot")
        in.mode = static_cast<uint8_t>(VoteMode::Ballot);
      else
        handled = false;
      break;
    case Op::Atom:
    case Op::Red:
    case Op::Redux: {
      static const char *ops[] = {"add", "min", "max", "inc",  "dec",
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
    case Op::Cvta:
    case Op::Isspacep:
      handled = p == "to";
      in.toSpace |= handled;
      break;
    case Op::Shf:
      if (p == "l")
        in.shiftLeft = true;
      else if (p == "r")
        in.shiftLeft = false;
      else if (p == "clamp")
        in.clamp = true;
      else
        handled = p == "wrap";
      break;
    case Op::Prmt:
      if (p == "f4e")
        in.mode = 1;
      else if (p == "b4e")
        in.mode = 2;
      else if (p == "rc8")
        in.mode = 3;
      else if (p == "ecl")
        in.mode = 4;
      else if (p == "ecr")
        in.mode = 5;
      else if (p == "rc16")
        in.mode = 6;
      else
        handled = false;
      break;
    case Op::Testp:
      if (p == "finite")
        in.mode = 0;
      else if (p == "infinite")
        in.mode = 1;
      else if (p == "number")
        in.mode = 2;
      else if (p == "notanumber")
        in.mode = 3;
      else if (p == "normal")
        in.mode = 4;
      else if (p == "subnormal")
        in.mode = 5;
      else
        handled = false;
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
    case Op::Ldmatrix:
    case Op::Stmatrix:
      if (p == "x1" || p == "x2" || p == "x4")
        in.mode = static_cast<uint8_t>(p[1] - '0');
      else if (p == "trans")
        in.trans = true;
      else
        handled = p == "m8n8";
      break;
    case Op::WgmmaMma:
      if (p.size() > 4 && p[0] == 'm' && p.rfind("k16") == p.size() - 3 &&
          p.rfind("m64n", 0) == 0)
        in.n = static_cast<uint16_t>(std::stoi(p.substr(4, p.size() - 7)));
      else
        handled = false;
      break;
    case Op::Membar:
    case Op::Fence:
      // Ordering is sequentially consistent in the emulator; every scope
      // and proxy qualifier is accepted.
      handled = true;
      break;
    case Op::CpAsync:
      if (p == "ca")
        in.mode = 0;
      else if (p == "cg")
        in.mode = 1;
      else
        handled = false;
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

} // namespace gatec::cudasim::detail
