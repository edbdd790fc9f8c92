//===- RouterScoring.cpp - A router's scores of one token -----------------===//
//
// Part of gatec. A token's row of logits becomes its scores over the experts
// (softmax or sigmoid, in f32) and their selection keys, biased when the
// router has a selection bias; grouped selection then masks the keys of
// every expert outside the best groups.
//
//===----------------------------------------------------------------------===//

#include "Conversion/GateToLinalg/RouterLowering.h"

#include "gatec/Dialect/Gate/GateMath.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mlir::gate;

namespace gatec::router {

/// Emits the elementwise generic that turns `inputs` (each [E]) into
/// (scores, keys). `scoreFn` builds s from the body's input arguments and
/// returns (weight score, selection score): they differ only for softmax rows
/// holding a NaN. `bias` is appended to the inputs when present.
static RowScores buildScoresAndKeys(
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

} // namespace gatec::router
