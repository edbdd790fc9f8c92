// Checks the compiled f32 -> bf16 rounding bit for bit against a rounding
// computed differently: the nearest of the two bf16 neighbours of x,
// measured in double, ties to the even one; overflow rounds to infinity
// past the midpoint between the largest bf16 and 2^128; every NaN becomes
// 0x7fc0. Inputs: specials, every tie and near-tie around a range of
// exponents, and pseudo-random bit patterns.
#include "bf16-rounding.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

static float fromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// The value of bf16 bits `h` as a double; 0x7f80 / 0xff80 (infinity) stand
// for +-2^128, the next value after the largest finite bf16.
static double bf16Value(uint16_t h) {
  if ((h & 0x7fff) == 0x7f80)
    return (h & 0x8000 ? -1.0 : 1.0) * std::ldexp(1.0, 128);
  return static_cast<double>(fromBits(static_cast<uint32_t>(h) << 16));
}

static uint16_t expected(float x) {
  if (std::isnan(x))
    return 0x7fc0;
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  if ((bits & 0x7fffffff) == 0x7f800000)
    return static_cast<uint16_t>(bits >> 16);
  uint16_t low = static_cast<uint16_t>(bits >> 16); // towards zero
  uint16_t high = static_cast<uint16_t>(low + 1);   // away from zero
  double dl = std::fabs(static_cast<double>(x) - bf16Value(low));
  double dh = std::fabs(static_cast<double>(x) - bf16Value(high));
  if (dl < dh)
    return low;
  if (dh < dl)
    return high;
  return (low & 1) ? high : low;
}

int main() {
  std::vector<uint32_t> patterns = {
      0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x00800000,
      0x3f800000, 0xbf800000, 0x7f7fffff, 0xff7fffff, 0x7f7f7fff, 0x7f7f8000,
      0x7f7f8001, 0x7f800000, 0xff800000, 0x7f800001, 0xff800001, 0x7fc00000,
      0xffc00000, 0x7fffffff, 0xffffffff, 0x7f808000, 0x7fbfffff};
  for (uint32_t e = 0; e < 256; e += 17)
    for (uint32_t m : {0x00008000u, 0x00018000u, 0x00007fffu, 0x00008001u,
                       0x0000ffffu, 0x00010000u, 0x007f8000u})
      for (uint32_t s : {0u, 0x80000000u})
        patterns.push_back(s | (e << 23) | m);
  uint32_t state = 12345;
  while (patterns.size() < 100003) { // not a multiple of the vector width
    state = state * 1664525u + 1013904223u;
    patterns.push_back(state);
  }
  std::vector<float> x(patterns.size());
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = fromBits(patterns[i]);
  std::vector<gatec_bf16> y(x.size());
  gatec_error err;
  const int64_t n = static_cast<int64_t>(x.size());
  if (gatec_round_bf16(x.data(), n, y.data(), n, &err) != GATEC_OK) {
    std::printf("call failed: %s\n", err.message);
    return 1;
  }
  size_t wrong = 0;
  for (size_t i = 0; i < x.size(); ++i)
    if (y[i] != expected(x[i]) && wrong++ < 5)
      std::printf("x = 0x%08x: got 0x%04x, expected 0x%04x\n", patterns[i],
                  y[i], expected(x[i]));
  std::printf("%zu of %zu differ\n", wrong, x.size());
  return wrong != 0;
}
