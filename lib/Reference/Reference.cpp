//===- Reference.cpp - The numerical oracle for every gate op -------------===//
//
// Part of gatec. Straight-line implementations of the contracts written in
// Reference.h and GateOps.td. Everything accumulates in double and follows the
// definition literally (the scan is the token-by-token recurrence, routers
// sort the whole row) so that a disagreement with a backend points at the
// backend. Nothing here is tuned for speed.
//
//===----------------------------------------------------------------------===//

#include "gatec/Reference/Reference.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

namespace gatec::ref {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

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

/// Rounds a non-negative `value` to the nearest integer, ties to even.
/// Written out rather than std::nearbyint so that the result does not depend
/// on the current floating-point rounding mode.
double roundHalfToEven(double value) {
  double floor = std::floor(value);
  double fraction = value - floor; // Exact: both are doubles within 2^53.
  if (fraction > 0.5)
    return floor + 1.0;
  if (fraction < 0.5)
    return floor;
  return std::fmod(floor, 2.0) == 0.0 ? floor : floor + 1.0;
}

/// Rounds `value` to the nearest number of a binary format with `precision`
/// significand bits (the implicit bit included), smallest normal exponent
/// `minExp` and largest exponent `maxExp`, ties to even; overflow gives +-inf.
/// The rounding is done on the exact value in double: a float times a power
/// of two is exact in double, so scaling to the format's quantum and rounding
/// to an integer is the textbook definition with no intermediate error.
/// `nanMask` keeps the bits of a NaN that the narrow format can hold.
float roundToFormat(float value, int precision, int minExp, int maxExp,
                    uint32_t nanMask) {
  if (std::isnan(value)) {
    // Truncating the payload could leave an all-zero mantissa, i.e. an
    // infinity; setting the quiet bit keeps it a NaN, as hardware does.
    return floatOf((bitsOf(value) & nanMask) | 0x00400000u);
  }
  if (std::isinf(value) || value == 0.0f)
    return value;
  double magnitude = std::fabs(static_cast<double>(value));
  // Below the smallest normal exponent the quantum stops shrinking: that is
  // what makes subnormals evenly spaced.
  int quantumExp = std::max(std::ilogb(magnitude), minExp) - (precision - 1);
  double rounded = std::ldexp(
      roundHalfToEven(std::ldexp(magnitude, -quantumExp)), quantumExp);
  // Rounding up out of the top binade is overflow (the largest finite value
  // has an odd significand, so a tie above it also goes to infinity).
  if (rounded >= std::ldexp(1.0, maxExp + 1))
    rounded = kInf;
  return static_cast<float>(std::copysign(rounded, static_cast<double>(value)));
}

//===----------------------------------------------------------------------===//
// Gates
//===----------------------------------------------------------------------===//

/// Never evaluates exp of a positive argument, so it cannot overflow: large
/// negative z gives 0 (not 0/0), large positive z gives exactly 1.
double sigmoid(double z) {
  if (z >= 0.0)
    return 1.0 / (1.0 + std::exp(-z));
  double e = std::exp(z); // A NaN z lands here and propagates.
  return e / (1.0 + e);
}

/// act(g) * x with the optional SwiGLU clamp. The comparisons are written so
/// that a NaN operand is left alone (every comparison with NaN is false).
double gatedProduct(double x, double g, const GateParams &params) {
  if (params.clampLimit) {
    double limit = *params.clampLimit;
    if (g > limit)
      g = limit;
    if (x > limit)
      x = limit;
    else if (x < -limit)
      x = -limit;
  }
  return activate(params.act, g) * x;
}

//===----------------------------------------------------------------------===//
// Routers
//===----------------------------------------------------------------------===//


/// Scores one row of logits. `weightScore` is s, the value weights are taken
/// from; `selectScore` is what selection ranks on before the bias is added.
/// They differ only for softmax rows holding a NaN: the true softmax is NaN
/// everywhere (the NaN reaches the denominator), which is what the weights
/// must show, but ranking on an all-NaN row would make the choice arbitrary.
/// Selection therefore uses the softmax over the row's numbers, with NaN at
/// the NaN logits, so that "NaN ranks below every number" holds and the rest
/// rank as their probabilities do.
void scoreRow(const float *logits, int64_t numExperts, Scoring scoring,
              std::vector<double> &weightScore,
              std::vector<double> &selectScore) {
  if (scoring == Scoring::Sigmoid) {
    for (int64_t e = 0; e < numExperts; ++e) {
      weightScore[e] = sigmoid(logits[e]);
      selectScore[e] = weightScore[e];
    }
    return;
  }
  // Softmax with the max subtracted so that exp never overflows.
  double maxLogit = -kInf;
  bool anyNaN = false;
  for (int64_t e = 0; e < numExperts; ++e) {
    if (std::isnan(logits[e]))
      anyNaN = true;
    else
      maxLogit = std::max(maxLogit, static_cast<double>(logits[e]));
  }
  double sum = 0.0;
  for (int64_t e = 0; e < numExperts; ++e)
    if (!std::isnan(logits[e]))
      sum += std::exp(logits[e] - maxLogit);
  for (int64_t e = 0; e < numExperts; ++e) {
    selectScore[e] =
        std::isnan(logits[e]) ? kNaN : std::exp(logits[e] - maxLogit) / sum;
    weightScore[e] = anyNaN ? kNaN : selectScore[e];
  }
}

/// Marks the experts of the best `topkGroup` of `nGroup` contiguous groups as
/// eligible, scoring each group on the biased scores.
void markEligibleGroups(const std::vector<double> &biased,
                        const RouterParams &params,
                        std::vector<char> &eligible) {
  int64_t numExperts = static_cast<int64_t>(biased.size());
  int64_t nGroup = params.nGroup;
  int64_t groupSize = numExperts / nGroup;
  std::vector<double> groupScores =
      routerGroupScores(biased.data(), numExperts, params);
  std::vector<int64_t> groups(nGroup);
  std::iota(groups.begin(), groups.end(), 0);
  std::sort(groups.begin(), groups.end(), [&](int64_t a, int64_t b) {
    return ranksBefore(groupScores[a], a, groupScores[b], b);
  });
  std::fill(eligible.begin(), eligible.end(), 0);
  int64_t kept = std::min(params.topkGroup, nGroup);
  for (int64_t i = 0; i < kept; ++i)
    for (int64_t e = 0; e < groupSize; ++e)
      eligible[groups[i] * groupSize + e] = 1;
}

/// Drops the assignments past each expert's capacity, visiting them in the
/// drop policy's priority order.
void applyCapacity(int64_t tokens, int64_t numExperts,
                   const RouterParams &params, float *weights,
                   int32_t *experts) {
  int64_t k = params.k;
  // Computed as T * f / E: with f an f32 value the product is exact, so the
  // one rounding (the division) cannot move the quotient across an integer
  // for any realistic T * E. Kept in double: the comparison below needs no
  // conversion, so a huge factor cannot overflow an integer.
  double capacity =
      std::floor(static_cast<double>(tokens) * *params.capacityFactor /
                 static_cast<double>(numExperts));
  std::vector<int64_t> order;
  order.reserve(tokens * k);
  if (params.dropPolicy == DropPolicy::TokenOrder) {
    // Every token's first choice before any token's second choice.
    for (int64_t slot = 0; slot < k; ++slot)
      for (int64_t t = 0; t < tokens; ++t)
        order.push_back(t * k + slot);
  } else {
    // By the f32 weight a kernel would compare, heaviest first; NaN last;
    // ties to the lower pair id t * k + slot.
    for (int64_t pair = 0; pair < tokens * k; ++pair)
      order.push_back(pair);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return ranksBefore(weights[a], a, weights[b], b);
    });
  }
  std::vector<int64_t> load(numExperts, 0);
  for (int64_t pair : order) {
    int32_t expert = experts[pair];
    if (expert < 0)
      continue;
    if (static_cast<double>(load[expert]) < capacity) {
      ++load[expert];
      continue;
    }
    experts[pair] = -1;
    weights[pair] = 0.0f;
  }
}

/// A sequence is a token range [begin, end) of one batch entry: the packed
/// ranges of cu_seqlens (B = 1), or without it each whole batch entry.
struct Sequence {
  int64_t batch, begin, end;
};

std::vector<Sequence> sequencesOf(const std::vector<int64_t> *cuSeqlens,
                                  int64_t batch, int64_t tokens) {
  std::vector<Sequence> sequences;
  if (cuSeqlens) {
    assert(batch == 1 && "verified: packed sequences use B = 1");
    for (size_t n = 0; n + 1 < cuSeqlens->size(); ++n)
      sequences.push_back({0, (*cuSeqlens)[n], (*cuSeqlens)[n + 1]});
  } else {
    for (int64_t b = 0; b < batch; ++b)
      sequences.push_back({b, 0, tokens});
  }
  return sequences;
}

} // namespace

bool ranksBefore(double a, int64_t indexA, double b, int64_t indexB) {
  bool nanA = std::isnan(a), nanB = std::isnan(b);
  if (nanA != nanB)
    return nanB;
  if (!nanA && a != b)
    return a > b;
  return indexA < indexB;
}

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

float roundToBF16(float value) {
  // bfloat16: 8 significand bits, the exponent range of f32.
  return roundToFormat(value, 8, -126, 127, 0xFFFF0000u);
}

float roundToF16(float value) {
  // IEEE binary16: 11 significand bits, normal exponents -14..15.
  return roundToFormat(value, 11, -14, 15, 0xFFFFE000u);
}

//===----------------------------------------------------------------------===//
// Gates
//===----------------------------------------------------------------------===//

double activate(Activation act, double z) {
  switch (act) {
  case Activation::Sigmoid:
    return sigmoid(z);
  case Activation::Identity:
    return z;
  case Activation::Relu:
    return z < 0.0 ? 0.0 : z; // NaN fails the test and propagates.
  case Activation::Gelu:
    // At +-inf the formula reads inf * 1 or -inf * 0; give the limits.
    if (std::isinf(z))
      return z > 0.0 ? z : 0.0;
    // 1 + erf(z / sqrt(2)) as erfc(-z / sqrt(2)): no cancellation for
    // z << 0, where the factor is tiny but not 0.
    return 0.5 * z * std::erfc(-z / std::sqrt(2.0));
  case Activation::GeluTanh: {
    if (std::isinf(z))
      return z > 0.0 ? z : 0.0;
    // M_PI is POSIX, not C++17.
    const double kSqrt2OverPi = std::sqrt(2.0 / 3.14159265358979323846);
    // 0.5 z (1 + tanh(u)) = z sigmoid(2u): the same value without the
    // cancellation of 1 + tanh(u) for u << 0, where the factor is tiny but
    // not 0 (so an infinite x times it stays infinite).
    return z * sigmoid(2.0 * kSqrt2OverPi * (z + 0.044715 * z * z * z));
  }
  case Activation::Silu:
    // -inf * sigmoid(-inf) would be -inf * 0; the limit is 0.
    if (std::isinf(z))
      return z > 0.0 ? z : 0.0;
    return z * sigmoid(z);
  }
  assert(false && "unknown activation");
  return kNaN;
}

void gate(const float *x, const float *g, float *y, int64_t rows, int64_t d,
          const GateParams &params) {
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t i = 0; i < d; ++i) {
      int64_t index = row * d + i;
      double gateValue = params.headwise ? g[row] : g[index];
      y[index] = static_cast<float>(gatedProduct(x[index], gateValue, params));
    }
  }
}

void fusedGate(const float *input, float *y, int64_t rows, int64_t f,
               bool gateFirst, const GateParams &params) {
  for (int64_t row = 0; row < rows; ++row) {
    const float *first = input + row * 2 * f;
    const float *second = first + f;
    const float *g = gateFirst ? first : second;
    const float *x = gateFirst ? second : first;
    for (int64_t i = 0; i < f; ++i)
      y[row * f + i] = static_cast<float>(gatedProduct(x[i], g[i], params));
  }
}

//===----------------------------------------------------------------------===//
// Chunked scans
//===----------------------------------------------------------------------===//

void chunkedScan(const float *q, const float *k, const float *v,
                 const float *decay, const float *beta,
                 const float *initialState,
                 const std::vector<int64_t> *cuSeqlens, float *o,
                 float *finalState, float *chunkStates, const ScanShape &shape,
                 const ScanParams &params) {
  const int64_t numTokens = shape.tokens, numHeads = shape.heads;
  const int64_t numValueHeads = shape.getValueHeads();
  assert((numHeads ? numValueHeads % numHeads == 0 : numValueHeads == 0) &&
         "verified: HV is a multiple of H");
  const int64_t group = numHeads ? numValueHeads / numHeads : 1;
  const int64_t keyDim = shape.keyDim, valueDim = shape.valueDim;

  const std::vector<Sequence> sequences =
      sequencesOf(cuSeqlens, shape.batch, numTokens);
  // Tokens past the last offset belong to no sequence; give them a defined
  // output (0) rather than leaving the buffer as it was.
  if (cuSeqlens)
    std::fill(o, o + numTokens * numValueHeads * valueDim, 0.0f);
  const int64_t stateSize = keyDim * valueDim;
  const int64_t chunk = params.historyChunk;
  const int64_t historyRows = (numTokens + chunk - 1) / chunk;
  if (chunkStates)
    std::fill(chunkStates,
              chunkStates +
                  shape.batch * historyRows * numValueHeads * stateSize,
              0.0f);

  std::vector<double> state(stateSize);
  std::vector<double> alpha(keyDim), prediction(valueDim);
  for (size_t n = 0; n < sequences.size(); ++n) {
    const Sequence &seq = sequences[n];
    for (int64_t h = 0; h < numValueHeads; ++h) {
      const int64_t stateOffset =
          (static_cast<int64_t>(n) * numValueHeads + h) * stateSize;
      for (int64_t i = 0; i < stateSize; ++i)
        state[i] = initialState ? initialState[stateOffset + i] : 0.0;

      for (int64_t t = seq.begin; t < seq.end; ++t) {
        // Rows of token t: value head h in v, o, the decay and beta; its
        // query/key head h / G in q and k.
        const int64_t row = (seq.batch * numTokens + t) * numValueHeads + h;
        const int64_t keyRow =
            (seq.batch * numTokens + t) * numHeads + h / group;
        const float *qt = q + keyRow * keyDim;
        const float *kt = k + keyRow * keyDim;
        const float *vt = v + row * valueDim;

        // alpha = exp(decay): exp(-inf) = 0 forgets the state exactly.
        for (int64_t i = 0; i < keyDim; ++i) {
          switch (params.decay) {
          case DecayKind::Vector:
            alpha[i] = std::exp(static_cast<double>(decay[row * keyDim + i]));
            break;
          case DecayKind::Scalar:
            alpha[i] = std::exp(static_cast<double>(decay[row]));
            break;
          case DecayKind::Fixed:
            alpha[i] = std::exp(static_cast<double>(decay[h]));
            break;
          case DecayKind::None:
            alpha[i] = 1.0;
            break;
          }
        }

        // S' = Diag(alpha_t) S_{t-1}.
        for (int64_t i = 0; i < keyDim; ++i)
          for (int64_t j = 0; j < valueDim; ++j)
            state[i * valueDim + j] *= alpha[i];

        // The value written for key k_t: v_t, or with the delta rule
        // beta_t (v_t - k_t S'), S' moved towards v_t at key k_t.
        for (int64_t j = 0; j < valueDim; ++j)
          prediction[j] = static_cast<double>(vt[j]);
        if (beta) {
          const double rate = static_cast<double>(beta[row]);
          for (int64_t j = 0; j < valueDim; ++j) {
            double recalled = 0.0;
            for (int64_t i = 0; i < keyDim; ++i)
              recalled += static_cast<double>(kt[i]) * state[i * valueDim + j];
            prediction[j] = rate * (prediction[j] - recalled);
          }
        }
        for (int64_t i = 0; i < keyDim; ++i)
          for (int64_t j = 0; j < valueDim; ++j)
            state[i * valueDim + j] +=
                static_cast<double>(kt[i]) * prediction[j];

        // o_t = scale * q_t S_t (the state after this token's update).
        for (int64_t j = 0; j < valueDim; ++j) {
          double acc = 0.0;
          for (int64_t i = 0; i < keyDim; ++i)
            acc += static_cast<double>(qt[i]) * state[i * valueDim + j];
          o[row * valueDim + j] = static_cast<float>(params.scale * acc);
        }

        // The state after a chunk: its last token, or the sequence's.
        const int64_t offset = t - seq.begin;
        if (chunkStates && ((offset + 1) % chunk == 0 || t + 1 == seq.end)) {
          const int64_t historyRow =
              (seq.begin + offset / chunk * chunk) / chunk;
          float *dest =
              chunkStates +
              ((seq.batch * historyRows + historyRow) * numValueHeads + h) *
                  stateSize;
          for (int64_t i = 0; i < stateSize; ++i)
            dest[i] = static_cast<float>(state[i]);
        }
      }

      if (finalState)
        for (int64_t i = 0; i < stateSize; ++i)
          finalState[stateOffset + i] = static_cast<float>(state[i]);
    }
  }
}

//===----------------------------------------------------------------------===//
// Short causal convolutions
//===----------------------------------------------------------------------===//

void causalConv1d(const float *x, const float *weight, const float *bias,
                  const float *initialState,
                  const std::vector<int64_t> *cuSeqlens, float *y,
                  float *finalState, const ConvShape &shape, Activation act) {
  const int64_t numTokens = shape.tokens, channels = shape.channels;
  const int64_t width = shape.width, history = width - 1;
  assert(width >= 1 && "verified: the width is at least 1");

  const std::vector<Sequence> sequences =
      sequencesOf(cuSeqlens, shape.batch, numTokens);
  // Tokens past the last offset belong to no sequence: 0.
  if (cuSeqlens)
    std::fill(y, y + numTokens * channels, 0.0f);

  // z: the sequence's inputs of one channel, after its W - 1 state entries.
  std::vector<double> z;
  for (size_t n = 0; n < sequences.size(); ++n) {
    const Sequence &seq = sequences[n];
    const int64_t length = seq.end - seq.begin;
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t stateOffset =
          (static_cast<int64_t>(n) * channels + c) * history;
      z.assign(history + length, 0.0);
      for (int64_t i = 0; i < history; ++i)
        z[i] = initialState ? initialState[stateOffset + i] : 0.0;
      for (int64_t t = 0; t < length; ++t)
        z[history + t] =
            x[((seq.batch * numTokens) + seq.begin + t) * channels + c];

      // Token t of the sequence is z[history + t]; its window is
      // z[t .. t + W - 1], oldest first, as the weight's taps are.
      for (int64_t t = 0; t < length; ++t) {
        double acc = bias ? static_cast<double>(bias[c]) : 0.0;
        for (int64_t w = 0; w < width; ++w)
          acc += static_cast<double>(weight[c * width + w]) * z[t + w];
        y[((seq.batch * numTokens) + seq.begin + t) * channels + c] =
            static_cast<float>(activate(act, acc));
      }
      if (finalState)
        for (int64_t i = 0; i < history; ++i)
          finalState[stateOffset + i] = static_cast<float>(z[length + i]);
    }
  }
}

//===----------------------------------------------------------------------===//
// Routers
//===----------------------------------------------------------------------===//

void routerScores(const float *logits, int64_t numExperts, Scoring scoring,
                  double *weightScore, double *selectScore) {
  std::vector<double> weights(numExperts), select(numExperts);
  scoreRow(logits, numExperts, scoring, weights, select);
  std::copy(weights.begin(), weights.end(), weightScore);
  std::copy(select.begin(), select.end(), selectScore);
}

std::vector<double> routerGroupScores(const double *biased, int64_t numExperts,
                                      const RouterParams &params) {
  int64_t nGroup = params.nGroup;
  assert(nGroup > 0 && numExperts % nGroup == 0 &&
         "verified: groups split the experts evenly");
  int64_t groupSize = numExperts / nGroup;
  std::vector<double> groupScores(nGroup);
  std::vector<int64_t> members(groupSize);
  for (int64_t group = 0; group < nGroup; ++group) {
    std::iota(members.begin(), members.end(), group * groupSize);
    std::sort(members.begin(), members.end(), [&](int64_t a, int64_t b) {
      return ranksBefore(biased[a], a, biased[b], b);
    });
    double score = groupSize > 0 ? biased[members[0]] : -kInf;
    // sum_top2 of a one-expert group is its single score: the "two best"
    // are all there is.
    if (params.groupScore == GroupScore::SumTop2 && groupSize > 1)
      score += biased[members[1]];
    groupScores[group] = score;
  }
  return groupScores;
}

void rankExperts(const float *logits, const float *bias, int64_t tokens,
                 int64_t numExperts, const RouterParams &params,
                 int32_t *chosen) {
  const int64_t k = params.k;
  // k > E cannot fill every slot; the extra slots are empty (-1).
  const int64_t numChosen = std::min(k, numExperts);
  const bool grouped = params.nGroup > 1 && params.topkGroup < params.nGroup;

  std::vector<double> weightScore(numExperts), biased(numExperts);
  std::vector<char> eligible(numExperts, 1);
  std::vector<int64_t> order(numExperts);
  for (int64_t t = 0; t < tokens; ++t) {
    scoreRow(logits + t * numExperts, numExperts, params.scoring, weightScore,
             biased);
    if (bias)
      for (int64_t e = 0; e < numExperts; ++e)
        biased[e] += bias[e];

    if (grouped)
      markEligibleGroups(biased, params, eligible);

    // Eligible experts first (ineligible ones only matter when k exceeds the
    // eligible count, which the verifier rejects), then by biased score.
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      if (eligible[a] != eligible[b])
        return eligible[a] > eligible[b];
      return ranksBefore(biased[a], a, biased[b], b);
    });
    for (int64_t slot = 0; slot < k; ++slot)
      chosen[t * k + slot] =
          slot < numChosen ? static_cast<int32_t>(order[slot]) : -1;
  }
}

void routeChosen(const float *logits, int64_t tokens, int64_t numExperts,
                 const RouterParams &params, const int32_t *chosen,
                 float *weights, int32_t *experts) {
  const int64_t k = params.k;
  std::vector<double> weightScore(numExperts), selectScore(numExperts);
  for (int64_t t = 0; t < tokens; ++t) {
    scoreRow(logits + t * numExperts, numExperts, params.scoring, weightScore,
             selectScore);
    // Weights come from the unbiased scores; an empty slot adds nothing.
    auto isExpert = [&](int32_t e) { return e >= 0 && e < numExperts; };
    double sum = 0.0;
    for (int64_t slot = 0; slot < k; ++slot)
      if (isExpert(chosen[t * k + slot]))
        sum += weightScore[chosen[t * k + slot]];
    for (int64_t slot = 0; slot < k; ++slot) {
      int32_t expert = chosen[t * k + slot];
      if (!isExpert(expert)) {
        weights[t * k + slot] = 0.0f;
        experts[t * k + slot] = -1;
        continue;
      }
      double weight = weightScore[expert];
      if (params.renormalize)
        weight /= sum + 1e-20;
      weight *= params.routedScalingFactor;
      weights[t * k + slot] = static_cast<float>(weight);
      experts[t * k + slot] = expert;
    }
  }

  if (params.capacityFactor)
    applyCapacity(tokens, numExperts, params, weights, experts);
}

void route(const float *logits, const float *bias, int64_t tokens,
           int64_t numExperts, const RouterParams &params, float *weights,
           int32_t *experts) {
  std::vector<int32_t> chosen(tokens * params.k);
  rankExperts(logits, bias, tokens, numExperts, params, chosen.data());
  routeChosen(logits, tokens, numExperts, params, chosen.data(), weights,
              experts);
}

int64_t dispatchSortedLength(int64_t numPairs, int64_t numExperts,
                             int64_t blockSize) {
  // Each expert's padding adds at most blockSize - 1 entries.
  int64_t worstCase = numPairs + numExperts * (blockSize - 1);
  return (worstCase + blockSize - 1) / blockSize * blockSize;
}

Dispatch dispatch(const int32_t *experts, int64_t tokens, int64_t k,
                  int64_t numExperts, int64_t blockSize) {
  assert(blockSize > 0 && "verified: block_size is positive");
  const int64_t numPairs = tokens * k;
  const int64_t length = dispatchSortedLength(numPairs, numExperts, blockSize);
  // Anything outside [0, E) is treated as dropped, like -1, so a bad index
  // cannot write out of bounds.
  auto isKept = [&](int32_t expert) {
    return expert >= 0 && expert < numExperts;
  };

  Dispatch result;
  result.expertCounts.assign(numExperts, 0);
  for (int64_t pair = 0; pair < numPairs; ++pair)
    if (isKept(experts[pair]))
      ++result.expertCounts[experts[pair]];

  result.expertOffsets.assign(numExperts + 1, 0);
  for (int64_t e = 0; e < numExperts; ++e) {
    int64_t padded =
        (result.expertCounts[e] + blockSize - 1) / blockSize * blockSize;
    result.expertOffsets[e + 1] =
        static_cast<int32_t>(result.expertOffsets[e] + padded);
  }

  // Visiting pairs in increasing id keeps each segment in token order.
  result.sortedPairs.assign(length, static_cast<int32_t>(numPairs));
  result.pairPositions.assign(numPairs, -1);
  std::vector<int64_t> next(result.expertOffsets.begin(),
                            result.expertOffsets.end() - 1);
  for (int64_t pair = 0; pair < numPairs; ++pair) {
    if (!isKept(experts[pair]))
      continue;
    int64_t position = next[experts[pair]]++;
    result.sortedPairs[position] = static_cast<int32_t>(pair);
    result.pairPositions[pair] = static_cast<int32_t>(position);
  }

  result.blockExperts.assign(length / blockSize, -1);
  for (int64_t e = 0; e < numExperts; ++e)
    for (int64_t block = result.expertOffsets[e] / blockSize;
         block < result.expertOffsets[e + 1] / blockSize; ++block)
      result.blockExperts[block] = static_cast<int32_t>(e);
  return result;
}

} // namespace gatec::ref
