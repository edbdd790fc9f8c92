//===- Arith.cpp - Integer and bit instructions ---------------------------===//
//
// Part of gatec. The semantics of the integer arithmetic, logic, shift and
// bit-field instructions (PTX ISA 9.7.1, 9.7.7, 9.7.8) and of mov, on a
// thread's raw register bits.
//
//===----------------------------------------------------------------------===//

#include "CudaSim/Launch.h"

#include <bit>

namespace gatec::cudasim::detail {

void Launch::execArith(Thread &t, const Inst &in) {
  unsigned bits = in.type == Ty::Pred ? 1 : bitsOfTy(in.type);
  bool sgn = isSigned(in.type);
  auto arg = [&](unsigned i) { return read(t, operand(in, i)); };
  auto val = [&](unsigned i) -> int64_t {
    uint64_t v = arg(i);
    return sgn ? sext(v, bits) : static_cast<int64_t>(zext(v, bits));
  };
  uint64_t d = 0;
  switch (in.op) {
  case Op::Add:
  case Op::Sub: { // 9.7.1.1, 9.7.1.2
    uint64_t a = arg(1), b = arg(2);
    d = in.op == Op::Add ? a + b : a - b;
    if (in.sat && in.type == Ty::S32) {
      int64_t r = in.op == Op::Add ? sext(a, 32) + sext(b, 32)
                                   : sext(a, 32) - sext(b, 32);
      d = static_cast<uint64_t>(std::clamp<int64_t>(r, INT32_MIN, INT32_MAX));
    }
    break;
  }
  case Op::Mul:
  case Op::Mad: { // 9.7.1.3, 9.7.1.4
    __int128 a = val(1), b = val(2);
    unsigned __int128 ua = zext(arg(1), bits), ub = zext(arg(2), bits);
    unsigned __int128 p = sgn ? static_cast<unsigned __int128>(a * b) : ua * ub;
    if (in.wide) {
      d = static_cast<uint64_t>(p);
      if (in.op == Op::Mad)
        d += arg(3);
    } else if (in.hi) {
      __int128 full = sgn ? a * b : static_cast<__int128>(ua * ub);
      d = static_cast<uint64_t>(full >> bits);
      if (in.op == Op::Mad)
        d += arg(3);
    } else {
      d = static_cast<uint64_t>(p);
      if (in.op == Op::Mad)
        d += arg(3);
    }
    break;
  }
  case Op::Mul24:
  case Op::Mad24: {
    int64_t a = sgn ? sext(arg(1), 24) : zext(arg(1), 24);
    int64_t b = sgn ? sext(arg(2), 24) : zext(arg(2), 24);
    d = in.hi ? static_cast<uint64_t>(a * b) >> 16
              : static_cast<uint64_t>(a * b);
    if (in.op == Op::Mad24)
      d += arg(3);
    break;
  }
  case Op::Sad: {
    int64_t a = val(1), b = val(2);
    d = static_cast<uint64_t>(a > b ? a - b : b - a) + arg(3);
    break;
  }
  case Op::Div:
  case Op::Rem: { // 9.7.1.6, 9.7.1.7
    int64_t a = val(1), b = val(2);
    if (b == 0) {
      d = in.op == Op::Div ? ~0ull : static_cast<uint64_t>(a);
    } else if (sgn) {
      if (b == -1 && a == sext(1ull << (bits - 1), bits))
        d = in.op == Op::Div ? static_cast<uint64_t>(a) : 0;
      else
        d = static_cast<uint64_t>(in.op == Op::Div ? a / b : a % b);
    } else {
      uint64_t ua = zext(arg(1), bits), ub = zext(arg(2), bits);
      d = in.op == Op::Div ? ua / ub : ua % ub;
    }
    break;
  }
  case Op::Abs: {
    int64_t a = val(1);
    d = static_cast<uint64_t>(a < 0 ? -a : a);
    break;
  }
  case Op::Neg:
    d = static_cast<uint64_t>(-val(1));
    break;
  case Op::Min:
  case Op::Max: { // 9.7.1.10, 9.7.1.11
    int64_t a = val(1), b = val(2);
    bool takeA =
        sgn ? (in.op == Op::Min ? a <= b : a >= b)
            : (in.op == Op::Min ? zext(arg(1), bits) <= zext(arg(2), bits)
                                : zext(arg(1), bits) >= zext(arg(2), bits));
    d = static_cast<uint64_t>(takeA ? a : b);
    break;
  }
  case Op::Popc:
    d = std::popcount(zext(arg(1), bits));
    break;
  case Op::Clz:
    d = bits == 64 ? std::countl_zero(arg(1))
                   : std::countl_zero(static_cast<uint32_t>(arg(1)));
    break;
  case Op::Brev: {
    uint64_t a = arg(1), r = 0;
    for (unsigned i = 0; i < bits; ++i)
      if (a >> i & 1)
        r |= 1ull << (bits - 1 - i);
    d = r;
    break;
  }
  case Op::Bfind: { // 9.7.1.18
    int64_t a = val(1);
    uint64_t u = zext(arg(1), bits);
    if (sgn && a < 0)
      u = zext(~arg(1), bits);
    if (u == 0) {
      d = 0xffffffffu;
    } else {
      unsigned msb = 63 - std::countl_zero(u);
      d = in.shiftLeft ? bits - 1 - msb : msb;
    }
    break;
  }
  case Op::Bfe: { // 9.7.1.20
    uint64_t a = arg(1);
    unsigned pos = arg(2) & 0xff, len = arg(3) & 0xff, msb = bits - 1;
    bool sbit = false;
    if (sgn && len > 0)
      sbit =
          (pos + len - 1 >= msb) ? (a >> msb & 1) : (a >> (pos + len - 1) & 1);
    uint64_t r = 0;
    for (unsigned i = 0; i < bits; ++i) {
      bool bit = (i < len && pos + i <= msb) ? (a >> (pos + i) & 1) : sbit;
      r |= static_cast<uint64_t>(bit) << i;
    }
    d = r;
    break;
  }
  case Op::Bfi: { // 9.7.1.21: insert a's low bits into b at c for d bits
    uint64_t a = arg(1), b = arg(2);
    unsigned pos = arg(3) & 0xff, len = arg(4) & 0xff;
    uint64_t r = b;
    for (unsigned i = 0; i < len && pos + i < bits; ++i) {
      uint64_t bit = 1ull << (pos + i);
      r = (a >> i & 1) ? (r | bit) : (r & ~bit);
    }
    d = r;
    break;
  }
  case Op::And:
    d = arg(1) & arg(2);
    break; // 9.7.8.1
  case Op::Or:
    d = arg(1) | arg(2);
    break; // 9.7.8.2
  case Op::Xor:
    d = arg(1) ^ arg(2);
    break; // 9.7.8.3
  case Op::Not:
    d = ~arg(1);
    break; // 9.7.8.4
  case Op::Cnot:
    d = arg(1) == 0;
    break;         // 9.7.8.5
  case Op::Lop3: { // 9.7.8.6
    uint64_t a = arg(1), b = arg(2), c = arg(3), lut = arg(4), r = 0;
    for (unsigned i = 0; i < 8; ++i)
      if (lut >> i & 1)
        r |= ((i & 4) ? a : ~a) & ((i & 2) ? b : ~b) & ((i & 1) ? c : ~c);
    d = r;
    break;
  }
  case Op::Shl:
  case Op::Shr: { // 9.7.8.8, 9.7.8.9: amounts clamp to N
    uint64_t amount = zext(arg(2), 32);
    if (in.op == Op::Shl)
      d = amount >= bits ? 0 : arg(1) << amount;
    else if (sgn)
      d = static_cast<uint64_t>(val(1) >> std::min<uint64_t>(amount, 63));
    else
      d = amount >= bits ? 0 : zext(arg(1), bits) >> amount;
    break;
  }
  case Op::Shf: { // 9.7.8.7: funnel shift of {b, a}
    uint64_t pair = (zext(arg(2), 32) << 32) | zext(arg(1), 32);
    uint64_t n = zext(arg(3), 32);
    n = in.clamp ? std::min<uint64_t>(n, 32) : n & 31;
    d = in.shiftLeft ? (pair << n) >> 32 : pair >> n;
    break;
  }
  case Op::Prmt: { // 9.7.8.10, default mode
    uint64_t a = zext(arg(1), 32), b = zext(arg(2), 32), c = arg(3);
    uint64_t bytes = (b << 32) | a, r = 0;
    if (in.mode != 0) {
      report(&t, "unsupported", "prmt modes other than the default");
      throw Abort();
    }
    for (unsigned i = 0; i < 4; ++i) {
      unsigned sel = (c >> (4 * i)) & 0xf;
      uint64_t byte = (bytes >> (8 * (sel & 7))) & 0xff;
      if (sel & 8)
        byte = (byte & 0x80) ? 0xff : 0;
      r |= byte << (8 * i);
    }
    d = r;
    break;
  }
  default:
    report(&t, "unsupported",
           std::string("instruction not emulated for type .") +
               nameOf(in.type));
    throw Abort();
  }
  if (in.type == Ty::Pred)
    d &= 1;
  write(t, operand(in, 0), d);
}

void Launch::execMov(Thread &t, const Inst &in) {
  // 9.7.9.1 mov, including packing and unpacking of vectors.
  const Operand &d = operand(in, 0), &a = operand(in, 1);
  if (d.kind == Operand::Vector) {
    uint64_t v = read(t, a);
    unsigned width = bitsOfTy(in.type) / d.count;
    for (unsigned i = 0; i < d.count; ++i)
      write(t, element(d, i), zext(v >> (width * i), width));
    return;
  }
  if (a.kind == Operand::Vector) {
    unsigned width = bitsOfTy(in.type) / a.count;
    uint64_t v = 0;
    for (unsigned i = 0; i < a.count; ++i)
      v |= zext(read(t, element(a, i)), width) << (width * i);
    write(t, d, v);
    return;
  }
  write(t, d, read(t, a));
}

} // namespace gatec::cudasim::detail
