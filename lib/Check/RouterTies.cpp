//===- RouterTies.cpp - Router choices at near ties -----------------------===//
//
// Part of gatec.
//
// The bound. A kernel's selection score for expert e can differ from the
// oracle's S_e = s_e + bias_e (double, on the logits the oracle rounded) in
// two ways, and a choice is accepted only as far as these reach:
//
// 1. Its logit may be another one. When a reduction (the projection x @ w,
//    accumulated in f32 in another order than the oracle's correctly rounded
//    double sum) or a math function (not correctly rounded in f32) lies on
//    the logits' way from the inputs, the kernel's value before the final
//    rounding to the logits' type is a few f32 units from the oracle's, so
//    the rounded logit is the oracle's or one of its two neighbours in that
//    type: one unit of bf16 or f16 (for f32 logits, one f32 unit). Inputs,
//    and exact arithmetic on them, give both the same logits. s is monotone
//    in the expert's own logit and falls when another one rises, so moving
//    the logits to their neighbours bounds s exactly, with no linearization:
//    for softmax without a bias only the order of a row's logits matters
//    (one denominator scales all), with a bias the others move the other way.
// 2. The kernel computes s in f32 (the op's contract, GateOps.td). exp and
//    the division cost a few units of relative error; exp(z - m) adds
//    |z - m| more, from rounding its argument (CUDA's ex2-based exp likewise
//    from the product with log2 e); a softmax sum over E experts adds E,
//    which only matters with a bias (it scales every score alike); results
//    below f32's smallest normal may be flushed to zero (or, by an exp that
//    clamps its argument, to one constant); the bias is added in f32. With
//    eps = 2^-24:
//      softmax: eta_e = ((8 + 2 |z_e - m|) + [E with a bias]) eps s_e + 2^-126
//      sigmoid: eta_e = 8 eps s_e + 2 |z_e| eps s_e (1 - s_e) + 2^-126
//      and, with a bias, + eps |s_e + bias_e|.
//    (A correctly rounded exp and division would need 2 where this says 8.)
//
// The kernel's score thus lies in [lo_e, hi_e] (the score at the logits'
// lower / upper neighbours, minus / plus eta_e), and it may rank a before b
// iff hi_a >= lo_b. Except: two experts with the same logit and bias, when
// the logits cannot differ, get the same f32 score, and the lower index
// must win, as the contract says; and two with the same bias whose s may
// both be flushed tie, when flushed, so that the lower index wins, or else
// keep their order (the bound without the 2^-126). A token's choice is
// accepted iff some scores within these intervals rank it so: its groups
// first (a group's score is non-decreasing in its experts' scores, so the
// group score of the bounds bounds it), then its experts in slot order, each
// before every eligible expert it left out.
//
// The weights move with the logits too: each is bounded by its value with
// the logits moved to their neighbours (boundWeights), which the comparison
// allows on top of the usual tolerance.
//
//===----------------------------------------------------------------------===//

#include "Check/RouterTies.h"

#include "gatec/Dialect/Gate/GateDialect.h"
#include "gatec/Dialect/Gate/GateOps.h"
#include "gatec/Dialect/Gate/KernelABI.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Support/DebugStringHelper.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <numeric>
#include <optional>

using namespace mlir;
using gatec::ref::RouterTrace;
using gatec::ref::TensorValue;
namespace ref = gatec::ref;

namespace {

/// f32's unit roundoff and smallest normal number.
constexpr double kEpsF32 = 0x1p-24;
constexpr double kMinNormalF32 = 0x1p-126;

/// Whether the compiled kernel may compute other logits than the oracle (see
/// the bound, 1.): a reduction or an inexact math function (exp, tanh...) on
/// their way from the inputs. Ops with regions other than linalg's, and gate
/// ops, count too. Elementwise arithmetic, one correctly rounded op per
/// generic as the frontend emits it, gives both the same values (but for a
/// double rounding through f32 that lands on a midpoint, once in 2^16).
bool logitsMayDiffer(Value logits) {
  auto inexact = [](Operation *op) {
    return isa_and_nonnull<math::MathDialect>(op->getDialect()) &&
           !isa<math::AbsFOp, math::CopySignOp, math::FloorOp, math::CeilOp,
                math::RoundOp, math::RoundEvenOp, math::TruncOp>(op);
  };
  SmallVector<Value> worklist = {logits};
  llvm::SmallPtrSet<Operation *, 16> seen;
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val().getDefiningOp();
    if (!op || !seen.insert(op).second)
      continue; // An argument: the kernel reads what the oracle reads.
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
      if (linalgOp.getNumReductionLoops() > 0)
        return true;
      WalkResult walk = op->walk([&](Operation *inner) {
        return inexact(inner) ? WalkResult::interrupt() : WalkResult::advance();
      });
      if (walk.wasInterrupted())
        return true;
    } else if (op->getNumRegions() > 0 ||
               isa_and_nonnull<gate::GateDialect>(op->getDialect())) {
      return true;
    }
    worklist.append(op->operand_begin(), op->operand_end());
  }
  return false;
}

/// The number of `type` next to `value` (below or above); `value` itself
/// for a NaN, an infinity, or where the neighbour would be one.
double neighbour(Type type, double value, bool up) {
  if (!std::isfinite(value))
    return value;
  const llvm::fltSemantics &semantics = type.isBF16()  ? APFloat::BFloat()
                                        : type.isF16() ? APFloat::IEEEhalf()
                                        : type.isF64() ? APFloat::IEEEdouble()
                                                       : APFloat::IEEEsingle();
  APFloat v(value);
  bool lost;
  v.convert(semantics, APFloat::rmNearestTiesToEven, &lost);
  v.next(/*nextDown=*/!up);
  double result = v.convertToDouble();
  return std::isfinite(result) ? result : value;
}

/// What the kernel's selection scores for one token may be.
struct RowBounds {
  /// The oracle's s, and its selection scores s + bias.
  std::vector<double> s, score;
  /// The kernel's, within both parts of the bound.
  std::vector<double> lo, hi;
  /// The kernel's on the oracle's logits (f32 evaluation only).
  std::vector<double> evalLo, evalHi;
  /// The kernel's without the allowance for scores flushed to zero, and
  /// whether s may be that small.
  std::vector<double> relLo, relHi;
  std::vector<char> mayFlush;
};

RowBounds boundRow(const RouterTrace &trace, int64_t t, bool mayDiffer) {
  const int64_t numExperts = trace.logits.shape[1];
  const Type type = trace.logits.elementType;
  const double *z = trace.logits.data.data() + t * numExperts;
  const bool softmax = trace.params.scoring == ref::Scoring::Softmax;
  const bool hasBias = !trace.bias.empty();
  std::vector<float> row(z, z + numExperts), rowDown(numExperts),
      rowUp(numExperts);
  // Differences to the neighbours (0 where the logits cannot differ).
  std::vector<double> dDown(numExperts, 0.0), dUp(numExperts, 0.0);
  for (int64_t e = 0; e < numExperts; ++e) {
    double down = mayDiffer ? neighbour(type, z[e], false) : z[e];
    double up = mayDiffer ? neighbour(type, z[e], true) : z[e];
    rowDown[e] = static_cast<float>(down);
    rowUp[e] = static_cast<float>(up);
    if (std::isfinite(z[e])) {
      dDown[e] = down - z[e];
      dUp[e] = up - z[e];
    }
  }

  RowBounds b;
  std::vector<double> unused(numExperts), sDown(numExperts), sUp(numExperts);
  b.s.resize(numExperts);
  ref::routerScores(row.data(), numExperts, trace.params.scoring, unused.data(),
                    b.s.data());
  double maxLogit = -INFINITY;
  for (int64_t e = 0; e < numExperts; ++e)
    if (!std::isnan(z[e]))
      maxLogit = std::max(maxLogit, z[e]);
  std::vector<double> eta(numExperts);
  if (softmax) {
    double sumDown = 0, sumUp = 0;
    for (int64_t e = 0; e < numExperts; ++e)
      if (!std::isnan(b.s[e])) {
        sumDown += b.s[e] * std::exp(dDown[e]);
        sumUp += b.s[e] * std::exp(dUp[e]);
      }
    for (int64_t e = 0; e < numExperts; ++e) {
      double down = b.s[e] * std::exp(dDown[e]);
      double up = b.s[e] * std::exp(dUp[e]);
      sUp[e] = hasBias ? up / (sumDown - down + up) : up;
      sDown[e] = hasBias ? down / (sumUp - up + down) : down;
      double argument = std::fabs(z[e] - maxLogit);
      if (!std::isfinite(argument))
        argument = 0; // s is 0 or NaN there.
      eta[e] =
          ((8 + 2 * argument) + (hasBias ? numExperts : 0)) * kEpsF32 * b.s[e];
    }
  } else {
    ref::routerScores(rowDown.data(), numExperts, trace.params.scoring,
                      unused.data(), sDown.data());
    ref::routerScores(rowUp.data(), numExperts, trace.params.scoring,
                      unused.data(), sUp.data());
    for (int64_t e = 0; e < numExperts; ++e) {
      double argument = std::isfinite(z[e]) ? std::fabs(z[e]) : 0.0;
      eta[e] =
          8 * kEpsF32 * b.s[e] + 2 * argument * kEpsF32 * b.s[e] * (1 - b.s[e]);
    }
  }
  for (int64_t e = 0; e < numExperts; ++e) {
    double bias = hasBias ? trace.bias[e] : 0.0;
    double score = b.s[e] + bias;
    if (hasBias)
      eta[e] += kEpsF32 * std::fabs(score);
    b.score.push_back(score);
    b.mayFlush.push_back(sUp[e] + eta[e] < kMinNormalF32);
    b.relLo.push_back(sDown[e] + bias - eta[e]);
    b.relHi.push_back(sUp[e] + bias + eta[e]);
    eta[e] += kMinNormalF32;
    b.lo.push_back(sDown[e] + bias - eta[e]);
    b.hi.push_back(sUp[e] + bias + eta[e]);
    b.evalLo.push_back(score - eta[e]);
    b.evalHi.push_back(score + eta[e]);
  }
  return b;
}

/// Whether a ranking may put x before y, by scores `score` bounded by
/// [lo, hi]; `same`: both certainly get the same score in the kernel.
bool canRankBefore(ArrayRef<double> score, ArrayRef<double> lo,
                   ArrayRef<double> hi, int64_t x, int64_t y, bool same) {
  // NaN ranks below every number, as in the contract.
  bool nanX = std::isnan(score[x]), nanY = std::isnan(score[y]);
  if (nanX || nanY)
    return nanX && nanY ? x < y : nanY;
  if (same)
    return x < y;
  return hi[x] >= lo[y];
}

/// Why `chosen` (one token's experts by slot, before the capacity rule) is
/// no ranking that scores within `b` give; "" when it is one.
std::string checkRanking(const RouterTrace &trace, int64_t t,
                         ArrayRef<int32_t> chosen, const RowBounds &b,
                         bool mayDiffer) {
  const ref::RouterParams &params = trace.params;
  const int64_t numExperts = trace.logits.shape[1], k = params.k;
  const int64_t numChosen = std::min(k, numExperts);
  const double *z = trace.logits.data.data() + t * numExperts;
  auto biasOf = [&](int64_t e) {
    return trace.bias.empty() ? 0.0f : trace.bias[e];
  };

  std::vector<char> taken(numExperts, 0);
  for (int64_t slot = 0; slot < k; ++slot) {
    int32_t e = chosen[slot];
    if (slot >= numChosen) {
      if (e != -1)
        return llvm::formatv("slot {0} holds {1}, but there are only {2} "
                             "experts",
                             slot, e, numExperts);
      continue;
    }
    if (e < 0 || e >= numExperts)
      return llvm::formatv("slot {0} holds {1}, not an expert", slot, e);
    if (taken[e])
      return llvm::formatv("expert {0} is chosen twice", e);
    taken[e] = 1;
  }

  std::vector<char> eligible(numExperts, 1);
  if (params.nGroup > 1 && params.topkGroup < params.nGroup) {
    const int64_t nGroup = params.nGroup, groupSize = numExperts / nGroup;
    std::vector<double> groupScore =
        ref::routerGroupScores(b.score.data(), numExperts, params);
    std::vector<double> groupLo =
        ref::routerGroupScores(b.lo.data(), numExperts, params);
    std::vector<double> groupHi =
        ref::routerGroupScores(b.hi.data(), numExperts, params);
    // The kernel's groups: those of its experts, then the oracle's best.
    std::vector<char> kept(nGroup, 0);
    int64_t count = 0;
    for (int64_t slot = 0; slot < numChosen; ++slot)
      if (!kept[chosen[slot] / groupSize]) {
        kept[chosen[slot] / groupSize] = 1;
        ++count;
      }
    if (count > params.topkGroup)
      return llvm::formatv("its experts come from {0} groups, more than the "
                           "{1} kept",
                           count, params.topkGroup);
    std::vector<int64_t> order(nGroup);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t g, int64_t h) {
      return ref::ranksBefore(groupScore[g], g, groupScore[h], h);
    });
    for (int64_t g : order)
      if (count < params.topkGroup && !kept[g]) {
        kept[g] = 1;
        ++count;
      }
    for (int64_t g = 0; g < nGroup; ++g)
      for (int64_t h = 0; h < nGroup; ++h) {
        if (!kept[g] || kept[h])
          continue;
        bool same =
            !mayDiffer && groupLo[g] == groupLo[h] && groupHi[g] == groupHi[h];
        if (!canRankBefore(groupScore, groupLo, groupHi, g, h, same))
          return llvm::formatv("it keeps group {0} (score {1:e3}) before "
                               "group {2} ({3:e3})",
                               g, groupScore[g], h, groupScore[h]);
      }
    for (int64_t e = 0; e < numExperts; ++e)
      eligible[e] = kept[e / groupSize] != 0;
  }

  auto before = [&](int64_t x, int64_t y) -> std::string {
    bool sameBias = biasOf(x) == biasOf(y);
    bool same = !mayDiffer && z[x] == z[y] && sameBias;
    // Scores flushed to zero (or to one clamp's constant) tie in the kernel,
    // and then the lower index wins; unflushed, they keep their order.
    bool flushed = b.mayFlush[x] && b.mayFlush[y] && sameBias &&
                   !std::isnan(b.score[x]) && !std::isnan(b.score[y]);
    if (flushed ? x < y || b.relHi[x] >= b.relLo[y]
                : canRankBefore(b.score, b.lo, b.hi, x, y, same))
      return "";
    return llvm::formatv("expert {0} (selection score {1:e3}) ranks before "
                         "expert {2} ({3:e3})",
                         x, b.score[x], y, b.score[y]);
  };
  for (int64_t i = 0; i < numChosen; ++i) {
    for (int64_t j = i + 1; j < numChosen; ++j)
      if (std::string why = before(chosen[i], chosen[j]); !why.empty())
        return why;
    for (int64_t e = 0; e < numExperts; ++e)
      if (eligible[e] && !taken[e])
        if (std::string why = before(chosen[i], e); !why.empty())
          return why;
  }
  return "";
}

/// Which part of the bound lets the kernel put `kernel` where the oracle has
/// `oracle`.
std::string tieReason(const RowBounds &b, int64_t kernel, int64_t oracle,
                      Type logitType) {
  if (b.mayFlush[kernel] && b.mayFlush[oracle])
    return "both below f32's smallest normal";
  if (b.evalHi[kernel] < b.evalLo[oracle])
    return "within one " + debugString(logitType) + " unit of their logits";
  return "within f32's evaluation error";
}

/// For each weight of `trace` ([T, k]), the interval it may take when every
/// logit of its row moves to a neighbour in the logits' type. A weight does
/// not fall when its expert's logit rises, nor rise when another's does
/// (softmax or sigmoid, renormalized or not), so its extremes are the weight
/// with its logit up and the others down, and the reverse: routeChosen
/// gives both on the router's own choices. A dropped assignment's weight is
/// exactly 0.
std::vector<std::pair<double, double>> boundWeights(const RouterTrace &trace) {
  const int64_t tokens = trace.logits.shape[0];
  const int64_t numExperts = trace.logits.shape[1], k = trace.params.k;
  const Type type = trace.logits.elementType;
  ref::RouterParams params = trace.params;
  params.capacityFactor.reset(); // Drops are taken from the trace.
  std::vector<std::pair<double, double>> bounds(tokens * k, {0.0, 0.0});
  std::vector<float> down(numExperts), up(numExperts), row(numExperts),
      weights(k);
  std::vector<int32_t> experts(k);
  for (int64_t t = 0; t < tokens; ++t) {
    const double *z = trace.logits.data.data() + t * numExperts;
    for (int64_t e = 0; e < numExperts; ++e) {
      down[e] = static_cast<float>(neighbour(type, z[e], false));
      up[e] = static_cast<float>(neighbour(type, z[e], true));
    }
    const int32_t *chosen = trace.ranked.data() + t * k;
    for (int64_t slot = 0; slot < k; ++slot) {
      int32_t expert = trace.experts[t * k + slot];
      if (expert < 0 || expert >= numExperts)
        continue;
      double extremes[2];
      for (int side = 0; side < 2; ++side) {
        for (int64_t e = 0; e < numExperts; ++e)
          row[e] = (e == expert) == (side == 0) ? up[e] : down[e];
        ref::routeChosen(row.data(), 1, numExperts, params, chosen,
                         weights.data(), experts.data());
        extremes[side] = weights[slot];
      }
      bounds[t * k + slot] = {std::min(extremes[0], extremes[1]),
                              std::max(extremes[0], extremes[1])};
    }
  }
  return bounds;
}

/// The order in which a kernel that computes the scores of token `t` in f32
/// ranks its experts, as far as the oracle can tell: the scores rounded to
/// f32 (flushed to zero below its smallest normal), the bias added in f32,
/// equal scores to the lower index (and groups likewise); the experts of the
/// kept groups first.
std::vector<int64_t> f32Order(const RouterTrace &trace, int64_t t) {
  const ref::RouterParams &params = trace.params;
  const int64_t numExperts = trace.logits.shape[1];
  std::vector<float> row(trace.logits.data.begin() + t * numExperts,
                         trace.logits.data.begin() + (t + 1) * numExperts);
  std::vector<double> unused(numExperts), scores(numExperts);
  ref::routerScores(row.data(), numExperts, params.scoring, unused.data(),
                    scores.data());
  for (int64_t e = 0; e < numExperts; ++e) {
    float s = static_cast<float>(scores[e]);
    if (std::fabs(s) < kMinNormalF32)
      s = 0.0f;
    scores[e] = trace.bias.empty() ? s : s + trace.bias[e];
  }
  std::vector<char> eligible(numExperts, 1);
  if (params.nGroup > 1 && params.topkGroup < params.nGroup) {
    std::vector<double> groupScores =
        ref::routerGroupScores(scores.data(), numExperts, params);
    std::vector<int64_t> groups(params.nGroup);
    std::iota(groups.begin(), groups.end(), 0);
    std::sort(groups.begin(), groups.end(), [&](int64_t a, int64_t b) {
      return ref::ranksBefore(groupScores[a], a, groupScores[b], b);
    });
    int64_t groupSize = numExperts / params.nGroup;
    std::fill(eligible.begin(), eligible.end(), 0);
    for (int64_t i = 0; i < params.topkGroup; ++i)
      for (int64_t e = 0; e < groupSize; ++e)
        eligible[groups[i] * groupSize + e] = 1;
  }
  std::vector<int64_t> order(numExperts);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    if (eligible[a] != eligible[b])
      return eligible[a] > eligible[b];
    return ref::ranksBefore(scores[a], a, scores[b], b);
  });
  return order;
}

/// The choices before the capacity rule that the kernel's experts `kernel`
/// (after it) come from: the oracle's where the kernel's row is the
/// oracle's, else the kernel's. A dropped assignment (-1 under a capacity)
/// hides its choice. For a row with hidden choices, the first of these rows
/// that agrees with the kernel's kept choices is taken: the f32 ranking
/// (f32Order), the oracle's. Then the capacity rule, visiting the
/// assignments in its order (for score_order by weight, with the oracle's
/// weight where the choice is hidden), must find each hidden choice's
/// expert full; where it does not, the first expert in f32 order that it
/// finds full is taken instead (swapped with a hidden choice of the row
/// still to come), or else the choice stays, and the comparison shows the
/// difference. The ranking check then judges the row.
std::vector<int32_t> choicesBeforeCapacity(const RouterTrace &trace,
                                           ArrayRef<int32_t> kernel) {
  const ref::RouterParams &params = trace.params;
  const int64_t tokens = trace.logits.shape[0];
  const int64_t numExperts = trace.logits.shape[1], k = params.k;
  const int64_t numChosen = std::min(k, numExperts);
  std::vector<int32_t> chosen = trace.ranked;
  std::vector<char> hidden(tokens * k, 0);
  for (int64_t t = 0; t < tokens; ++t) {
    ArrayRef<int32_t> kernelRow(kernel.data() + t * k, k);
    bool same = kernelRow == ArrayRef(trace.experts.data() + t * k, k);
    bool anyHidden = false;
    for (int64_t slot = 0; slot < k; ++slot) {
      // Even where both dropped, the kernel may have dropped another choice
      // (where its loads differ from the oracle's).
      hidden[t * k + slot] =
          params.capacityFactor && kernelRow[slot] == -1 && slot < numChosen;
      anyHidden |= hidden[t * k + slot];
    }
    if (!anyHidden) {
      if (!same)
        std::copy(kernelRow.begin(), kernelRow.end(), chosen.begin() + t * k);
      continue;
    }
    std::vector<int64_t> order = f32Order(trace, t);
    SmallVector<int32_t> f32Row;
    for (int64_t slot = 0; slot < k; ++slot)
      f32Row.push_back(slot < numChosen ? order[slot] : -1);
    ArrayRef<int32_t> rankedRow(trace.ranked.data() + t * k, k);
    auto agrees = [&](ArrayRef<int32_t> row) {
      for (int64_t slot = 0; slot < k; ++slot)
        if (!hidden[t * k + slot] && row[slot] != kernelRow[slot])
          return false;
      return true;
    };
    ArrayRef<int32_t> pick = agrees(f32Row)      ? ArrayRef(f32Row)
                             : agrees(rankedRow) ? rankedRow
                                                 : kernelRow;
    std::copy(pick.begin(), pick.end(), chosen.begin() + t * k);
  }
  if (!llvm::is_contained(hidden, 1))
    return chosen;

  std::vector<int64_t> order;
  if (params.dropPolicy == ref::DropPolicy::TokenOrder) {
    for (int64_t slot = 0; slot < k; ++slot)
      for (int64_t t = 0; t < tokens; ++t)
        order.push_back(t * k + slot);
  } else {
    ref::RouterParams uncapped = params;
    uncapped.capacityFactor.reset();
    std::vector<int32_t> known = chosen, unused(tokens * k);
    for (int64_t pair = 0; pair < tokens * k; ++pair)
      if (hidden[pair])
        known[pair] = trace.ranked[pair];
    std::vector<float> logits(trace.logits.data.begin(),
                              trace.logits.data.end());
    std::vector<float> weights(tokens * k);
    ref::routeChosen(logits.data(), tokens, numExperts, uncapped, known.data(),
                     weights.data(), unused.data());
    order.resize(tokens * k);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return ref::ranksBefore(weights[a], a, weights[b], b);
    });
  }
  double capacity =
      std::floor(static_cast<double>(tokens) * *params.capacityFactor /
                 static_cast<double>(numExperts));
  std::vector<int64_t> load(numExperts, 0);
  std::vector<char> visited(tokens * k, 0);
  for (int64_t pair : order) {
    visited[pair] = 1;
    int32_t expert = chosen[pair];
    if (!hidden[pair]) {
      if (kernel[pair] >= 0 && kernel[pair] < numExperts)
        ++load[kernel[pair]];
      continue;
    }
    if (expert >= 0 && expert < numExperts && load[expert] >= capacity)
      continue;
    // A full expert not in the row, or in a hidden slot still to come (the
    // two swap).
    const int64_t first = pair / k * k;
    for (int64_t e : f32Order(trace, pair / k)) {
      if (load[e] < capacity)
        continue;
      int64_t other =
          std::find(chosen.begin() + first, chosen.begin() + first + k, e) -
          chosen.begin();
      if (other == first + k) {
        chosen[pair] = static_cast<int32_t>(e);
        break;
      }
      if (hidden[other] && !visited[other]) {
        std::swap(chosen[pair], chosen[other]);
        break;
      }
    }
  }
  return chosen;
}

std::string resultName(func::FuncOp func, unsigned index) {
  if (auto name =
          func.getResultAttrOfType<StringAttr>(index, gate::kNameAttrName))
    return name.str();
  return "result" + std::to_string(index);
}

} // namespace

gatec::detail::RouterComparison gatec::detail::compareRouters(
    func::FuncOp func, ArrayRef<TensorValue> inputs,
    ArrayRef<TensorValue> oracle, ArrayRef<RouterTrace> traces,
    llvm::function_ref<std::vector<double>(unsigned)> kernelOutput) {
  RouterComparison result;
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  auto resultIndex = [&](Value v) -> std::optional<unsigned> {
    for (auto [i, operand] : llvm::enumerate(ret.getOperands()))
      if (operand == v)
        return i;
    return std::nullopt;
  };

  ref::RouterHooks hooks;
  std::vector<std::string> notes;
  for (const RouterTrace &trace : traces) {
    auto router = cast<gate::RouterOp>(trace.router);
    const int64_t tokens = trace.logits.shape[0], k = trace.params.k;

    // The kernel's choices: its experts result, or where its dispatch put
    // each pair (the segment of expert_offsets holding its position).
    std::vector<int32_t> kernel;
    std::string label;
    if (std::optional<unsigned> i = resultIndex(router.getExperts())) {
      label = resultName(func, *i);
      for (double e : kernelOutput(*i))
        kernel.push_back(static_cast<int32_t>(e));
    } else {
      for (Operation *user : router.getExperts().getUsers()) {
        auto dispatch = dyn_cast<gate::DispatchOp>(user);
        if (!dispatch)
          continue;
        std::optional<unsigned> positions =
            resultIndex(dispatch.getPairPositions());
        std::optional<unsigned> offsets =
            resultIndex(dispatch.getExpertOffsets());
        if (!positions || !offsets)
          continue;
        std::vector<double> position = kernelOutput(*positions);
        std::vector<double> offset = kernelOutput(*offsets);
        for (double p : position) {
          int32_t expert = p < 0 ? -1 : -2; // -2: in no expert's segment
          for (size_t e = 0; p >= 0 && e + 1 < offset.size(); ++e)
            if (offset[e] <= p && p < offset[e + 1])
              expert = static_cast<int32_t>(e);
          kernel.push_back(expert);
        }
        label = "experts (as " + resultName(func, *positions) + " places them)";
        break;
      }
    }
    // A router whose choices the kernel does not return is checked through
    // what it does return.
    if (kernel.size() != static_cast<size_t>(tokens * k) ||
        kernel == trace.experts)
      continue;

    // Each token's choices before the capacity rule; those that differ from
    // the oracle's must be a ranking within the bound.
    const bool mayDiffer = logitsMayDiffer(router.getLogits());
    std::vector<int32_t> chosen = choicesBeforeCapacity(trace, kernel);
    std::vector<std::string> ties;
    for (int64_t t = 0; t < tokens; ++t) {
      ArrayRef<int32_t> row(chosen.data() + t * k, k);
      ArrayRef<int32_t> rankedRow(trace.ranked.data() + t * k, k);
      if (row == rankedRow)
        continue;
      RowBounds bounds = boundRow(trace, t, mayDiffer);
      std::string why = checkRanking(trace, t, row, bounds, mayDiffer);
      if (!why.empty()) {
        result.failure =
            llvm::formatv(
                "{0}: token {1}: {2}, which neither the rounding of the {3} "
                "logits nor the f32 evaluation of the scores explains",
                label.empty() ? "experts" : label, t, why,
                debugString(trace.logits.elementType))
                .str();
        return result;
      }
      for (int64_t slot = 0; slot < k; ++slot) {
        if (row[slot] == rankedRow[slot])
          continue;
        int32_t a = row[slot], o = rankedRow[slot];
        ties.push_back(llvm::formatv(
            "token {0} slot {1}: expert {2}{3} for {4}, selection scores "
            "{5:e2} and {6:e2}, {7}",
            t, slot, a, kernel[t * k + slot] == -1 ? " (then dropped)" : "", o,
            bounds.score[a], bounds.score[o],
            tieReason(bounds, a, o, trace.logits.elementType)));
        break;
      }
    }
    if (ties.empty())
      continue;
    std::string note = llvm::formatv("{0}: {1} tie{2} accepted (", label,
                                     ties.size(), ties.size() == 1 ? "" : "s");
    for (size_t i = 0; i < std::min<size_t>(ties.size(), 3); ++i)
      note += (i ? "; " : "") + ties[i];
    if (ties.size() > 3)
      note += llvm::formatv("; {0} more", ties.size() - 3).str();
    notes.push_back(note + "); checked downstream on the kernel's choices");
    hooks.forced[trace.router] = std::move(chosen);
  }
  // The oracle on the kernel's choices, where they differ.
  std::vector<TensorValue> expected(oracle.begin(), oracle.end());
  std::vector<RouterTrace> forcedTraces;
  if (!hooks.forced.empty()) {
    hooks.trace = &forcedTraces;
    std::string error;
    FailureOr<std::vector<TensorValue>> forced =
        ref::interpret(func, inputs, error, &hooks);
    if (failed(forced)) {
      result.failure =
          "reference interpreter on the kernel's router choices: " + error;
      return result;
    }
    expected = std::move(*forced);
    traces = forcedTraces;
  }

  // Weights the kernel returns, of logits that may differ.
  for (const RouterTrace &trace : traces) {
    auto router = cast<gate::RouterOp>(trace.router);
    std::optional<unsigned> i = resultIndex(router.getWeights());
    if (i && logitsMayDiffer(router.getLogits()))
      result.bounds[*i] = boundWeights(trace);
  }
  result.applies = !hooks.forced.empty() || !result.bounds.empty();
  result.expected = std::move(expected);
  result.notes = std::move(notes);
  return result;
}
