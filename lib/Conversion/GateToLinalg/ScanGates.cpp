//===- ScanGates.cpp - Cumulative log gates of a scan chunk ---------------===//
//
// Part of gatec. The log gates of a gate.chunked_scan chunk: clamped, summed
// in token order as compensated prefix sums, and the log decays between two
// tokens read from them.
//
// Numerics. Every exponent is a log decay, the sum of the log gates g <= 0
// from one token to a later one, so every exponential lies in [0, 1] (up to
// rounding) and can underflow but never overflow:
//   - b, the prefix sum of the gates within the chunk, is an unevaluated sum
//     of two f32 values, hi + lo: hi is the plain f32 sum in token order, lo
//     collects the exact rounding error of each of its adds (TwoSum). A
//     decay b_i - b_j is formed as (hi_i - hi_j) + (lo_i - lo_j), so its
//     error is a few ulps of the decay itself, not of b. Differencing plain
//     f32 prefix sums cancels catastrophically once |b| is large, and
//     resets make it large without bound (-inf gates clamp to -128, so half
//     the tokens of a 64-token chunk resetting take b to -4096, ulp 5e-4):
//     the decays between the ordinary tokens in between were then off by
//     up to 1e-4 relative (issue 19);
//   - hi is non-increasing even after rounding (fl(x + g) <= x for g <= 0),
//     so hi_i - hi_j <= 0 for j <= i, and lo_i - lo_j only corrects it
//     towards the exact sum, which is <= 0: an exponent can exceed 0 only by
//     the rounding of the residuals (below 1e-5 even for a 256-token chunk
//     of clamped gates), so no exponential can overflow;
//   - fixed decay uses (i - j) * g with i >= j, computed from indices, which
//     has no such cancellation in the first place;
//   - entries above the diagonal (j > i), whose exponent would be positive,
//     are discarded with a select, never multiplied by a 0/1 mask (inf * 0
//     would be NaN).
// A log gate of -inf (alpha = 0: forget everything) would make
// b_i - b_j = (-inf) - (-inf) = NaN for two positions after it, so log gates
// are clamped below at kMinLogGate before they are summed; see there.
//
//===----------------------------------------------------------------------===//

#include "Conversion/GateToLinalg/ScanLowering.h"

#include "gatec/Dialect/Gate/GateMath.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::gate;

namespace gatec::scan {

/// Log gates are clamped below at this value before they are summed.
///
/// Why a clamp: with g = -inf the prefix sums b of every later position are
/// -inf and their differences NaN. Any g <= kMinLogGate already means
/// alpha = 0 in f32 (exp underflows to 0 below about -103.97), so clamping
/// there changes no f32 result: a segment sum that contains a clamped gate is
/// <= kMinLogGate and its exponential is exactly 0, which is exact forgetting.
/// The margin past -104 keeps an approximated exp (polynomial,
/// flush-to-zero) at 0 too.
///
/// Why not a huge clamp such as -1e30: the compensated sums are exact up to
/// about L eps^2 |b| for a chunk of L tokens, far below f32 rounding while
/// |b| <= chunk_size * 128; with |b| ~ 1e30 the gates after a reset would
/// be lost in the rounding of the residuals as well.
///
/// Why not a separate "last reset" index per channel: it adds an operand and
/// a compare to every exponential site, and fixes only resets, not the same
/// cancellation after any very negative (unclamped, say -100) gates; the
/// compensated sums fix both (see "Numerics" at the top).
///
/// NaN gates stay NaN (arith.maximumf propagates it): bad input is reported,
/// not hidden.
constexpr double kMinLogGate = -128.0;

Value clampLogGate(OpBuilder &b, Location loc, Value g) {
  Value g32 = gate::convertFloat(b, loc, g, b.getF32Type());
  return arith::MaximumFOp::create(b, loc, g32,
                                   f32Constant(b, loc, kMinLogGate));
}

/// The residual of one step of a compensated sum: lo + e, where e is the
/// exact rounding error of sum = fl(hi + g) (Knuth's TwoSum, branch-free,
/// valid for any order of magnitude of hi and g). Relies on IEEE adds that
/// are neither reassociated nor fused, which no gatec pipeline allows.
static Value buildCompensatedResidual(OpBuilder &b, Location loc, Value hi,
                                      Value lo, Value g, Value sum) {
  Value gPart = arith::SubFOp::create(b, loc, sum, hi);
  Value hiPart = arith::SubFOp::create(b, loc, sum, gPart);
  Value error =
      arith::AddFOp::create(b, loc, arith::SubFOp::create(b, loc, hi, hiPart),
                            arith::SubFOp::create(b, loc, g, gPart));
  return arith::AddFOp::create(b, loc, lo, error);
}

/// The log decay from token `from` to token `to` of the chunk (b_to -
/// b_from, `from` not after `to`) from the compensated prefix sums:
/// (hi_to - hi_from) + (lo_to - lo_from), accurate to a few ulps of the
/// decay however large |b| is.
Value buildLogDecay(OpBuilder &b, Location loc, Value hiTo, Value loTo,
                    Value hiFrom, Value loFrom) {
  return arith::AddFOp::create(b, loc,
                               arith::SubFOp::create(b, loc, hiTo, hiFrom),
                               arith::SubFOp::create(b, loc, loTo, loFrom));
}

/// Computes the inclusive prefix sums of the clamped log gates of a chunk,
/// compensated (see CumulativeGates).
///
/// This is the one sequential loop of the chunk: an scf.for over its L rows,
/// each step a K-wide (vector) or scalar (scalar) add and its rounding error.
/// It costs O(L K), where a lower-triangular ones mask contraction would cost
/// O(L^2 K), as much as the intra-chunk scores themselves; and summing
/// strictly in token order is what makes the rounded sums non-increasing,
/// so that every exponent below is <= 0 up to the rounding of the residual.
CumulativeGates buildCumulativeGates(OpBuilder &b, Location loc, DecayKind kind,
                                     const Chunk &chunk) {
  switch (kind) {
  case DecayKind::none:
    return {kind, Value(), Value(), Value()};
  case DecayKind::fixed:
    // A constant gate needs no sum: b_i - b_j = (i - j) g, from indices.
    return {kind, Value(), Value(), chunk.gates};
  case DecayKind::vector:
  case DecayKind::scalar:
    break;
  }

  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  if (kind == DecayKind::scalar) {
    Value zeroF32 = f32Constant(b, loc, 0.0);
    auto loop = scf::ForOp::create(
        b, loc, zero, chunk.len, one,
        ValueRange{buildEmptyF32(b, loc, {chunk.len}),
                   buildEmptyF32(b, loc, {chunk.len}), zeroF32, zeroF32},
        [&](OpBuilder &nb, Location nl, Value i, ValueRange iterArgs) {
          Value hi = iterArgs[2], lo = iterArgs[3];
          Value g = clampLogGate(
              nb, nl, tensor::ExtractOp::create(nb, nl, chunk.gates, i));
          Value sum = arith::AddFOp::create(nb, nl, hi, g);
          Value residual = buildCompensatedResidual(nb, nl, hi, lo, g, sum);
          Value sums =
              tensor::InsertOp::create(nb, nl, sum, iterArgs[0], ValueRange{i});
          Value residuals = tensor::InsertOp::create(
              nb, nl, residual, iterArgs[1], ValueRange{i});
          scf::YieldOp::create(nb, nl,
                               ValueRange{sums, residuals, sum, residual});
        });
    return {kind, loop.getResult(0), loop.getResult(1), Value()};
  }

  // Vector: row i of b is row i - 1 plus the clamped row i of the gates.
  // Two single-result generics per row, each updating its row in place: the
  // residual first (it recomputes the sum), then the sum.
  int64_t keyDim = chunk.keyDim;
  auto newSums = [&] { return buildEmptyF32(b, loc, chunk.shape(b, keyDim)); };
  auto newRow = [&] { return buildZerosF32(b, loc, {b.getIndexAttr(keyDim)}); };
  auto loop = scf::ForOp::create(
      b, loc, zero, chunk.len, one,
      ValueRange{newSums(), newSums(), newRow(), newRow()},
      [&](OpBuilder &nb, Location nl, Value i, ValueRange iterArgs) {
        SmallVector<OpFoldResult> offsets = {i, nb.getIndexAttr(0)};
        SmallVector<OpFoldResult> sizes = {nb.getIndexAttr(1),
                                           nb.getIndexAttr(keyDim)};
        SmallVector<OpFoldResult> strides(2, nb.getIndexAttr(1));
        Value gateRow = extractRow(nb, nl, chunk.gates, i);
        Value hiRow = iterArgs[2], loRow = iterArgs[3];
        AffineMap id = nb.getMultiDimIdentityMap(1);
        SmallVector<utils::IteratorType> parallel = {
            utils::IteratorType::parallel};
        Value residualRow = buildGeneric(
            nb, nl, ValueRange{gateRow, hiRow}, loRow, {id, id, id}, parallel,
            [](OpBuilder &bb, Location bl, ValueRange args) -> Value {
              Value g = clampLogGate(bb, bl, args[0]);
              Value sum = arith::AddFOp::create(bb, bl, args[1], g);
              return buildCompensatedResidual(bb, bl, args[1], args[2], g, sum);
            });
        Value sumRow = buildGeneric(
            nb, nl, ValueRange{gateRow}, hiRow, {id, id}, parallel,
            [](OpBuilder &bb, Location bl, ValueRange args) -> Value {
              return arith::AddFOp::create(bb, bl, args[1],
                                           clampLogGate(bb, bl, args[0]));
            });
        Value sums = tensor::InsertSliceOp::create(nb, nl, sumRow, iterArgs[0],
                                                   offsets, sizes, strides);
        Value residuals = tensor::InsertSliceOp::create(
            nb, nl, residualRow, iterArgs[1], offsets, sizes, strides);
        scf::YieldOp::create(nb, nl,
                             ValueRange{sums, residuals, sumRow, residualRow});
      });
  return {kind, loop.getResult(0), loop.getResult(1), Value()};
}

/// exp((i - j) g) for the fixed decay: (i - j) >= 0 and g <= 0.
Value buildFixedDecay(OpBuilder &b, Location loc, Value g, Value i, Value j) {
  Value distance = indexToF32(b, loc, arith::SubIOp::create(b, loc, i, j));
  return math::ExpOp::create(b, loc,
                             arith::MulFOp::create(b, loc, distance, g));
}

} // namespace gatec::scan
