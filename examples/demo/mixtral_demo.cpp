// The README's main job: route a batch of tokens with the Mixtral-8x7B router
// compiled by gatec from examples/mixtral_router.gate, build the dispatch
// metadata for the expert GEMMs, and check both against gatec's reference
// implementation. A plain C++ program: the generated header, the object file
// and libomp are all it needs.
#include "mixtral_router.h"

#include "gatec/Reference/Reference.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

namespace kernels = gatec_kernels::mixtral_router;
using gatec_kernels::TensorView;

static gatec_bf16 toBF16(float value) {
  float rounded = gatec::ref::roundToBF16(value);
  uint32_t bits;
  std::memcpy(&bits, &rounded, 4);
  return static_cast<gatec_bf16>(bits >> 16);
}

static float fromBF16(gatec_bf16 value) {
  uint32_t bits = static_cast<uint32_t>(value) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

int main(int argc, char **argv) {
  const int64_t tokens = argc > 1 ? std::atoll(argv[1]) : 4096;
  const int64_t hidden = 4096, experts = 8, k = 2;
  std::mt19937 rng(2024);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<gatec_bf16> x(tokens * hidden), w(hidden * experts);
  for (auto &v : x)
    v = toBF16(normal(rng));
  for (auto &v : w)
    v = toBF16(normal(rng) * 0.02f);

  // Shapes are checked before anything runs: a wrong one is an error, not
  // a corrupted buffer.
  std::vector<float> weights(tokens * k);
  std::vector<int32_t> chosen(tokens * k);
  kernels::Status wrong = kernels::mixtral_8x7b_router(
      TensorView<const gatec_bf16, 2>{x.data(), {tokens, hidden - 1}},
      TensorView<const gatec_bf16, 2>{w.data(), {hidden, experts}},
      TensorView<float, 2>{weights.data(), {tokens, k}},
      TensorView<int32_t, 2>{chosen.data(), {tokens, k}});
  std::printf("a mis-shaped call is refused: %s: %s\n", wrong.name(),
              wrong.message().c_str());

  auto start = std::chrono::steady_clock::now();
  kernels::Status status = kernels::mixtral_8x7b_router(
      TensorView<const gatec_bf16, 2>{x.data(), {tokens, hidden}},
      TensorView<const gatec_bf16, 2>{w.data(), {hidden, experts}},
      TensorView<float, 2>{weights.data(), {tokens, k}},
      TensorView<int32_t, 2>{chosen.data(), {tokens, k}});
  double routeMs = std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  if (!status.ok()) {
    std::fprintf(stderr, "router: %s\n", status.message().c_str());
    return 1;
  }

  kernels::Mixtral8x7bDispatchShapes shapes;
  if (!kernels::mixtral_8x7b_dispatch_output_shapes({tokens, k}, shapes).ok())
    return 1;
  std::vector<int32_t> sorted(shapes.sorted_pairs_numel),
      blocks(shapes.block_experts_numel), offsets(experts + 1),
      counts(experts), positions(tokens * k);
  status = kernels::mixtral_8x7b_dispatch(
      TensorView<const int32_t, 2>{chosen.data(), {tokens, k}},
      TensorView<int32_t, 1>{sorted.data(), shapes.sorted_pairs},
      TensorView<int32_t, 1>{blocks.data(), shapes.block_experts},
      TensorView<int32_t, 1>{offsets.data(), {experts + 1}},
      TensorView<int32_t, 1>{counts.data(), {experts}},
      TensorView<int32_t, 2>{positions.data(), {tokens, k}});
  if (!status.ok()) {
    std::fprintf(stderr, "dispatch: %s\n", status.message().c_str());
    return 1;
  }

  // The reference: logits in double from the same bf16 values, rounded to
  // bf16 as the .gate program says (`x @ w` of bf16 operands is bf16), then
  // the oracle's router and dispatch.
  std::vector<float> logits(tokens * experts);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t e = 0; e < experts; ++e) {
      double sum = 0;
      for (int64_t d = 0; d < hidden; ++d)
        sum += double(fromBF16(x[t * hidden + d])) *
               fromBF16(w[d * experts + e]);
      logits[t * experts + e] =
          gatec::ref::roundToBF16(static_cast<float>(sum));
    }
  gatec::ref::RouterParams params;
  params.k = k;
  params.renormalize = true;
  std::vector<float> refWeights(tokens * k);
  std::vector<int32_t> refChosen(tokens * k);
  gatec::ref::route(logits.data(), nullptr, tokens, experts, params,
                    refWeights.data(), refChosen.data());
  gatec::ref::Dispatch refDispatch = gatec::ref::dispatch(
      refChosen.data(), tokens, k, experts, /*blockSize=*/64);

  int64_t expertMismatches = 0;
  double maxWeightError = 0;
  for (int64_t i = 0; i < tokens * k; ++i) {
    expertMismatches += chosen[i] != refChosen[i];
    maxWeightError =
        std::fmax(maxWeightError, std::fabs(weights[i] - refWeights[i]));
  }
  bool dispatchMatches = sorted == refDispatch.sortedPairs &&
                         blocks == refDispatch.blockExperts &&
                         offsets == refDispatch.expertOffsets &&
                         counts == refDispatch.expertCounts &&
                         positions == refDispatch.pairPositions;

  std::printf("routed %lld tokens to top-2 of 8 experts in %.2f ms\n",
              static_cast<long long>(tokens), routeMs);
  std::printf("tokens per expert:");
  for (int32_t c : counts)
    std::printf(" %d", c);
  std::printf("\nexpert choices differing from the reference: %lld of %lld\n",
              static_cast<long long>(expertMismatches),
              static_cast<long long>(tokens * k));
  std::printf("largest weight difference: %.3g (bound 1e-2: one bf16 unit "
              "of a logit, through the softmax)\n",
              maxWeightError);
  std::printf("dispatch metadata matches the reference: %s\n",
              dispatchMatches ? "yes" : "NO");
  // The f32 matmul accumulates in another order than the double reference;
  // a logit within one bf16 rounding boundary may round the other way. That
  // must be rare, and everything else must agree.
  bool ok = expertMismatches * 1000 <= tokens * k &&
            (expertMismatches > 0 || (maxWeightError <= 1e-2 && dispatchMatches));
  std::printf("%s\n", ok ? "demo: OK" : "demo: FAILED");
  return ok ? 0 : 1;
}
