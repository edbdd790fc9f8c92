//===- Numerics.h - PTX floating-point conversions and rounding -*- C++ -*-===//
//
// Bit-exact conversions between f32/f64 and the 16-bit float formats with the
// PTX rounding modifiers (.rn .rz .rm .rp, .satfinite, .relu), and the packed
// forms. Each function cites the PTX ISA section it implements.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_CUDASIM_NUMERICS_H
#define GATEC_CUDASIM_NUMERICS_H

#include <cstdint>

namespace gatec::cudasim {

/// PTX rounding modifiers of cvt and arithmetic (PTX ISA 9.7.9.21 cvt,
/// "Rounding modifiers").
enum class Rounding : uint8_t { RN, RZ, RM, RP };

/// bf16 widens by appending 16 zero bits (PTX ISA 5.2.5.1); inline, as
/// tensor-core emulation decodes every multiplicand.
inline float bf16ToF32(uint16_t bits) {
  uint32_t u = uint32_t(bits) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
float f16ToF32(uint16_t bits);
/// f32 -> bf16 / f16 with `rounding`; NaN becomes a canonical quiet NaN
/// (0x7fff for bf16, 0x7fff for f16) as cvt does; `satfinite` clamps finite
/// overflow (and infinities) to the largest finite value, keeping the sign;
/// `relu` clamps negatives (any result with the sign bit set, -0 included) to
/// +0, while NaN stays the canonical NaN ("NaN results are converted to
/// canonical NaN", PTX ISA 9.7.9.21 cvt).
uint16_t f32ToBF16(float value, Rounding rounding, bool relu = false,
                   bool satfinite = false);
uint16_t f32ToF16(float value, Rounding rounding, bool relu = false,
                  bool satfinite = false);
/// f64 -> f32 with `rounding` (cvt.rn/rz/rm/rp.f32.f64).
float f64ToF32(double value, Rounding rounding);
/// Integer <-> float conversions with rounding, as cvt defines them:
/// float -> integer (cvt.rni/rzi/rmi/rpi) saturates to the destination range
/// and gives 0 for NaN.
int64_t floatToInt(double value, Rounding rounding, bool isSigned, int bits);
/// An integer value to f32 with `rounding` (cvt.rn.f32.s64 etc.).
float intToF32(int64_t value, bool isSigned, Rounding rounding);

} // namespace gatec::cudasim

#endif // GATEC_CUDASIM_NUMERICS_H
