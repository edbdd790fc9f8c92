// Calls two gatec kernels compiled at build time by gatec_add_kernels() and
// checks them against plain C++ on random inputs. Exit status 0 when every
// result matches.
#include "swiglu_gate.h"
#include "topk_router.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

using gatec_kernels::TensorView;

static int checkSwiGLU(int64_t tokens, int64_t width, std::mt19937 &rng) {
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> u(tokens * width), g(tokens * width),
      y(tokens * width);
  for (float &v : u)
    v = normal(rng);
  for (float &v : g)
    v = normal(rng);
  gatec_kernels::Status status = gatec_kernels::swiglu_gate::swiglu(
      TensorView<const float, 2>{u.data(), {tokens, width}},
      TensorView<const float, 2>{g.data(), {tokens, width}},
      TensorView<float, 2>{y.data(), {tokens, width}});
  if (!status.ok()) {
    std::printf("swiglu failed: %s\n", status.message().c_str());
    return 1;
  }
  // f32 with a polynomial exp: a few ulps of the product.
  double worst = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    double silu = g[i] / (1.0 + std::exp(-(double)g[i]));
    double expected = silu * u[i];
    worst = std::max(worst, std::abs(y[i] - expected) /
                                std::max(1.0, std::abs(expected)));
  }
  std::printf("swiglu [%lld, %lld]: max relative error %.2e\n",
              (long long)tokens, (long long)width, worst);
  return worst <= 1e-5 ? 0 : 1;
}

static int checkRouter(int64_t tokens, std::mt19937 &rng) {
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> logits(tokens * 8), weights(tokens * 2);
  std::vector<int32_t> experts(tokens * 2);
  for (float &v : logits)
    v = normal(rng);
  gatec_kernels::Status status = gatec_kernels::topk_router::top2_router(
      TensorView<const float, 2>{logits.data(), {tokens, 8}},
      TensorView<float, 2>{weights.data(), {tokens, 2}},
      TensorView<int32_t, 2>{experts.data(), {tokens, 2}});
  if (!status.ok()) {
    std::printf("router failed: %s\n", status.message().c_str());
    return 1;
  }
  int wrongChoices = 0;
  double worst = 0;
  for (int64_t t = 0; t < tokens; ++t) {
    const float *row = &logits[t * 8];
    int first = int(std::max_element(row, row + 8) - row);
    int second = -1;
    for (int e = 0; e < 8; ++e)
      if (e != first && (second < 0 || row[e] > row[second]))
        second = e;
    wrongChoices += experts[t * 2] != first || experts[t * 2 + 1] != second;
    // Renormalized softmax over the chosen two: the max cancels.
    double w0 = 1.0 / (1.0 + std::exp((double)row[second] - row[first]));
    worst = std::max({worst, std::abs(weights[t * 2] - w0),
                      std::abs(weights[t * 2 + 1] - (1.0 - w0))});
  }
  std::printf("top2_router [%lld, 8]: %d wrong choices, max weight error "
              "%.2e\n",
              (long long)tokens, wrongChoices, worst);
  return wrongChoices == 0 && worst <= 1e-6 ? 0 : 1;
}

int main() {
  std::mt19937 rng(7);
  int failures = 0;
  // Sizes that are not multiples of any tile, and a single token.
  for (auto [tokens, width] : {std::pair<int64_t, int64_t>{37, 101},
                               {1, 16},
                               {256, 1000}})
    failures += checkSwiGLU(tokens, width, rng);
  for (int64_t tokens : {1, 19, 4099})
    failures += checkRouter(tokens, rng);

  // A mis-shaped call is an error, not a memory corruption.
  std::vector<float> logits(3 * 7), weights(3 * 2);
  std::vector<int32_t> experts(3 * 2);
  gatec_kernels::Status refused = gatec_kernels::topk_router::top2_router(
      TensorView<const float, 2>{logits.data(), {3, 7}},
      TensorView<float, 2>{weights.data(), {3, 2}},
      TensorView<int32_t, 2>{experts.data(), {3, 2}});
  std::printf("a mis-shaped call is refused: %s\n",
              refused.ok() ? "no" : refused.message().c_str());
  failures += refused.ok();

  std::printf("%s\n", failures ? "FAILED" : "all results match");
  return failures ? 1 : 0;
}
