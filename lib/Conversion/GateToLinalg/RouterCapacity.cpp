//===- RouterCapacity.cpp - The capacity rule of a router -----------------===//
//
// Part of gatec. A router with a capacity factor keeps at most floor(T * cf
// / E) pairs per expert: in token order (a slot-major counting sort, then a
// parallel decision per pair) or in score order (a pair is kept iff fewer
// than the capacity of its expert's pairs outrank it).
//
//===----------------------------------------------------------------------===//

#include "Conversion/GateToLinalg/RouterLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::gate;

namespace gatec::router {

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
static void yieldCapacityDecision(OpBuilder &b, Location loc, Value kept,
                                  Value rank, Value capacity, Value weight,
                                  Value expert) {
  Value hasRoom =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, rank, capacity);
  Value keep = arith::AndIOp::create(b, loc, kept, hasRoom);
  linalg::YieldOp::create(
      b, loc,
      ValueRange{
          arith::SelectOp::create(b, loc, keep, weight, constF32(b, loc, 0.0f)),
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
  AffineMap transposed =
      AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0}, ctx);
  auto decided = linalg::GenericOp::create(
      b, loc, TypeRange{weightsType, expertsType},
      ValueRange{weights, experts, ranks},
      ValueRange{buildEmpty(b, loc, weightsType, {tokens, k}),
                 buildEmpty(b, loc, expertsType, {tokens, k})},
      {identity, identity, transposed, identity, identity},
      parallelIterators(2), [&](OpBuilder &nb, Location nl, ValueRange args) {
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
                                             int64_t numExperts, Value capacity,
                                             int64_t chunk) {
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
  Value sorted = buildScatterPairs(b, loc, sort.positions, numPairs, sortedType,
                                   numPairs, toI32(b, loc, numPairs));

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

} // namespace gatec::router
