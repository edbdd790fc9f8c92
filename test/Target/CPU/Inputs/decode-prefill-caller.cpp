// Decoding continues a prefill: for B = 3 sequences of T = 37 tokens, the
// prefill of all 37 tokens equals the prefill of the first 36 (state out),
// the states placed in pool rows 4, 0 and 2 of 6, and one decoding step on the
// 37th tokens (slots 4, 0, 2, plus a padding slot -1 that must change
// nothing): the same last output rows and final states, to 1e-5 relative
// (the chunk form's f32 rounding, two different chunkings of the same
// recurrence). Gated DeltaNet (scalar decay) and KDA (vector decay). Exits 1
// on a failed check.
#include "decode_prefill.h"

#include <cmath>
#include <cstdio>
#include <vector>

namespace k = gatec_kernels::decode_prefill;

static int failures = 0;

static float value(uint32_t i) {
  i = i * 2654435761u + 12345u;
  return static_cast<float>((i >> 8) % 2048) / 1024.0f - 1.0f;
}

constexpr int64_t B = 3, T = 37, H = 2, HV = 4, K = 16, V = 8, P = 6;
constexpr int64_t kState = HV * K * V;

struct Inputs {
  int64_t gateWidth; // 1 (scalar) or K (vector)
  std::vector<float> q, kk, v, g, beta, s0;
  explicit Inputs(int64_t gateWidth)
      : gateWidth(gateWidth), q(B * T * H * K), kk(B * T * H * K),
        v(B * T * HV * V), g(B * T * HV * gateWidth), beta(B * T * HV),
        s0(B * kState) {
    for (size_t i = 0; i < q.size(); ++i)
      q[i] = value(i);
    // Unit keys, as the models L2-normalize them.
    for (int64_t row = 0; row < B * T * H; ++row) {
      double norm = 0;
      for (int64_t c = 0; c < K; ++c) {
        kk[row * K + c] = value(row * K + c + 7919);
        norm += double(kk[row * K + c]) * kk[row * K + c];
      }
      for (int64_t c = 0; c < K; ++c)
        kk[row * K + c] /= static_cast<float>(std::sqrt(norm));
    }
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = value(i + 104729);
    for (size_t i = 0; i < g.size(); ++i)
      g[i] = -0.3f * (value(i + 1299709) + 1.0f); // log decays in (-0.6, 0]
    for (size_t i = 0; i < beta.size(); ++i)
      beta[i] = 0.5f * (value(i + 15485863) + 1.0f); // rates in [0, 1)
    for (size_t i = 0; i < s0.size(); ++i)
      s0[i] = 0.1f * value(i + 32452843);
  }
  // Tokens [from, to) of every sequence of a [B, T, width] tensor.
  static std::vector<float> tokens(const std::vector<float> &x, int64_t width,
                                   int64_t from, int64_t to) {
    std::vector<float> out;
    for (int64_t b = 0; b < B; ++b)
      out.insert(out.end(), x.begin() + (b * T + from) * width,
                 x.begin() + (b * T + to) * width);
    return out;
  }
};

static double relativeError(const std::vector<float> &got,
                            const std::vector<float> &want) {
  double scale = 1.0, worst = 0.0;
  for (float w : want)
    scale = std::fmax(scale, std::fabs(w));
  for (size_t i = 0; i < got.size(); ++i)
    worst = std::fmax(worst, std::fabs(double(got[i]) - want[i]) / scale);
  return worst;
}

template <typename Prefill, typename Step>
static void check(const char *name, int64_t gateWidth, Prefill prefill,
                  Step step) {
  Inputs in(gateWidth);
  // The whole prefill.
  std::vector<float> o(B * T * HV * V), s(B * kState);
  if (!prefill(in.q, in.kk, in.v, in.g, in.beta, in.s0, T, o, s)) {
    std::printf("FAIL %s: prefill of %lld tokens\n", name, (long long)T);
    ++failures;
    return;
  }
  // The first T - 1 tokens, then one step from the pool.
  auto head = [&](const std::vector<float> &x, int64_t w) {
    return Inputs::tokens(x, w, 0, T - 1);
  };
  auto tail = [&](const std::vector<float> &x, int64_t w) {
    std::vector<float> last = Inputs::tokens(x, w, T - 1, T);
    // A fourth sequence on the padding slot.
    last.insert(last.end(), last.begin(), last.begin() + w);
    return last;
  };
  std::vector<float> oHead(B * (T - 1) * HV * V), sHead(B * kState);
  bool ok = prefill(head(in.q, H * K), head(in.kk, H * K), head(in.v, HV * V),
                    head(in.g, HV * gateWidth), head(in.beta, HV), in.s0, T - 1,
                    oHead, sHead);
  const int32_t slots[B + 1] = {4, 0, 2, -1};
  std::vector<float> pool(P * kState, -7.0f);
  for (int64_t b = 0; b < B; ++b)
    std::copy(sHead.begin() + b * kState, sHead.begin() + (b + 1) * kState,
              pool.begin() + slots[b] * kState);
  std::vector<float> poolBefore = pool, oStep((B + 1) * HV * V, -7.0f);
  ok = ok && step(tail(in.q, H * K), tail(in.kk, H * K), tail(in.v, HV * V),
                  tail(in.g, HV * gateWidth), tail(in.beta, HV), pool, slots,
                  oStep);
  if (!ok) {
    std::printf("FAIL %s: a call failed\n", name);
    ++failures;
    return;
  }
  std::vector<float> lastRows = Inputs::tokens(o, HV * V, T - 1, T);
  std::vector<float> stepRows(oStep.begin(), oStep.begin() + B * HV * V);
  std::vector<float> stepStates;
  for (int64_t b = 0; b < B; ++b)
    stepStates.insert(stepStates.end(), pool.begin() + slots[b] * kState,
                      pool.begin() + (slots[b] + 1) * kState);
  double oError = relativeError(stepRows, lastRows);
  double sError = relativeError(stepStates, s);
  bool untouched = true;
  for (int64_t row : {1, 3, 5})
    for (int64_t i = 0; i < kState; ++i)
      untouched &= pool[row * kState + i] == poolBefore[row * kState + i];
  bool padding = true;
  for (int64_t i = 0; i < HV * V; ++i)
    padding &= oStep[B * HV * V + i] == 0.0f;
  bool passed = oError <= 1e-5 && sError <= 1e-5 && untouched && padding;
  failures += !passed;
  std::printf("%s %s: last output %s, final states %s, other rows %s, "
              "padding output %s\n",
              passed ? "ok" : "FAIL", name, oError <= 1e-5 ? "match" : "differ",
              sError <= 1e-5 ? "match" : "differ",
              untouched ? "untouched" : "written",
              padding ? "0" : "written");
  std::fprintf(stderr, "%s: output error %.2e, state error %.2e\n", name,
               oError, sError);
}

int main() {
  using Vec = std::vector<float>;
  auto gdnPrefill = [](const Vec &q, const Vec &kk, const Vec &v, const Vec &g,
                       const Vec &beta, const Vec &s0, int64_t t, Vec &o,
                       Vec &s) {
    return k::gdn_prefill({q.data(), {B, t, H, K}}, {kk.data(), {B, t, H, K}},
                          {v.data(), {B, t, HV, V}}, {g.data(), {B, t, HV}},
                          {beta.data(), {B, t, HV}}, {s0.data(), {B, HV, K, V}},
                          {o.data(), {B, t, HV, V}}, {s.data(), {B, HV, K, V}})
        .ok();
  };
  auto gdnStep = [](const Vec &q, const Vec &kk, const Vec &v, const Vec &g,
                    const Vec &beta, Vec &pool, const int32_t *slots, Vec &o) {
    return k::gdn_step({q.data(), {B + 1, 1, H, K}},
                       {kk.data(), {B + 1, 1, H, K}},
                       {v.data(), {B + 1, 1, HV, V}}, {g.data(), {B + 1, 1, HV}},
                       {beta.data(), {B + 1, 1, HV}},
                       {pool.data(), {P, HV, K, V}}, {slots, {B + 1}},
                       {o.data(), {B + 1, 1, HV, V}})
        .ok();
  };
  auto kdaPrefill = [](const Vec &q, const Vec &kk, const Vec &v, const Vec &g,
                       const Vec &beta, const Vec &s0, int64_t t, Vec &o,
                       Vec &s) {
    return k::kda_prefill({q.data(), {B, t, H, K}}, {kk.data(), {B, t, H, K}},
                          {v.data(), {B, t, HV, V}},
                          {g.data(), {B, t, HV, K}}, {beta.data(), {B, t, HV}},
                          {s0.data(), {B, HV, K, V}}, {o.data(), {B, t, HV, V}},
                          {s.data(), {B, HV, K, V}})
        .ok();
  };
  auto kdaStep = [](const Vec &q, const Vec &kk, const Vec &v, const Vec &g,
                    const Vec &beta, Vec &pool, const int32_t *slots, Vec &o) {
    return k::kda_step({q.data(), {B + 1, 1, H, K}},
                       {kk.data(), {B + 1, 1, H, K}},
                       {v.data(), {B + 1, 1, HV, V}},
                       {g.data(), {B + 1, 1, HV, K}},
                       {beta.data(), {B + 1, 1, HV}},
                       {pool.data(), {P, HV, K, V}}, {slots, {B + 1}},
                       {o.data(), {B + 1, 1, HV, V}})
        .ok();
  };
  check("gated deltanet", 1, gdnPrefill, gdnStep);
  check("kda", K, kdaPrefill, kdaStep);
  return failures ? 1 : 0;
}
