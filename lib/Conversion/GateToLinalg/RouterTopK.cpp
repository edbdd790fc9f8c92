//===- RouterTopK.cpp - Selection keys and top-k of a router --------------===//
//
// Part of gatec. Selection runs on 64-bit keys: the high half is the score
// mapped to an unsigned integer in ranking order (NaN below every number),
// the low half the bitwise complement of the index. Keys are unique and one
// unsigned max picks the best score with ties to the lower index, so each
// of the k passes of top-k is a single reduction ("the largest key below the
// last one found", a min over distances) that the vectorizer turns into a
// vector reduction. Then the weight epilogue (renormalization, scaling).
//
//===----------------------------------------------------------------------===//

#include "Conversion/GateToLinalg/RouterLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mlir::gate;

namespace gatec::router {

/// Maps an f32 to an i32 whose unsigned order is the ranking every router
/// decision uses: larger numbers higher, every NaN (code 1) below -inf, and
/// -0 equal to +0 so that a tie between them goes to the lower index as a
/// float comparison would have it. Numbers map to codes >= 0x007FFFFF (-inf),
/// so a key built on any code is nonzero and 0 can mean "no candidate".
static Value buildRankBits(OpBuilder &b, Location loc, Value x) {
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
static Value buildFromRankBits(OpBuilder &b, Location loc, Value code) {
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
static Value keyIndex(OpBuilder &b, Location loc, Value key) {
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

/// The largest of the 1-D i64 `keys` that is below `bound` (unsigned,
/// bound >= 1), or 0 if none is. Keys are unique, so feeding each result back
/// as the next bound visits them in decreasing order without keeping a
/// "chosen" mask. With c = bound - 1, c - key (mod 2^64) maps the keys up to c
/// onto [0, c], the largest to 0, and wraps every larger key above c: one
/// min-reduction, started at c (a key 0), finds c - answer. A subtraction and
/// a min per key, where a compare, a select and a max took a mask register
/// each (the x86 core has seven, and a router's passes need one per vector).
/// A bound of 0 never occurs: the passes stop after at most as many keys as
/// are nonzero (k <= the experts left selectable, checked by the verifier).
static Value buildMaxKeyBelow(OpBuilder &b, Location loc, Value keys,
                              Value bound) {
  MLIRContext *ctx = b.getContext();
  Type i64 = b.getI64Type();
  auto accType = RankedTensorType::get({}, i64);
  Value ceiling =
      arith::SubIOp::create(b, loc, bound, constInt(b, loc, i64, 1));
  Value init = buildFilled(b, loc, accType, {}, ceiling);
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
  AffineMap toScalar = AffineMap::get(1, 0, {}, ctx);
  auto reduce = linalg::GenericOp::create(
      b, loc, TypeRange{accType}, ValueRange{keys}, ValueRange{init},
      ArrayRef<AffineMap>{identity, toScalar},
      ArrayRef<utils::IteratorType>{utils::IteratorType::reduction},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value distance = arith::SubIOp::create(nb, nl, ceiling, args[0]);
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::MinUIOp::create(nb, nl, args[1], distance)});
      });
  Value nearest =
      tensor::ExtractOp::create(b, loc, reduce.getResult(0), ValueRange{});
  return arith::SubIOp::create(b, loc, ceiling, nearest);
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

/// Top-k of each row as k passes of buildMaxKeyBelow, each one reduction over
/// the experts plus a scalar gather of the winner's score.
/// Row r's slots are written into `weightsInits[r]` and `expertsInits[r]`
/// ([k] f32 and i32). The rows' passes share one loop over the slots: each
/// pass waits on the one before it, so a row alone leaves the core idle for
/// most of a reduction's latency, and the other rows' passes fill it.
SmallVector<TopK> buildTopK(OpBuilder &b, Location loc, ValueRange keys,
                            ValueRange scores, int64_t k,
                            ValueRange weightsInits, ValueRange expertsInits) {
  size_t rows = keys.size();
  constexpr size_t fields = 4; // bound, weights, experts, sum
  SmallVector<Value> inits;
  for (size_t r = 0; r < rows; ++r)
    inits.append({constInt(b, loc, b.getI64Type(), -1), weightsInits[r],
                  expertsInits[r], constF32(b, loc, 0.0f)});
  auto loop = scf::ForOp::create(
      b, loc, constIndex(b, loc, 0), constIndex(b, loc, k),
      constIndex(b, loc, 1), inits,
      [&](OpBuilder &nb, Location nl, Value slot, ValueRange iterArgs) {
        SmallVector<Value> yields;
        for (size_t r = 0; r < rows; ++r) {
          ValueRange row = iterArgs.slice(r * fields, fields);
          Value best = buildMaxKeyBelow(nb, nl, keys[r], row[0]);
          Value expert = keyIndex(nb, nl, best);
          Value score = tensor::ExtractOp::create(
              nb, nl, scores[r], ValueRange{toIndex(nb, nl, expert)});
          Value weights = tensor::InsertOp::create(nb, nl, score, row[1], slot);
          Value experts =
              tensor::InsertOp::create(nb, nl, expert, row[2], slot);
          Value sum = arith::AddFOp::create(nb, nl, row[3], score);
          yields.append({best, weights, experts, sum});
        }
        scf::YieldOp::create(nb, nl, yields);
      });
  SmallVector<TopK> tops;
  for (size_t r = 0; r < rows; ++r)
    tops.push_back({loop.getResult(r * fields + 1),
                    loop.getResult(r * fields + 2),
                    loop.getResult(r * fields + 3)});
  return tops;
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

} // namespace gatec::router
