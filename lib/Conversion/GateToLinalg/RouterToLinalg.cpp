//===- RouterToLinalg.cpp - Lower gate.router and gate.dispatch -----------===//
//
// Part of gatec. Routers become an scf.forall over tokens whose body works on
// one row of logits with linalg ops over the experts; the capacity rule and
// gate.dispatch are counting problems across tokens: a stable counting sort
// of the (token, slot) pairs by expert in three parallel passes over chunks
// of pairs (see "Counting across tokens").
//
// Selection runs on 64-bit keys: the high half is the score mapped to an
// unsigned integer in ranking order (NaN below every number), the low half
// the bitwise complement of the index. Keys are unique and one unsigned max
// picks the best score with ties to the lower index, so each of the k passes
// of top-k is a single masked max-reduction ("the largest key below the last
// one found") that the vectorizer turns into a vector reduction.
//
//===----------------------------------------------------------------------===//

#include "gatec/Conversion/GateToLinalg/GateToLinalg.h"

#include "gatec/Dialect/Gate/GateMath.h"
#include "gatec/Dialect/Gate/GateOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>
#include <tuple>
#include <utility>

using namespace mlir;
using namespace mlir::gate;

namespace {

//===----------------------------------------------------------------------===//
// Small builders
//===----------------------------------------------------------------------===//

/// An integer constant of `type` (i1, i32, i64).
Value constInt(OpBuilder &b, Location loc, Type type, int64_t value) {
  return arith::ConstantIntOp::create(b, loc, type, value);
}

/// An index constant.
Value constIndex(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// An f32 constant.
Value constF32(OpBuilder &b, Location loc, float value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

/// An i32 (expert id, offset, position) as an index.
Value toIndex(OpBuilder &b, Location loc, Value value) {
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), value);
}

/// An index as i32, the element type of every id the ops return.
Value toI32(OpBuilder &b, Location loc, Value index) {
  return arith::IndexCastOp::create(b, loc, b.getI32Type(), index);
}

/// The size of dimension `dim` of `tensor` as an index (a constant when
/// static, so the arithmetic built on it folds).
Value dimSize(OpBuilder &b, Location loc, Value tensor, int64_t dim) {
  return b.createOrFold<tensor::DimOp>(loc, tensor, dim);
}

/// An empty tensor of `type`; `sizes` holds one size per dimension, of which
/// only the dynamic dimensions' are used.
Value buildEmpty(OpBuilder &b, Location loc, RankedTensorType type,
                 ArrayRef<Value> sizes) {
  SmallVector<Value> dynSizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dynSizes.push_back(sizes[i]);
  return tensor::EmptyOp::create(b, loc, type, dynSizes);
}

/// buildEmpty filled with `value`.
Value buildFilled(OpBuilder &b, Location loc, RankedTensorType type,
                  ArrayRef<Value> sizes, Value value) {
  Value empty = buildEmpty(b, loc, type, sizes);
  return linalg::FillOp::create(b, loc, ValueRange{value}, ValueRange{empty})
      .getResult(0);
}

/// `rank` parallel iterators.
SmallVector<utils::IteratorType> parallelIterators(int64_t rank) {
  return SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel);
}

//===----------------------------------------------------------------------===//
// Selection keys
//===----------------------------------------------------------------------===//

/// Maps an f32 to an i32 whose unsigned order is the ranking every router
/// decision uses: larger numbers higher, every NaN (code 1) below -inf, and
/// -0 equal to +0 so that a tie between them goes to the lower index as a
/// float comparison would have it. Numbers map to codes >= 0x007FFFFF (-inf),
/// so a key built on any code is nonzero and 0 can mean "no candidate".
Value buildRankBits(OpBuilder &b, Location loc, Value x) {
  Type i32 = b.getI32Type();
  // x + (+0) turns -0 into +0 and leaves every other value as it is; it is
  // not folded away (only x + (-0) is an identity).
  Value canonical = arith::AddFOp::create(b, loc, x, constF32(b, loc, 0.0f));
  Value bits = arith::BitcastOp::create(b, loc, i32, canonical);
  // Negative floats grow as their bits shrink: flip them all. Non-negative
  // ones keep their order and move above the negatives via the sign bit.
  Value isNegative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                           bits, constInt(b, loc, i32, 0));
  Value flipped =
      arith::XOrIOp::create(b, loc, bits, constInt(b, loc, i32, -1));
  Value raised = arith::OrIOp::create(
      b, loc, bits, constInt(b, loc, i32, std::numeric_limits<int32_t>::min()));
  Value code = arith::SelectOp::create(b, loc, isNegative, flipped, raised);
  Value isNaN = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, x, x);
  return arith::SelectOp::create(b, loc, isNaN, constInt(b, loc, i32, 1), code);
}

/// Inverse of buildRankBits; the NaN code decodes to a NaN.
Value buildFromRankBits(OpBuilder &b, Location loc, Value code) {
  Type i32 = b.getI32Type();
  Value wasNonNegative = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::slt, code, constInt(b, loc, i32, 0));
  Value lowered = arith::XOrIOp::create(
      b, loc, code, constInt(b, loc, i32, std::numeric_limits<int32_t>::min()));
  Value flipped =
      arith::XOrIOp::create(b, loc, code, constInt(b, loc, i32, -1));
  Value bits =
      arith::SelectOp::create(b, loc, wasNonNegative, lowered, flipped);
  return arith::BitcastOp::create(b, loc, b.getF32Type(), bits);
}

/// The selection key of `score` (f32) at `index` (i32, >= 0): rank bits in the
/// high half, ~index in the low half, so an unsigned max prefers the larger
/// score and, among equal ones, the lower index.
Value buildKey(OpBuilder &b, Location loc, Value score, Value index) {
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Value high = arith::ShLIOp::create(
      b, loc, arith::ExtUIOp::create(b, loc, i64, buildRankBits(b, loc, score)),
      constInt(b, loc, i64, 32));
  Value low = arith::ExtUIOp::create(
      b, loc, i64,
      arith::XOrIOp::create(b, loc, index, constInt(b, loc, i32, -1)));
  return arith::OrIOp::create(b, loc, high, low);
}

/// The index (i32) a key was built with.
Value keyIndex(OpBuilder &b, Location loc, Value key) {
  Type i32 = b.getI32Type();
  Value low = arith::TruncIOp::create(b, loc, i32, key);
  return arith::XOrIOp::create(b, loc, low, constInt(b, loc, i32, -1));
}

/// The score (f32) a key was built with (-0 reads back as +0).
Value keyScore(OpBuilder &b, Location loc, Value key) {
  Type i64 = b.getI64Type();
  Value high = arith::ShRUIOp::create(b, loc, key, constInt(b, loc, i64, 32));
  return buildFromRankBits(
      b, loc, arith::TruncIOp::create(b, loc, b.getI32Type(), high));
}

/// The largest of the 1-D i64 `keys` that is below `bound` (unsigned), or 0 if
/// none is: one masked max-reduction. Keys are unique, so feeding each result
/// back as the next bound visits them in decreasing order without keeping a
/// "chosen" mask.
Value buildMaxKeyBelow(OpBuilder &b, Location loc, Value keys, Value bound) {
  MLIRContext *ctx = b.getContext();
  Type i64 = b.getI64Type();
  auto accType = RankedTensorType::get({}, i64);
  Value init = buildFilled(b, loc, accType, {}, constInt(b, loc, i64, 0));
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
  AffineMap toScalar = AffineMap::get(1, 0, {}, ctx);
  auto reduce = linalg::GenericOp::create(
      b, loc, TypeRange{accType}, ValueRange{keys}, ValueRange{init},
      ArrayRef<AffineMap>{identity, toScalar},
      ArrayRef<utils::IteratorType>{utils::IteratorType::reduction},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value below = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                            args[0], bound);
        Value candidate = arith::SelectOp::create(nb, nl, below, args[0],
                                                  constInt(nb, nl, i64, 0));
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::MaxUIOp::create(nb, nl, args[1], candidate)});
      });
  return tensor::ExtractOp::create(b, loc, reduce.getResult(0), ValueRange{});
}

/// The `count`-th largest of the 1-D i64 `keys` (count >= 1).
Value buildKthLargestKey(OpBuilder &b, Location loc, Value keys,
                         int64_t count) {
  Value allOnes = constInt(b, loc, b.getI64Type(), -1);
  auto loop = scf::ForOp::create(
      b, loc, constIndex(b, loc, 0), constIndex(b, loc, count),
      constIndex(b, loc, 1), ValueRange{allOnes},
      [&](OpBuilder &nb, Location nl, Value, ValueRange iterArgs) {
        scf::YieldOp::create(nb, nl,
                             buildMaxKeyBelow(nb, nl, keys, iterArgs[0]));
      });
  return loop.getResult(0);
}

//===----------------------------------------------------------------------===//
// One token's row
//===----------------------------------------------------------------------===//

/// One row's scores over the E experts.
struct RowScores {
  /// s (f32), what the weights are taken from.
  Value scores;
  /// Selection keys (i64) of s + bias.
  Value keys;
};

/// Emits the elementwise generic that turns `inputs` (each [E]) into
/// (scores, keys). `scoreFn` builds s from the body's input arguments and
/// returns (weight score, selection score): they differ only for softmax rows
/// holding a NaN. `bias` is appended to the inputs when present.
RowScores buildScoresAndKeys(
    OpBuilder &b, Location loc, int64_t numExperts, ValueRange inputs,
    Value bias,
    function_ref<std::pair<Value, Value>(OpBuilder &, Location, ValueRange)>
        scoreFn) {
  MLIRContext *ctx = b.getContext();
  SmallVector<Value> ins(inputs);
  if (bias)
    ins.push_back(bias);
  auto f32Type = RankedTensorType::get({numExperts}, b.getF32Type());
  auto keyType = RankedTensorType::get({numExperts}, b.getI64Type());
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
  SmallVector<AffineMap> maps(ins.size() + 2, identity);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{f32Type, keyType}, ins,
      ValueRange{tensor::EmptyOp::create(b, loc, f32Type, ValueRange{}),
                 tensor::EmptyOp::create(b, loc, keyType, ValueRange{})},
      maps, parallelIterators(1),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        auto [weightScore, selectScore] =
            scoreFn(nb, nl, args.take_front(inputs.size()));
        // The bias steers the choice only; weights come from s.
        if (bias)
          selectScore = arith::AddFOp::create(
              nb, nl, selectScore,
              gate::convertFloat(nb, nl, args[inputs.size()], nb.getF32Type()));
        Value index = toI32(nb, nl, linalg::IndexOp::create(nb, nl, 0));
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{weightScore, buildKey(nb, nl, selectScore, index)});
      });
  return {generic.getResult(0), generic.getResult(1)};
}

/// Softmax over one row `row` ([E], any float type), in f32, max-subtracted.
/// A NaN logit is left out of the max and the sum, so the other experts rank
/// as their probabilities do and the NaN expert (score NaN) ranks last; the
/// weight scores of such a row are all NaN, the true softmax.
RowScores buildSoftmaxRow(OpBuilder &b, Location loc, Value row,
                          int64_t numExperts, Value bias) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  auto vecType = RankedTensorType::get({numExperts}, f32);
  auto accType = RankedTensorType::get({}, f32);
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
  AffineMap toScalar = AffineMap::get(1, 0, {}, ctx);
  float inf = std::numeric_limits<float>::infinity();

  // maxnumf skips NaN (the max of the numbers); maximumf propagates it (does
  // the row hold a NaN at all).
  // One fill per accumulator: sharing one would make bufferization copy it.
  Value negInf = constF32(b, loc, -inf);
  Value maxNumInit = buildFilled(b, loc, accType, {}, negInf);
  Value maxAllInit = buildFilled(b, loc, accType, {}, negInf);
  auto maxes = linalg::GenericOp::create(
      b, loc, TypeRange{accType, accType}, ValueRange{row},
      ValueRange{maxNumInit, maxAllInit}, {identity, toScalar, toScalar},
      {utils::IteratorType::reduction},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value x = gate::convertFloat(nb, nl, args[0], f32);
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::MaxNumFOp::create(nb, nl, args[1], x),
                       arith::MaximumFOp::create(nb, nl, args[2], x)});
      });
  Value maxNumber =
      tensor::ExtractOp::create(b, loc, maxes.getResult(0), ValueRange{});
  Value maxAll =
      tensor::ExtractOp::create(b, loc, maxes.getResult(1), ValueRange{});
  Value rowHasNaN =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, maxAll, maxAll);

  auto exps = linalg::GenericOp::create(
      b, loc, TypeRange{vecType}, ValueRange{row},
      ValueRange{tensor::EmptyOp::create(b, loc, vecType, ValueRange{})},
      {identity, identity}, parallelIterators(1),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value x = gate::convertFloat(nb, nl, args[0], f32);
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{math::ExpOp::create(
                nb, nl, arith::SubFOp::create(nb, nl, x, maxNumber))});
      });
  Value exp = exps.getResult(0);

  // Only NaN logits are skipped: a NaN from inf - inf still poisons the sum,
  // as it does in the reference.
  Value sumInit = buildFilled(b, loc, accType, {}, constF32(b, loc, 0.0f));
  auto sums = linalg::GenericOp::create(
      b, loc, TypeRange{accType}, ValueRange{row, exp}, ValueRange{sumInit},
      {identity, identity, toScalar}, {utils::IteratorType::reduction},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value isNaN = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UNO,
                                            args[0], args[0]);
        Value term = arith::SelectOp::create(nb, nl, isNaN,
                                             constF32(nb, nl, 0.0f), args[1]);
        linalg::YieldOp::create(
            nb, nl, ValueRange{arith::AddFOp::create(nb, nl, args[2], term)});
      });
  Value sum =
      tensor::ExtractOp::create(b, loc, sums.getResult(0), ValueRange{});

  return buildScoresAndKeys(
      b, loc, numExperts, ValueRange{exp}, bias,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value p = arith::DivFOp::create(nb, nl, args[0], sum);
        Value nan = constF32(nb, nl, std::numeric_limits<float>::quiet_NaN());
        Value weight = arith::SelectOp::create(nb, nl, rowHasNaN, nan, p);
        return std::make_pair(weight, p);
      });
}

/// Sigmoid scores of one row `row` ([E], any float type), in f32.
RowScores buildSigmoidRow(OpBuilder &b, Location loc, Value row,
                          int64_t numExperts, Value bias) {
  return buildScoresAndKeys(
      b, loc, numExperts, ValueRange{row}, bias,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        // The stable form: a very negative logit keeps its tiny score, so
        // selection still tells such experts apart.
        Value s = gate::buildSigmoid(
            nb, nl, gate::convertFloat(nb, nl, args[0], nb.getF32Type()));
        return std::make_pair(s, s);
      });
}

/// Grouped selection: zeroes the keys of every expert outside the best
/// `topkGroup` of `nGroup` contiguous groups, so no later max can pick them.
/// A group's score is its best biased score (max) or the f32 sum of its two
/// best (sum_top2); groups are ranked by keys too, so ties go to the lower
/// group and a NaN group score ranks last.
Value buildGroupMask(OpBuilder &b, Location loc, Value keys, int64_t numExperts,
                     int64_t nGroup, int64_t topkGroup, GroupScore groupScore) {
  MLIRContext *ctx = b.getContext();
  Type i64 = b.getI64Type();
  int64_t groupSize = numExperts / nGroup;
  auto keys2dType = RankedTensorType::get({nGroup, groupSize}, i64);
  auto groupType = RankedTensorType::get({nGroup}, i64);
  SmallVector<ReassociationIndices> reassociation = {{0, 1}};
  Value keys2d =
      tensor::ExpandShapeOp::create(b, loc, keys2dType, keys, reassociation);

  // The best key of each group and, for sum_top2, the second best: keys are
  // unique, so the runner-up is max(second, min(best, x)).
  bool needSecond = groupScore == GroupScore::sum_top2;
  SmallVector<Value> inits;
  for (int i = 0, e = needSecond ? 2 : 1; i < e; ++i)
    inits.push_back(
        buildFilled(b, loc, groupType, {}, constInt(b, loc, i64, 0)));
  AffineMap identity2d = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap toGroup = AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
  SmallVector<AffineMap> topMaps = {identity2d};
  topMaps.append(inits.size(), toGroup);
  auto tops = linalg::GenericOp::create(
      b, loc, SmallVector<Type>(inits.size(), groupType), ValueRange{keys2d},
      inits, topMaps,
      {utils::IteratorType::parallel, utils::IteratorType::reduction},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value x = args[0], best = args[1];
        SmallVector<Value> yields = {arith::MaxUIOp::create(nb, nl, best, x)};
        if (needSecond)
          yields.push_back(arith::MaxUIOp::create(
              nb, nl, args[2], arith::MinUIOp::create(nb, nl, best, x)));
        linalg::YieldOp::create(nb, nl, yields);
      });

  AffineMap identity1d = AffineMap::getMultiDimIdentityMap(1, ctx);
  SmallVector<AffineMap> groupKeyMaps(inits.size() + 1, identity1d);
  auto groupKeys = linalg::GenericOp::create(
      b, loc, TypeRange{groupType}, tops.getResults(),
      ValueRange{tensor::EmptyOp::create(b, loc, groupType, ValueRange{})},
      groupKeyMaps, parallelIterators(1),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value score = keyScore(nb, nl, args[0]);
        if (needSecond)
          score =
              arith::AddFOp::create(nb, nl, score, keyScore(nb, nl, args[1]));
        Value group = toI32(nb, nl, linalg::IndexOp::create(nb, nl, 0));
        linalg::YieldOp::create(nb, nl,
                                ValueRange{buildKey(nb, nl, score, group)});
      });
  Value groupKey = groupKeys.getResult(0);
  Value threshold = buildKthLargestKey(b, loc, groupKey, topkGroup);

  auto masked = linalg::GenericOp::create(
      b, loc, TypeRange{keys2dType}, ValueRange{keys2d, groupKey},
      ValueRange{tensor::EmptyOp::create(b, loc, keys2dType, ValueRange{})},
      {identity2d, toGroup, identity2d}, parallelIterators(2),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value eligible = arith::CmpIOp::create(
            nb, nl, arith::CmpIPredicate::uge, args[1], threshold);
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::SelectOp::create(nb, nl, eligible, args[0],
                                               constInt(nb, nl, i64, 0))});
      });
  return tensor::CollapseShapeOp::create(b, loc, masked.getResult(0),
                                         reassociation);
}

/// A row's chosen experts and their unnormalized weights, slot by slot.
struct TopK {
  Value weights; // [k] f32: s at the chosen experts
  Value experts; // [k] i32
  Value sum;     // f32: the weights' sum, added in slot order
};

/// Top-k as k passes of buildMaxKeyBelow, each one masked max-reduction over
/// the experts plus a scalar gather of the winner's score. The slots are
/// written into `weightsInit` and `expertsInit` ([k] f32 and i32).
TopK buildTopK(OpBuilder &b, Location loc, Value keys, Value scores, int64_t k,
               Value weightsInit, Value expertsInit) {
  SmallVector<Value> inits = {constInt(b, loc, b.getI64Type(), -1), weightsInit,
                              expertsInit, constF32(b, loc, 0.0f)};
  auto loop = scf::ForOp::create(
      b, loc, constIndex(b, loc, 0), constIndex(b, loc, k),
      constIndex(b, loc, 1), inits,
      [&](OpBuilder &nb, Location nl, Value slot, ValueRange iterArgs) {
        Value best = buildMaxKeyBelow(nb, nl, keys, iterArgs[0]);
        Value expert = keyIndex(nb, nl, best);
        Value score = tensor::ExtractOp::create(
            nb, nl, scores, ValueRange{toIndex(nb, nl, expert)});
        Value weights =
            tensor::InsertOp::create(nb, nl, score, iterArgs[1], slot);
        Value experts =
            tensor::InsertOp::create(nb, nl, expert, iterArgs[2], slot);
        Value sum = arith::AddFOp::create(nb, nl, iterArgs[3], score);
        scf::YieldOp::create(nb, nl, ValueRange{best, weights, experts, sum});
      });
  return {loop.getResult(1), loop.getResult(2), loop.getResult(3)};
}

/// weights / (sum + 1e-20) when renormalizing, then * scale, written into
/// `init`; nothing is emitted for the parts that are identities.
Value buildWeightEpilogue(OpBuilder &b, Location loc, Value weights, Value sum,
                          bool renormalize, float scale, Value init) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(weights.getType());
  Value denominator;
  if (renormalize)
    denominator = arith::AddFOp::create(b, loc, sum, constF32(b, loc, 1e-20f));
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{type}, ValueRange{weights}, ValueRange{init},
      {identity, identity}, parallelIterators(1),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value w = args[0];
        if (renormalize)
          w = arith::DivFOp::create(nb, nl, w, denominator);
        if (scale != 1.0f)
          w = arith::MulFOp::create(nb, nl, w, constF32(nb, nl, scale));
        linalg::YieldOp::create(nb, nl, ValueRange{w});
      });
  return generic.getResult(0);
}

//===----------------------------------------------------------------------===//
// Counting across tokens (capacity, dispatch)
//===----------------------------------------------------------------------===//
//
// Every decision across tokens is a stable counting sort of the T * k
// (token, slot) pairs by expert: a pair's rank is the number of pairs of its
// expert before it in a visiting order (token-major for dispatch, slot-major
// for token-order capacity). The pairs are cut into P chunks of `chunk`
// consecutive pairs of that order, and three parallel passes replace the
// serial walk over all T * k pairs:
//   1. per chunk, the histogram of its experts (row c of a [P + 1, E] table);
//   2. per expert, an exclusive prefix sum down its column: row c then holds
//      the expert's pairs in the chunks before c, and row P its total;
//   3. per chunk, each pair's rank: row c plus the pairs of its expert seen
//      so far in the chunk.
// No serial chain is longer than max(chunk, P + 1), and the ranks are bit for
// bit the sequential sort's whatever the chunk size.

/// The visiting order of the pairs: pair j is (j / k, j % k) token-major, or
/// (j % T, j / T) slot-major (every token's first choice before any second).
struct PairOrder {
  PairOrder(OpBuilder &b, Location loc, Value tokens, Value k, bool slotMajor)
      : tokens(tokens), k(k), slotMajor(slotMajor),
        numPairs(b.createOrFold<arith::MulIOp>(loc, tokens, k)) {}

  Value tokens, k;
  bool slotMajor;
  Value numPairs; // T * k

  /// (token, slot) of pair j.
  std::pair<Value, Value> pairAt(OpBuilder &b, Location loc, Value j) const {
    Value stride = slotMajor ? tokens : k;
    Value major = arith::DivUIOp::create(b, loc, j, stride);
    Value minor = arith::RemUIOp::create(b, loc, j, stride);
    return slotMajor ? std::pair{minor, major} : std::pair{major, minor};
  }
};

/// Whether `expert` (i32) names an expert in [0, E); anything else is a
/// dropped pair.
Value isKeptExpert(OpBuilder &b, Location loc, Value expert,
                   int64_t numExperts) {
  Type i32 = b.getI32Type();
  Value nonNegative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge,
                                            expert, constInt(b, loc, i32, 0));
  Value inRange =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, expert,
                            constInt(b, loc, i32, numExperts));
  return arith::AndIOp::create(b, loc, nonNegative, inRange);
}

/// `expert` as an index that is safe to address an [E] tensor with (0 for a
/// dropped pair), so that loops can stay branch-free.
Value clampedExpertIndex(OpBuilder &b, Location loc, Value expert, Value kept) {
  Value zero = constInt(b, loc, b.getI32Type(), 0);
  return toIndex(b, loc, arith::SelectOp::create(b, loc, kept, expert, zero));
}

/// The static size `size` stands for, or ShapedType::kDynamic.
int64_t staticOrDynamic(Value size) {
  return getConstantIntValue(size).value_or(ShapedType::kDynamic);
}

/// Row `row` ([E]) of a [rows, E] table: each chunk updates its own row in
/// place.
Value extractRow(OpBuilder &b, Location loc, Value table, Value row,
                 int64_t numExperts) {
  auto rowType = RankedTensorType::get(
      {numExperts}, cast<RankedTensorType>(table.getType()).getElementType());
  return tensor::ExtractSliceOp::create(
      b, loc, rowType, table, ArrayRef<OpFoldResult>{row, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(numExperts)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}
/// The pairs of one chunk and the experts they name.
struct PairChunks {
  const PairOrder &order;
  Value experts; // [T, k] i32
  int64_t numExperts;
  Value chunk, numChunks, numPairs;

  /// [begin, end) of chunk `c` in the visiting order.
  std::pair<Value, Value> range(OpBuilder &b, Location loc, Value c) const {
    Value begin = arith::MulIOp::create(b, loc, c, chunk);
    Value end = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, begin, chunk), numPairs);
    return {begin, end};
  }

  /// A forall over the chunks with `shared` outputs; `body` gets the chunk
  /// index, its range and the shared tensors and returns the slices to
  /// write back as (value, destination index, offsets, sizes).
  using WriteBack =
      std::tuple<Value, unsigned, SmallVector<OpFoldResult>,
                 SmallVector<OpFoldResult>>;
  scf::ForallOp forEach(
      OpBuilder &b, Location loc, ValueRange shared,
      function_ref<SmallVector<WriteBack>(OpBuilder &, Value, Value, Value,
                                          ValueRange)>
          body) const {
    auto forall = scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{numChunks}, shared, std::nullopt);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(forall.getTerminator());
    Value c = forall.getInductionVar(0);
    auto [begin, end] = range(b, loc, c);
    SmallVector<WriteBack> writes =
        body(b, c, begin, end, forall.getRegionIterArgs());
    b.setInsertionPointToEnd(forall.getTerminator().getBody());
    for (auto &[value, dest, offsets, sizes] : writes)
      tensor::ParallelInsertSliceOp::create(
          b, loc, value, forall.getRegionIterArgs()[dest], offsets, sizes,
          SmallVector<OpFoldResult>(offsets.size(), b.getIndexAttr(1)));
    return forall;
  }

  /// The expert of pair j: (i32 id, kept, an index safe to address [E]).
  std::tuple<Value, Value, Value> expertOf(OpBuilder &b, Location loc,
                                           Value j) const {
    auto [t, slot] = order.pairAt(b, loc, j);
    Value expert =
        tensor::ExtractOp::create(b, loc, experts, ValueRange{t, slot});
    Value kept = isKeptExpert(b, loc, expert, numExperts);
    return {expert, kept, clampedExpertIndex(b, loc, expert, kept)};
  }
};

/// Passes 1 and 2: the table whose row c < P holds, per expert, its kept
/// pairs in the chunks before c; and a copy of row P, the counts per expert
/// (a copy, so that pass 3 may reuse the table's rows as its cursors).
std::pair<Value, Value> buildChunkBases(OpBuilder &b, Location loc,
                                        const PairChunks &chunks) {
  Type i32 = b.getI32Type();
  int64_t numExperts = chunks.numExperts;
  Value zero = constIndex(b, loc, 0), one = constIndex(b, loc, 1);
  Value rows = b.createOrFold<arith::AddIOp>(loc, chunks.numChunks, one);
  auto tableType =
      RankedTensorType::get({staticOrDynamic(rows), numExperts}, i32);
  Value table = buildFilled(b, loc, tableType, {rows, Value()},
                            constInt(b, loc, i32, 0));

  auto histograms = chunks.forEach(
      b, loc, table,
      [&](OpBuilder &nb, Value c, Value begin, Value end, ValueRange shared) {
        Value row = extractRow(nb, loc, shared[0], c, numExperts);
        auto loop = scf::ForOp::create(
            nb, loc, begin, end, one, ValueRange{row},
            [&](OpBuilder &lb, Location ll, Value j, ValueRange args) {
              auto [expert, kept, index] = chunks.expertOf(lb, ll, j);
              Value count = tensor::ExtractOp::create(lb, ll, args[0], index);
              Value next = arith::AddIOp::create(
                  lb, ll, count, arith::ExtUIOp::create(lb, ll, i32, kept));
              scf::YieldOp::create(
                  lb, ll,
                  ValueRange{tensor::InsertOp::create(lb, ll, next, args[0],
                                                      index)});
            });
        return SmallVector<PairChunks::WriteBack>{
            {loop.getResult(0), 0, {c, nb.getIndexAttr(0)},
             {nb.getIndexAttr(1), nb.getIndexAttr(numExperts)}}};
      });

  // One column per expert: row P starts at 0, so it ends as the total.
  auto prefix = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(numExperts)},
      histograms.getResults(), std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(prefix.getTerminator());
    Value e = prefix.getInductionVar(0);
    Value shared = prefix.getRegionIterArgs()[0];
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), e};
    SmallVector<OpFoldResult> sizes = {getAsOpFoldResult(rows),
                                       b.getIndexAttr(1)};
    SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
    auto columnType = RankedTensorType::get({staticOrDynamic(rows)}, i32);
    Value column = tensor::ExtractSliceOp::create(b, loc, columnType, shared,
                                                  offsets, sizes, strides);
    auto loop = scf::ForOp::create(
        b, loc, zero, rows, one,
        ValueRange{column, constInt(b, loc, i32, 0)},
        [&](OpBuilder &lb, Location ll, Value c, ValueRange args) {
          Value count = tensor::ExtractOp::create(lb, ll, args[0], c);
          Value before = tensor::InsertOp::create(lb, ll, args[1], args[0], c);
          scf::YieldOp::create(
              lb, ll,
              ValueRange{before,
                         arith::AddIOp::create(lb, ll, args[1], count)});
        });
    b.setInsertionPointToEnd(prefix.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, loc, loop.getResult(0), shared,
                                          offsets, sizes, strides);
  }
  Value bases = prefix.getResult(0);
  Value totals = extractRow(b, loc, bases, chunks.numChunks, numExperts);
  auto countsType = RankedTensorType::get({numExperts}, i32);
  Value empty = tensor::EmptyOp::create(b, loc, countsType, ValueRange{});
  Value counts =
      linalg::CopyOp::create(b, loc, ValueRange{totals}, ValueRange{empty})
          .getResult(0);
  return {bases, counts};
}

/// Pass 3: every pair's position in visiting order ([T * k], flat): its rank
/// among its expert's pairs plus `starts[e]` (when given), or -1 for a
/// dropped pair. Uses `bases`' rows as each chunk's cursors.
Value buildPairPositions(OpBuilder &b, Location loc, const PairChunks &chunks,
                         Value bases, Value starts) {
  Type i32 = b.getI32Type();
  int64_t numExperts = chunks.numExperts;
  Value one = constIndex(b, loc, 1);
  auto positionsType =
      RankedTensorType::get({staticOrDynamic(chunks.numPairs)}, i32);
  Value positions = buildEmpty(b, loc, positionsType, {chunks.numPairs});
  auto ranked = chunks.forEach(
      b, loc, ValueRange{bases, positions},
      [&](OpBuilder &nb, Value c, Value begin, Value end, ValueRange shared) {
        Value row = extractRow(nb, loc, shared[0], c, numExperts);
        Value length = arith::SubIOp::create(nb, loc, end, begin);
        auto sliceType = RankedTensorType::get({ShapedType::kDynamic}, i32);
        Value slice = tensor::ExtractSliceOp::create(
            nb, loc, sliceType, shared[1], ArrayRef<OpFoldResult>{begin},
            ArrayRef<OpFoldResult>{length},
            ArrayRef<OpFoldResult>{nb.getIndexAttr(1)});
        auto loop = scf::ForOp::create(
            nb, loc, begin, end, one, ValueRange{row, slice},
            [&](OpBuilder &lb, Location ll, Value j, ValueRange args) {
              auto [expert, kept, index] = chunks.expertOf(lb, ll, j);
              Value rank = tensor::ExtractOp::create(lb, ll, args[0], index);
              Value position = rank;
              if (starts)
                position = arith::AddIOp::create(
                    lb, ll, position,
                    tensor::ExtractOp::create(lb, ll, starts, index));
              position = arith::SelectOp::create(lb, ll, kept, position,
                                                 constInt(lb, ll, i32, -1));
              Value next = arith::AddIOp::create(
                  lb, ll, rank, arith::ExtUIOp::create(lb, ll, i32, kept));
              Value at = arith::SubIOp::create(lb, ll, j, begin);
              scf::YieldOp::create(
                  lb, ll,
                  ValueRange{
                      tensor::InsertOp::create(lb, ll, next, args[0], index),
                      tensor::InsertOp::create(lb, ll, position, args[1],
                                               at)});
            });
        return SmallVector<PairChunks::WriteBack>{
            {loop.getResult(0), 0, {c, nb.getIndexAttr(0)},
             {nb.getIndexAttr(1), nb.getIndexAttr(numExperts)}},
            {loop.getResult(1), 1, {begin}, {length}}};
      });
  return ranked.getResult(1);
}

/// The exclusive prefix sum of `counts` rounded up to `blockSize`: E + 1
/// offsets, the last one the used length.
Value buildSegmentOffsets(OpBuilder &b, Location loc, Value counts,
                          int64_t numExperts, int64_t blockSize) {
  Type i32 = b.getI32Type();
  auto offsetsType = RankedTensorType::get({numExperts + 1}, i32);
  Value zero = constInt(b, loc, i32, 0);
  auto loop = scf::ForOp::create(
      b, loc, constIndex(b, loc, 0), constIndex(b, loc, numExperts),
      constIndex(b, loc, 1),
      ValueRange{zero,
                 tensor::EmptyOp::create(b, loc, offsetsType, ValueRange{})},
      [&](OpBuilder &nb, Location nl, Value e, ValueRange args) {
        Value offsets = tensor::InsertOp::create(nb, nl, args[0], args[1], e);
        Value size = tensor::ExtractOp::create(nb, nl, counts, e);
        if (blockSize != 1) {
          Value block = constInt(nb, nl, i32, blockSize);
          Value rounded = arith::AddIOp::create(
              nb, nl, size, constInt(nb, nl, i32, blockSize - 1));
          size = arith::MulIOp::create(
              nb, nl, arith::DivUIOp::create(nb, nl, rounded, block), block);
        }
        scf::YieldOp::create(
            nb, nl,
            ValueRange{arith::AddIOp::create(nb, nl, args[0], size), offsets});
      });
  return tensor::InsertOp::create(b, loc, loop.getResult(0), loop.getResult(1),
                                  constIndex(b, loc, numExperts));
}

/// The counting sort of the pairs of `experts` ([T, k] i32) in `order`.
struct ExpertSort {
  Value counts;    // [E]: kept pairs per expert
  Value offsets;   // [E + 1]: segment starts, padded to the block size
  Value positions; // [T * k] flat in visiting order: offset + rank, or -1
};
/// The pairs of `experts` in `order`, cut into chunks of `chunk` pairs.
PairChunks chunkPairs(OpBuilder &b, Location loc, Value experts,
                      const PairOrder &order, int64_t numExperts,
                      int64_t chunk) {
  Value chunkSize = constIndex(b, loc, chunk);
  Value numChunks =
      b.createOrFold<arith::CeilDivUIOp>(loc, order.numPairs, chunkSize);
  return PairChunks{order,     experts,   numExperts,
                    chunkSize, numChunks, order.numPairs};
}

ExpertSort buildExpertSort(OpBuilder &b, Location loc, Value experts,
                           const PairOrder &order, int64_t numExperts,
                           int64_t blockSize, int64_t chunk) {
  PairChunks chunks = chunkPairs(b, loc, experts, order, numExperts, chunk);
  auto [bases, counts] = buildChunkBases(b, loc, chunks);
  Value offsets = buildSegmentOffsets(b, loc, counts, numExperts, blockSize);
  Value positions = buildPairPositions(b, loc, chunks, bases, offsets);
  return {counts, offsets, positions};
}

/// The stable ranks alone (no segment starts) of `experts`' pairs in
/// `order`, flat in that order, -1 for a dropped pair.
Value buildExpertRanks(OpBuilder &b, Location loc, Value experts,
                       const PairOrder &order, int64_t numExperts,
                       int64_t chunk) {
  PairChunks chunks = chunkPairs(b, loc, experts, order, numExperts, chunk);
  Value bases = buildChunkBases(b, loc, chunks).first;
  return buildPairPositions(b, loc, chunks, bases, Value());
}

/// sorted[positions[j]] = j for every kept pair (`positions` token-major and
/// flat), in a `sortedType` tensor of `length` entries prefilled with
/// `sentinel`. Kept pairs have distinct entries, so every pair writes in
/// parallel; a dropped pair writes to an entry of its own past `length`,
/// cut off at the end.
Value buildScatterPairs(OpBuilder &b, Location loc, Value positions,
                        Value numPairs, RankedTensorType sortedType,
                        Value length, Value sentinel) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type();
  Value extendedLength = b.createOrFold<arith::AddIOp>(loc, length, numPairs);
  auto extendedType =
      RankedTensorType::get({staticOrDynamic(extendedLength)}, i32);
  Value extended =
      buildFilled(b, loc, extendedType, {extendedLength}, sentinel);
  // The pair ids, as slices to insert.
  auto idsType = RankedTensorType::get({staticOrDynamic(numPairs)}, i32);
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
  Value ids =
      linalg::GenericOp::create(
          b, loc, TypeRange{idsType}, ValueRange{},
          ValueRange{buildEmpty(b, loc, idsType, {numPairs})},
          ArrayRef<AffineMap>{identity}, parallelIterators(1),
          [&](OpBuilder &nb, Location nl, ValueRange) {
            linalg::YieldOp::create(
                nb, nl, toI32(nb, nl, linalg::IndexOp::create(nb, nl, 0)));
          })
          .getResult(0);
  auto scatter = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{getAsOpFoldResult(numPairs)},
      ValueRange{extended}, std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(scatter.getTerminator());
    Value j = scatter.getInductionVar(0);
    Value position = tensor::ExtractOp::create(b, loc, positions, j);
    Value kept = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge,
                                       position, constInt(b, loc, i32, 0));
    Value destination = arith::SelectOp::create(
        b, loc, kept, toIndex(b, loc, position),
        arith::AddIOp::create(b, loc, length, j));
    SmallVector<OpFoldResult> one = {b.getIndexAttr(1)};
    Value id = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({1}, i32), ids,
        ArrayRef<OpFoldResult>{j}, one, one);
    b.setInsertionPointToEnd(scatter.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, loc, id,
                                          scatter.getRegionIterArgs()[0],
                                          ArrayRef<OpFoldResult>{destination},
                                          one, one);
  }
  return tensor::ExtractSliceOp::create(
      b, loc, sortedType, scatter.getResult(0),
      ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{getAsOpFoldResult(length)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
}

/// A flat [major * minor] tensor as [major, minor].
Value expandPairs(OpBuilder &b, Location loc, Value flat, Value major,
                  Value minor) {
  auto flatType = cast<RankedTensorType>(flat.getType());
  auto type = RankedTensorType::get(
      {staticOrDynamic(major), staticOrDynamic(minor)},
      flatType.getElementType());
  return tensor::ExpandShapeOp::create(
      b, loc, type, flat, ArrayRef<ReassociationIndices>{{0, 1}},
      ArrayRef<OpFoldResult>{getAsOpFoldResult(major),
                             getAsOpFoldResult(minor)});
}

/// block_experts[b] = the number of segments that end at or before block b's
/// start: segments are contiguous and in expert order, so that is the expert
/// owning the block, and it reaches E exactly past the used length (-1
/// there). A parallel (block x expert) counting reduction instead of a
/// sequential fill, so it vectorizes; E is small.
Value buildBlockExperts(OpBuilder &b, Location loc, Value offsets,
                        int64_t numExperts, int64_t blockSize,
                        RankedTensorType blocksType, Value numBlocks) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type();
  SmallVector<OpFoldResult> offset = {b.getIndexAttr(1)};
  SmallVector<OpFoldResult> size = {b.getIndexAttr(numExperts)};
  SmallVector<OpFoldResult> stride = {b.getIndexAttr(1)};
  Value ends =
      tensor::ExtractSliceOp::create(b, loc, offsets, offset, size, stride);
  Value zeros =
      buildFilled(b, loc, blocksType, {numBlocks}, constInt(b, loc, i32, 0));
  AffineMap toExpert = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
  AffineMap toBlock = AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
  auto counted = linalg::GenericOp::create(
      b, loc, TypeRange{blocksType}, ValueRange{ends}, ValueRange{zeros},
      {toExpert, toBlock},
      {utils::IteratorType::parallel, utils::IteratorType::reduction},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value start = toI32(
            nb, nl,
            arith::MulIOp::create(nb, nl, linalg::IndexOp::create(nb, nl, 0),
                                  constIndex(nb, nl, blockSize)));
        Value ended = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sle,
                                            args[0], start);
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::AddIOp::create(
                nb, nl, args[1], arith::ExtUIOp::create(nb, nl, i32, ended))});
      });
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
  auto named = linalg::GenericOp::create(
      b, loc, TypeRange{blocksType}, ValueRange{counted.getResult(0)},
      ValueRange{buildEmpty(b, loc, blocksType, {numBlocks})},
      {identity, identity}, parallelIterators(1),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value past =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, args[0],
                                  constInt(nb, nl, i32, numExperts));
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::SelectOp::create(
                nb, nl, past, constInt(nb, nl, i32, -1), args[0])});
      });
  return named.getResult(0);
}

/// The capacity per expert as the reference computes it, floor(T * cf / E)
/// in double: T * cf is exact (cf is an f32), so the division is the only
/// rounding. Clamped to T (no expert can receive more) so that it converts
/// to i32 whatever the factor.
Value buildCapacity(OpBuilder &b, Location loc, Value tokens,
                    int64_t numExperts, double capacityFactor) {
  Type f64 = b.getF64Type();
  Value tokensF64 = arith::SIToFPOp::create(
      b, loc, f64, arith::IndexCastOp::create(b, loc, b.getI64Type(), tokens));
  Value product = arith::MulFOp::create(
      b, loc, tokensF64,
      arith::ConstantOp::create(b, loc, b.getF64FloatAttr(capacityFactor)));
  Value quotient = arith::DivFOp::create(
      b, loc, product,
      arith::ConstantOp::create(
          b, loc, b.getF64FloatAttr(static_cast<double>(numExperts))));
  Value capacity = arith::MinimumFOp::create(
      b, loc, math::FloorOp::create(b, loc, quotient), tokensF64);
  return arith::FPToSIOp::create(b, loc, b.getI32Type(), capacity);
}

/// Yields a pair's (weight, expert) after the capacity rule: kept iff its
/// expert is one (`kept`) and `rank` is below `capacity`; else (0, -1).
void yieldCapacityDecision(OpBuilder &b, Location loc, Value kept, Value rank,
                           Value capacity, Value weight, Value expert) {
  Value hasRoom = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                        rank, capacity);
  Value keep = arith::AndIOp::create(b, loc, kept, hasRoom);
  linalg::YieldOp::create(
      b, loc,
      ValueRange{arith::SelectOp::create(b, loc, keep, weight,
                                         constF32(b, loc, 0.0f)),
                 arith::SelectOp::create(b, loc, keep, expert,
                                         constInt(b, loc, b.getI32Type(), -1))});
}

/// token_order: a pair is kept while its expert has room, visiting the pairs
/// slot-major (every token's first choice before any second). Once an
/// expert is full every later pair of it is dropped, so a pair is kept iff
/// its slot-major rank among its expert's pairs is below the capacity: one
/// counting sort, then one parallel decision per pair.
std::pair<Value, Value> buildTokenOrderDrops(OpBuilder &b, Location loc,
                                             Value weights, Value experts,
                                             Value tokens, Value k,
                                             int64_t numExperts, Value capacity,
                                             int64_t chunk) {
  MLIRContext *ctx = b.getContext();
  PairOrder order(b, loc, tokens, k, /*slotMajor=*/true);
  Value ranks = expandPairs(
      b, loc, buildExpertRanks(b, loc, experts, order, numExperts, chunk), k,
      tokens);
  auto weightsType = cast<RankedTensorType>(weights.getType());
  auto expertsType = cast<RankedTensorType>(experts.getType());
  AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap transposed = AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0}, ctx);
  auto decided = linalg::GenericOp::create(
      b, loc, TypeRange{weightsType, expertsType},
      ValueRange{weights, experts, ranks},
      ValueRange{buildEmpty(b, loc, weightsType, {tokens, k}),
                 buildEmpty(b, loc, expertsType, {tokens, k})},
      {identity, identity, transposed, identity, identity},
      parallelIterators(2),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value weight = args[0], expert = args[1], rank = args[2];
        Value kept = isKeptExpert(nb, nl, expert, numExperts);
        yieldCapacityDecision(nb, nl, kept, rank, capacity, weight, expert);
      });
  return {decided.getResult(0), decided.getResult(1)};
}

/// score_order: a pair is kept iff fewer than `capacity` pairs of its expert
/// outrank it (larger f32 weight, NaN last, ties to the lower pair id). The
/// pairs are first grouped by expert (the dispatch counting sort with blocks
/// of 1), so a rank costs the expert's count rather than T * k, and every
/// pair's decision is independent: one parallel linalg.generic over [T, k].
std::pair<Value, Value> buildScoreOrderDrops(OpBuilder &b, Location loc,
                                             Value weights, Value experts,
                                             Value tokens, Value k,
                                             int64_t numExperts,
                                             Value capacity, int64_t chunk) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  auto weightsType = cast<RankedTensorType>(weights.getType());
  auto expertsType = cast<RankedTensorType>(experts.getType());
  auto keysType = weightsType.clone(i64);
  AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);

  // Pair keys: the same ranking as expert selection, over (weight, pair id).
  auto keyed = linalg::GenericOp::create(
      b, loc, TypeRange{keysType}, ValueRange{weights},
      ValueRange{buildEmpty(b, loc, keysType, {tokens, k})},
      {identity, identity}, parallelIterators(2),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value pair = arith::AddIOp::create(
            nb, nl,
            arith::MulIOp::create(nb, nl, linalg::IndexOp::create(nb, nl, 0),
                                  k),
            linalg::IndexOp::create(nb, nl, 1));
        linalg::YieldOp::create(
            nb, nl, ValueRange{buildKey(nb, nl, args[0], toI32(nb, nl, pair))});
      });
  Value keys = keyed.getResult(0);
  SmallVector<ReassociationIndices> flatten = {{0, 1}};
  Value flatKeys = tensor::CollapseShapeOp::create(b, loc, keys, flatten);

  PairOrder order(b, loc, tokens, k, /*slotMajor=*/false);
  Value numPairs = order.numPairs;
  ExpertSort sort = buildExpertSort(b, loc, experts, order, numExperts,
                                    /*blockSize=*/1, chunk);
  Value offsets = sort.offsets;
  auto sortedType = RankedTensorType::get({staticOrDynamic(numPairs)}, i32);
  Value sorted = buildScatterPairs(b, loc, sort.positions, numPairs,
                                   sortedType, numPairs, toI32(b, loc, numPairs));

  auto decided = linalg::GenericOp::create(
      b, loc, TypeRange{weightsType, expertsType},
      ValueRange{weights, experts, keys},
      ValueRange{buildEmpty(b, loc, weightsType, {tokens, k}),
                 buildEmpty(b, loc, expertsType, {tokens, k})},
      SmallVector<AffineMap>(5, identity), parallelIterators(2),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value weight = args[0], expert = args[1], key = args[2];
        Value kept = isKeptExpert(nb, nl, expert, numExperts);
        Value index = clampedExpertIndex(nb, nl, expert, kept);
        Value begin =
            toIndex(nb, nl, tensor::ExtractOp::create(nb, nl, offsets, index));
        Value next =
            arith::AddIOp::create(nb, nl, index, constIndex(nb, nl, 1));
        Value end =
            toIndex(nb, nl, tensor::ExtractOp::create(nb, nl, offsets, next));
        // A dropped pair gets an empty range rather than a branch.
        end = arith::SelectOp::create(nb, nl, kept, end, begin);
        auto rankLoop = scf::ForOp::create(
            nb, nl, begin, end, constIndex(nb, nl, 1),
            ValueRange{constInt(nb, nl, i32, 0)},
            [&](OpBuilder &lb, Location ll, Value j, ValueRange rankArgs) {
              Value other =
                  toIndex(lb, ll, tensor::ExtractOp::create(lb, ll, sorted, j));
              Value otherKey =
                  tensor::ExtractOp::create(lb, ll, flatKeys, other);
              Value outranks = arith::CmpIOp::create(
                  lb, ll, arith::CmpIPredicate::ugt, otherKey, key);
              scf::YieldOp::create(
                  lb, ll,
                  ValueRange{arith::AddIOp::create(
                      lb, ll, rankArgs[0],
                      arith::ExtUIOp::create(lb, ll, i32, outranks))});
            });
        yieldCapacityDecision(nb, nl, kept, rankLoop.getResult(0), capacity,
                              weight, expert);
      });
  return {decided.getResult(0), decided.getResult(1)};
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// gate.router -> scf.forall over tokens (scores, optional group mask, top-k,
/// weight epilogue per row), then the capacity pass when there is one.
struct RouterOpLowering : OpConversionPattern<RouterOp> {
  RouterOpLowering(MLIRContext *ctx, int64_t pairChunk)
      : OpConversionPattern(ctx), pairChunk(pairChunk) {}
  int64_t pairChunk;
  LogicalResult
  matchAndRewrite(RouterOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value logits = adaptor.getLogits();
    Value bias = adaptor.getSelectionBias();
    auto logitsType = cast<RankedTensorType>(logits.getType());
    int64_t numExperts = logitsType.getDimSize(1);
    int64_t k = op.getK();
    int64_t nGroup = op.getNGroup(), topkGroup = op.getTopkGroup();
    bool grouped = nGroup > 1 && topkGroup < nGroup;
    Scoring scoring = op.getScoring();
    GroupScore groupScore = op.getGroupScore();
    bool renormalize = op.getRenormalize();
    float scale = op.getRoutedScalingFactor().convertToFloat();

    auto weightsType = op.getWeights().getType();
    auto expertsType = op.getExperts().getType();
    Value tokens = dimSize(rewriter, loc, logits, 0);
    Value kSize = constIndex(rewriter, loc, k);
    Value weightsInit = buildEmpty(rewriter, loc, weightsType, {tokens, kSize});
    Value expertsInit = buildEmpty(rewriter, loc, expertsType, {tokens, kSize});

    // Rows are independent: one forall iteration per token.
    auto forall = scf::ForallOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{tokens},
        ValueRange{weightsInit, expertsInit}, std::nullopt);
    {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPoint(forall.getTerminator());
      Value t = forall.getInductionVar(0);
      SmallVector<OpFoldResult> rowOffsets = {t, rewriter.getIndexAttr(0)};
      SmallVector<OpFoldResult> rowSizes = {rewriter.getIndexAttr(1),
                                            rewriter.getIndexAttr(numExperts)};
      SmallVector<OpFoldResult> unitStrides(2, rewriter.getIndexAttr(1));
      auto rowType =
          RankedTensorType::get({numExperts}, logitsType.getElementType());
      Value row = tensor::ExtractSliceOp::create(
          rewriter, loc, rowType, logits, rowOffsets, rowSizes, unitStrides);

      RowScores scores =
          scoring == Scoring::softmax
              ? buildSoftmaxRow(rewriter, loc, row, numExperts, bias)
              : buildSigmoidRow(rewriter, loc, row, numExperts, bias);
      Value keys = scores.keys;
      if (grouped)
        keys = buildGroupMask(rewriter, loc, keys, numExperts, nGroup,
                              topkGroup, groupScore);

      // The row's slots are built in slices of the shared outputs, so that
      // bufferization writes them in place instead of copying a temporary.
      SmallVector<OpFoldResult> outSizes = {rewriter.getIndexAttr(1),
                                            rewriter.getIndexAttr(k)};
      auto rowOf = [&](Value shared, Type elementType) -> Value {
        return tensor::ExtractSliceOp::create(
            rewriter, loc, RankedTensorType::get({k}, elementType), shared,
            rowOffsets, outSizes, unitStrides);
      };
      Value weightsRow =
          rowOf(forall.getRegionIterArgs()[0], rewriter.getF32Type());
      Value expertsRow =
          rowOf(forall.getRegionIterArgs()[1], rewriter.getI32Type());
      bool hasEpilogue = renormalize || scale != 1.0f;
      Value rawWeights =
          hasEpilogue
              ? tensor::EmptyOp::create(
                    rewriter, loc, cast<RankedTensorType>(weightsRow.getType()),
                    ValueRange{})
                    .getResult()
              : weightsRow;
      TopK top = buildTopK(rewriter, loc, keys, scores.scores, k, rawWeights,
                           expertsRow);
      Value weights = top.weights;
      if (hasEpilogue)
        weights = buildWeightEpilogue(rewriter, loc, top.weights, top.sum,
                                      renormalize, scale, weightsRow);

      rewriter.setInsertionPointToEnd(forall.getTerminator().getBody());
      tensor::ParallelInsertSliceOp::create(rewriter, loc, weights,
                                            forall.getRegionIterArgs()[0],
                                            rowOffsets, outSizes, unitStrides);
      tensor::ParallelInsertSliceOp::create(rewriter, loc, top.experts,
                                            forall.getRegionIterArgs()[1],
                                            rowOffsets, outSizes, unitStrides);
    }
    Value weights = forall.getResult(0), experts = forall.getResult(1);

    if (std::optional<APFloat> factor = op.getCapacityFactor()) {
      Value capacity = buildCapacity(rewriter, loc, tokens, numExperts,
                                     factor->convertToDouble());
      std::tie(weights, experts) =
          op.getDropPolicy() == DropPolicy::token_order
              ? buildTokenOrderDrops(rewriter, loc, weights, experts, tokens,
                                     kSize, numExperts, capacity, pairChunk)
              : buildScoreOrderDrops(rewriter, loc, weights, experts, tokens,
                                     kSize, numExperts, capacity, pairChunk);
    }
    rewriter.replaceOp(op, {weights, experts});
    return success();
  }
};

/// gate.dispatch -> a counting sort: histogram, padded prefix sum, stable
/// scatter, and the block owners as a reduction.
struct DispatchOpLowering : OpConversionPattern<DispatchOp> {
  DispatchOpLowering(MLIRContext *ctx, int64_t pairChunk)
      : OpConversionPattern(ctx), pairChunk(pairChunk) {}
  int64_t pairChunk;
  LogicalResult
  matchAndRewrite(DispatchOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value experts = adaptor.getExperts();
    int64_t numExperts = op.getNumExperts(), blockSize = op.getBlockSize();
    Value tokens = dimSize(rewriter, loc, experts, 0);
    Value k = dimSize(rewriter, loc, experts, 1);

    // L = DispatchOp::getSortedLength(T * k, E, block), at run time when T
    // or k is dynamic (the arithmetic folds otherwise).
    PairOrder order(rewriter, loc, tokens, k, /*slotMajor=*/false);
    Value numPairs = order.numPairs;
    Value block = constIndex(rewriter, loc, blockSize);
    Value worst = rewriter.createOrFold<arith::AddIOp>(
        loc, numPairs,
        constIndex(rewriter, loc,
                   numExperts * (blockSize - 1) + blockSize - 1));
    Value numBlocks = rewriter.createOrFold<arith::DivUIOp>(loc, worst, block);
    Value length = rewriter.createOrFold<arith::MulIOp>(loc, numBlocks, block);

    ExpertSort sort = buildExpertSort(rewriter, loc, experts, order,
                                      numExperts, blockSize, pairChunk);
    Value sorted = buildScatterPairs(rewriter, loc, sort.positions, numPairs,
                                     op.getSortedPairs().getType(), length,
                                     toI32(rewriter, loc, numPairs));
    Value positions = expandPairs(rewriter, loc, sort.positions, tokens, k);
    Value offsets = sort.offsets, counts = sort.counts;
    Value blockExperts =
        buildBlockExperts(rewriter, loc, offsets, numExperts, blockSize,
                          op.getBlockExperts().getType(), numBlocks);
    rewriter.replaceOp(op, {sorted, blockExperts, offsets, counts, positions});
    return success();
  }
};

} // namespace

void gatec::populateRouterToLinalgConversionPatterns(
    RewritePatternSet &patterns, int64_t pairChunk) {
  patterns.add<RouterOpLowering, DispatchOpLowering>(patterns.getContext(),
                                                     pairChunk);
}
