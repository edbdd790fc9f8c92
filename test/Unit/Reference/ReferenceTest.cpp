//===- ReferenceTest.cpp - Hand-checked tests of the numerical oracle -----===//
//
// Part of gatec. Every backend is tested against gatec::ref, so gatec::ref is
// tested against arithmetic done by hand: each expected value carries its
// derivation. Property tests (split runs, packed sequences) compare the
// oracle with itself on pseudo-random data where the hand cases are too small
// to reach a code path.
//
//===----------------------------------------------------------------------===//

#include "gatec/Reference/Reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

using namespace gatec::ref;

namespace {

constexpr double kTol = 1e-6;
const float kNaNf = std::numeric_limits<float>::quiet_NaN();
const float kInff = std::numeric_limits<float>::infinity();

uint32_t bitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float floatOf(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

//===----------------------------------------------------------------------===//
// Activations and gates
//===----------------------------------------------------------------------===//

TEST(ActivationTest, Sigmoid) {
  // 1 / (1 + e^0) = 1/2.
  EXPECT_DOUBLE_EQ(activate(Activation::Sigmoid, 0.0), 0.5);
  // 1 / (1 + e^-2) = 1 / 1.135335 = 0.880797.
  EXPECT_NEAR(activate(Activation::Sigmoid, 2.0), 0.880797078, kTol);
  // sigmoid(-z) = 1 - sigmoid(z) = 0.119203.
  EXPECT_NEAR(activate(Activation::Sigmoid, -2.0), 0.119202922, kTol);
  // e^-100 = 3.72e-44 is far below double epsilon next to 1: exactly 1.
  EXPECT_EQ(activate(Activation::Sigmoid, 100.0), 1.0);
  // e^-100 / (1 + e^-100) = 3.720076e-44: tiny but positive, not 0/0.
  EXPECT_NEAR(activate(Activation::Sigmoid, -100.0), 3.720076e-44, 1e-49);
  // e^-1000 underflows to 0; 0 / (1 + 0) = 0.
  EXPECT_EQ(activate(Activation::Sigmoid, -1000.0), 0.0);
  EXPECT_EQ(activate(Activation::Sigmoid, 1000.0), 1.0);
}

TEST(ActivationTest, IdentityAndRelu) {
  EXPECT_EQ(activate(Activation::Identity, -2.5), -2.5);
  EXPECT_EQ(activate(Activation::Identity, 3.0), 3.0);
  EXPECT_EQ(activate(Activation::Relu, -2.5), 0.0);
  EXPECT_EQ(activate(Activation::Relu, 3.0), 3.0);
  EXPECT_EQ(activate(Activation::Relu, 0.0), 0.0);
}

TEST(ActivationTest, GeluErf) {
  // 0.5 * 1 * (1 + erf(1/sqrt 2)) = 0.5 * (1 + 0.682689) = 0.841345.
  EXPECT_NEAR(activate(Activation::Gelu, 1.0), 0.841344746, kTol);
  // 0.5 * -1 * (1 - 0.682689) = -0.158655.
  EXPECT_NEAR(activate(Activation::Gelu, -1.0), -0.158655254, kTol);
  // 0.5 * 2 * (1 + erf(1.414214)) = 1 + 0.954500 = 1.954500.
  EXPECT_NEAR(activate(Activation::Gelu, 2.0), 1.954499736, kTol);
  EXPECT_EQ(activate(Activation::Gelu, 0.0), 0.0);
  // 1 + erf(-10/sqrt 2) would cancel to 0 in double; erfc(10/sqrt 2) keeps
  // the factor: 0.5 * -10 * 1.5239706e-23.
  EXPECT_NEAR(activate(Activation::Gelu, -10.0), -7.619853e-23, 1e-28);
  // erf(70.7) = 1: gelu(100) = 100.
  EXPECT_DOUBLE_EQ(activate(Activation::Gelu, 100.0), 100.0);
}

TEST(ActivationTest, GeluTanh) {
  // sqrt(2/pi) = 0.797885; 1 + 0.044715 = 1.044715; tanh(0.833554) = 0.682384;
  // 0.5 * (1 + 0.682384) = 0.841192.
  EXPECT_NEAR(activate(Activation::GeluTanh, 1.0), 0.841191991, kTol);
  // Odd argument of tanh: 0.5 * -1 * (1 - 0.682384) = -0.158808.
  EXPECT_NEAR(activate(Activation::GeluTanh, -1.0), -0.158808009, kTol);
  // 0.797885 * (2 + 0.35772) = 1.881167; tanh = 0.954598; 1.954598.
  EXPECT_NEAR(activate(Activation::GeluTanh, 2.0), 1.954597694, kTol);
  // It differs from the erf form: the two must not be swapped.
  EXPECT_GT(std::fabs(activate(Activation::GeluTanh, 1.0) -
                      activate(Activation::Gelu, 1.0)),
            1e-4);
  // tanh(-huge) = -1: 0.5 * -100 * 0 = 0.
  EXPECT_NEAR(activate(Activation::GeluTanh, -100.0), 0.0, 1e-20);
}

TEST(ActivationTest, Silu) {
  // 1 * sigmoid(1) = 0.731059.
  EXPECT_NEAR(activate(Activation::Silu, 1.0), 0.731058579, kTol);
  // -1 * sigmoid(-1) = -0.268941.
  EXPECT_NEAR(activate(Activation::Silu, -1.0), -0.268941421, kTol);
  // -100 * 3.720076e-44 = -3.720076e-42: about 0 and not NaN.
  double silu = activate(Activation::Silu, -100.0);
  EXPECT_FALSE(std::isnan(silu));
  EXPECT_NEAR(silu, -3.720076e-42, 1e-47);
  // 100 * 1 = 100.
  EXPECT_EQ(activate(Activation::Silu, 100.0), 100.0);
}

TEST(ActivationTest, InfinitiesGiveTheLimits) {
  const double inf = std::numeric_limits<double>::infinity();
  // -inf * sigmoid(-inf) would be -inf * 0 = NaN; the limit is 0.
  EXPECT_EQ(activate(Activation::Silu, -inf), 0.0);
  EXPECT_EQ(activate(Activation::Silu, inf), inf);
  EXPECT_EQ(activate(Activation::Gelu, -inf), 0.0);
  EXPECT_EQ(activate(Activation::Gelu, inf), inf);
  EXPECT_EQ(activate(Activation::GeluTanh, -inf), 0.0);
  EXPECT_EQ(activate(Activation::GeluTanh, inf), inf);
  EXPECT_EQ(activate(Activation::Sigmoid, -inf), 0.0);
  EXPECT_EQ(activate(Activation::Sigmoid, inf), 1.0);
  EXPECT_EQ(activate(Activation::Relu, -inf), 0.0);
}

TEST(ActivationTest, NaNPropagates) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (Activation act :
       {Activation::Sigmoid, Activation::Identity, Activation::Relu,
        Activation::Gelu, Activation::GeluTanh, Activation::Silu})
    EXPECT_TRUE(std::isnan(activate(act, nan))) << static_cast<int>(act);
}

TEST(GateTest, ElementwiseSwiGLU) {
  // y = silu(g) * x: silu(1) * 2 = 1.462117; silu(-1) * -3 = 0.806824.
  std::vector<float> x = {2.0f, -3.0f}, g = {1.0f, -1.0f}, y(2);
  gate(x.data(), g.data(), y.data(), 1, 2, GateParams{});
  EXPECT_NEAR(y[0], 1.462117157, kTol);
  EXPECT_NEAR(y[1], 0.806824264, kTol);
}

TEST(GateTest, ElementwiseActivationsMultiplyX) {
  // relu(-1) * 5 = 0, relu(2) * 5 = 10; sigmoid(0) * 6 = 3.
  std::vector<float> x = {5.0f, 5.0f}, g = {-1.0f, 2.0f}, y(2);
  GateParams relu;
  relu.act = Activation::Relu;
  gate(x.data(), g.data(), y.data(), 2, 1, relu);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 10.0f);

  std::vector<float> x1 = {6.0f}, g1 = {0.0f}, y1(1);
  GateParams sigmoid;
  sigmoid.act = Activation::Sigmoid;
  gate(x1.data(), g1.data(), y1.data(), 1, 1, sigmoid);
  EXPECT_EQ(y1[0], 3.0f);
}

TEST(GateTest, ClampedSwiGLU) {
  // L = 7. g is clamped only from above: 9 -> 7, 1 stays, -20 stays.
  // x is clamped to [-7, 7]: 10 -> 7, -10 -> -7, 3 stays.
  //   silu(7) * 7 = 7 * sigmoid(7) * 7 = 49 * 0.999089 = 48.955358
  //   silu(1) * -7 = 0.731059 * -7 = -5.117410
  //   silu(-20) * 3 = -20 * 2.061154e-9 * 3 = -1.236692e-7
  // (a two-sided clamp of g would give silu(-7) * 3 = -0.019140 instead).
  std::vector<float> x = {10.0f, -10.0f, 3.0f}, g = {9.0f, 1.0f, -20.0f};
  std::vector<float> y(3);
  GateParams params;
  params.clampLimit = 7.0;
  gate(x.data(), g.data(), y.data(), 1, 3, params);
  EXPECT_NEAR(y[0], 48.95535849, 1e-4);
  EXPECT_NEAR(y[1], -5.11741005, 1e-5);
  EXPECT_NEAR(y[2], -1.2366922e-7, 1e-12);
}

TEST(GateTest, HeadwiseBroadcastsOverRow) {
  // Two rows of d = 3, one gate value per row.
  // Row 0: sigmoid(0) = 1/2 -> x / 2.
  // Row 1: sigmoid(ln 3) = 3 / (3 + 1) = 3/4 -> 3x/4.
  std::vector<float> x = {2.0f, 4.0f, 6.0f, 4.0f, 8.0f, -12.0f};
  std::vector<float> g = {0.0f, std::log(3.0f)};
  std::vector<float> y(6);
  GateParams params;
  params.act = Activation::Sigmoid;
  params.headwise = true;
  gate(x.data(), g.data(), y.data(), 2, 3, params);
  std::vector<float> expected = {1.0f, 2.0f, 3.0f, 3.0f, 6.0f, -9.0f};
  for (int i = 0; i < 6; ++i)
    EXPECT_NEAR(y[i], expected[i], 1e-6) << i;
}

TEST(GateTest, FusedGateHalves) {
  // Two rows of [a b | c d], f = 2, relu (not symmetric in g and x).
  //   row 0 = [-1, 2 | 3, -4]
  //     first:  g = [-1, 2], x = [3, -4] -> [0 * 3, 2 * -4] = [0, -8]
  //     second: g = [3, -4], x = [-1, 2] -> [3 * -1, 0 * 2] = [-3, 0]
  //   row 1 = [1, 1 | 5, 6]
  //     first:  g = [1, 1], x = [5, 6] -> [5, 6]
  //     second: g = [5, 6], x = [1, 1] -> [5, 6]
  std::vector<float> input = {-1.0f, 2.0f, 3.0f, -4.0f, 1.0f, 1.0f, 5.0f, 6.0f};
  std::vector<float> y(4);
  GateParams params;
  params.act = Activation::Relu;
  fusedGate(input.data(), y.data(), 2, 2, /*gateFirst=*/true, params);
  EXPECT_EQ(y, (std::vector<float>{0.0f, -8.0f, 5.0f, 6.0f}));
  fusedGate(input.data(), y.data(), 2, 2, /*gateFirst=*/false, params);
  EXPECT_EQ(y, (std::vector<float>{-3.0f, 0.0f, 5.0f, 6.0f}));
}

TEST(GateTest, FusedGateClampsLikeSplit) {
  // [g | x] = [9, 1 | 10, -10] with L = 7 is the clamped SwiGLU case above:
  // [silu(7) * 7, silu(1) * -7] = [48.955358, -5.117410].
  std::vector<float> input = {9.0f, 1.0f, 10.0f, -10.0f};
  std::vector<float> y(2);
  GateParams params;
  params.clampLimit = 7.0;
  fusedGate(input.data(), y.data(), 1, 2, /*gateFirst=*/true, params);
  EXPECT_NEAR(y[0], 48.95535849, 1e-4);
  EXPECT_NEAR(y[1], -5.11741005, 1e-5);
}

//===----------------------------------------------------------------------===//
// Rounding to bf16 / f16
//===----------------------------------------------------------------------===//

TEST(RoundTest, BF16Exact) {
  // bf16 keeps 7 fraction bits: 1, 1.5, -2 and 1 + 2^-7 are representable.
  EXPECT_EQ(roundToBF16(1.0f), 1.0f);
  EXPECT_EQ(roundToBF16(1.5f), 1.5f);
  EXPECT_EQ(roundToBF16(-2.0f), -2.0f);
  EXPECT_EQ(roundToBF16(1.0078125f), 1.0078125f);
  EXPECT_EQ(bitsOf(roundToBF16(-0.0f)), 0x80000000u);
  EXPECT_EQ(roundToBF16(kInff), kInff);
  EXPECT_EQ(roundToBF16(-kInff), -kInff);
}

TEST(RoundTest, BF16Ties) {
  // 1 + 2^-8 lies halfway between 1 (fraction 0000000, even) and 1 + 2^-7
  // (fraction 0000001, odd): to even, 1.
  EXPECT_EQ(roundToBF16(1.00390625f), 1.0f);
  // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
  EXPECT_EQ(roundToBF16(1.01171875f), 1.015625f);
  // Just above the first tie (1 + 2^-8 + 2^-19) rounds up to 1 + 2^-7.
  EXPECT_EQ(roundToBF16(floatOf(0x3F808010u)), 1.0078125f);
  // Just below (1 + 2^-8 - 2^-23) rounds down: the low bits are not ignored.
  EXPECT_EQ(roundToBF16(floatOf(0x3F807FFFu)), 1.0f);
  // Negative ties mirror: bits 0xBF808000 -> 0xBF800000.
  EXPECT_EQ(bitsOf(roundToBF16(floatOf(0xBF808000u))), 0xBF800000u);
  // 0x3F818000 is halfway between 0x3F81 (odd) and 0x3F82 (even).
  EXPECT_EQ(bitsOf(roundToBF16(floatOf(0x3F818000u))), 0x3F820000u);
}

TEST(RoundTest, BF16NaN) {
  EXPECT_TRUE(std::isnan(roundToBF16(kNaNf)));
  // A signalling NaN whose payload sits in the 16 bits bf16 drops must not
  // turn into an infinity.
  float lowPayload = floatOf(0x7F800001u);
  ASSERT_TRUE(std::isnan(lowPayload));
  EXPECT_TRUE(std::isnan(roundToBF16(lowPayload)));
  EXPECT_TRUE(std::isnan(roundToBF16(floatOf(0xFF800001u))));
  // The result is itself a bf16 value: the low 16 bits are zero.
  EXPECT_EQ(bitsOf(roundToBF16(lowPayload)) & 0xFFFFu, 0u);
}

TEST(RoundTest, BF16Overflow) {
  // FLT_MAX = 0x7F7FFFFF is above the largest bf16 (0x7F7F0000) plus half an
  // ulp (0x7F7F8000): it rounds to infinity.
  EXPECT_EQ(roundToBF16(floatOf(0x7F7FFFFFu)), kInff);
  EXPECT_EQ(roundToBF16(floatOf(0xFF7FFFFFu)), -kInff);
  // Exactly half an ulp above the largest bf16: the tie goes to the even
  // neighbour, which is the infinity (0x7F7F has an odd fraction).
  EXPECT_EQ(roundToBF16(floatOf(0x7F7F8000u)), kInff);
  // Just below that tie it stays the largest finite bf16.
  EXPECT_EQ(bitsOf(roundToBF16(floatOf(0x7F7F7FFFu))), 0x7F7F0000u);
}

TEST(RoundTest, BF16Subnormal) {
  // bf16 subnormals are multiples of 2^-133 = bits 0x00010000.
  // 2^-149 (0x00000001) is below half of 2^-133: 0.
  EXPECT_EQ(bitsOf(roundToBF16(floatOf(0x00000001u))), 0u);
  // 2^-134 (0x00008000) is exactly half: tie to the even neighbour, 0.
  EXPECT_EQ(bitsOf(roundToBF16(floatOf(0x00008000u))), 0u);
  // 1.5 * 2^-133 (0x00018000): tie between 1 and 2 quanta -> 2 (even).
  EXPECT_EQ(bitsOf(roundToBF16(floatOf(0x00018000u))), 0x00020000u);
  // Slightly above half a quantum rounds up to one quantum.
  EXPECT_EQ(bitsOf(roundToBF16(floatOf(0x00008001u))), 0x00010000u);
  // Largest f32 subnormal 0x007FFFFF rounds up to the smallest normal.
  EXPECT_EQ(bitsOf(roundToBF16(floatOf(0x007FFFFFu))), 0x00800000u);
  // The sign survives a flush to zero.
  EXPECT_EQ(bitsOf(roundToBF16(floatOf(0x80000001u))), 0x80000000u);
}

TEST(RoundTest, F16Exact) {
  EXPECT_EQ(roundToF16(1.0f), 1.0f);
  EXPECT_EQ(roundToF16(-2.5f), -2.5f);
  // Largest finite half: (2 - 2^-10) * 2^15 = 65504.
  EXPECT_EQ(roundToF16(65504.0f), 65504.0f);
  // 1 + 2^-10 is the next half after 1.
  EXPECT_EQ(roundToF16(1.0009765625f), 1.0009765625f);
  EXPECT_EQ(bitsOf(roundToF16(-0.0f)), 0x80000000u);
  EXPECT_EQ(roundToF16(kInff), kInff);
}

TEST(RoundTest, F16Ties) {
  // 1 + 2^-11 is halfway between 1 (even) and 1 + 2^-10 (odd): 1.
  EXPECT_EQ(roundToF16(1.00048828125f), 1.0f);
  // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
  EXPECT_EQ(roundToF16(1.00146484375f), 1.001953125f);
  // Above 2048 halves are 2 apart: 2049 -> 2048 (fraction even),
  // 2051 -> 2052 (2050 has an odd fraction).
  EXPECT_EQ(roundToF16(2049.0f), 2048.0f);
  EXPECT_EQ(roundToF16(2051.0f), 2052.0f);
  EXPECT_EQ(roundToF16(-2051.0f), -2052.0f);
  // Just above a tie rounds up: 2049.001 -> 2050.
  EXPECT_EQ(roundToF16(2049.001f), 2050.0f);
  // 0.1 = 0x3DCCCCCD in f32; the nearest half is 0x2E66 = 1638 * 2^-14
  // = 0.0999755859375 (0.1 * 2^14 = 1638.4, rounds down).
  EXPECT_EQ(roundToF16(0.1f), 0.0999755859375f);
}

TEST(RoundTest, F16NaN) {
  EXPECT_TRUE(std::isnan(roundToF16(kNaNf)));
  // Payload only in the 13 bits f16 drops: still a NaN, not an infinity.
  EXPECT_TRUE(std::isnan(roundToF16(floatOf(0x7F800001u))));
  EXPECT_TRUE(std::isnan(roundToF16(floatOf(0xFF800FFFu))));
}

TEST(RoundTest, F16Overflow) {
  // The tie between 65504 and 65536 is 65520: below stays 65504, the tie goes
  // to 65536 (even fraction), which is past the range: inf.
  EXPECT_EQ(roundToF16(65519.0f), 65504.0f);
  EXPECT_EQ(roundToF16(65520.0f), kInff);
  EXPECT_EQ(roundToF16(-65520.0f), -kInff);
  EXPECT_EQ(roundToF16(1.0e6f), kInff);
  EXPECT_EQ(roundToF16(-70000.0f), -kInff);
  EXPECT_EQ(roundToF16(3.0e38f), kInff);
}

TEST(RoundTest, F16Subnormal) {
  const float quantum = std::ldexp(1.0f, -24); // Smallest half subnormal.
  EXPECT_EQ(roundToF16(quantum), quantum);
  EXPECT_EQ(roundToF16(1023.0f * quantum), 1023.0f * quantum);
  // Half a quantum: tie between 0 (even) and 1 quantum -> 0.
  EXPECT_EQ(roundToF16(0.5f * quantum), 0.0f);
  // A quarter quantum rounds down to 0.
  EXPECT_EQ(roundToF16(0.25f * quantum), 0.0f);
  // 1.5 quanta: tie between 1 and 2 -> 2.
  EXPECT_EQ(roundToF16(1.5f * quantum), 2.0f * quantum);
  // 2.5 quanta: tie between 2 (even) and 3 -> 2.
  EXPECT_EQ(roundToF16(2.5f * quantum), 2.0f * quantum);
  // 1.25 quanta rounds down to 1 quantum.
  EXPECT_EQ(roundToF16(1.25f * quantum), quantum);
  // 1023.5 quanta is the tie between the largest subnormal (odd) and the
  // smallest normal 1024 * 2^-24 = 2^-14: it becomes normal.
  EXPECT_EQ(roundToF16(1023.5f * quantum), std::ldexp(1.0f, -14));
  // A tiny f32 subnormal flushes to zero, keeping its sign.
  EXPECT_EQ(bitsOf(roundToF16(-1e-40f)), 0x80000000u);
}

//===----------------------------------------------------------------------===//
// Chunked scans
//===----------------------------------------------------------------------===//

/// Everything chunkedScan reads, owned, with empty vectors meaning null.
struct ScanCase {
  ScanShape shape;
  ScanParams params;
  std::vector<float> q, k, v, decay, beta, initialState;
  std::vector<int64_t> cuSeqlens;
  bool packed = false;

  int64_t numSequences() const {
    return packed ? static_cast<int64_t>(cuSeqlens.size()) - 1 : shape.batch;
  }
};

struct ScanResult {
  std::vector<float> o, finalState;
};

ScanResult runScan(const ScanCase &c) {
  const ScanShape &s = c.shape;
  ScanResult result;
  result.o.assign(s.batch * s.tokens * s.getValueHeads() * s.valueDim, -7.0f);
  result.finalState.assign(c.numSequences() * s.getValueHeads() * s.keyDim *
                               s.valueDim,
                           -7.0f);
  auto ptr = [](const std::vector<float> &x) {
    return x.empty() ? nullptr : x.data();
  };
  chunkedScan(ptr(c.q), ptr(c.k), ptr(c.v), ptr(c.decay), ptr(c.beta),
              ptr(c.initialState), c.packed ? &c.cuSeqlens : nullptr,
              result.o.data(), result.finalState.data(),
              /*chunkStates=*/nullptr, s, c.params);
  return result;
}

/// Deterministic pseudo-random numbers, so failures reproduce.
class Lcg {
public:
  explicit Lcg(uint64_t seed) : state(seed) {}
  float uniform(float lo, float hi) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    double unit = static_cast<double>(state >> 11) / 9007199254740992.0;
    return static_cast<float>(lo + (hi - lo) * unit);
  }
  std::vector<float> fill(int64_t n, float lo, float hi) {
    std::vector<float> values(n);
    for (float &value : values)
      value = uniform(lo, hi);
    return values;
  }

private:
  uint64_t state;
};

int64_t decayWidth(DecayKind kind, const ScanShape &s) {
  switch (kind) {
  case DecayKind::Vector:
    return s.heads * s.keyDim;
  case DecayKind::Scalar:
    return s.heads;
  case DecayKind::Fixed:
  case DecayKind::None:
    return 0;
  }
  return 0;
}

ScanCase randomScan(const ScanShape &shape, DecayKind kind, uint64_t seed) {
  Lcg rng(seed);
  ScanCase c;
  c.shape = shape;
  c.params.decay = kind;
  c.params.scale = 1.0 / std::sqrt(static_cast<double>(shape.keyDim));
  int64_t rows = shape.batch * shape.tokens * shape.heads;
  c.q = rng.fill(rows * shape.keyDim, -1.0f, 1.0f);
  c.k = rng.fill(rows * shape.keyDim, -1.0f, 1.0f);
  c.v = rng.fill(rows * shape.valueDim, -1.0f, 1.0f);
  if (kind == DecayKind::Fixed)
    c.decay = rng.fill(shape.heads, -1.0f, 0.0f);
  else if (kind != DecayKind::None)
    c.decay = rng.fill(shape.batch * shape.tokens * decayWidth(kind, shape),
                       -1.0f, 0.0f);
  c.initialState = rng.fill(
      shape.batch * shape.heads * shape.keyDim * shape.valueDim, -1.0f, 1.0f);
  return c;
}

/// Tokens [begin, end) of every batch entry of a [B, T, width] tensor.
std::vector<float> tokenRange(const std::vector<float> &x, int64_t batch,
                              int64_t tokens, int64_t width, int64_t begin,
                              int64_t end) {
  std::vector<float> out;
  for (int64_t b = 0; b < batch; ++b)
    out.insert(out.end(), x.begin() + (b * tokens + begin) * width,
               x.begin() + (b * tokens + end) * width);
  return out;
}

/// The sub-problem of tokens [begin, end) starting from `initialState`.
ScanCase subScan(const ScanCase &c, int64_t begin, int64_t end,
                 std::vector<float> initialState) {
  const ScanShape &s = c.shape;
  ScanCase sub = c;
  sub.shape.tokens = end - begin;
  sub.q = tokenRange(c.q, s.batch, s.tokens, s.heads * s.keyDim, begin, end);
  sub.k = tokenRange(c.k, s.batch, s.tokens, s.heads * s.keyDim, begin, end);
  sub.v = tokenRange(c.v, s.batch, s.tokens, s.heads * s.valueDim, begin, end);
  if (int64_t width = decayWidth(c.params.decay, s))
    sub.decay = tokenRange(c.decay, s.batch, s.tokens, width, begin, end);
  sub.initialState = std::move(initialState);
  return sub;
}

void expectAllNear(const std::vector<float> &actual,
                   const std::vector<float> &expected, double tol) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], tol) << "at " << i;
}

/// B = H = 1, T = 2, K = V = 2, scale 1/2, the inputs the hand cases share:
///   q_1 = [1, 1],  k_1 = [1, 2], v_1 = [3, 4]
///   q_2 = [2, -1], k_2 = [0, 1], v_2 = [1, -1]
/// so k_1^T v_1 = [[3, 4], [6, 8]] and k_2^T v_2 = [[0, 0], [1, -1]].
ScanCase twoStepCase(DecayKind kind) {
  ScanCase c;
  c.shape = {/*batch=*/1, /*tokens=*/2, /*heads=*/1, /*keyDim=*/2,
             /*valueDim=*/2};
  c.params.decay = kind;
  c.params.scale = 0.5;
  c.q = {1, 1, 2, -1};
  c.k = {1, 2, 0, 1};
  c.v = {3, 4, 1, -1};
  return c;
}

TEST(ScanTest, VectorDecayTwoStepsByHand) {
  // alpha_1 = exp([ln 1/2, 0]) = [1/2, 1]; alpha_2 = [1, 1/2].
  ScanCase c = twoStepCase(DecayKind::Vector);
  c.decay = {std::log(0.5f), 0.0f, 0.0f, std::log(0.5f)};
  // S_0 = 0.
  // S_1 = Diag(1/2, 1) 0 + [[3, 4], [6, 8]] = [[3, 4], [6, 8]]
  // o_1 = 1/2 * [1, 1] S_1 = 1/2 * [3 + 6, 4 + 8] = [4.5, 6]
  // S_2 = Diag(1, 1/2) S_1 + [[0, 0], [1, -1]]
  //     = [[3, 4], [3, 4]] + [[0, 0], [1, -1]] = [[3, 4], [4, 3]]
  // o_2 = 1/2 * [2, -1] S_2 = 1/2 * [6 - 4, 8 - 3] = [1, 2.5]
  ScanResult r = runScan(c);
  expectAllNear(r.o, {4.5f, 6.0f, 1.0f, 2.5f}, 1e-5);
  expectAllNear(r.finalState, {3.0f, 4.0f, 4.0f, 3.0f}, 1e-5);
}

TEST(ScanTest, VectorDecayFromInitialState) {
  ScanCase c = twoStepCase(DecayKind::Vector);
  c.decay = {std::log(0.5f), 0.0f, 0.0f, std::log(0.5f)};
  c.initialState = {1, 0, 0, 1};
  // S_0 = I.
  // S_1 = Diag(1/2, 1) I + [[3, 4], [6, 8]] = [[3.5, 4], [6, 9]]
  // o_1 = 1/2 * [1, 1] S_1 = 1/2 * [9.5, 13] = [4.75, 6.5]
  // S_2 = Diag(1, 1/2) S_1 + [[0, 0], [1, -1]]
  //     = [[3.5, 4], [3, 4.5]] + [[0, 0], [1, -1]] = [[3.5, 4], [4, 3.5]]
  // o_2 = 1/2 * [2, -1] S_2 = 1/2 * [7 - 4, 8 - 3.5] = [1.5, 2.25]
  ScanResult r = runScan(c);
  expectAllNear(r.o, {4.75f, 6.5f, 1.5f, 2.25f}, 1e-5);
  expectAllNear(r.finalState, {3.5f, 4.0f, 4.0f, 3.5f}, 1e-5);
}

TEST(ScanTest, ScalarDecayByHand) {
  // One log gate per token: alpha_1 = 1/2 (irrelevant, S_0 = 0), alpha_2 = 1/4.
  ScanCase c = twoStepCase(DecayKind::Scalar);
  c.decay = {std::log(0.5f), std::log(0.25f)};
  // S_1 = [[3, 4], [6, 8]], o_1 = [4.5, 6] as in the vector case.
  // S_2 = 1/4 S_1 + [[0, 0], [1, -1]] = [[0.75, 1], [1.5 + 1, 2 - 1]]
  //     = [[0.75, 1], [2.5, 1]]
  // o_2 = 1/2 * [2, -1] S_2 = 1/2 * [1.5 - 2.5, 2 - 1] = [-0.5, 0.5]
  ScanResult r = runScan(c);
  expectAllNear(r.o, {4.5f, 6.0f, -0.5f, 0.5f}, 1e-5);
  expectAllNear(r.finalState, {0.75f, 1.0f, 2.5f, 1.0f}, 1e-5);
}

TEST(ScanTest, FixedDecayPerHead) {
  // H = 2, K = V = 1, T = 3, q = k = 1, v_t = t for both heads, scale 1.
  // Head 0 decays by 1/2 per step: S = 1, 1/2 + 2 = 2.5, 1.25 + 3 = 4.25.
  // Head 1 has log decay 0 (alpha = 1): S = 1, 3, 6 (a running sum).
  ScanCase c;
  c.shape = {1, 3, 2, 1, 1};
  c.params.decay = DecayKind::Fixed;
  c.q = {1, 1, 1, 1, 1, 1};
  c.k = {1, 1, 1, 1, 1, 1};
  c.v = {1, 1, 2, 2, 3, 3}; // [T, H]
  c.decay = {std::log(0.5f), 0.0f};
  ScanResult r = runScan(c);
  expectAllNear(r.o, {1.0f, 1.0f, 2.5f, 3.0f, 4.25f, 6.0f}, 1e-5);
  expectAllNear(r.finalState, {4.25f, 6.0f}, 1e-5);
}

TEST(ScanTest, NoDecayIsCausalLinearAttention) {
  // K = 2, V = 1, scale 1; q_t = [1, 2] for every t.
  // k = [1, 0], [0, 1], [1, 1]; v = 2, 3, -1.
  // S_1 = [2, 0]^T; S_2 = [2, 3]^T; S_3 = [2 - 1, 3 - 1]^T = [1, 2]^T.
  // o = [1, 2] S_t = 2, 2 + 6 = 8, 1 + 4 = 5.
  ScanCase c;
  c.shape = {1, 3, 1, 2, 1};
  c.params.decay = DecayKind::None;
  c.q = {1, 2, 1, 2, 1, 2};
  c.k = {1, 0, 0, 1, 1, 1};
  c.v = {2, 3, -1};
  ScanResult r = runScan(c);
  expectAllNear(r.o, {2.0f, 8.0f, 5.0f}, 1e-6);
  expectAllNear(r.finalState, {1.0f, 2.0f}, 1e-6);
}

TEST(ScanTest, SaturatedDecayForgetsState) {
  // log decay -inf -> alpha = 0: S_2 = 0 * S_1 + k_2^T v_2 exactly, however
  // large S_1 is, and with no 0 * inf = NaN along the way.
  for (DecayKind kind : {DecayKind::Vector, DecayKind::Scalar}) {
    ScanCase c = twoStepCase(kind);
    const float ninf = -kInff;
    if (kind == DecayKind::Vector)
      c.decay = {ninf, ninf, ninf, ninf};
    else
      c.decay = {ninf, ninf};
    c.initialState = {1e30f, -1e30f, 1e30f, 1e30f};
    // S_1 = k_1^T v_1 = [[3, 4], [6, 8]] (S_0 forgotten), o_1 = [4.5, 6].
    // S_2 = k_2^T v_2 = [[0, 0], [1, -1]], o_2 = 1/2 * [2, -1] S_2
    //     = 1/2 * [-1, 1] = [-0.5, 0.5].
    ScanResult r = runScan(c);
    expectAllNear(r.o, {4.5f, 6.0f, -0.5f, 0.5f}, 1e-6);
    EXPECT_EQ(r.finalState, (std::vector<float>{0, 0, 1, -1}));
  }
}

TEST(ScanTest, ZeroTokens) {
  // T = 0: no output; the final state is the initial state (or zero).
  ScanCase c = randomScan({2, 0, 3, 4, 5}, DecayKind::Vector, 1);
  EXPECT_TRUE(c.q.empty());
  ScanResult r = runScan(c);
  EXPECT_TRUE(r.o.empty());
  EXPECT_EQ(r.finalState, c.initialState);

  c.initialState.clear();
  r = runScan(c);
  EXPECT_EQ(r.finalState, std::vector<float>(2 * 3 * 4 * 5, 0.0f));

  // Packed, with every sequence empty.
  ScanCase packed = randomScan({1, 0, 2, 2, 2}, DecayKind::Scalar, 2);
  packed.packed = true;
  packed.cuSeqlens = {0, 0, 0};
  packed.initialState = Lcg(3).fill(2 * 2 * 2 * 2, -1.0f, 1.0f);
  r = runScan(packed);
  EXPECT_EQ(r.finalState, packed.initialState);
}

TEST(ScanTest, SplitRunResumesFromFinalState) {
  // Running T tokens equals running [0, 3) and then [3, 7) from the first
  // part's final state, for every decay kind, B = 2 and H = 2.
  for (DecayKind kind : {DecayKind::Vector, DecayKind::Scalar, DecayKind::Fixed,
                         DecayKind::None}) {
    ScanCase c = randomScan({2, 7, 2, 3, 4}, kind, 42);
    ScanResult whole = runScan(c);
    ScanResult first = runScan(subScan(c, 0, 3, c.initialState));
    ScanResult second = runScan(subScan(c, 3, 7, first.finalState));
    const int64_t width = c.shape.heads * c.shape.valueDim;
    expectAllNear(first.o, tokenRange(whole.o, 2, 7, width, 0, 3), 1e-5);
    expectAllNear(second.o, tokenRange(whole.o, 2, 7, width, 3, 7), 1e-5);
    expectAllNear(second.finalState, whole.finalState, 1e-5);
    // The decay matters: without it the answer would change.
    if (kind != DecayKind::None) {
      ScanCase undecayed = c;
      undecayed.params.decay = DecayKind::None;
      undecayed.decay.clear();
      EXPECT_GT(
          std::fabs(runScan(undecayed).finalState[0] - whole.finalState[0]),
          1e-4);
    }
  }
}

TEST(ScanTest, PackedSequencesMatchSeparateRuns) {
  // cu_seqlens = [0, 3, 3, 4, 7]: lengths 3, 0 (empty), 1 and 3; each
  // sequence has its own initial and final state and the state restarts at
  // every boundary.
  for (DecayKind kind : {DecayKind::Vector, DecayKind::Scalar, DecayKind::Fixed,
                         DecayKind::None}) {
    const int64_t heads = 2, keyDim = 3, valueDim = 2, tokens = 7;
    const int64_t stateSize = heads * keyDim * valueDim;
    ScanCase packed = randomScan({1, tokens, heads, keyDim, valueDim}, kind, 7);
    packed.packed = true;
    packed.cuSeqlens = {0, 3, 3, 4, 7};
    packed.initialState = Lcg(8).fill(4 * stateSize, -1.0f, 1.0f);
    ScanResult all = runScan(packed);

    for (int64_t n = 0; n < 4; ++n) {
      int64_t begin = packed.cuSeqlens[n], end = packed.cuSeqlens[n + 1];
      ScanCase single = packed;
      single.packed = false;
      single.cuSeqlens.clear();
      std::vector<float> initial(packed.initialState.begin() + n * stateSize,
                                 packed.initialState.begin() +
                                     (n + 1) * stateSize);
      ScanResult alone = runScan(subScan(single, begin, end, initial));
      // Same operations in the same order: bit-identical.
      EXPECT_EQ(alone.o,
                tokenRange(all.o, 1, tokens, heads * valueDim, begin, end))
          << "sequence " << n;
      EXPECT_EQ(
          alone.finalState,
          std::vector<float>(all.finalState.begin() + n * stateSize,
                             all.finalState.begin() + (n + 1) * stateSize))
          << "sequence " << n;
    }
    // The empty sequence passes its initial state through.
    EXPECT_TRUE(std::equal(all.finalState.begin() + stateSize,
                           all.finalState.begin() + 2 * stateSize,
                           packed.initialState.begin() + stateSize));
    // And the state really restarts: one unpacked run over all 7 tokens from
    // sequence 0's initial state ends elsewhere than sequence 3 does.
    ScanCase unpacked = packed;
    unpacked.packed = false;
    unpacked.cuSeqlens.clear();
    unpacked.initialState.resize(stateSize);
    ScanResult joined = runScan(unpacked);
    EXPECT_GT(std::fabs(joined.finalState[0] - all.finalState[3 * stateSize]),
              1e-4);
  }
}

TEST(ScanTest, ChunkStatesAreThePrefixesFinalStates) {
  // The state after each chunk of C = 3 tokens (T = 7: after tokens 3, 6
  // and 7) is the final state of the run over that prefix, per batch entry.
  ScanCase c = randomScan({2, 7, 2, 3, 4}, DecayKind::Vector, 11);
  c.params.historyChunk = 3;
  const int64_t stateSize = 2 * 3 * 4, rows = 3;
  std::vector<float> history(2 * rows * stateSize, -7.0f);
  std::vector<float> o(2 * 7 * 2 * 4), sT(2 * stateSize);
  chunkedScan(c.q.data(), c.k.data(), c.v.data(), c.decay.data(), nullptr,
              c.initialState.empty() ? nullptr : c.initialState.data(), nullptr,
              o.data(), sT.data(), history.data(), c.shape, c.params);
  const int64_t ends[] = {3, 6, 7};
  for (int64_t r = 0; r < rows; ++r) {
    ScanResult prefix = runScan(subScan(c, 0, ends[r], c.initialState));
    for (int64_t b = 0; b < 2; ++b)
      EXPECT_EQ(
          std::vector<float>(history.begin() + (b * rows + r) * stateSize,
                             history.begin() + (b * rows + r + 1) * stateSize),
          std::vector<float>(prefix.finalState.begin() + b * stateSize,
                             prefix.finalState.begin() + (b + 1) * stateSize))
          << "batch " << b << ", chunk " << r;
  }

  // Packed sequences [0, 2), [2, 2), [2, 5) of T = 6 with C = 1: row t is
  // the state after token t of its sequence; token 5 is in none (row 0).
  ScanCase packed = randomScan({1, 6, 1, 2, 2}, DecayKind::Scalar, 5);
  packed.packed = true;
  packed.cuSeqlens = {0, 2, 2, 5};
  std::vector<float> perToken(6 * 4, -7.0f), po(6 * 2), ps(3 * 4);
  chunkedScan(packed.q.data(), packed.k.data(), packed.v.data(),
              packed.decay.data(), nullptr, nullptr, &packed.cuSeqlens,
              po.data(), ps.data(), perToken.data(), packed.shape,
              packed.params);
  EXPECT_EQ(std::vector<float>(perToken.begin() + 4, perToken.begin() + 8),
            std::vector<float>(ps.begin(), ps.begin() + 4));
  EXPECT_EQ(std::vector<float>(perToken.begin() + 16, perToken.begin() + 20),
            std::vector<float>(ps.begin() + 8, ps.begin() + 12));
  EXPECT_NE(perToken[12], perToken[16]);
  EXPECT_EQ(std::vector<float>(perToken.begin() + 20, perToken.end()),
            std::vector<float>(4, 0.0f));
}

TEST(ScanTest, LengthOneSequenceByHand) {
  // cu_seqlens = [0, 1, 2], K = V = 1, scalar log decay ln 1/2, scale 1,
  // initial states 4 and 10. Each sequence is one token:
  //   S = 1/2 * 4 + 1 * 2 = 4, o = 3 * 4 = 12
  //   S = 1/2 * 10 + 1 * 1 = 6, o = 1 * 6 = 6 (not carried over from the 4).
  ScanCase c;
  c.shape = {1, 2, 1, 1, 1};
  c.params.decay = DecayKind::Scalar;
  c.packed = true;
  c.cuSeqlens = {0, 1, 2};
  c.q = {3, 1};
  c.k = {1, 1};
  c.v = {2, 1};
  c.decay = {std::log(0.5f), std::log(0.5f)};
  c.initialState = {4, 10};
  ScanResult r = runScan(c);
  expectAllNear(r.o, {12.0f, 6.0f}, 1e-5);
  expectAllNear(r.finalState, {4.0f, 6.0f}, 1e-5);
}


TEST(ScanTest, DeltaRuleTwoStepsByHand) {
  // Scalar log decays [ln 1/2, 0], learning rates beta = [1, 1/2], S_0 = 0.
  // Token 1: S' = 0, u_1 = 1 * (v_1 - k_1 S') = [3, 4],
  //   S_1 = k_1^T u_1 = [[3, 4], [6, 8]], o_1 = 1/2 [1, 1] S_1 = [4.5, 6].
  // Token 2: S' = S_1, k_2 S' = [6, 8], u_2 = 1/2 ([1, -1] - [6, 8])
  //   = [-2.5, -4.5], S_2 = S_1 + k_2^T u_2 = [[3, 4], [3.5, 3.5]],
  //   o_2 = 1/2 [2, -1] S_2 = [1.25, 2.25].
  ScanCase c = twoStepCase(DecayKind::Scalar);
  c.decay = {std::log(0.5f), 0.0f};
  c.beta = {1.0f, 0.5f};
  ScanResult r = runScan(c);
  expectAllNear(r.o, {4.5f, 6.0f, 1.25f, 2.25f}, 1e-5);
  expectAllNear(r.finalState, {3.0f, 4.0f, 3.5f, 3.5f}, 1e-5);
}

TEST(ScanTest, DeltaRuleWithFullRateRecallsLastValue) {
  // beta = 1 and unit keys: after token t the state maps k_t to v_t
  // exactly, whatever it held before (k_t S_t = k_t S' + |k_t|^2 (v_t -
  // k_t S') = v_t). With q_t = k_t and scale 1, o_t = v_t.
  ScanShape shape{/*batch=*/2, /*tokens=*/9, /*heads=*/2, /*keyDim=*/5,
                  /*valueDim=*/3};
  for (DecayKind kind : {DecayKind::Vector, DecayKind::Scalar,
                         DecayKind::Fixed, DecayKind::None}) {
    ScanCase c = randomScan(shape, kind, 17);
    for (size_t row = 0; row * shape.keyDim < c.k.size(); ++row) {
      double norm = 0;
      for (int64_t i = 0; i < shape.keyDim; ++i)
        norm += double(c.k[row * shape.keyDim + i]) * c.k[row * shape.keyDim + i];
      for (int64_t i = 0; i < shape.keyDim; ++i)
        c.k[row * shape.keyDim + i] /= static_cast<float>(std::sqrt(norm));
    }
    c.q = c.k;
    c.params.scale = 1.0;
    c.beta.assign(shape.batch * shape.tokens * shape.heads, 1.0f);
    ScanResult r = runScan(c);
    expectAllNear(r.o, c.v, 1e-5);
  }
}

TEST(ScanTest, GroupedValueHeadsReadTheirKeyHead) {
  // H = 2 query/key heads, HV = 6 value heads (G = 3): the same as an
  // ungrouped scan whose q and k repeat each head 3 times, for the additive
  // and the delta update.
  ScanShape grouped{/*batch=*/2, /*tokens=*/7, /*heads=*/2, /*keyDim=*/4,
                    /*valueDim=*/3};
  grouped.valueHeads = 6;
  ScanShape flat = grouped;
  flat.heads = 6;
  flat.valueHeads = 0;
  for (bool delta : {false, true}) {
    ScanCase c = randomScan(flat, DecayKind::Scalar, 5);
    if (delta)
      c.beta = Lcg(9).fill(flat.batch * flat.tokens * 6, 0.0f, 1.0f);
    ScanCase g = c;
    g.shape = grouped;
    g.q.clear();
    g.k.clear();
    for (int64_t row = 0; row < flat.batch * flat.tokens; ++row)
      for (int64_t h = 0; h < 2; ++h) {
        auto head = [&](const std::vector<float> &x) {
          return x.begin() + (row * 6 + h * 3) * flat.keyDim;
        };
        g.q.insert(g.q.end(), head(c.q), head(c.q) + flat.keyDim);
        g.k.insert(g.k.end(), head(c.k), head(c.k) + flat.keyDim);
      }
    // The flat case's q and k must repeat each key head over its group.
    for (int64_t row = 0; row < flat.batch * flat.tokens; ++row)
      for (int64_t j = 0; j < 6; ++j)
        for (int64_t i = 0; i < flat.keyDim; ++i) {
          int64_t from = (row * 6 + (j / 3) * 3) * flat.keyDim + i;
          int64_t to = (row * 6 + j) * flat.keyDim + i;
          c.q[to] = c.q[from];
          c.k[to] = c.k[from];
        }
    ScanResult expected = runScan(c), actual = runScan(g);
    expectAllNear(actual.o, expected.o, 0.0);
    expectAllNear(actual.finalState, expected.finalState, 0.0);
  }
}
//===----------------------------------------------------------------------===//
// Routers
//===----------------------------------------------------------------------===//

struct Routed {
  std::vector<float> weights;
  std::vector<int32_t> experts;
};

Routed runRouter(const std::vector<float> &logits, int64_t numExperts,
                 const RouterParams &params,
                 const std::vector<float> &bias = {}) {
  int64_t tokens = static_cast<int64_t>(logits.size()) / numExperts;
  Routed r;
  r.weights.assign(tokens * params.k, -7.0f);
  r.experts.assign(tokens * params.k, -7);
  route(logits.data(), bias.empty() ? nullptr : bias.data(), tokens, numExperts,
        params, r.weights.data(), r.experts.data());
  return r;
}

RouterParams topK(int64_t k, Scoring scoring = Scoring::Softmax) {
  RouterParams params;
  params.k = k;
  params.scoring = scoring;
  return params;
}

TEST(RouterTest, SoftmaxTop2) {
  // Row [0, 1, 2, 3]: e^0..e^3 = 1, 2.718282, 7.389056, 20.085537, sum
  // 31.192875; p = [0.032059, 0.087144, 0.236883, 0.643914].
  // Top-2: expert 3 (0.643914), expert 2 (0.236883).
  // The reversed row [3, 2, 1, 0] picks experts 0 and 1 with the same weights.
  RouterParams params = topK(2);
  Routed r = runRouter({0, 1, 2, 3, 3, 2, 1, 0}, 4, params);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{3, 2, 0, 1}));
  expectAllNear(r.weights,
                {0.643914260f, 0.236882818f, 0.643914260f, 0.236882818f}, kTol);

  // Renormalized: e^3 / (e^3 + e^2) = 1 / (1 + e^-1) = sigmoid(1) = 0.731059,
  // and e^2 / (e^3 + e^2) = sigmoid(-1) = 0.268941.
  params.renormalize = true;
  r = runRouter({0, 1, 2, 3}, 4, params);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{3, 2}));
  expectAllNear(r.weights, {0.731058579f, 0.268941421f}, kTol);
}

TEST(RouterTest, TiesGoToLowerExpert) {
  // Four equal logits: p = 1/4 each; the first two indices win.
  // [1, 3, 3, 0]: experts 1 and 2 tie; 1 goes first. Each weight is
  // e^3 / (e + 2 e^3 + 1) = 20.085537 / 43.889356 = 0.457640.
  Routed r = runRouter({0.5f, 0.5f, 0.5f, 0.5f, 1, 3, 3, 0}, 4, topK(2));
  EXPECT_EQ(r.experts, (std::vector<int32_t>{0, 1, 1, 2}));
  expectAllNear(r.weights, {0.25f, 0.25f, 0.457640278f, 0.457640278f}, kTol);

  // Ties with sigmoid scoring too: [2, 0, 2] picks 0 then 2.
  r = runRouter({2, 0, 2}, 3, topK(2, Scoring::Sigmoid));
  EXPECT_EQ(r.experts, (std::vector<int32_t>{0, 2}));
}

TEST(RouterTest, AllNegativeLogits) {
  // Softmax of [-5, -3, -4, -10]; dividing by e^-3:
  // [e^-2, 1, e^-1, e^-7] = [0.135335, 1, 0.367879, 0.000912], sum 1.504126.
  // Top-2: expert 1 (1 / 1.504126 = 0.664838), expert 2 (0.244580).
  Routed r = runRouter({-5, -3, -4, -10}, 4, topK(2));
  EXPECT_EQ(r.experts, (std::vector<int32_t>{1, 2}));
  expectAllNear(r.weights, {0.664837651f, 0.244580104f}, kTol);

  // Sigmoid: sigmoid(-3) = 0.047426, sigmoid(-4) = 0.017986: small but
  // still ranked; renormalized 0.047426 / 0.065412 = 0.725032, 0.274968.
  RouterParams params = topK(2, Scoring::Sigmoid);
  r = runRouter({-5, -3, -4, -10}, 4, params);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{1, 2}));
  expectAllNear(r.weights, {0.047425873f, 0.017986210f}, kTol);
  params.renormalize = true;
  r = runRouter({-5, -3, -4, -10}, 4, params);
  expectAllNear(r.weights, {0.725032301f, 0.274967699f}, kTol);
}

TEST(RouterTest, SelectionBiasChoosesButDoesNotWeigh) {
  // Sigmoid of [0, 1, 2, 0.5] = [0.5, 0.731059, 0.880797, 0.622459].
  // Unbiased top-2: experts 2, 1.
  // Bias [0.5, 0, 0, 0]: s' = [1.0, 0.731059, 0.880797, 0.622459], so the
  // top-2 become 0 (1.0) and 2 (0.880797), while the weights stay s:
  // [0.5, 0.880797] (not 1.0).
  std::vector<float> logits = {0, 1, 2, 0.5f};
  std::vector<float> bias = {0.5f, 0, 0, 0};
  RouterParams params = topK(2, Scoring::Sigmoid);
  Routed r = runRouter(logits, 4, params);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{2, 1}));
  r = runRouter(logits, 4, params, bias);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{0, 2}));
  expectAllNear(r.weights, {0.5f, 0.880797078f}, kTol);

  // Renormalized: 0.5 / 1.380797 = 0.362110, 0.880797 / 1.380797 = 0.637890.
  params.renormalize = true;
  r = runRouter(logits, 4, params, bias);
  expectAllNear(r.weights, {0.362109689f, 0.637890311f}, kTol);

  // Then times the routed scaling factor 2.5: 0.905274, 1.594726.
  params.routedScalingFactor = 2.5;
  r = runRouter(logits, 4, params, bias);
  expectAllNear(r.weights, {0.905274222f, 1.594725778f}, kTol);
}

TEST(RouterTest, RoutedScalingFactorWithoutRenormalize) {
  // Softmax top-2 of [0, 1, 2, 3] times 2.5:
  // 2.5 * 0.643914 = 1.609786, 2.5 * 0.236883 = 0.592207.
  RouterParams params = topK(2);
  params.routedScalingFactor = 2.5;
  Routed r = runRouter({0, 1, 2, 3}, 4, params);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{3, 2}));
  expectAllNear(r.weights, {1.609785650f, 0.592207045f}, kTol);
}

TEST(RouterTest, GroupedSelection) {
  // E = 6 in 3 groups of 2; all logits 0, so s = sigmoid(0) = 0.5 everywhere
  // and the bias alone orders the experts:
  //   bias = [0.875, 0, | 0.625, 0.5, | 0.125, 0.125]
  //   s'   = [1.375, 0.5, | 1.125, 1.0, | 0.625, 0.625]
  std::vector<float> logits(6, 0.0f);
  std::vector<float> bias = {0.875f, 0.0f, 0.625f, 0.5f, 0.125f, 0.125f};
  RouterParams params = topK(2, Scoring::Sigmoid);

  // Ungrouped: the two best s' are 1.375 (expert 0) and 1.125 (expert 2).
  Routed r = runRouter(logits, 6, params, bias);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{0, 2}));

  params.nGroup = 3;
  params.topkGroup = 1;
  // max: group scores 1.375, 1.125, 0.625 -> group 0 -> experts 0, 1.
  params.groupScore = GroupScore::Max;
  r = runRouter(logits, 6, params, bias);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{0, 1}));
  expectAllNear(r.weights, {0.5f, 0.5f}, kTol);

  // sum_top2: 1.375 + 0.5 = 1.875, 1.125 + 1.0 = 2.125, 1.25 -> group 1
  // -> experts 2, 3.
  params.groupScore = GroupScore::SumTop2;
  r = runRouter(logits, 6, params, bias);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{2, 3}));

  // topk_group = 2 keeps groups 1 and 0: experts 0..3 eligible -> 0, 2.
  params.topkGroup = 2;
  r = runRouter(logits, 6, params, bias);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{0, 2}));
}

TEST(RouterTest, GroupTiesGoToLowerGroup) {
  // s' = 0.5 + bias = [1.0, 0.25, | 0.25, 1.0, | 0.875, 0.0].
  // max: groups 1.0, 1.0, 0.875; sum_top2: 1.25, 1.25, 0.875. Either way
  // groups 0 and 1 tie and group 0 wins: experts 0 (1.0) then 1 (0.25).
  // Had group 1 won, the answer would be experts 3, 2.
  std::vector<float> logits(6, 0.0f);
  std::vector<float> bias = {0.5f, -0.25f, -0.25f, 0.5f, 0.375f, -0.5f};
  RouterParams params = topK(2, Scoring::Sigmoid);
  params.nGroup = 3;
  params.topkGroup = 1;
  for (GroupScore score : {GroupScore::Max, GroupScore::SumTop2}) {
    params.groupScore = score;
    Routed r = runRouter(logits, 6, params, bias);
    EXPECT_EQ(r.experts, (std::vector<int32_t>{0, 1}));
  }
}

TEST(RouterTest, KEqualsE) {
  // Softmax of [0, 2, 1]: [1, e^2, e] / (1 + e + e^2) = [1, 7.389056,
  // 2.718282] / 11.107338 = [0.090031, 0.665241, 0.244728]; all 3 chosen, in
  // decreasing order 1, 2, 0. Renormalizing a full softmax changes nothing.
  RouterParams params = topK(3);
  Routed r = runRouter({0, 2, 1}, 3, params);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{1, 2, 0}));
  expectAllNear(r.weights, {0.665240956f, 0.244728471f, 0.090030573f}, kTol);
  params.renormalize = true;
  r = runRouter({0, 2, 1}, 3, params);
  expectAllNear(r.weights, {0.665240956f, 0.244728471f, 0.090030573f}, kTol);
}

TEST(RouterTest, KGreaterThanELeavesEmptySlots) {
  // Only 2 experts for 3 slots: the third slot is empty (-1, weight 0).
  // Sigmoid of [1, 0] = [0.731059, 0.5].
  Routed r = runRouter({1, 0}, 2, topK(3, Scoring::Sigmoid));
  EXPECT_EQ(r.experts, (std::vector<int32_t>{0, 1, -1}));
  expectAllNear(r.weights, {0.731058579f, 0.5f, 0.0f}, kTol);
}

TEST(RouterTest, NaNLogitsRankLast) {
  const float nan = kNaNf;
  // Softmax row [NaN, 1, 3, 2]: experts 2 and 3 rank first (NaN last), but
  // the NaN reaches the softmax denominator, so both weights are NaN.
  // The next row [0, 1, 2, 3] is untouched: 3, 2 with 0.643914, 0.236883.
  Routed r = runRouter({nan, 1, 3, 2, 0, 1, 2, 3}, 4, topK(2));
  EXPECT_EQ(r.experts, (std::vector<int32_t>{2, 3, 3, 2}));
  EXPECT_TRUE(std::isnan(r.weights[0]));
  EXPECT_TRUE(std::isnan(r.weights[1]));
  EXPECT_NEAR(r.weights[2], 0.643914260, kTol);
  EXPECT_NEAR(r.weights[3], 0.236882818, kTol);

  // Sigmoid scores are independent: the same row gives experts 2, 3 with
  // sigmoid(3) = 0.952574, sigmoid(2) = 0.880797, no NaN.
  r = runRouter({nan, 1, 3, 2}, 4, topK(2, Scoring::Sigmoid));
  EXPECT_EQ(r.experts, (std::vector<int32_t>{2, 3}));
  expectAllNear(r.weights, {0.952574127f, 0.880797078f}, kTol);

  // k = E = 4 must take the NaN expert last; its weight is NaN, and
  // renormalizing spreads the NaN over the row.
  RouterParams params = topK(4, Scoring::Sigmoid);
  r = runRouter({nan, 1, 3, 2}, 4, params);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{2, 3, 1, 0}));
  EXPECT_NEAR(r.weights[2], 0.731058579, kTol);
  EXPECT_TRUE(std::isnan(r.weights[3]));
  params.renormalize = true;
  r = runRouter({nan, 1, 3, 2}, 4, params);
  for (float w : r.weights)
    EXPECT_TRUE(std::isnan(w));

  // An all-NaN row: every score ties, so the lowest indices are taken.
  r = runRouter({nan, nan, nan}, 3, topK(2));
  EXPECT_EQ(r.experts, (std::vector<int32_t>{0, 1}));
  EXPECT_TRUE(std::isnan(r.weights[0]));
}

TEST(RouterTest, NaNLogitWithBiasRanksOnProbabilities) {
  // Softmax row [NaN, 0, 0, ln 3] with bias [0, 0.5, 0, 0]. Selection uses
  // the softmax of the numbers: [e^0, e^0, 3] / 5 = [0.2, 0.2, 0.6], so
  // s' = [NaN, 0.7, 0.2, 0.6] -> experts 1, 3. (Ranking logits + bias,
  // [NaN, 0.5, 0, 1.0986], would give 3, 1.) Weights are NaN.
  std::vector<float> logits = {kNaNf, 0.0f, 0.0f, std::log(3.0f)};
  Routed r = runRouter(logits, 4, topK(2), {0.0f, 0.5f, 0.0f, 0.0f});
  EXPECT_EQ(r.experts, (std::vector<int32_t>{1, 3}));
  EXPECT_TRUE(std::isnan(r.weights[0]));
  EXPECT_TRUE(std::isnan(r.weights[1]));
}

TEST(RouterTest, SixtyExperts) {
  // E = 60, logit_e = -|e - 37| / 4. Ranking: 37 (0), then 36 and 38 tie at
  // -1/4 (36 first), then 35 (-1/2, before 39 by index).
  // With r = e^-1/4 = 0.778801 the renormalized top-4 weights are
  // [1, r, r, r^2] / (1 + r)^2 = [1, r, r, r^2] / 3.164133
  //   = [0.316042, 0.246134, 0.246134, 0.191689].
  std::vector<float> logits(60);
  for (int e = 0; e < 60; ++e)
    logits[e] = -std::fabs(static_cast<float>(e - 37)) / 4.0f;
  RouterParams params = topK(4);
  params.renormalize = true;
  Routed r = runRouter(logits, 60, params);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{37, 36, 38, 35}));
  expectAllNear(r.weights,
                {0.316042418f, 0.246134083f, 0.246134083f, 0.191689416f}, kTol);
  // Unnormalized, the top weight is 1 / sum_e r^|e-37| with
  // sum = 1 + 2 (r - r^23) / (1 - r) + (r^23 - r^38) / (1 - r) = 8.026896.
  params.renormalize = false;
  r = runRouter(logits, 60, params);
  EXPECT_NEAR(r.weights[0], 1.0 / 8.026896185, kTol);
}

TEST(RouterTest, CapacityTokenOrder) {
  // T = 3, E = 3, k = 2, factor 1: capacity = floor(3 / 3 * 1) = 1.
  // Sigmoid scores (no renormalize), slots by decreasing score:
  //   t0 [2, 1, -5]:  slot 0 e0 (0.880797), slot 1 e1 (0.731059)
  //   t1 [-5, 0, -1]: slot 0 e1 (0.5),      slot 1 e2 (0.268941)
  //   t2 [-5, -6, 0]: slot 0 e2 (0.5),      slot 1 e0 (0.006693)
  // token_order visits every first choice first: t0 e0, t1 e1, t2 e2 fill
  // each expert; then every second choice finds its expert full.
  // (Token-major order would keep t0 e1 and drop t1 e1 instead.)
  std::vector<float> logits = {2, 1, -5, -5, 0, -1, -5, -6, 0};
  RouterParams params = topK(2, Scoring::Sigmoid);
  Routed open = runRouter(logits, 3, params);
  EXPECT_EQ(open.experts, (std::vector<int32_t>{0, 1, 1, 2, 2, 0}));

  params.capacityFactor = 1.0;
  Routed r = runRouter(logits, 3, params);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{0, -1, 1, -1, 2, -1}));
  expectAllNear(r.weights, {0.880797078f, 0, 0.5f, 0, 0.5f, 0}, kTol);

  // Dropping does not renormalize what is left: with renormalize the kept
  // weights stay 0.880797 / (0.880797 + 0.731059) = 0.546449,
  // 0.5 / 0.768941 = 0.650245, 0.5 / 0.506693 = 0.986791.
  params.renormalize = true;
  r = runRouter(logits, 3, params);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{0, -1, 1, -1, 2, -1}));
  expectAllNear(r.weights, {0.546449103f, 0, 0.650244591f, 0, 0.986791108f, 0},
                kTol);
}

TEST(RouterTest, CapacityScoreOrder) {
  // Same routing as above, capacity 1, score_order: by weight,
  //   t0s0 e0 0.881 keep | t0s1 e1 0.731 keep | t1s0 e1 0.5 drop (e1 full)
  //   t2s0 e2 0.5 keep   | t1s1 e2 0.269 drop | t2s1 e0 0.0067 drop
  std::vector<float> logits = {2, 1, -5, -5, 0, -1, -5, -6, 0};
  RouterParams params = topK(2, Scoring::Sigmoid);
  params.capacityFactor = 1.0;
  params.dropPolicy = DropPolicy::ScoreOrder;
  Routed r = runRouter(logits, 3, params);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{0, 1, -1, -1, 2, -1}));
  expectAllNear(r.weights, {0.880797078f, 0.731058579f, 0, 0, 0.5f, 0}, kTol);
}

TEST(RouterTest, CapacityScoreOrderTieGoesToLowerPairId) {
  // T = 2, E = 2, k = 2, capacity floor(2 / 2 * 1) = 1. Sigmoid:
  //   t0 [1, 0]:  s0 e0 0.731059 (pair 0), s1 e1 0.5 (pair 1)
  //   t1 [-1, 0]: s0 e1 0.5 (pair 2),      s1 e0 0.268941 (pair 3)
  // score_order: pair 0 keeps e0; pairs 1 and 2 tie at 0.5 on e1 and the
  // lower id (1) wins; pair 3 finds e0 full. -> [[0, 1], [-1, -1]].
  // token_order instead keeps both first choices: [[0, -1], [1, -1]].
  std::vector<float> logits = {1, 0, -1, 0};
  RouterParams params = topK(2, Scoring::Sigmoid);
  params.capacityFactor = 1.0;
  params.dropPolicy = DropPolicy::ScoreOrder;
  Routed r = runRouter(logits, 2, params);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{0, 1, -1, -1}));
  expectAllNear(r.weights, {0.731058579f, 0.5f, 0, 0}, kTol);
  params.dropPolicy = DropPolicy::TokenOrder;
  r = runRouter(logits, 2, params);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{0, -1, 1, -1}));
  expectAllNear(r.weights, {0.731058579f, 0, 0.5f, 0}, kTol);
}

TEST(RouterTest, CapacityIsFloored) {
  // T = 10, E = 4, factor 1.25: 10 / 4 * 1.25 = 3.125 -> capacity 3.
  // Every token picks expert 0 (logits [t / 10, -1, -1, -1], k = 1).
  // token_order keeps tokens 0, 1, 2; score_order keeps the three largest
  // weights, tokens 9, 8, 7 (sigmoid is increasing in t).
  std::vector<float> logits;
  for (int t = 0; t < 10; ++t)
    logits.insert(logits.end(), {t / 10.0f, -1, -1, -1});
  RouterParams params = topK(1, Scoring::Sigmoid);
  params.capacityFactor = 1.25;
  Routed r = runRouter(logits, 4, params);
  EXPECT_EQ(r.experts,
            (std::vector<int32_t>{0, 0, 0, -1, -1, -1, -1, -1, -1, -1}));
  params.dropPolicy = DropPolicy::ScoreOrder;
  r = runRouter(logits, 4, params);
  EXPECT_EQ(r.experts,
            (std::vector<int32_t>{-1, -1, -1, -1, -1, -1, -1, 0, 0, 0}));
  // sigmoid(0.9) = 0.710950 stays on token 9; dropped weights are 0.
  EXPECT_NEAR(r.weights[9], 0.710949503, kTol);
  EXPECT_EQ(r.weights[0], 0.0f);

  // T = 3, E = 3, factor 0.5: floor(0.5) = 0, every assignment is dropped.
  params.capacityFactor = 0.5;
  r = runRouter({1, 0, 0, 0, 1, 0, 0, 0, 1}, 3, params);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{-1, -1, -1}));
  EXPECT_EQ(r.weights, (std::vector<float>{0, 0, 0}));
}

TEST(RouterTest, ZeroTokens) {
  RouterParams params = topK(2);
  params.capacityFactor = 1.0;
  Routed r = runRouter({}, 4, params);
  EXPECT_TRUE(r.experts.empty());
  EXPECT_TRUE(r.weights.empty());
}

//===----------------------------------------------------------------------===//
// Dispatch
//===----------------------------------------------------------------------===//

TEST(DispatchTest, SortedLength) {
  // ceil((P + E (bs - 1)) / bs) * bs:
  //   P = 8, E = 3, bs = 4: ceil(17 / 4) * 4 = 5 * 4 = 20
  //   P = 6, E = 3, bs = 2: ceil(9 / 2) * 2 = 5 * 2 = 10
  //   P = 0, E = 3, bs = 1: ceil(0 / 1) * 1 = 0
  //   P = 16, E = 8, bs = 64: ceil(520 / 64) * 64 = 9 * 64 = 576
  //   P = 64, E = 2, bs = 64: ceil(190 / 64) * 64 = 3 * 64 = 192
  //   P = 4, E = 1, bs = 4: ceil(7 / 4) * 4 = 8 (not 4: the bound is loose)
  EXPECT_EQ(dispatchSortedLength(8, 3, 4), 20);
  EXPECT_EQ(dispatchSortedLength(6, 3, 2), 10);
  EXPECT_EQ(dispatchSortedLength(0, 3, 1), 0);
  EXPECT_EQ(dispatchSortedLength(16, 8, 64), 576);
  EXPECT_EQ(dispatchSortedLength(64, 2, 64), 192);
  EXPECT_EQ(dispatchSortedLength(4, 1, 4), 8);
}

TEST(DispatchTest, FourTokensTwoSlots) {
  // T = 4, k = 2, E = 3, block 4; P = 8, L = 20, sentinel 8.
  //   experts = [[0, 2], [2, 1], [0, 2], [2, 0]]
  //   pair:      0  1    2  3    4  5    6  7
  // By expert, in pair order: e0 {0, 4, 7}, e1 {3}, e2 {1, 2, 5, 6}.
  // counts [3, 1, 4]; padded sizes 4, 4, 4; offsets [0, 4, 8, 12].
  // sorted = [0 4 7 8 | 3 8 8 8 | 1 2 5 6 | 8 8 8 8 8 8 8 8]
  // blocks (5) = [0, 1, 2, -1, -1].
  // positions: pair 0 -> 0, 1 -> 8, 2 -> 9, 3 -> 4, 4 -> 1, 5 -> 10,
  //            6 -> 11, 7 -> 2.
  std::vector<int32_t> experts = {0, 2, 2, 1, 0, 2, 2, 0};
  Dispatch d = dispatch(experts.data(), 4, 2, 3, 4);
  EXPECT_EQ(d.sortedPairs,
            (std::vector<int32_t>{0, 4, 7, 8, 3, 8, 8, 8, 1, 2,
                                  5, 6, 8, 8, 8, 8, 8, 8, 8, 8}));
  EXPECT_EQ(d.blockExperts, (std::vector<int32_t>{0, 1, 2, -1, -1}));
  EXPECT_EQ(d.expertOffsets, (std::vector<int32_t>{0, 4, 8, 12}));
  EXPECT_EQ(d.expertCounts, (std::vector<int32_t>{3, 1, 4}));
  EXPECT_EQ(d.pairPositions, (std::vector<int32_t>{0, 8, 9, 4, 1, 10, 11, 2}));
  // The positions invert the sort.
  for (int32_t pair = 0; pair < 8; ++pair)
    EXPECT_EQ(d.sortedPairs[d.pairPositions[pair]], pair);
}

TEST(DispatchTest, DroppedPairsAndEmptyExpert) {
  // T = 3, k = 2, E = 3, block 2; P = 6, L = 10, sentinel 6.
  //   experts = [[2, -1], [0, 2], [-1, 2]]
  //   pair:       0   1    2  3    4   5
  // e0 {2}, e1 {} (empty segment), e2 {0, 3, 5}; pairs 1 and 4 dropped.
  // counts [1, 0, 3]; padded 2, 0, 4; offsets [0, 2, 2, 6].
  // sorted = [2 6 | (e1 empty) | 0 3 5 6 | 6 6 6 6]
  // blocks (5) = [0, 2, 2, -1, -1]
  // positions = [[2, -1], [0, 3], [-1, 4]].
  std::vector<int32_t> experts = {2, -1, 0, 2, -1, 2};
  Dispatch d = dispatch(experts.data(), 3, 2, 3, 2);
  EXPECT_EQ(d.sortedPairs,
            (std::vector<int32_t>{2, 6, 0, 3, 5, 6, 6, 6, 6, 6}));
  EXPECT_EQ(d.blockExperts, (std::vector<int32_t>{0, 2, 2, -1, -1}));
  EXPECT_EQ(d.expertOffsets, (std::vector<int32_t>{0, 2, 2, 6}));
  EXPECT_EQ(d.expertCounts, (std::vector<int32_t>{1, 0, 3}));
  EXPECT_EQ(d.pairPositions, (std::vector<int32_t>{2, -1, 0, 3, -1, 4}));
}

TEST(DispatchTest, ZeroTokens) {
  // T = 0, k = 2, E = 3, block 4: P = 0, L = ceil(9 / 4) * 4 = 12, all of it
  // the sentinel 0; three blocks, none used.
  Dispatch d = dispatch(nullptr, 0, 2, 3, 4);
  EXPECT_EQ(d.sortedPairs, std::vector<int32_t>(12, 0));
  EXPECT_EQ(d.blockExperts, (std::vector<int32_t>{-1, -1, -1}));
  EXPECT_EQ(d.expertOffsets, (std::vector<int32_t>{0, 0, 0, 0}));
  EXPECT_EQ(d.expertCounts, (std::vector<int32_t>{0, 0, 0}));
  EXPECT_TRUE(d.pairPositions.empty());
}

TEST(DispatchTest, RouterCapacityFeedsDispatch) {
  // The capacity case of RouterTest: experts [[0, -1], [1, -1], [2, -1]].
  // Block 1, E = 3: P = 6, L = 6, sentinel 6. Each expert holds one pair:
  // sorted = [0, 2, 4, 6, 6, 6], blocks [0, 1, 2, -1, -1, -1],
  // positions [[0, -1], [1, -1], [2, -1]].
  std::vector<float> logits = {2, 1, -5, -5, 0, -1, -5, -6, 0};
  RouterParams params = topK(2, Scoring::Sigmoid);
  params.capacityFactor = 1.0;
  Routed r = runRouter(logits, 3, params);
  Dispatch d = dispatch(r.experts.data(), 3, 2, 3, 1);
  EXPECT_EQ(d.sortedPairs, (std::vector<int32_t>{0, 2, 4, 6, 6, 6}));
  EXPECT_EQ(d.blockExperts, (std::vector<int32_t>{0, 1, 2, -1, -1, -1}));
  EXPECT_EQ(d.expertOffsets, (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(d.pairPositions, (std::vector<int32_t>{0, -1, 1, -1, 2, -1}));
}

//===----------------------------------------------------------------------===//
// Short causal convolutions
//===----------------------------------------------------------------------===//

struct ConvCase {
  ConvShape shape;
  Activation act = Activation::Identity;
  std::vector<float> x, weight, bias, initialState;
  std::vector<int64_t> cuSeqlens;
  bool packed = false;
};

struct ConvResult {
  std::vector<float> y, finalState;
};

int64_t convSequences(const ConvCase &c) {
  return c.packed ? static_cast<int64_t>(c.cuSeqlens.size()) - 1
                  : c.shape.batch;
}

ConvResult runConv(const ConvCase &c) {
  const ConvShape &s = c.shape;
  ConvResult r;
  r.y.assign(s.batch * s.tokens * s.channels, -7.0f);
  r.finalState.assign(convSequences(c) * s.channels * (s.width - 1), -7.0f);
  causalConv1d(c.x.data(), c.weight.data(),
               c.bias.empty() ? nullptr : c.bias.data(),
               c.initialState.empty() ? nullptr : c.initialState.data(),
               c.packed ? &c.cuSeqlens : nullptr, r.y.data(),
               r.finalState.data(), s, c.act);
  return r;
}

ConvCase randomConv(const ConvShape &shape, uint64_t seed) {
  Lcg rng(seed);
  ConvCase c;
  c.shape = shape;
  c.act = Activation::Silu;
  c.x = rng.fill(shape.batch * shape.tokens * shape.channels, -1.0f, 1.0f);
  c.weight = rng.fill(shape.channels * shape.width, -1.0f, 1.0f);
  c.bias = rng.fill(shape.channels, -1.0f, 1.0f);
  c.initialState =
      rng.fill(shape.batch * shape.channels * (shape.width - 1), -1.0f, 1.0f);
  return c;
}

/// The sub-problem of tokens [begin, end) starting from `initialState`.
ConvCase subConv(const ConvCase &c, int64_t begin, int64_t end,
                 std::vector<float> initialState) {
  ConvCase sub = c;
  sub.shape.tokens = end - begin;
  sub.x = tokenRange(c.x, c.shape.batch, c.shape.tokens, c.shape.channels,
                     begin, end);
  sub.initialState = std::move(initialState);
  return sub;
}

TEST(ConvTest, ByHand) {
  // C = 1, W = 3, weight [1, 2, 3], bias 0.5, state [10, 20], x = [1, -1, 2].
  // The windows, oldest first, are [10, 20, 1], [20, 1, -1], [1, -1, 2]:
  //   y_0 = 0.5 + 10 + 40 + 3 = 53.5
  //   y_1 = 0.5 + 20 + 2 - 3 = 19.5
  //   y_2 = 0.5 + 1 - 2 + 6 = 5.5
  // and the final state is the last two inputs, [-1, 2].
  ConvCase c;
  c.shape = {/*batch=*/1, /*tokens=*/3, /*channels=*/1, /*width=*/3};
  c.x = {1, -1, 2};
  c.weight = {1, 2, 3};
  c.bias = {0.5f};
  c.initialState = {10, 20};
  ConvResult r = runConv(c);
  expectAllNear(r.y, {53.5f, 19.5f, 5.5f}, kTol);
  EXPECT_EQ(r.finalState, (std::vector<float>{-1, 2}));

  // silu on the same sums: z * sigmoid(z); sigmoid(5.5) = 0.9959299.
  c.act = Activation::Silu;
  r = runConv(c);
  EXPECT_NEAR(r.y[2], 5.5 * 0.99592986, 1e-5);

  // Without a state the first windows read zeros: [0, 0, 1], [0, 1, -1].
  c.act = Activation::Identity;
  c.initialState.clear();
  r = runConv(c);
  expectAllNear(r.y, {3.5f, -0.5f, 5.5f}, kTol);
}

TEST(ConvTest, ChannelsAndBatchesAreIndependent) {
  // B = 2, C = 2, W = 2, T = 2; channel c of batch b only sees its own
  // inputs: x[b, t, c] = 10 b + 2 t + c + 1, weight [[1, 10], [2, 20]],
  // no bias, state s[b, c] = -(b + 1) (c + 1).
  //   y[b, 0, c] = w[c,0] s[b, c] + w[c,1] x[b, 0, c]
  //   y[b, 1, c] = w[c,0] x[b, 0, c] + w[c,1] x[b, 1, c]
  ConvCase c;
  c.shape = {2, 2, 2, 2};
  c.x = {1, 2, 3, 4, 11, 12, 13, 14};
  c.weight = {1, 10, 2, 20};
  c.initialState = {-1, -2, -2, -4};
  ConvResult r = runConv(c);
  expectAllNear(r.y,
                {-1 + 10, -4 + 40, 1 + 30, 4 + 80,        // b = 0
                 -2 + 110, -8 + 240, 11 + 130, 24 + 280}, // b = 1
                kTol);
  EXPECT_EQ(r.finalState, (std::vector<float>{3, 4, 13, 14}));
}

TEST(ConvTest, ShortSequencesReachIntoTheState) {
  // W = 4: the state holds 3 inputs. One token keeps the last two state
  // entries and appends the token; no token passes the state through; with
  // no initial state the older entries are zeros.
  ConvCase c;
  c.shape = {1, 1, 1, 4};
  c.x = {5};
  c.weight = {1, 1, 1, 1};
  c.initialState = {1, 2, 3};
  EXPECT_EQ(runConv(c).finalState, (std::vector<float>{2, 3, 5}));
  c.initialState.clear();
  EXPECT_EQ(runConv(c).finalState, (std::vector<float>{0, 0, 5}));

  c.shape.tokens = 0;
  c.x.clear();
  c.initialState = {1, 2, 3};
  ConvResult r = runConv(c);
  EXPECT_TRUE(r.y.empty());
  EXPECT_EQ(r.finalState, c.initialState);
}

TEST(ConvTest, SplitRunResumesFromFinalState) {
  // Running T = 9 tokens equals running [0, k) and then [k, 9) from the
  // first part's final state, for splits before, at and after W - 1 = 3
  // tokens. The windows hold the same inputs in the same order, so the
  // results are bit-identical.
  ConvCase c = randomConv({/*batch=*/2, /*tokens=*/9, /*channels=*/5,
                           /*width=*/4},
                          11);
  ConvResult whole = runConv(c);
  for (int64_t k : {0, 1, 2, 3, 4, 8, 9}) {
    ConvResult first = runConv(subConv(c, 0, k, c.initialState));
    ConvResult second = runConv(subConv(c, k, 9, first.finalState));
    EXPECT_EQ(first.y, tokenRange(whole.y, 2, 9, 5, 0, k)) << "split " << k;
    EXPECT_EQ(second.y, tokenRange(whole.y, 2, 9, 5, k, 9)) << "split " << k;
    EXPECT_EQ(second.finalState, whole.finalState) << "split " << k;
  }
  // The state matters: from zeros the first outputs change.
  ConvCase fresh = c;
  fresh.initialState.clear();
  EXPECT_GT(std::fabs(runConv(fresh).y[0] - whole.y[0]), 1e-3);
}

TEST(ConvTest, PackedSequencesMatchSeparateRuns) {
  // cu_seqlens = [0, 3, 3, 4, 6, 11] over T = 13: lengths 3, 0 (empty), 1, 2
  // (shorter than W - 1 = 3) and 5, each with its own state; tokens 11 and
  // 12 belong to no sequence and give 0.
  const int64_t tokens = 13, channels = 3, width = 4;
  ConvCase packed = randomConv({1, tokens, channels, width}, 5);
  packed.packed = true;
  packed.cuSeqlens = {0, 3, 3, 4, 6, 11};
  const int64_t stateSize = channels * (width - 1);
  packed.initialState = Lcg(6).fill(5 * stateSize, -1.0f, 1.0f);
  ConvResult all = runConv(packed);
  for (int64_t n = 0; n < 5; ++n) {
    int64_t begin = packed.cuSeqlens[n], end = packed.cuSeqlens[n + 1];
    ConvCase single = packed;
    single.packed = false;
    single.cuSeqlens.clear();
    std::vector<float> initial(packed.initialState.begin() + n * stateSize,
                               packed.initialState.begin() +
                                   (n + 1) * stateSize);
    ConvResult alone = runConv(subConv(single, begin, end, initial));
    EXPECT_EQ(alone.y, tokenRange(all.y, 1, tokens, channels, begin, end))
        << "sequence " << n;
    EXPECT_EQ(alone.finalState,
              std::vector<float>(all.finalState.begin() + n * stateSize,
                                 all.finalState.begin() + (n + 1) * stateSize))
        << "sequence " << n;
  }
  // The empty sequence passes its state through; tokens past cu[N] are 0.
  EXPECT_TRUE(std::equal(all.finalState.begin() + stateSize,
                         all.finalState.begin() + 2 * stateSize,
                         packed.initialState.begin() + stateSize));
  EXPECT_EQ(tokenRange(all.y, 1, tokens, channels, 11, 13),
            std::vector<float>(2 * channels, 0.0f));
  // And the convolution restarts: sequence 4's first output differs from
  // what one run over all tokens gives there.
  ConvCase joined = packed;
  joined.packed = false;
  joined.cuSeqlens.clear();
  joined.initialState.resize(stateSize);
  EXPECT_GT(std::fabs(runConv(joined).y[6 * channels] - all.y[6 * channels]),
            1e-4);
}

TEST(ConvTest, WidthOneScalesEachChannel) {
  // W = 1: y = act(b + w x), no state. relu(0.5 - 2 * 1) = 0,
  // relu(-1 + 3 * 2) = 5.
  ConvCase c;
  c.shape = {1, 1, 2, 1};
  c.act = Activation::Relu;
  c.x = {1, 2};
  c.weight = {-2, 3};
  c.bias = {0.5f, -1};
  ConvResult r = runConv(c);
  expectAllNear(r.y, {0.0f, 5.0f}, kTol);
  EXPECT_TRUE(r.finalState.empty());
}

} // namespace
