// C entry points onto gatec's reference implementation, so bench_cpu.py can
// time the scalar oracle beside the compiled kernels and PyTorch.
#include "gatec/Reference/Reference.h"

using namespace gatec::ref;

extern "C" {
void ref_swiglu(const float *x, const float *g, float *y, long rows, long d) {
  GateParams params;
  params.act = Activation::Silu;
  gate(x, g, y, rows, d, params);
}

void ref_gla(const float *q, const float *k, const float *v, const float *g,
             float *o, long b, long t, long h, long kd, long vd) {
  ScanShape shape{b, t, h, kd, vd};
  ScanParams params;
  params.decay = DecayKind::Vector;
  params.scale = 1.0 / __builtin_sqrt(static_cast<double>(kd));
  chunkedScan(q, k, v, g, nullptr, nullptr, nullptr, o, nullptr, nullptr, shape,
              params);
}

void ref_route(const float *logits, const float *bias, long tokens, long experts,
               long k, int sigmoid, int renormalize, long groups,
               long topkGroups, double scale, float *weights, int *chosen) {
  RouterParams params;
  params.scoring = sigmoid ? Scoring::Sigmoid : Scoring::Softmax;
  params.k = k;
  params.renormalize = renormalize;
  params.nGroup = groups;
  params.topkGroup = topkGroups;
  params.routedScalingFactor = scale;
  route(logits, bias, tokens, experts, params, weights, chosen);
}
}
