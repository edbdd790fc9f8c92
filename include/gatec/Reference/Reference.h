//===- Reference.h - The numerical oracle for every gate op -----*- C++ -*-===//
//
// Part of gatec. Plain, obviously-correct implementations of each op of the
// gate dialect: double accumulation, a token-by-token recurrence for scans,
// full sorts for routers. Every backend test compares against these and only
// these. Inputs are f32 values; callers that test bf16/f16 kernels round their
// inputs with roundToBF16/roundToF16 first, so the oracle sees what the kernel
// sees. Speed is not a goal here.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_REFERENCE_REFERENCE_H
#define GATEC_REFERENCE_REFERENCE_H

#include <cstdint>
#include <optional>
#include <vector>

namespace gatec::ref {

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

/// Rounds to the nearest bfloat16 (ties to even); NaN stays NaN.
float roundToBF16(float value);
/// Rounds to the nearest IEEE half (ties to even), with overflow to +-inf.
float roundToF16(float value);

//===----------------------------------------------------------------------===//
// Gates: y = act(g) * x
//===----------------------------------------------------------------------===//

enum class Activation { Sigmoid, Identity, Relu, Gelu, GeluTanh, Silu };

/// The activation on one value, in double. NaN propagates; at z = +-inf the
/// limits are returned (e.g. silu(-inf) = 0, not -inf * 0 = NaN).
double activate(Activation act, double z);

struct GateParams {
  Activation act = Activation::Silu;
  /// Headwise: g holds one value per row, broadcast over the row's `d` values.
  bool headwise = false;
  /// Clamped SwiGLU: g clamped to (-inf, L], x to [-L, L] before the product.
  std::optional<double> clampLimit;
};

/// x, y: [rows, d]; g: [rows, d], or [rows] when headwise.
void gate(const float *x, const float *g, float *y, int64_t rows, int64_t d,
          const GateParams &params);

/// input: [rows, 2f] holding both halves; y: [rows, f].
/// gateFirst: the first half is g ([g | x]); else the second ([x | g]).
void fusedGate(const float *input, float *y, int64_t rows, int64_t f,
               bool gateFirst, const GateParams &params);

//===----------------------------------------------------------------------===//
// Chunked scans (evaluated here as the sequential recurrence)
//===----------------------------------------------------------------------===//

enum class DecayKind { Vector, Scalar, Fixed, None };

struct ScanShape {
  int64_t batch = 1, tokens = 0, heads = 1, keyDim = 1, valueDim = 1;
  /// HV, the value heads: a multiple of `heads`; 0 means `heads`.
  int64_t valueHeads = 0;

  int64_t getValueHeads() const { return valueHeads ? valueHeads : heads; }
};

struct ScanParams {
  DecayKind decay = DecayKind::None;
  /// The factor on q; gate.chunked_scan defaults it to keyDim^-0.5.
  double scale = 1.0;
  /// C for chunkStates: the chunk length whose boundaries it records.
  int64_t historyChunk = 1;
};

/// Per sequence and value head j (HV = G * H value heads; j reads q and k
/// head j / G), with S' = Diag(exp(decay_t)) S_{t-1}:
///   additive (beta null):  S_t = S' + k_t^T v_t
///   delta rule (beta):     S_t = S' + beta_t k_t^T (v_t - k_t S')
///   o_t = scale * q_t S_t.
/// q, k: [B, T, H, K]; v, o: [B, T, HV, V];
/// decay: [B, T, HV, K] (Vector), [B, T, HV] (Scalar), [HV] (Fixed), null
/// (None); beta: [B, T, HV] or null;
/// initialState / finalState: [N, HV, K, V] or null (zero start / not
/// wanted); cuSeqlens: null (N = B), or N + 1 offsets into T for packed
/// sequences (B = 1). With cuSeqlens, tokens past the last offset belong to
/// no sequence: their o is 0. An empty sequence passes its initial state
/// through to finalState. chunkStates (or null): [B, ceil(T / C), HV, K, V]
/// with C = params.historyChunk, the state after every chunk of C tokens of
/// a sequence (the last one may be shorter), at row (begin + t) / C for the
/// chunk at offset t of a sequence starting at token `begin` (a multiple of
/// C unless C = 1); rows of no sequence are 0. Evaluated token by token in
/// double.
void chunkedScan(const float *q, const float *k, const float *v,
                 const float *decay, const float *beta,
                 const float *initialState,
                 const std::vector<int64_t> *cuSeqlens, float *o,
                 float *finalState, float *chunkStates, const ScanShape &shape,
                 const ScanParams &params);

//===----------------------------------------------------------------------===//
// Short causal convolutions
//===----------------------------------------------------------------------===//

struct ConvShape {
  int64_t batch = 1, tokens = 0, channels = 1;
  /// W, the kernel width; the states hold W - 1 inputs per channel.
  int64_t width = 1;
};

/// Depthwise causal convolution over T (gate.causal_conv1d), per sequence
/// and channel c, in double:
///   y_t = act(bias[c] + sum_{w < W} weight[c, w] * z[t - (W - 1) + w])
/// where z is the sequence's inputs x_0, x_1, ... preceded by its initial
/// state (W - 1 inputs, oldest first; zeros when initialState is null).
/// x, y: [B, T, C]; weight: [C, W]; bias: [C] or null;
/// initialState / finalState: [N, C, W - 1] or null (zeros / not wanted);
/// cuSeqlens: null (N = B), or N + 1 offsets into T for packed sequences
/// (B = 1). finalState holds the last W - 1 entries of z: inputs of the
/// sequence, and of its initial state when it is shorter than W - 1. With
/// cuSeqlens, tokens past the last offset belong to no sequence: their y is
/// 0.
void causalConv1d(const float *x, const float *weight, const float *bias,
                  const float *initialState,
                  const std::vector<int64_t> *cuSeqlens, float *y,
                  float *finalState, const ConvShape &shape, Activation act);

//===----------------------------------------------------------------------===//
// Routers
//===----------------------------------------------------------------------===//

enum class Scoring { Softmax, Sigmoid };
enum class GroupScore { Max, SumTop2 };
enum class DropPolicy { TokenOrder, ScoreOrder };

struct RouterParams {
  Scoring scoring = Scoring::Softmax;
  int64_t k = 1;
  bool renormalize = false;
  double routedScalingFactor = 1.0;
  int64_t nGroup = 1;
  int64_t topkGroup = 1;
  GroupScore groupScore = GroupScore::SumTop2;
  std::optional<double> capacityFactor;
  DropPolicy dropPolicy = DropPolicy::TokenOrder;
};

/// logits: [T, E]; bias: [E] or null; weights: [T, k]; experts: [T, k].
/// Semantics (the contract of gate.router):
///  - s = softmax(row) or sigmoid(row); s' = s + bias, used only for choosing.
///  - grouped: group score = max, or sum of the two largest s' in the group;
///    the best topkGroup groups stay eligible, the rest cannot be chosen.
///  - slots hold the chosen experts by decreasing s'; ties go to the lower
///    expert (and group) index; NaN ranks below every number.
///  - weights = s at the chosen experts; divided by (their sum + 1e-20) when
///    renormalizing; then multiplied by routedScalingFactor.
///  - capacity = floor(T / E * capacityFactor) assignments per expert; the
///    assignments kept are the first ones in priority order: TokenOrder =
///    (slot, token) ascending, i.e. every token's first choice before any
///    second choice; ScoreOrder = weight descending, ties by lower
///    t * k + slot.
///    A dropped assignment gets expert -1 and weight 0.
/// Clarifications (the op docs leave these open):
///  - softmax rows with a NaN: weights are the true softmax, NaN everywhere;
///    selection ranks the softmax over the row's numbers (NaN entries last).
///  - ScoreOrder compares the f32 weights after renormalizing and scaling;
///    capacity is evaluated as floor(T * capacityFactor / E) in double; a
///    drop does not renormalize the weights that remain.
///  - k > E (rejected by the verifier) leaves slots E..k-1 empty: -1, 0.
void route(const float *logits, const float *bias, int64_t tokens,
           int64_t numExperts, const RouterParams &params, float *weights,
           int32_t *experts);

/// route() in two steps: rankExperts() makes the choices, routeChosen()
/// takes the weights and applies the capacity rule. A checker that accepts
/// another choice near a tie evaluates everything downstream of it with
/// routeChosen() on that choice.
/// chosen: [T, k], each token's experts by slot before the capacity rule
/// (-1 for an empty slot, past the E experts when k > E).
void rankExperts(const float *logits, const float *bias, int64_t tokens,
                 int64_t numExperts, const RouterParams &params,
                 int32_t *chosen);
/// Weights and experts as route() gives them for the choices `chosen`
/// ([T, k], any expert per slot; an id outside [0, E) is an empty slot).
void routeChosen(const float *logits, int64_t tokens, int64_t numExperts,
                 const RouterParams &params, const int32_t *chosen,
                 float *weights, int32_t *experts);

/// The ranking every router decision uses: larger first, NaN after every
/// number, ties (including NaN with NaN) to the lower index. A strict weak
/// order that is total over (value, index), so std::sort gives the one
/// order the contract defines, without a stable sort.
bool ranksBefore(double a, int64_t indexA, double b, int64_t indexB);

/// One row's scores as route() computes them, in double: `weightScore` is s
/// (what weights are taken from), `selectScore` what selection ranks before
/// the bias is added (they differ only in a softmax row holding a NaN).
/// Both: [numExperts].
void routerScores(const float *logits, int64_t numExperts, Scoring scoring,
                  double *weightScore, double *selectScore);

/// The score of each of params.nGroup groups from one row's biased
/// selection scores ([numExperts]): its best score, or the sum of its two
/// best (GroupScore). Non-decreasing in every score.
std::vector<double> routerGroupScores(const double *biased, int64_t numExperts,
                                      const RouterParams &params);

/// Dispatch metadata, as defined by gate.dispatch.
struct Dispatch {
  std::vector<int32_t> sortedPairs;   // [L], padded with the sentinel T*k
  std::vector<int32_t> blockExperts;  // [L / blockSize], -1 past the last block
  std::vector<int32_t> expertOffsets; // [E + 1]
  std::vector<int32_t> expertCounts;  // [E]
  std::vector<int32_t> pairPositions; // [T, k], -1 for a dropped pair
};

/// L for `numPairs` = T * k assignments: the worst-case padded length,
/// ceil((numPairs + E * (blockSize - 1)) / blockSize) * blockSize.
int64_t dispatchSortedLength(int64_t numPairs, int64_t numExperts,
                             int64_t blockSize);

/// experts: [T, k], values in [0, E) or -1 (dropped); any other value is
/// treated as dropped.
Dispatch dispatch(const int32_t *experts, int64_t tokens, int64_t k,
                  int64_t numExperts, int64_t blockSize);

} // namespace gatec::ref

#endif // GATEC_REFERENCE_REFERENCE_H
