//===- NumericsTest.cpp - PTX conversions and rounding --------------------===//
//
// Part of gatec. Literal bit patterns for the cvt conversions of
// gatec/CudaSim/Numerics.h: ties to even, the directed rounding modes,
// subnormals, overflow to infinity versus .satfinite, NaN canonicalisation,
// .relu and signed zeros.
//
//===----------------------------------------------------------------------===//

#include "gatec/CudaSim/Numerics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

using namespace gatec::cudasim;

namespace {

float f32(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint32_t bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

constexpr Rounding RN = Rounding::RN, RZ = Rounding::RZ, RM = Rounding::RM,
                   RP = Rounding::RP;

TEST(NumericsTest, F16ToF32) {
  EXPECT_EQ(bits(f16ToF32(0x3c00)), 0x3f800000u);        // 1.0
  EXPECT_EQ(bits(f16ToF32(0xc000)), 0xc0000000u);        // -2.0
  EXPECT_EQ(f16ToF32(0x7bff), 65504.0f);                 // max finite
  EXPECT_EQ(f16ToF32(0x0400), std::ldexp(1.0f, -14));    // min normal
  EXPECT_EQ(f16ToF32(0x0001), std::ldexp(1.0f, -24));    // min subnormal
  EXPECT_EQ(f16ToF32(0x03ff), std::ldexp(1023.0f, -24)); // max subnormal
  EXPECT_EQ(bits(f16ToF32(0x8000)), 0x80000000u);        // -0
  EXPECT_EQ(bits(f16ToF32(0x7c00)), 0x7f800000u);        // +inf
  EXPECT_EQ(bits(f16ToF32(0xfc00)), 0xff800000u);        // -inf
  EXPECT_TRUE(std::isnan(f16ToF32(0x7e00)));
  EXPECT_TRUE(std::isnan(f16ToF32(0x7c01)));
  EXPECT_TRUE(std::isnan(f16ToF32(0x7fff)));
}

TEST(NumericsTest, BF16ToF32) {
  EXPECT_EQ(bits(bf16ToF32(0x3f80)), 0x3f800000u);
  EXPECT_EQ(bits(bf16ToF32(0xc1a0)), 0xc1a00000u); // -20
  EXPECT_EQ(bits(bf16ToF32(0x0001)), 0x00010000u); // subnormal 2^-133
  EXPECT_EQ(bits(bf16ToF32(0x8000)), 0x80000000u);
  EXPECT_EQ(bits(bf16ToF32(0x7f80)), 0x7f800000u);
  EXPECT_TRUE(std::isnan(bf16ToF32(0x7fff)));
}

TEST(NumericsTest, F32ToF16Exact) {
  EXPECT_EQ(f32ToF16(1.0f, RN), 0x3c00);
  EXPECT_EQ(f32ToF16(-2.0f, RN), 0xc000);
  EXPECT_EQ(f32ToF16(65504.0f, RN), 0x7bff);
  EXPECT_EQ(f32ToF16(std::ldexp(1.0f, -24), RN), 0x0001);
  EXPECT_EQ(f32ToF16(std::ldexp(1023.0f, -24), RN), 0x03ff);
  EXPECT_EQ(f32ToF16(0.0f, RN), 0x0000);
  EXPECT_EQ(f32ToF16(-0.0f, RN), 0x8000);
  EXPECT_EQ(f32ToF16(f32(0x7f800000), RN), 0x7c00);
  EXPECT_EQ(f32ToF16(f32(0xff800000), RN), 0xfc00);
}

TEST(NumericsTest, F32ToF16Ties) {
  // 1 + 2^-11 (0x3f801000) lies halfway between 0x3c00 and 0x3c01.
  EXPECT_EQ(f32ToF16(f32(0x3f801000), RN), 0x3c00); // to even
  EXPECT_EQ(f32ToF16(f32(0x3f801000), RZ), 0x3c00);
  EXPECT_EQ(f32ToF16(f32(0x3f801000), RM), 0x3c00);
  EXPECT_EQ(f32ToF16(f32(0x3f801000), RP), 0x3c01);
  // 1 + 3 * 2^-11 (0x3f803000): halfway between 0x3c01 and 0x3c02.
  EXPECT_EQ(f32ToF16(f32(0x3f803000), RN), 0x3c02);
  // Just above the tie.
  EXPECT_EQ(f32ToF16(f32(0x3f801001), RN), 0x3c01);
  // Negative ties: -(1 + 2^-11).
  EXPECT_EQ(f32ToF16(f32(0xbf801000), RN), 0xbc00);
  EXPECT_EQ(f32ToF16(f32(0xbf801000), RZ), 0xbc00);
  EXPECT_EQ(f32ToF16(f32(0xbf801000), RM), 0xbc01);
  EXPECT_EQ(f32ToF16(f32(0xbf801000), RP), 0xbc00);
}

TEST(NumericsTest, F32ToF16Subnormals) {
  // 2^-25 is half of the smallest subnormal: ties to even gives 0.
  EXPECT_EQ(f32ToF16(f32(0x33000000), RN), 0x0000);
  EXPECT_EQ(f32ToF16(f32(0x33000000), RP), 0x0001);
  EXPECT_EQ(f32ToF16(f32(0xb3000000), RN), 0x8000);
  EXPECT_EQ(f32ToF16(f32(0xb3000000), RM), 0x8001);
  // 0.75 * 2^-24 rounds up to the smallest subnormal.
  EXPECT_EQ(f32ToF16(std::ldexp(3.0f, -26), RN), 0x0001);
  EXPECT_EQ(f32ToF16(std::ldexp(3.0f, -26), RZ), 0x0000);
  // 1.5 * 2^-24: tie between 0x0001 and 0x0002, to even.
  EXPECT_EQ(f32ToF16(std::ldexp(3.0f, -25), RN), 0x0002);
  // 2.5 * 2^-24: tie between 0x0002 and 0x0003, to even.
  EXPECT_EQ(f32ToF16(std::ldexp(5.0f, -25), RN), 0x0002);
  // 1023.5 * 2^-24: tie between the largest subnormal and the smallest
  // normal 0x0400, to even (0x0400).
  EXPECT_EQ(f32ToF16(std::ldexp(2047.0f, -25), RN), 0x0400);
  EXPECT_EQ(f32ToF16(std::ldexp(2047.0f, -25), RZ), 0x03ff);
  // An f32 subnormal input (no .ftz): far below the f16 range.
  EXPECT_EQ(f32ToF16(f32(0x00000001), RN), 0x0000);
  EXPECT_EQ(f32ToF16(f32(0x00000001), RP), 0x0001);
  EXPECT_EQ(f32ToF16(f32(0x80000001), RM), 0x8001);
  EXPECT_EQ(f32ToF16(f32(0x80000001), RN), 0x8000);
}

TEST(NumericsTest, F32ToF16Overflow) {
  // 65520 is halfway between 65504 (0x7bff, odd) and 65536 (out of range):
  // .rn rounds to infinity.
  EXPECT_EQ(f32ToF16(65520.0f, RN), 0x7c00);
  EXPECT_EQ(f32ToF16(65519.99609375f, RN), 0x7bff);
  EXPECT_EQ(f32ToF16(65520.0f, RN, false, /*satfinite=*/true), 0x7bff);
  EXPECT_EQ(f32ToF16(1.0e6f, RN), 0x7c00);
  EXPECT_EQ(f32ToF16(1.0e6f, RZ), 0x7bff);
  EXPECT_EQ(f32ToF16(1.0e6f, RM), 0x7bff);
  EXPECT_EQ(f32ToF16(1.0e6f, RP), 0x7c00);
  EXPECT_EQ(f32ToF16(-1.0e6f, RN), 0xfc00);
  EXPECT_EQ(f32ToF16(-1.0e6f, RZ), 0xfbff);
  EXPECT_EQ(f32ToF16(-1.0e6f, RM), 0xfc00);
  EXPECT_EQ(f32ToF16(-1.0e6f, RP), 0xfbff);
  // .satfinite: sign-preserved MAX_NORM, for infinities too.
  EXPECT_EQ(f32ToF16(1.0e6f, RN, false, true), 0x7bff);
  EXPECT_EQ(f32ToF16(-1.0e6f, RN, false, true), 0xfbff);
  EXPECT_EQ(f32ToF16(f32(0x7f800000), RN, false, true), 0x7bff);
  EXPECT_EQ(f32ToF16(f32(0xff800000), RN, false, true), 0xfbff);
  EXPECT_EQ(f32ToF16(f32(0xff800000), RP, false, true), 0xfbff);
}

TEST(NumericsTest, F32ToF16NaNAndRelu) {
  // Any NaN becomes the canonical 0x7fff, with or without modifiers.
  EXPECT_EQ(f32ToF16(f32(0x7fc00000), RN), 0x7fff);
  EXPECT_EQ(f32ToF16(f32(0xffc00000), RN), 0x7fff);
  EXPECT_EQ(f32ToF16(f32(0x7f800001), RZ), 0x7fff); // signalling
  EXPECT_EQ(f32ToF16(f32(0x7fc00000), RN, false, true), 0x7fff);
  EXPECT_EQ(f32ToF16(f32(0xffc00000), RN, true, false), 0x7fff);
  // .relu clamps negatives to +0.
  EXPECT_EQ(f32ToF16(-1.0f, RN, true), 0x0000);
  EXPECT_EQ(f32ToF16(-0.0f, RN, true), 0x0000);
  EXPECT_EQ(f32ToF16(f32(0xff800000), RN, true), 0x0000);
  EXPECT_EQ(f32ToF16(f32(0xb3000000), RM, true), 0x0000);
  EXPECT_EQ(f32ToF16(2.0f, RN, true), 0x4000);
  EXPECT_EQ(f32ToF16(1.0e6f, RN, true, true), 0x7bff);
}

TEST(NumericsTest, F32ToBF16) {
  EXPECT_EQ(f32ToBF16(1.0f, RN), 0x3f80);
  EXPECT_EQ(f32ToBF16(-0.0f, RN), 0x8000);
  // 1 + 2^-8 (0x3f808000): halfway between 0x3f80 and 0x3f81.
  EXPECT_EQ(f32ToBF16(f32(0x3f808000), RN), 0x3f80);
  EXPECT_EQ(f32ToBF16(f32(0x3f808000), RP), 0x3f81);
  EXPECT_EQ(f32ToBF16(f32(0x3f818000), RN), 0x3f82); // tie, to even
  EXPECT_EQ(f32ToBF16(f32(0x3f808001), RN), 0x3f81);
  EXPECT_EQ(f32ToBF16(f32(0x3f80ffff), RZ), 0x3f80);
  EXPECT_EQ(f32ToBF16(f32(0x3f800001), RP), 0x3f81);
  EXPECT_EQ(f32ToBF16(f32(0x3f800001), RM), 0x3f80);
  EXPECT_EQ(f32ToBF16(f32(0xbf800001), RM), 0xbf81);
  EXPECT_EQ(f32ToBF16(f32(0xbf800001), RP), 0xbf80);
  // Subnormals: bf16 has f32's exponent range.
  EXPECT_EQ(f32ToBF16(f32(0x00010000), RN), 0x0001);
  EXPECT_EQ(f32ToBF16(f32(0x00008000), RN), 0x0000); // tie, to even (0)
  EXPECT_EQ(f32ToBF16(f32(0x00018000), RN), 0x0002); // tie, to even (2)
  EXPECT_EQ(f32ToBF16(f32(0x00000001), RP), 0x0001);
  EXPECT_EQ(f32ToBF16(f32(0x007fffff), RN), 0x0080); // up to min normal
  // Overflow: FLT_MAX rounds up past the largest bf16 (0x7f7f).
  EXPECT_EQ(f32ToBF16(f32(0x7f7fffff), RN), 0x7f80);
  EXPECT_EQ(f32ToBF16(f32(0x7f7fffff), RZ), 0x7f7f);
  EXPECT_EQ(f32ToBF16(f32(0x7f7fffff), RN, false, true), 0x7f7f);
  EXPECT_EQ(f32ToBF16(f32(0xff7fffff), RN), 0xff80);
  EXPECT_EQ(f32ToBF16(f32(0xff7fffff), RP), 0xff7f);
  EXPECT_EQ(f32ToBF16(f32(0xff800000), RN, false, true), 0xff7f);
  EXPECT_EQ(f32ToBF16(f32(0x7f800000), RN), 0x7f80);
  // NaN and .relu.
  EXPECT_EQ(f32ToBF16(f32(0x7fc00001), RN), 0x7fff);
  EXPECT_EQ(f32ToBF16(f32(0xffc00000), RZ), 0x7fff);
  EXPECT_EQ(f32ToBF16(f32(0x7fc00000), RN, true, true), 0x7fff);
  EXPECT_EQ(f32ToBF16(-3.0f, RN, true), 0x0000);
  EXPECT_EQ(f32ToBF16(3.0f, RN, true), 0x4040);
}

TEST(NumericsTest, F64ToF32) {
  const double one = 1.0;
  // 1 + 2^-24 is halfway between 1 and 1 + 2^-23.
  EXPECT_EQ(bits(f64ToF32(one + std::ldexp(1.0, -24), RN)), 0x3f800000u);
  EXPECT_EQ(bits(f64ToF32(one + std::ldexp(1.0, -24), RP)), 0x3f800001u);
  EXPECT_EQ(bits(f64ToF32(one + 3 * std::ldexp(1.0, -24), RN)), 0x3f800002u);
  EXPECT_EQ(
      bits(f64ToF32(one + std::ldexp(1.0, -24) + std::ldexp(1.0, -50), RN)),
      0x3f800001u);
  // 1/3 = 0x3eaaaaab when rounded to nearest; the truncation is ...aa.
  EXPECT_EQ(bits(f64ToF32(1.0 / 3.0, RN)), 0x3eaaaaabu);
  EXPECT_EQ(bits(f64ToF32(1.0 / 3.0, RZ)), 0x3eaaaaaau);
  EXPECT_EQ(bits(f64ToF32(1.0 / 3.0, RM)), 0x3eaaaaaau);
  EXPECT_EQ(bits(f64ToF32(1.0 / 3.0, RP)), 0x3eaaaaabu);
  EXPECT_EQ(bits(f64ToF32(-1.0 / 3.0, RM)), 0xbeaaaaabu);
  EXPECT_EQ(bits(f64ToF32(-1.0 / 3.0, RP)), 0xbeaaaaaau);
  // Overflow.
  const double big = std::numeric_limits<double>::max();
  EXPECT_EQ(bits(f64ToF32(big, RN)), 0x7f800000u);
  EXPECT_EQ(bits(f64ToF32(big, RZ)), 0x7f7fffffu);
  EXPECT_EQ(bits(f64ToF32(big, RM)), 0x7f7fffffu);
  EXPECT_EQ(bits(f64ToF32(-big, RM)), 0xff800000u);
  EXPECT_EQ(bits(f64ToF32(-big, RP)), 0xff7fffffu);
  // Subnormal results.
  EXPECT_EQ(bits(f64ToF32(std::ldexp(1.0, -149), RN)), 0x00000001u);
  EXPECT_EQ(bits(f64ToF32(std::ldexp(1.0, -150), RN)), 0x00000000u);
  EXPECT_EQ(bits(f64ToF32(std::ldexp(3.0, -151), RN)), 0x00000001u);
  EXPECT_EQ(bits(f64ToF32(std::ldexp(3.0, -150), RN)), 0x00000002u);
  EXPECT_EQ(bits(f64ToF32(1e-50, RP)), 0x00000001u);
  EXPECT_EQ(bits(f64ToF32(1e-50, RN)), 0x00000000u);
  EXPECT_EQ(bits(f64ToF32(-1e-50, RM)), 0x80000001u);
  EXPECT_EQ(bits(f64ToF32(-1e-50, RZ)), 0x80000000u);
  EXPECT_EQ(bits(f64ToF32(std::numeric_limits<double>::denorm_min(), RP)),
            0x00000001u);
  // Specials.
  EXPECT_EQ(bits(f64ToF32(-0.0, RN)), 0x80000000u);
  EXPECT_EQ(bits(f64ToF32(-HUGE_VAL, RZ)), 0xff800000u);
  EXPECT_EQ(bits(f64ToF32(std::nan(""), RN)), 0x7fffffffu);
}

TEST(NumericsTest, FloatToInt) {
  // .rni: ties to even.
  EXPECT_EQ(floatToInt(2.5, RN, true, 32), 2);
  EXPECT_EQ(floatToInt(3.5, RN, true, 32), 4);
  EXPECT_EQ(floatToInt(-2.5, RN, true, 32), -2);
  EXPECT_EQ(floatToInt(-3.5, RN, true, 32), -4);
  EXPECT_EQ(floatToInt(2.5000001, RN, true, 32), 3);
  EXPECT_EQ(floatToInt(0.49999999999999994, RN, true, 32), 0);
  // .rzi / .rmi / .rpi.
  EXPECT_EQ(floatToInt(-2.7, RZ, true, 32), -2);
  EXPECT_EQ(floatToInt(2.7, RZ, true, 32), 2);
  EXPECT_EQ(floatToInt(-2.1, RM, true, 32), -3);
  EXPECT_EQ(floatToInt(2.9, RM, true, 32), 2);
  EXPECT_EQ(floatToInt(2.1, RP, true, 32), 3);
  EXPECT_EQ(floatToInt(-2.9, RP, true, 32), -2);
  // NaN gives 0.
  EXPECT_EQ(floatToInt(std::nan(""), RN, true, 32), 0);
  EXPECT_EQ(floatToInt(std::nan(""), RZ, false, 64), 0);
  // Saturation to the destination range.
  EXPECT_EQ(floatToInt(1e10, RN, true, 32), 2147483647);
  EXPECT_EQ(floatToInt(-1e10, RN, true, 32), -2147483648LL);
  EXPECT_EQ(floatToInt(2147483647.4, RN, true, 32), 2147483647);
  EXPECT_EQ(floatToInt(2147483647.5, RN, true, 32), 2147483647); // 2^31
  EXPECT_EQ(floatToInt(-2147483648.0, RN, true, 32), -2147483648LL);
  EXPECT_EQ(floatToInt(300.0, RN, false, 8), 255);
  EXPECT_EQ(floatToInt(-200.0, RN, true, 8), -128);
  EXPECT_EQ(floatToInt(127.0, RN, true, 8), 127);
  EXPECT_EQ(floatToInt(128.0, RN, true, 8), 127);
  EXPECT_EQ(floatToInt(70000.0, RZ, false, 16), 65535);
  EXPECT_EQ(floatToInt(-1.0, RN, false, 32), 0);
  EXPECT_EQ(floatToInt(-0.4, RN, false, 32), 0);
  EXPECT_EQ(floatToInt(-0.6, RP, false, 32), 0);
  EXPECT_EQ(floatToInt(4294967295.0, RN, false, 32), 4294967295LL);
  EXPECT_EQ(floatToInt(4294967296.0, RN, false, 32), 4294967295LL);
  EXPECT_EQ(floatToInt(HUGE_VAL, RN, true, 32), 2147483647);
  EXPECT_EQ(floatToInt(-HUGE_VAL, RN, true, 32), -2147483648LL);
  // 64-bit.
  EXPECT_EQ(floatToInt(1e30, RN, true, 64),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(floatToInt(std::ldexp(1.0, 63), RN, true, 64),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(floatToInt(-std::ldexp(1.0, 63), RN, true, 64),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(floatToInt(-1e30, RN, true, 64),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(floatToInt(std::ldexp(1.0, 62) * 3, RN, true, 64),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(uint64_t(floatToInt(std::ldexp(1.0, 62) * 3, RN, false, 64)),
            uint64_t(3) << 62);
  EXPECT_EQ(uint64_t(floatToInt(1e30, RN, false, 64)), ~uint64_t(0));
  EXPECT_EQ(floatToInt(9007199254740993.0, RN, true, 64),
            9007199254740992LL); // 2^53 + 1 is not a double
}

TEST(NumericsTest, IntToF32) {
  // 2^24 + 1 is halfway between 2^24 and 2^24 + 2.
  EXPECT_EQ(bits(intToF32(16777217, true, RN)), 0x4b800000u);
  EXPECT_EQ(bits(intToF32(16777217, true, RZ)), 0x4b800000u);
  EXPECT_EQ(bits(intToF32(16777217, true, RM)), 0x4b800000u);
  EXPECT_EQ(bits(intToF32(16777217, true, RP)), 0x4b800001u);
  EXPECT_EQ(bits(intToF32(16777219, true, RN)), 0x4b800002u); // to even
  EXPECT_EQ(bits(intToF32(-16777217, true, RM)), 0xcb800001u);
  EXPECT_EQ(bits(intToF32(-16777217, true, RP)), 0xcb800000u);
  EXPECT_EQ(bits(intToF32(0, true, RN)), 0x00000000u);
  EXPECT_EQ(bits(intToF32(1, true, RN)), 0x3f800000u);
  EXPECT_EQ(bits(intToF32(-1, true, RN)), 0xbf800000u);
  EXPECT_EQ(bits(intToF32(std::numeric_limits<int64_t>::min(), true, RN)),
            0xdf000000u); // -2^63 exactly
  EXPECT_EQ(bits(intToF32(std::numeric_limits<int64_t>::max(), true, RN)),
            0x5f000000u); // rounds up to 2^63
  EXPECT_EQ(bits(intToF32(std::numeric_limits<int64_t>::max(), true, RZ)),
            0x5effffffu);
  // Unsigned: -1 is the bit pattern of 2^64 - 1.
  EXPECT_EQ(bits(intToF32(-1, false, RN)), 0x5f800000u); // 2^64
  EXPECT_EQ(bits(intToF32(-1, false, RZ)), 0x5f7fffffu);
  EXPECT_EQ(bits(intToF32(4294967295LL, false, RN)), 0x4f800000u);
  EXPECT_EQ(bits(intToF32(4294967295LL, false, RM)), 0x4f7fffffu);
}

} // namespace
