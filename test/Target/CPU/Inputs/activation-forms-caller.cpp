// Runs each pair of activation-forms.gate (a DSL builtin and the same
// function as gate.gate's activation) on the same inputs and requires the two
// outputs to be the same bits: gates past exp's range, infinities, NaN,
// subnormals and zeros of both signs, times values that are infinite, huge or
// zero, then random values. Exits 1 on a mismatch.
#include "activation-forms.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace k = gatec_kernels::activation_forms;

using Kernel = k::Status (*)(k::TensorView<const float, 1>,
                             k::TensorView<const float, 1>,
                             k::TensorView<float, 1>);

static uint32_t bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

int main() {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> gates = {
      -inf,  -1e30f, -200.f,  -104.f, -88.7f, -87.f,  -20.f, -9.5f,
      -5.6f, -1.f,   -1e-40f, -0.f,   0.f,    1e-40f, 0.5f,  3.f,
      9.f,   20.f,   88.8f,   1e30f,  inf,    nan};
  const std::vector<float> values = {1.f, -1.f, inf, -inf, 1e30f, 0.f, 3.5f};
  std::vector<float> x, g;
  for (float gv : gates)
    for (float xv : values) {
      g.push_back(gv);
      x.push_back(xv);
    }
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> wide(-30.f, 30.f);
  while (x.size() < 4099) { // not a multiple of any vector width
    g.push_back(wide(rng));
    x.push_back(wide(rng));
  }
  const int64_t n = static_cast<int64_t>(x.size());

  struct Pair {
    const char *name;
    Kernel builtin, gate;
  };
  const Pair pairs[] = {
      {"sigmoid", k::sigmoid_builtin, k::sigmoid_gate},
      {"silu", k::silu_builtin, k::silu_gate},
      {"gelu", k::gelu_builtin, k::gelu_gate},
      {"gelu_tanh", k::gelu_tanh_builtin, k::gelu_tanh_gate},
      {"relu", k::relu_builtin, k::relu_gate},
  };
  int failures = 0;
  for (const Pair &p : pairs) {
    std::vector<float> a(n, 7.f), b(n, -7.f);
    if (!p.builtin({x.data(), {n}}, {g.data(), {n}}, {a.data(), {n}}).ok() ||
        !p.gate({x.data(), {n}}, {g.data(), {n}}, {b.data(), {n}}).ok()) {
      std::printf("%s: a call failed\n", p.name);
      return 1;
    }
    int64_t differ = 0;
    for (int64_t i = 0; i < n; ++i)
      if (bits(a[i]) != bits(b[i])) {
        if (differ++ < 3)
          std::printf("%s: g = %g, x = %g: builtin %a, gate %a\n", p.name, g[i],
                      x[i], a[i], b[i]);
      }
    std::printf("%s: %lld of %lld outputs differ\n", p.name,
                static_cast<long long>(differ), static_cast<long long>(n));
    failures += differ != 0;
  }
  return failures ? 1 : 0;
}
