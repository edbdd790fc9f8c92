//===- Numerics.cpp - PTX floating-point conversions and rounding ---------===//
//
// Bit-exact conversions between f32/f64, the 16-bit float formats and the
// integers, with the rounding and clamping modifiers of cvt. Everything is
// done on integer significands, so the result never depends on the host's
// floating-point environment.
//
//===----------------------------------------------------------------------===//

#include "gatec/CudaSim/Numerics.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace gatec::cudasim {
namespace {

/// An IEEE 754 binary interchange format: `expBits` exponent bits,
/// `mantBits` stored fraction bits, one sign bit above them.
struct Format {
  int expBits;
  int mantBits;

  int bias() const { return (1 << (expBits - 1)) - 1; }
  uint64_t expMask() const { return (uint64_t(1) << expBits) - 1; }
  uint64_t signBit() const { return uint64_t(1) << (expBits + mantBits); }
  uint64_t infinity(bool neg) const {
    return (neg ? signBit() : 0) | (expMask() << mantBits);
  }
  uint64_t maxFinite(bool neg) const {
    return (neg ? signBit() : 0) | ((expMask() - 1) << mantBits) |
           ((uint64_t(1) << mantBits) - 1);
  }
};

constexpr Format kF16{5, 10};
constexpr Format kBF16{8, 7};
constexpr Format kF32{8, 23};

/// PTX's canonical NaNs (PTX ISA 9.7.9.21 cvt, ".relu"/".satfinite": "NaN
/// results are converted to canonical NaN").
constexpr uint16_t kCanonicalNaN16 = 0x7fff;
constexpr uint32_t kCanonicalNaN32 = 0x7fffffff;

uint32_t bitsOf(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

float floatOf(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}

uint64_t bitsOf(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

int highestBit(uint64_t v) { return 63 - __builtin_clzll(v); }

/// Rounds the exact nonzero value (-1)^neg * mag * 2^exp into `fmt` with
/// `rounding` (IEEE 754-2008 section 4.3 rounding-direction attributes, which
/// are the PTX ISA's .rn/.rz/.rm/.rp, "Rounding modifiers" of 9.7.9.21 cvt).
/// Subnormal results are produced exactly (gradual underflow); an overflow
/// gives infinity or the largest finite value as the rounding direction
/// dictates, or the largest finite value under `satfinite`.
uint64_t roundToFormat(bool neg, uint64_t mag, int exp, const Format &fmt,
                       Rounding rounding, bool satfinite) {
  const int emin = 1 - fmt.bias();
  // Unbiased exponent of the leading bit, and the exponent the result will
  // carry (clamped at emin: subnormal results have a fixed quantum).
  int lead = highestBit(mag) + exp;
  int e = lead < emin ? emin : lead;
  // The quantum (one unit in the last place) of the result is
  // 2^(e - mantBits); q is mag scaled to that quantum.
  int shift = (e - fmt.mantBits) - exp;
  uint64_t q, rem = 0, half = 0;
  bool inexact = false;
  if (shift <= 0) {
    q = mag << -shift; // exact: the value has at most mantBits+1 bits here
  } else if (shift < 64) {
    q = mag >> shift;
    rem = mag & ((uint64_t(1) << shift) - 1);
    half = uint64_t(1) << (shift - 1);
    inexact = rem != 0;
  } else {
    q = 0;
    inexact = true;
    // shift == 64: half is 2^63; shift > 64: the value is below half an ulp.
    if (shift == 64) {
      rem = mag;
      half = uint64_t(1) << 63;
    } else {
      rem = 1;
      half = 2; // any rem < half
    }
  }
  bool up = false;
  switch (rounding) {
  case Rounding::RN:
    up = rem > half || (rem == half && half != 0 && (q & 1));
    break;
  case Rounding::RZ:
    break;
  case Rounding::RM:
    up = neg && inexact;
    break;
  case Rounding::RP:
    up = !neg && inexact;
    break;
  }
  if (up) {
    ++q;
    if (q >> (fmt.mantBits + 1)) { // carried into a new leading bit
      q >>= 1;
      ++e;
    }
  }
  uint64_t sign = neg ? fmt.signBit() : 0;
  uint64_t hidden = uint64_t(1) << fmt.mantBits;
  if (q < hidden) // subnormal (or zero after rounding down)
    return sign | q;
  uint64_t biased = uint64_t(e + fmt.bias());
  if (biased >= fmt.expMask()) {
    if (satfinite)
      return fmt.maxFinite(neg);
    bool toInf = rounding == Rounding::RN ||
                 (rounding == Rounding::RM && neg) ||
                 (rounding == Rounding::RP && !neg);
    return toInf ? fmt.infinity(neg) : fmt.maxFinite(neg);
  }
  return sign | (biased << fmt.mantBits) | (q - hidden);
}

/// f32 -> 16-bit format, PTX ISA 9.7.9.21 cvt (".relu", ".satfinite" and the
/// rounding modifiers for .f16/.bf16 destinations).
uint16_t f32To16(float value, const Format &fmt, Rounding rounding, bool relu,
                 bool satfinite) {
  uint32_t b = bitsOf(value);
  bool neg = b >> 31;
  uint32_t expField = (b >> 23) & 0xff;
  uint32_t frac = b & 0x7fffff;
  if (expField == 0xff && frac != 0) // NaN: canonical, also under satfinite
    return kCanonicalNaN16;
  // .relu "clamps the result to 0 if negative". The emulator treats every
  // result with the sign bit set (including -0 and negative values that round
  // to -0) as negative and gives +0.
  if (relu && neg)
    return 0;
  if (expField == 0xff) // infinity
    return uint16_t(satfinite ? fmt.maxFinite(neg) : fmt.infinity(neg));
  if (expField == 0 && frac == 0)
    return uint16_t(neg ? fmt.signBit() : 0);
  uint64_t mag = expField ? (frac | 0x800000) : frac;
  int exp = expField ? int(expField) - 150 : -149;
  return uint16_t(roundToFormat(neg, mag, exp, fmt, rounding, satfinite));
}

} // namespace

// PTX ISA 5.2.5.1 "Floating Point Data Types" (.bf16: the upper half of an
// .f32); widening is exact.

// PTX ISA 5.2.5.1 "Floating Point Data Types" (.f16: IEEE 754 binary16);
// widening is exact, subnormals included, NaN payloads kept.
float f16ToF32(uint16_t bits) {
  uint32_t sign = uint32_t(bits >> 15) << 31;
  uint32_t expField = (bits >> 10) & 0x1f;
  uint32_t frac = bits & 0x3ff;
  if (expField == 0x1f)
    return floatOf(sign | 0x7f800000 | (frac << 13));
  if (expField == 0) {
    if (frac == 0)
      return floatOf(sign);
    // frac * 2^-24, exactly representable as a normal f32.
    int lead = highestBit(frac); // 0..9
    uint32_t e = uint32_t(lead - 24 + 127);
    uint32_t m = (frac << (23 - lead)) & 0x7fffff;
    return floatOf(sign | (e << 23) | m);
  }
  return floatOf(sign | ((expField - 15 + 127) << 23) | (frac << 13));
}

// PTX ISA 9.7.9.21 cvt: cvt{.rnd}{.relu}{.satfinite}.bf16.f32.
uint16_t f32ToBF16(float value, Rounding rounding, bool relu, bool satfinite) {
  return f32To16(value, kBF16, rounding, relu, satfinite);
}

// PTX ISA 9.7.9.21 cvt: cvt{.rnd}{.relu}{.satfinite}.f16.f32.
uint16_t f32ToF16(float value, Rounding rounding, bool relu, bool satfinite) {
  return f32To16(value, kF16, rounding, relu, satfinite);
}

// PTX ISA 9.7.9.21 cvt: cvt.{rn,rz,rm,rp}.f32.f64. NaN gives the canonical
// f32 NaN 0x7fffffff; subnormal results are kept (no .ftz).
float f64ToF32(double value, Rounding rounding) {
  uint64_t b = bitsOf(value);
  bool neg = b >> 63;
  uint64_t expField = (b >> 52) & 0x7ff;
  uint64_t frac = b & ((uint64_t(1) << 52) - 1);
  if (expField == 0x7ff)
    return floatOf(frac ? kCanonicalNaN32 : uint32_t(kF32.infinity(neg)));
  if (expField == 0 && frac == 0)
    return floatOf(neg ? 0x80000000u : 0u);
  uint64_t mag = expField ? (frac | (uint64_t(1) << 52)) : frac;
  int exp = expField ? int(expField) - 1075 : -1074;
  return floatOf(uint32_t(roundToFormat(neg, mag, exp, kF32, rounding, false)));
}

// PTX ISA 9.7.9.21 cvt, "Floating-point to integer conversions": the value is
// rounded to an integer with .rni/.rzi/.rmi/.rpi, then clamped to the
// destination range ("For float-to-integer conversions, the result is clamped
// to the destination range by default"); NaN converts to 0. `bits` is 8, 16,
// 32 or 64; an unsigned 64-bit result is returned as its bit pattern.
int64_t floatToInt(double value, Rounding rounding, bool isSigned, int bits) {
  if (std::isnan(value))
    return 0;
  double r;
  switch (rounding) {
  case Rounding::RZ:
    r = std::trunc(value);
    break;
  case Rounding::RM:
    r = std::floor(value);
    break;
  case Rounding::RP:
    r = std::ceil(value);
    break;
  case Rounding::RN: {
    // Ties to even. For |value| < 2^52 the difference is exact; larger
    // doubles are already integers.
    double f = std::floor(value);
    double diff = value - f;
    if (diff > 0.5 || (diff == 0.5 && std::fmod(f, 2.0) != 0.0))
      f += 1.0;
    r = f;
    break;
  }
  }
  if (bits < 1 || bits > 64)
    bits = 64;
  if (isSigned) {
    // Limits are powers of two, so these comparisons in double are exact.
    double hi = std::ldexp(1.0, bits - 1); // first value above the range
    if (r >= hi)
      return bits == 64 ? std::numeric_limits<int64_t>::max()
                        : int64_t((uint64_t(1) << (bits - 1)) - 1);
    if (r < -hi)
      return bits == 64 ? std::numeric_limits<int64_t>::min()
                        : -int64_t(uint64_t(1) << (bits - 1));
    return int64_t(r);
  }
  if (r <= 0.0)
    return 0;
  double hi = std::ldexp(1.0, bits);
  if (r >= hi)
    return bits == 64 ? int64_t(~uint64_t(0))
                      : int64_t((uint64_t(1) << bits) - 1);
  return int64_t(uint64_t(r));
}

// PTX ISA 9.7.9.21 cvt, "Integer to floating-point conversions":
// cvt.{rn,rz,rm,rp}.f32.{s,u}{8,16,32,64}. When !isSigned, `value` is the
// bit pattern of an unsigned 64-bit integer.
float intToF32(int64_t value, bool isSigned, Rounding rounding) {
  if (value == 0)
    return 0.0f;
  bool neg = isSigned && value < 0;
  uint64_t mag = neg ? uint64_t(0) - uint64_t(value) : uint64_t(value);
  return floatOf(uint32_t(roundToFormat(neg, mag, 0, kF32, rounding, false)));
}

} // namespace gatec::cudasim
