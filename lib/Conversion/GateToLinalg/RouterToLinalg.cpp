//===- RouterToLinalg.cpp - Lower gate.router and gate.dispatch -----------===//
//
// Part of gatec. Routers become an scf.forall over tokens whose body works on
// one row of logits with linalg ops over the experts; the capacity rule and
// gate.dispatch are counting problems across tokens and become short
// sequential scf.for nests plus linalg reductions.
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

/// sigmoid(z) that never takes exp of a positive argument, as the reference
/// does: for z << 0 it gives the tiny e / (1 + e) (subnormal where it is one)
/// rather than 1 / inf = 0, so weights keep their value and selection still
/// tells such experts apart. A NaN z takes the second form and stays NaN.
Value buildStableSigmoid(OpBuilder &b, Location loc, Value z) {
  Value e = math::ExpOp::create(
      b, loc, arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, z)));
  Value onePlusE = arith::AddFOp::create(b, loc, constF32(b, loc, 1.0f), e);
  Value forPositive =
      arith::DivFOp::create(b, loc, constF32(b, loc, 1.0f), onePlusE);
  Value forNegative = arith::DivFOp::create(b, loc, e, onePlusE);
  Value isNonNegative = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE,
                                              z, constF32(b, loc, 0.0f));
  return arith::SelectOp::create(b, loc, isNonNegative, forPositive,
                                 forNegative);
}

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
              gatec::convertFloat(nb, nl, args[inputs.size()],
                                  nb.getF32Type()));
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
        Value x = gatec::convertFloat(nb, nl, args[0], f32);
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
        Value x = gatec::convertFloat(nb, nl, args[0], f32);
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
        Value s = buildStableSigmoid(
            nb, nl, gatec::convertFloat(nb, nl, args[0], nb.getF32Type()));
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

/// Builds `for t in [0, T): for slot in [0, k)` (or slot-major when
/// `slotMajor`) threading `inits`; `body` gets (t, slot) and the current
/// values and returns the next ones.
ValueRange
buildPairLoops(OpBuilder &b, Location loc, Value tokens, Value k,
               ValueRange inits, bool slotMajor,
               function_ref<SmallVector<Value>(OpBuilder &, Location, Value,
                                               Value, ValueRange)>
                   body) {
  Value zero = constIndex(b, loc, 0), one = constIndex(b, loc, 1);
  Value outerBound = slotMajor ? k : tokens;
  Value innerBound = slotMajor ? tokens : k;
  auto outer = scf::ForOp::create(
      b, loc, zero, outerBound, one, inits,
      [&](OpBuilder &ob, Location ol, Value i, ValueRange outerArgs) {
        auto inner = scf::ForOp::create(
            ob, ol, zero, innerBound, one, outerArgs,
            [&](OpBuilder &ib, Location il, Value j, ValueRange innerArgs) {
              Value t = slotMajor ? j : i, slot = slotMajor ? i : j;
              scf::YieldOp::create(ib, il, body(ib, il, t, slot, innerArgs));
            });
        scf::YieldOp::create(ob, ol, inner.getResults());
      });
  return outer.getResults();
}

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

/// counts[e]: pairs of `experts` ([T, k] i32) routed to e. A sequential
/// histogram: O(T * k), where a parallel form would cost O(T * k * E).
Value buildExpertCounts(OpBuilder &b, Location loc, Value experts, Value tokens,
                        Value k, int64_t numExperts) {
  Type i32 = b.getI32Type();
  auto countsType = RankedTensorType::get({numExperts}, i32);
  Value zeros = buildFilled(b, loc, countsType, {}, constInt(b, loc, i32, 0));
  return buildPairLoops(
      b, loc, tokens, k, ValueRange{zeros}, /*slotMajor=*/false,
      [&](OpBuilder &nb, Location nl, Value t, Value slot, ValueRange args) {
        Value expert =
            tensor::ExtractOp::create(nb, nl, experts, ValueRange{t, slot});
        Value kept = isKeptExpert(nb, nl, expert, numExperts);
        Value index = clampedExpertIndex(nb, nl, expert, kept);
        Value count = tensor::ExtractOp::create(nb, nl, args[0], index);
        Value next = arith::AddIOp::create(
            nb, nl, count, arith::ExtUIOp::create(nb, nl, i32, kept));
        return SmallVector<Value>{
            tensor::InsertOp::create(nb, nl, next, args[0], index)};
      })[0];
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

/// Places every kept pair id t * k + slot at its expert's next free entry of
/// a `sortedType` tensor of length `length` prefilled with `sentinel`,
/// visiting pairs in increasing id so each segment stays in token order.
/// Returns (sorted pairs, positions [T, k] with -1 for a dropped pair).
std::pair<Value, Value>
buildScatterByExpert(OpBuilder &b, Location loc, Value experts, Value offsets,
                     Value tokens, Value k, int64_t numExperts,
                     RankedTensorType sortedType, Value length, Value sentinel,
                     RankedTensorType positionsType) {
  Type i32 = b.getI32Type();
  Value sorted = buildFilled(b, loc, sortedType, {length}, sentinel);
  Value positions = buildFilled(b, loc, positionsType, {tokens, k},
                                constInt(b, loc, i32, -1));
  // Each expert's write cursor starts at its segment.
  SmallVector<OpFoldResult> offset = {b.getIndexAttr(0)};
  SmallVector<OpFoldResult> size = {b.getIndexAttr(numExperts)};
  SmallVector<OpFoldResult> stride = {b.getIndexAttr(1)};
  Value cursors =
      tensor::ExtractSliceOp::create(b, loc, offsets, offset, size, stride);
  ValueRange results = buildPairLoops(
      b, loc, tokens, k, ValueRange{sorted, positions, cursors},
      /*slotMajor=*/false,
      [&](OpBuilder &nb, Location nl, Value t, Value slot, ValueRange args) {
        Value expert =
            tensor::ExtractOp::create(nb, nl, experts, ValueRange{t, slot});
        Value kept = isKeptExpert(nb, nl, expert, numExperts);
        auto ifOp = scf::IfOp::create(
            nb, nl, kept,
            [&](OpBuilder &tb, Location tl) {
              Value index = toIndex(tb, tl, expert);
              Value position =
                  tensor::ExtractOp::create(tb, tl, args[2], index);
              Value pair =
                  toI32(tb, tl,
                        arith::AddIOp::create(
                            tb, tl, arith::MulIOp::create(tb, tl, t, k), slot));
              Value nextSorted = tensor::InsertOp::create(
                  tb, tl, pair, args[0], toIndex(tb, tl, position));
              Value nextPositions = tensor::InsertOp::create(
                  tb, tl, position, args[1], ValueRange{t, slot});
              Value next = arith::AddIOp::create(tb, tl, position,
                                                 constInt(tb, tl, i32, 1));
              Value nextCursors =
                  tensor::InsertOp::create(tb, tl, next, args[2], index);
              scf::YieldOp::create(
                  tb, tl, ValueRange{nextSorted, nextPositions, nextCursors});
            },
            [&](OpBuilder &eb, Location el) {
              scf::YieldOp::create(eb, el, args);
            });
        return SmallVector<Value>(ifOp.getResults());
      });
  return {results[0], results[1]};
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

/// token_order: visits the pairs slot-major (every token's first choice
/// before any second choice) and keeps a pair while its expert has room.
/// Sequential by nature: each decision depends on all earlier ones.
std::pair<Value, Value> buildTokenOrderDrops(OpBuilder &b, Location loc,
                                             Value weights, Value experts,
                                             Value tokens, Value k,
                                             int64_t numExperts,
                                             Value capacity) {
  Type i32 = b.getI32Type();
  auto loadType = RankedTensorType::get({numExperts}, i32);
  Value load = buildFilled(b, loc, loadType, {}, constInt(b, loc, i32, 0));
  ValueRange results = buildPairLoops(
      b, loc, tokens, k, ValueRange{load, weights, experts},
      /*slotMajor=*/true,
      [&](OpBuilder &nb, Location nl, Value t, Value slot, ValueRange args) {
        SmallVector<Value> pair = {t, slot};
        Value expert = tensor::ExtractOp::create(nb, nl, args[2], pair);
        Value weight = tensor::ExtractOp::create(nb, nl, args[1], pair);
        Value kept = isKeptExpert(nb, nl, expert, numExperts);
        Value index = clampedExpertIndex(nb, nl, expert, kept);
        Value used = tensor::ExtractOp::create(nb, nl, args[0], index);
        Value hasRoom = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt,
                                              used, capacity);
        Value keep = arith::AndIOp::create(nb, nl, kept, hasRoom);
        Value nextUsed = arith::AddIOp::create(
            nb, nl, used, arith::ExtUIOp::create(nb, nl, i32, keep));
        Value newExpert = arith::SelectOp::create(nb, nl, keep, expert,
                                                  constInt(nb, nl, i32, -1));
        Value newWeight = arith::SelectOp::create(nb, nl, keep, weight,
                                                  constF32(nb, nl, 0.0f));
        return SmallVector<Value>{
            tensor::InsertOp::create(nb, nl, nextUsed, args[0], index),
            tensor::InsertOp::create(nb, nl, newWeight, args[1], pair),
            tensor::InsertOp::create(nb, nl, newExpert, args[2], pair)};
      });
  return {results[1], results[2]};
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
                                             Value capacity) {
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

  Value numPairs = b.createOrFold<arith::MulIOp>(loc, tokens, k);
  Value counts = buildExpertCounts(b, loc, experts, tokens, k, numExperts);
  Value offsets = buildSegmentOffsets(b, loc, counts, numExperts, 1);
  auto sortedType = RankedTensorType::get({ShapedType::kDynamic}, i32);
  Value sorted = buildScatterByExpert(b, loc, experts, offsets, tokens, k,
                                      numExperts, sortedType, numPairs,
                                      toI32(b, loc, numPairs), expertsType)
                     .first;

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
        Value hasRoom = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt,
                                              rankLoop.getResult(0), capacity);
        Value keep = arith::AndIOp::create(nb, nl, kept, hasRoom);
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::SelectOp::create(nb, nl, keep, weight,
                                               constF32(nb, nl, 0.0f)),
                       arith::SelectOp::create(nb, nl, keep, expert,
                                               constInt(nb, nl, i32, -1))});
      });
  return {decided.getResult(0), decided.getResult(1)};
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// gate.router -> scf.forall over tokens (scores, optional group mask, top-k,
/// weight epilogue per row), then the capacity pass when there is one.
struct RouterOpLowering : OpConversionPattern<RouterOp> {
  using OpConversionPattern::OpConversionPattern;
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
                                     kSize, numExperts, capacity)
              : buildScoreOrderDrops(rewriter, loc, weights, experts, tokens,
                                     kSize, numExperts, capacity);
    }
    rewriter.replaceOp(op, {weights, experts});
    return success();
  }
};

/// gate.dispatch -> a counting sort: histogram, padded prefix sum, stable
/// scatter, and the block owners as a reduction.
struct DispatchOpLowering : OpConversionPattern<DispatchOp> {
  using OpConversionPattern::OpConversionPattern;
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
    Value numPairs = rewriter.createOrFold<arith::MulIOp>(loc, tokens, k);
    Value block = constIndex(rewriter, loc, blockSize);
    Value worst = rewriter.createOrFold<arith::AddIOp>(
        loc, numPairs,
        constIndex(rewriter, loc,
                   numExperts * (blockSize - 1) + blockSize - 1));
    Value numBlocks = rewriter.createOrFold<arith::DivUIOp>(loc, worst, block);
    Value length = rewriter.createOrFold<arith::MulIOp>(loc, numBlocks, block);

    Value counts =
        buildExpertCounts(rewriter, loc, experts, tokens, k, numExperts);
    Value offsets =
        buildSegmentOffsets(rewriter, loc, counts, numExperts, blockSize);
    auto [sorted, positions] = buildScatterByExpert(
        rewriter, loc, experts, offsets, tokens, k, numExperts,
        op.getSortedPairs().getType(), length, toI32(rewriter, loc, numPairs),
        op.getPairPositions().getType());
    Value blockExperts =
        buildBlockExperts(rewriter, loc, offsets, numExperts, blockSize,
                          op.getBlockExperts().getType(), numBlocks);
    rewriter.replaceOp(op, {sorted, blockExperts, offsets, counts, positions});
    return success();
  }
};

} // namespace

void gatec::populateRouterToLinalgConversionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<RouterOpLowering, DispatchOpLowering>(patterns.getContext());
}
