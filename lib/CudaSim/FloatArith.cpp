//===- FloatArith.cpp - Float, conversion and compare instructions --------===//
//
// Part of gatec. The semantics of the f32/f64 and 16-bit float instructions
// (PTX ISA 9.7.3, 9.7.4), of cvt between every pair of types, and of
// setp/set. Directed rounding modes are the host FPU's, set around single
// operations (withRounding), so the interpreter builds with -frounding-math.
//
//===----------------------------------------------------------------------===//

#include "CudaSim/Launch.h"

namespace gatec::cudasim::detail {

void Launch::execFloat(Thread &t, const Inst &in) {
  bool dbl = in.type == Ty::F64;
  uint8_t r = in.rounding;
  auto argD = [&](unsigned i) {
    uint64_t v = read(t, operand(in, i));
    return asF64(v);
  };
  auto argF = [&](unsigned i) {
    float v = asF32(read(t, operand(in, i)));
    return in.ftz ? ftz(v) : v;
  };
  auto putF = [&](float v) {
    if (in.sat)
      v = satF32(v);
    if (in.ftz)
      v = ftz(v);
    write(t, operand(in, 0), bitsOf(v));
  };
  auto putD = [&](double v) { write(t, operand(in, 0), bitsOf(v)); };
  switch (in.op) {
  case Op::Add:
  case Op::Sub:
  case Op::Mul: { // 9.7.3.1 - 9.7.3.3
    if (dbl) {
      double a = argD(1), b = argD(2);
      putD(withRounding<double>(r, [&] {
        return in.op == Op::Add ? a + b : in.op == Op::Sub ? a - b : a * b;
      }));
    } else {
      float a = argF(1), b = argF(2);
      putF(withRounding<float>(r, [&] {
        return in.op == Op::Add ? a + b : in.op == Op::Sub ? a - b : a * b;
      }));
    }
    return;
  }
  case Op::Fma:
  case Op::Mad: // 9.7.3.4, 9.7.3.5: one rounding
    if (dbl) {
      double a = argD(1), b = argD(2), c = argD(3);
      putD(withRounding<double>(r, [&] { return std::fma(a, b, c); }));
    } else {
      float a = argF(1), b = argF(2), c = argF(3);
      putF(withRounding<float>(r, [&] { return std::fma(a, b, c); }));
    }
    return;
  case Op::Div: // 9.7.3.6: .rn is IEEE; .approx/.full get the exact quotient
    if (dbl) {
      double a = argD(1), b = argD(2);
      putD(withRounding<double>(r, [&] { return a / b; }));
    } else {
      float a = argF(1), b = argF(2);
      putF(withRounding<float>(in.approx || in.full ? 1 : r,
                               [&] { return a / b; }));
    }
    return;
  case Op::Abs:
  case Op::Neg: { // 9.7.3.7, 9.7.3.8: the sign bit
    uint64_t v = read(t, operand(in, 1));
    uint64_t sign = dbl ? 1ull << 63 : 1ull << 31;
    if (!dbl && in.ftz)
      v = bitsOf(ftz(asF32(v)));
    write(t, operand(in, 0), in.op == Op::Abs ? v & ~sign : v ^ sign);
    return;
  }
  case Op::Min:
  case Op::Max: { // 9.7.3.9, 9.7.3.10
    bool isNaN;
    double v = minMaxF(dbl ? argD(1) : argF(1), dbl ? argD(2) : argF(2),
                       in.op == Op::Max, in.nanMode, isNaN);
    if (dbl)
      write(t, operand(in, 0), isNaN ? 0x7fffffffffffffffull : bitsOf(v));
    else if (isNaN)
      write(t, operand(in, 0), 0x7fffffffu);
    else
      putF(static_cast<float>(v));
    return;
  }
  case Op::Rcp:
  case Op::Sqrt:
  case Op::Rsqrt:
  case Op::Ex2:
  case Op::Lg2:
  case Op::Sin:
  case Op::Cos:
  case Op::Tanh: {
    // 9.7.3.11 - 9.7.3.19. The .approx forms are computed in double and
    // rounded: within every stated error bound of the hardware's.
    double a = dbl ? argD(1) : argF(1);
    double v = 0;
    switch (in.op) {
    case Op::Rcp:
      v = 1.0 / a;
      break;
    case Op::Sqrt:
      v = std::sqrt(a);
      break;
    case Op::Rsqrt:
      v = 1.0 / std::sqrt(a);
      break;
    case Op::Ex2:
      v = std::exp2(a);
      break;
    case Op::Lg2:
      v = std::log2(a);
      break;
    case Op::Sin:
      v = std::sin(a);
      break;
    case Op::Cos:
      v = std::cos(a);
      break;
    default:
      v = std::tanh(a);
      break;
    }
    if (dbl) {
      putD(v);
    } else if ((in.op == Op::Rcp || in.op == Op::Sqrt) && !in.approx) {
      float fa = static_cast<float>(a);
      putF(withRounding<float>(
          r, [&] { return in.op == Op::Rcp ? 1.0f / fa : std::sqrt(fa); }));
    } else {
      putF(static_cast<float>(v));
    }
    return;
  }
  case Op::Copysign: { // 9.7.3.x: |b| with a's sign
    uint64_t a = read(t, operand(in, 1)), b = read(t, operand(in, 2));
    uint64_t sign = dbl ? 1ull << 63 : 1ull << 31;
    write(t, operand(in, 0), (b & ~sign) | (a & sign));
    return;
  }
  case Op::Testp: { // 9.7.3.x
    double a =
        dbl ? argD(1) : static_cast<double>(asF32(read(t, operand(in, 1))));
    int cls = dbl ? std::fpclassify(a)
                  : std::fpclassify(asF32(read(t, operand(in, 1))));
    bool v = false;
    switch (in.mode) {
    case 0:
      v = std::isfinite(a);
      break;
    case 1:
      v = std::isinf(a);
      break;
    case 2:
      v = !std::isnan(a);
      break;
    case 3:
      v = std::isnan(a);
      break;
    case 4:
      v = cls == FP_NORMAL;
      break;
    default:
      v = cls == FP_SUBNORMAL;
      break;
    }
    write(t, operand(in, 0), v);
    return;
  }
  default:
    report(&t, "unsupported",
           std::string("instruction not emulated for type .") +
               nameOf(in.type));
    throw Abort();
  }
}

void Launch::exec16(Thread &t, const Inst &in) {
  // 9.7.4 (half precision) and 9.7.5 (bf16): each lane in float, results
  // rounded once to 16 bits.
  bool bf = in.type == Ty::BF16 || in.type == Ty::BF16x2;
  unsigned lanes = (in.type == Ty::F16x2 || in.type == Ty::BF16x2) ? 2 : 1;
  uint16_t canonicalNaN = 0x7fff;
  uint64_t out = 0;
  Rounding rounding = roundingOf(in.rounding);
  for (unsigned l = 0; l < lanes; ++l) {
    auto raw = [&](unsigned i) {
      return static_cast<uint16_t>(read(t, operand(in, i)) >> (16 * l));
    };
    auto x = [&](unsigned i) -> double { return half16(raw(i), bf); };
    uint16_t r = 0;
    switch (in.op) {
    case Op::Add:
      r = round16(x(1) + x(2), bf, rounding, in.relu);
      break;
    case Op::Sub:
      r = round16(x(1) - x(2), bf, rounding, in.relu);
      break;
    case Op::Mul:
      r = round16(x(1) * x(2), bf, rounding, in.relu);
      break;
    case Op::Fma:
      r = round16(fmaToOdd(x(1), x(2), x(3)), bf, rounding, in.relu);
      break;
    case Op::Neg:
      r = raw(1) ^ 0x8000;
      break;
    case Op::Abs:
      r = raw(1) & 0x7fff;
      break;
    case Op::Min:
    case Op::Max: {
      bool isNaN;
      double v = minMaxF(x(1), x(2), in.op == Op::Max, in.nanMode, isNaN);
      if (isNaN) {
        r = canonicalNaN;
      } else {
        // The chosen operand's own bits (min/max do not round).
        r = (v == x(1) && std::signbit(v) == std::signbit(x(1))) ? raw(1)
                                                                 : raw(2);
        if (in.relu && std::signbit(v))
          r = 0;
      }
      break;
    }
    case Op::Ex2:
      r = round16(std::exp2(x(1)), bf);
      break;
    case Op::Tanh:
      r = round16(std::tanh(x(1)), bf);
      break;
    case Op::Rcp:
      r = round16(1.0 / x(1), bf);
      break;
    case Op::Sqrt:
      r = round16(std::sqrt(x(1)), bf);
      break;
    default:
      report(&t, "unsupported",
             std::string("instruction not emulated for type .") +
                 nameOf(in.type));
      throw Abort();
    }
    out |= static_cast<uint64_t>(r) << (16 * l);
  }
  write(t, operand(in, 0), out);
}

/// The value of register bits `v` of type `type`, as a double (integers
/// exactly up to 2^53, which is what conversions need here).
static double numberOf(uint64_t v, Ty type) {
  switch (type) {
  case Ty::F32:
    return asF32(v);
  case Ty::F64:
    return asF64(v);
  case Ty::F16:
    return f16ToF32(static_cast<uint16_t>(v));
  case Ty::BF16:
    return bf16ToF32(static_cast<uint16_t>(v));
  default:
    return isSigned(type) ? static_cast<double>(sext(v, bitsOfTy(type)))
                          : static_cast<double>(zext(v, bitsOfTy(type)));
  }
}

void Launch::execCvt(Thread &t, const Inst &in) {
  // 9.7.9.21 cvt: d = convert(a) from type2 to type.
  Ty dst = in.type, src = in.type2;
  Rounding rounding = roundingOf(in.rounding);
  if (dst == Ty::BF16x2 || dst == Ty::F16x2) {
    // cvt.rn{.relu}{.satfinite}.{bf16x2,f16x2}.f32 d, a, b: a in the upper
    // half, b in the lower.
    float a = asF32(read(t, operand(in, 1))),
          b = asF32(read(t, operand(in, 2)));
    bool bf = dst == Ty::BF16x2;
    uint16_t hi = bf ? f32ToBF16(a, rounding, in.relu, in.satfinite)
                     : f32ToF16(a, rounding, in.relu, in.satfinite);
    uint16_t lo = bf ? f32ToBF16(b, rounding, in.relu, in.satfinite)
                     : f32ToF16(b, rounding, in.relu, in.satfinite);
    write(t, operand(in, 0), (static_cast<uint64_t>(hi) << 16) | lo);
    return;
  }
  uint64_t a = read(t, operand(in, 1));
  uint64_t d = 0;
  if (!isFloat(dst) && !isFloat(src)) {
    // Integer to integer: extend by the source's signedness, saturate with
    // .sat, truncate; a signed destination is sign-extended into its
    // register.
    unsigned sb = bitsOfTy(src), db = bitsOfTy(dst);
    int64_t v = isSigned(src) ? sext(a, sb) : static_cast<int64_t>(zext(a, sb));
    if (in.sat) {
      if (isSigned(dst)) {
        int64_t lo = -(1ll << (db - 1)), hi = (1ll << (db - 1)) - 1;
        if (db == 64) {
          lo = INT64_MIN;
          hi = INT64_MAX;
        }
        if (!isSigned(src) && zext(a, sb) > static_cast<uint64_t>(hi))
          v = hi;
        else
          v = std::clamp(v, lo, hi);
      } else {
        uint64_t hi = db == 64 ? ~0ull : (1ull << db) - 1;
        if (isSigned(src) && v < 0)
          v = 0;
        else if (static_cast<uint64_t>(v) > hi)
          v = static_cast<int64_t>(hi);
      }
    }
    d = isSigned(dst)
            ? static_cast<uint64_t>(sext(static_cast<uint64_t>(v), db))
            : zext(static_cast<uint64_t>(v), db);
  } else if (isFloat(dst) && isFloat(src)) {
    double x;
    if (src == Ty::F64) {
      x = asF64(a);
    } else {
      x = numberOf(a, src);
      if (in.ftz && src == Ty::F32)
        x = ftz(static_cast<float>(x));
    }
    if (in.intRounding) { // round to an integral value in the same format
      switch (rounding) {
      case Rounding::RN:
        x = std::nearbyint(x);
        break;
      case Rounding::RZ:
        x = std::trunc(x);
        break;
      case Rounding::RM:
        x = std::floor(x);
        break;
      case Rounding::RP:
        x = std::ceil(x);
        break;
      }
    }
    switch (dst) {
    case Ty::F64:
      d = bitsOf(x);
      break;
    case Ty::F32: {
      float v = src == Ty::F64 ? f64ToF32(x, rounding) : static_cast<float>(x);
      if (in.sat)
        v = satF32(v);
      if (in.ftz)
        v = ftz(v);
      d = bitsOf(v);
      break;
    }
    case Ty::BF16:
      d = f32ToBF16(src == Ty::F64 ? f64ToF32(x, Rounding::RZ)
                                   : static_cast<float>(x),
                    rounding, in.relu, in.satfinite);
      break;
    case Ty::F16:
      d = f32ToF16(src == Ty::F64 ? f64ToF32(x, Rounding::RZ)
                                  : static_cast<float>(x),
                   rounding, in.relu, in.satfinite);
      break;
    default:
      break;
    }
    if (src == Ty::F64 && (dst == Ty::BF16 || dst == Ty::F16)) {
      report(&t, "unsupported", "cvt from f64 to a 16-bit float");
      throw Abort();
    }
  } else if (isFloat(src)) { // float to integer: saturating, NaN to 0
    double x = numberOf(a, src);
    if (in.ftz && src == Ty::F32)
      x = ftz(static_cast<float>(x));
    d = static_cast<uint64_t>(
        floatToInt(x, rounding, isSigned(dst), bitsOfTy(dst)));
  } else { // integer to float
    bool sgn = isSigned(src);
    int64_t v = sgn ? sext(a, bitsOfTy(src))
                    : static_cast<int64_t>(zext(a, bitsOfTy(src)));
    switch (dst) {
    case Ty::F32: {
      float fv = intToF32(v, sgn, rounding);
      if (in.sat)
        fv = satF32(fv);
      d = bitsOf(fv);
      break;
    }
    case Ty::F64:
      d = bitsOf(withRounding<double>(in.rounding, [&] {
        return sgn ? static_cast<double>(v)
                   : static_cast<double>(static_cast<uint64_t>(v));
      }));
      break;
    case Ty::BF16:
      d = f32ToBF16(intToF32(v, sgn, Rounding::RZ), rounding);
      break;
    default:
      d = f32ToF16(intToF32(v, sgn, Rounding::RZ), rounding);
      break;
    }
  }
  write(t, operand(in, 0), d);
}

void Launch::execSetp(Thread &t, const Inst &in) {
  // 9.7.6.1 setp / 9.7.6.x set.
  Ty ty = in.op == Op::Set ? in.type2 : in.type;
  uint64_t ra = read(t, operand(in, 1)), rb = read(t, operand(in, 2));
  bool c;
  if (isFloat(ty)) {
    double a = numberOf(ra, ty), b = numberOf(rb, ty);
    if (ty == Ty::F32 && in.ftz) {
      a = ftz(static_cast<float>(a));
      b = ftz(static_cast<float>(b));
    }
    bool unordered = std::isnan(a) || std::isnan(b);
    switch (in.cmp) {
    case Cmp::Eq:
      c = !unordered && a == b;
      break;
    case Cmp::Ne:
      c = !unordered && a != b;
      break;
    case Cmp::Lt:
      c = !unordered && a < b;
      break;
    case Cmp::Le:
      c = !unordered && a <= b;
      break;
    case Cmp::Gt:
      c = !unordered && a > b;
      break;
    case Cmp::Ge:
      c = !unordered && a >= b;
      break;
    case Cmp::Equ:
      c = unordered || a == b;
      break;
    case Cmp::Neu:
      c = unordered || a != b;
      break;
    case Cmp::Ltu:
      c = unordered || a < b;
      break;
    case Cmp::Leu:
      c = unordered || a <= b;
      break;
    case Cmp::Gtu:
      c = unordered || a > b;
      break;
    case Cmp::Geu:
      c = unordered || a >= b;
      break;
    case Cmp::Num:
      c = !unordered;
      break;
    case Cmp::Nan:
      c = unordered;
      break;
    default:
      report(&t, "unsupported", "integer comparison on a float type");
      throw Abort();
    }
  } else {
    unsigned bits = in.type == Ty::Pred ? 1 : bitsOfTy(ty);
    int64_t sa = sext(ra, bits), sb = sext(rb, bits);
    uint64_t ua = zext(ra, bits), ub = zext(rb, bits);
    bool sgn = isSigned(ty);
    switch (in.cmp) {
    case Cmp::Eq:
      c = ua == ub;
      break;
    case Cmp::Ne:
      c = ua != ub;
      break;
    case Cmp::Lt:
      c = sgn ? sa < sb : ua < ub;
      break;
    case Cmp::Le:
      c = sgn ? sa <= sb : ua <= ub;
      break;
    case Cmp::Gt:
      c = sgn ? sa > sb : ua > ub;
      break;
    case Cmp::Ge:
      c = sgn ? sa >= sb : ua >= ub;
      break;
    case Cmp::Lo:
      c = ua < ub;
      break;
    case Cmp::Ls:
      c = ua <= ub;
      break;
    case Cmp::Hi:
      c = ua > ub;
      break;
    case Cmp::Hs:
      c = ua >= ub;
      break;
    default:
      report(&t, "unsupported", "float comparison on an integer type");
      throw Abort();
    }
  }
  bool p = c, q = !c;
  if (in.mode != static_cast<uint8_t>(BoolOp::None) && in.numOperands > 3) {
    bool other = readPred(t, operand(in, 3));
    switch (static_cast<BoolOp>(in.mode)) {
    case BoolOp::And:
      p = p && other;
      q = q && other;
      break;
    case BoolOp::Or:
      p = p || other;
      q = q || other;
      break;
    case BoolOp::Xor:
      p = p != other;
      q = q != other;
      break;
    default:
      break;
    }
  }
  const Operand &d = operand(in, 0);
  if (in.op == Op::Set) {
    write(t, d, in.type == Ty::F32 ? (p ? bitsOf(1.0f) : 0) : (p ? ~0ull : 0));
    return;
  }
  if (d.kind == Operand::Vector) {
    write(t, element(d, 0), p);
    write(t, element(d, 1), q);
  } else {
    write(t, d, p);
  }
}

} // namespace gatec::cudasim::detail
