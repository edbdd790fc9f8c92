//===- ChunkedScanToLinalg.cpp - Lower gate.chunked_scan ------------------===//
//
// Part of gatec. gate.chunked_scan becomes tensor-level upstream IR in
// chunkwise-parallel form. The structure is loops (scf), the arithmetic is
// linalg, so the CPU backend can tile, vectorize and parallelize it and the
// GPU backend can map the contractions to tensor cores:
//
//   o_init = tensor.empty (or zeros with cu_seqlens or a state pool: tokens
//            past cu[N] and skipped sequences are 0)
//   scf.forall (n, h) in (N, HV)
//       shared_outs(o, final_state or the pool, chunk_states if any) {
//     [begin, end) = cu ? [cu[n], cu[n+1]) clamped into [0, T] : [0, T)
//     batch = cu ? 0 : n
//     S0 = initial_state[n, h], pool[slots[n], h] (widened from bf16) or
//          zeros                                                  f32 [K, V]
//     q and k are read at head h / G (grouped value heads, G = HV / H)
//     scf.for t = 0 to end - begin step C
//         iter_args(S = S0, o_seq, the pair's chunk_states rows) {
//       L = affine.min(C, end - begin - t)            the last chunk is partial
//       q, k: [L, K], v: [L, V] slices in the input element type
//       b = cumulative clamped log gates, compensated: hi + lo (vector
//           [L, K], scalar [L]; fixed: from token indices; none: absent)
//       delta rule: v = U = T (beta v) - T (beta exp(b) k) S, T = (I + A_kk)^-1
//       A = causal intra-chunk scores                                [L, L]
//       o_c = round(scale * (A v + (q * exp(b)) S))                  [L, V]
//       S  = Diag(exp(b_last)) S + (k * exp(b_last - b))^T v         [K, V]
//       chunk_states row t / C = S
//     }
//     in_parallel: o[batch, begin:end, h] = o_seq; final_state[n, h] = S
//                  (or the pool's row, rounded to its type); the pair's
//                  chunk_states rows at [batch, begin / C, h]
//   }
//
// This is the GLA paper's chunk form (Yang et al. 2023, section 3.3) with the
// decay factored into relative exponentials. Every accumulation is f32; the
// inputs are widened inside the linalg ops that read them (mixed-precision
// linalg.matmul, extf in generic bodies), so a backend may still feed bf16
// operands to tensor cores and fold the widening away.
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

#include "gatec/Conversion/GateToLinalg/GateToLinalg.h"

#include "SequenceBounds.h"

#include "gatec/Dialect/Gate/GateMath.h"
#include "gatec/Dialect/Gate/GateOps.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::gate;
using gatec::indexValue;

namespace {

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

//===----------------------------------------------------------------------===//
// Small builders
//===----------------------------------------------------------------------===//

Value f32Constant(OpBuilder &b, Location loc, double value) {
  Type f32 = b.getF32Type();
  return arith::ConstantOp::create(b, loc, f32, b.getFloatAttr(f32, value));
}

/// An index (a token position inside a chunk) as f32; exact below 2^24.
Value indexToF32(OpBuilder &b, Location loc, Value index) {
  Value wide = arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), wide);
}

/// The static value of `size`, or ShapedType::kDynamic.
int64_t staticSize(OpFoldResult size) {
  return getConstantIntValue(size).value_or(ShapedType::kDynamic);
}

/// An uninitialized f32 tensor of the given sizes.
Value buildEmptyF32(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes) {
  return tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
}

/// An f32 tensor of zeros: the accumulator of a contraction.
Value buildZerosF32(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes) {
  return linalg::FillOp::create(b, loc, ValueRange{f32Constant(b, loc, 0.0)},
                                ValueRange{buildEmptyF32(b, loc, sizes)})
      .getResult(0);
}

/// An uninitialized tensor of exactly `type` (the op's result types may be
/// less static than the operands they are sized from).
Value buildEmptyOfType(OpBuilder &b, Location loc, RankedTensorType type,
                       ArrayRef<OpFoldResult> sizes) {
  SmallVector<Value> dynSizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dynSizes.push_back(indexValue(b, loc, sizes[i]));
  return tensor::EmptyOp::create(b, loc, type, dynSizes);
}

/// The projection (d0, ..., d{numDims-1}) -> (d{dims[0]}, d{dims[1]}, ...).
AffineMap projection(MLIRContext *ctx, unsigned numDims,
                     ArrayRef<unsigned> dims) {
  return AffineMap::getMultiDimMapWithTargets(numDims, dims, ctx);
}

/// The body of a generic: gets the block arguments (inputs, then the
/// output's current value) and returns the value to yield.
using GenericBody = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// A linalg.generic with one result, written into `init`. `maps` holds one map
/// per input, then the output's.
Value buildGeneric(OpBuilder &b, Location loc, ValueRange inputs, Value init,
                   ArrayRef<AffineMap> maps,
                   ArrayRef<utils::IteratorType> iterators, GenericBody body) {
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, body(nb, nl, args));
      });
  return generic.getResult(0);
}

/// An elementwise generic over the rank-2 `init`: inputs are read through
/// `maps` (projections of (d0, d1)), the output through the identity.
Value buildElementwise2D(OpBuilder &b, Location loc, ValueRange inputs,
                         ArrayRef<AffineMap> inputMaps, Value init,
                         GenericBody body) {
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(b.getMultiDimIdentityMap(2));
  return buildGeneric(
      b, loc, inputs, init, maps,
      {utils::IteratorType::parallel, utils::IteratorType::parallel}, body);
}

/// Extracts source[batch, begin : begin + rows, head, ...] from a
/// [B, T, H, W] (or [B, T, H]) operand as a rank-reduced [rows, W] (or
/// [rows]) tensor: the tokens of one head.
Value extractHeadRows(OpBuilder &b, Location loc, Value source,
                      OpFoldResult batch, OpFoldResult begin, OpFoldResult rows,
                      OpFoldResult head) {
  auto sourceType = cast<RankedTensorType>(source.getType());
  SmallVector<OpFoldResult> offsets = {batch, begin, head};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), rows,
                                     b.getIndexAttr(1)};
  SmallVector<int64_t> shape = {staticSize(rows)};
  if (sourceType.getRank() == 4) {
    int64_t width = sourceType.getDimSize(3);
    offsets.push_back(b.getIndexAttr(0));
    sizes.push_back(b.getIndexAttr(width));
    shape.push_back(width);
  }
  SmallVector<OpFoldResult> strides(sourceType.getRank(), b.getIndexAttr(1));
  auto type = RankedTensorType::get(shape, sourceType.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, type, source, offsets, sizes,
                                        strides);
}

/// Rows [start, start + len) of a [L, W] chunk tensor, as [len, W].
Value extractRows(OpBuilder &b, Location loc, Value source, OpFoldResult start,
                  OpFoldResult len) {
  auto sourceType = cast<RankedTensorType>(source.getType());
  int64_t width = sourceType.getDimSize(1);
  auto type = RankedTensorType::get({staticSize(len), width},
                                    sourceType.getElementType());
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(
      b, loc, type, source, ArrayRef<OpFoldResult>{start, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{len, b.getIndexAttr(width)}, strides);
}

/// Row `row` of a [L, W] chunk tensor, as [W].
Value extractRow(OpBuilder &b, Location loc, Value source, OpFoldResult row) {
  auto sourceType = cast<RankedTensorType>(source.getType());
  int64_t width = sourceType.getDimSize(1);
  auto type = RankedTensorType::get({width}, sourceType.getElementType());
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(
      b, loc, type, source, ArrayRef<OpFoldResult>{row, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(width)},
      strides);
}

//===----------------------------------------------------------------------===//
// One chunk
//===----------------------------------------------------------------------===//

/// One chunk of one (sequence, head) pair. The slices keep the input element
/// types: the ops that read them widen to f32.
struct Chunk {
  Value q, k; // [L, K]
  /// [L, V]; for the delta rule, after buildDeltaValues, the f32 values U
  /// that the plain chunk form adds in v's place.
  Value v;
  /// The delta rule's learning rates: [L] in the input type; else null.
  Value beta;
  /// vector: [L, K]; scalar: [L]; fixed: the f32 log gate of this head,
  /// already clamped; none: null.
  Value gates;
  /// L, the number of tokens in the chunk (1 <= L <= chunk_size).
  Value len;
  int64_t keyDim, valueDim;
  /// How the causal scores are built (the pipeline's choice).
  gatec::ScoreDecomposition scores;

  SmallVector<OpFoldResult> shape(OpBuilder &b, int64_t cols) const {
    return {len, b.getIndexAttr(cols)};
  }
};

/// The within-chunk cumulative log gates b_i = sum_{j <= i} g_j, in the form
/// that the decay kind allows.
struct CumulativeGates {
  DecayKind kind;
  /// vector: [L, K] f32; scalar: [L] f32; fixed, none: null. b rounded to
  /// f32, summed in token order.
  Value prefix;
  /// The rounding error of `prefix`, same shape: b = prefix + residual up to
  /// O(eps^2 |b|). Differences of b read both (buildLogDecay). The decay
  /// from the chunk start, exp(b_i), reads `prefix` alone: its error is a
  /// few ulps of |b_i| itself, which exp(b_i) <= 1 scales down with it.
  Value residual;
  /// fixed: the clamped f32 log gate g of the head, b_i = (i + 1) g.
  Value perToken;
};

/// max(g, kMinLogGate) in f32 (see kMinLogGate).
Value clampLogGate(OpBuilder &b, Location loc, Value g) {
  Value g32 = gate::convertFloat(b, loc, g, b.getF32Type());
  return arith::MaximumFOp::create(b, loc, g32,
                                   f32Constant(b, loc, kMinLogGate));
}

/// The residual of one step of a compensated sum: lo + e, where e is the
/// exact rounding error of sum = fl(hi + g) (Knuth's TwoSum, branch-free,
/// valid for any order of magnitude of hi and g). Relies on IEEE adds that
/// are neither reassociated nor fused, which no gatec pipeline allows.
Value buildCompensatedResidual(OpBuilder &b, Location loc, Value hi, Value lo,
                               Value g, Value sum) {
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

/// a b^T for row-major a [M, K] and b [N, K], as a plain matmul of a and a
/// transposed copy of b, added into `init` [M, N]. Vectorizing a^T b's N
/// loop directly would gather b's column elements one by one (rows of b are
/// token rows of a [B, T, H, K] input, K x H elements apart), once per
/// register tile of M; transposing the chunk once makes them contiguous.
Value buildMatmulTransposedB(OpBuilder &b, Location loc, Value lhs, Value rhs,
                             Value init) {
  auto rhsType = cast<RankedTensorType>(rhs.getType());
  SmallVector<OpFoldResult> transposedSizes = {
      b.getIndexAttr(rhsType.getDimSize(1)),
      tensor::getMixedSize(b, loc, rhs, 0)};
  Value transposedInit = tensor::EmptyOp::create(
      b, loc, transposedSizes, rhsType.getElementType());
  Value transposed =
      linalg::TransposeOp::create(b, loc, rhs, transposedInit,
                                  ArrayRef<int64_t>{1, 0})
          .getResult()[0];
  return linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                  ValueRange{lhs, transposed},
                                  ValueRange{init})
      .getResult(0);
}

/// Vector decay, direct form: one 3-loop generic (i, j parallel; k
/// reduction) with an exponential per term and the causal mask from
/// linalg.index, written into `init` [L, L]:
///   init_ij + sum_k q_ik k_jk exp(b_ik - b_jk)   for j <= i, else init_ij.
/// Used on the diagonal sub-blocks, where q and k rows are the same tokens;
/// `hi`, `lo` [L, K] are their compensated prefix sums.
Value buildDirectVectorDecayScores(OpBuilder &b, Location loc, Value q, Value k,
                                   Value hi, Value lo, Value init) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  SmallVector<AffineMap> maps = {
      projection(ctx, 3, {0, 2}), projection(ctx, 3, {1, 2}), // q_ik, k_jk
      projection(ctx, 3, {0, 2}), projection(ctx, 3, {1, 2}), // hi_ik, hi_jk
      projection(ctx, 3, {0, 2}), projection(ctx, 3, {1, 2}), // lo_ik, lo_jk
      projection(ctx, 3, {0, 1})};                            // A_ij
  return buildGeneric(
      b, loc, ValueRange{q, k, hi, hi, lo, lo}, init, maps,
      {utils::IteratorType::parallel, utils::IteratorType::parallel,
       utils::IteratorType::reduction},
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value i = linalg::IndexOp::create(nb, nl, 0);
        Value j = linalg::IndexOp::create(nb, nl, 1);
        Value qk = arith::MulFOp::create(
            nb, nl, gate::convertFloat(nb, nl, args[0], f32),
            gate::convertFloat(nb, nl, args[1], f32));
        Value decay = math::ExpOp::create(
            nb, nl, buildLogDecay(nb, nl, args[2], args[4], args[3], args[5]));
        // The mask selects the term, not the sum, so that the body is a
        // plain add-reduction that the vectorizer recognizes; the discarded
        // terms above the diagonal (exp of a positive exponent, possibly
        // inf) never reach the sum.
        Value causal =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ule, j, i);
        Value term = arith::SelectOp::create(
            nb, nl, causal, arith::MulFOp::create(nb, nl, qk, decay),
            f32Constant(nb, nl, 0.0));
        return arith::AddFOp::create(nb, nl, args[6], term);
      });
}

/// x * exp(sign * (b - ref)) elementwise over [rows, K], b given by its
/// compensated sums `hi`, `lo` [rows, K], ref by `refHi`, `refLo` [K] rows;
/// the callers pick sign so that every exponent is <= 0. Written into `init`
/// (f32 [rows, K]) if given.
Value buildRelativeDecay(OpBuilder &b, Location loc, Value x, Value hi,
                         Value lo, Value refHi, Value refLo,
                         bool refMinusPrefix, Value init = Value()) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  auto xType = cast<RankedTensorType>(x.getType());
  if (!init)
    init = buildEmptyF32(b, loc,
                         {tensor::getMixedSize(b, loc, x, 0),
                          b.getIndexAttr(xType.getDimSize(1))});
  AffineMap rows = projection(ctx, 2, {0, 1}), row = projection(ctx, 2, {1});
  return buildElementwise2D(
      b, loc, ValueRange{x, hi, lo, refHi, refLo}, {rows, rows, rows, row, row},
      init, [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value exponent =
            refMinusPrefix
                ? buildLogDecay(nb, nl, args[3], args[4], args[1], args[2])
                : buildLogDecay(nb, nl, args[1], args[2], args[3], args[4]);
        return arith::MulFOp::create(nb, nl,
                                     gate::convertFloat(nb, nl, args[0], f32),
                                     math::ExpOp::create(nb, nl, exponent));
      });
}

/// Vector decay with secondary chunking (Yang et al. 2023, section 4.2).
/// For each query sub-chunk P = [p, p + l) of the chunk:
///   - the diagonal block A[P, P] is the direct form (exponent per term);
///   - the block A[P, 0:p] left of it is one matmul of rescaled operands
///     around the reference r = b_{p-1}, the cumulative gate just before P:
///       A[P, 0:p] = (q_P * exp(b_P - r)) (k_{<p} * exp(r - b_{<p}))^T
///     exact because exp(b_i - b_j) = exp(b_i - r) exp(r - b_j), and stable
///     because b is non-increasing: b_i <= r for i in P and r <= b_j for
///     j < p, so both factors lie in [0, 1] up to rounding (an underflow to
///     0 is the true value's limit, never 0 * inf). Both exponents have the
///     sign of b_i - b_j and add up to it, and each is formed from the
///     compensated sums, so the product is as accurate as the direct form;
///   - blocks right of the diagonal stay 0 (causal).
/// The rescaled keys are carried from one sub-chunk to the next: those of
/// the sub-chunks before the previous one are multiplied by exp(r - r'),
/// the decay between the previous reference r' and r, and only the previous
/// sub-chunk's keys take exponentials of their own. That is L K
/// exponentials per chunk instead of about L^2 K / (2c), for one rounding
/// per later sub-chunk (at most L / c - 2 per key); every factor lies in
/// [0, 1], so nothing can overflow, unlike a single reference for the whole
/// chunk.
Value buildSubChunkedVectorDecayScores(OpBuilder &b, Location loc,
                                       const Chunk &chunk,
                                       const CumulativeGates &gates,
                                       Value zeros) {
  MLIRContext *ctx = b.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  // Sub-chunks of c tokens: a chunk of L tokens then takes L c K
  // exponentials on the diagonal blocks and L K each for the rescaled keys
  // and queries, instead of L^2 K.
  const int64_t subChunk = chunk.scores.subChunk;
  Value step = arith::ConstantIndexOp::create(b, loc, subChunk);
  // At the step of sub-chunk P, rows [0, p) of `keys` hold k_j * exp(r - b_j).
  Value rescaledKeys = buildEmptyF32(b, loc, chunk.shape(b, chunk.keyDim));
  auto loop = scf::ForOp::create(
      b, loc, zero, chunk.len, step, ValueRange{zeros, rescaledKeys},
      [&](OpBuilder &nb, Location nl, Value p, ValueRange iterArgs) {
        Value scores = iterArgs[0];
        Value keys = iterArgs[1];
        // l = min(c, L - p): the last sub-chunk may be partial.
        Value len = affine::AffineMinOp::create(
            nb, nl,
            AffineMap::get(
                2, 0, {getAffineConstantExpr(subChunk, ctx), d0 - d1}, ctx),
            ValueRange{chunk.len, p});
        Value qP = extractRows(nb, nl, chunk.q, p, len);
        Value kP = extractRows(nb, nl, chunk.k, p, len);
        Value hiP = extractRows(nb, nl, gates.prefix, p, len);
        Value loP = extractRows(nb, nl, gates.residual, p, len);
        SmallVector<OpFoldResult> unit(2, nb.getIndexAttr(1));

        // Diagonal block.
        Value diagInit = buildZerosF32(nb, nl, {len, len});
        Value diag =
            buildDirectVectorDecayScores(nb, nl, qP, kP, hiP, loP, diagInit);
        scores = tensor::InsertSliceOp::create(
            nb, nl, diag, scores, ArrayRef<OpFoldResult>{p, p},
            ArrayRef<OpFoldResult>{len, len}, unit);

        // The block left of it (empty for the first sub-chunk; its
        // reference row is then unused).
        Value refRow = affine::AffineMaxOp::create(
            nb, nl,
            AffineMap::get(1, 0,
                           {getAffineConstantExpr(0, ctx), d0 - 1}, ctx),
            ValueRange{p});
        Value refHi = extractRow(nb, nl, gates.prefix, refRow);
        Value refLo = extractRow(nb, nl, gates.residual, refRow);
        Value qScaled = buildRelativeDecay(nb, nl, qP, hiP, loP, refHi, refLo,
                                           /*refMinusPrefix=*/false);

        // The keys: rows [0, prev) rescaled from r' = b_{prev-1} to r (empty
        // for the first two sub-chunks), then the previous sub-chunk
        // [prev, p) from scratch.
        OpFoldResult first = nb.getIndexAttr(0);
        Value prev = affine::AffineMaxOp::create(
            nb, nl,
            AffineMap::get(1, 0, {getAffineConstantExpr(0, ctx), d0 - subChunk},
                           ctx),
            ValueRange{p});
        Value prevLen =
            arith::SubIOp::create(nb, nl, p, prev); // c, or 0 for P = 0
        // exp(r - r'), the decay across the previous sub-chunk: the product
        // of its gates exp(g) over its tokens, each factor and so the product
        // exact to a few ulps, with no difference of prefix sums to cancel.
        // A reduction, which elementwise fusion leaves whole; a [K] row of
        // exponentials computed elementwise would be inlined into, and
        // recomputed for, every row it scales.
        Value keyStep = buildGeneric(
            nb, nl, ValueRange{extractRows(nb, nl, chunk.gates, prev, prevLen)},
            linalg::FillOp::create(
                nb, nl, ValueRange{f32Constant(nb, nl, 1.0)},
                ValueRange{
                    buildEmptyF32(nb, nl, {nb.getIndexAttr(chunk.keyDim)})})
                .getResult(0),
            {projection(ctx, 2, {0, 1}), projection(ctx, 2, {1})},
            {utils::IteratorType::reduction, utils::IteratorType::parallel},
            [](OpBuilder &bb, Location bl, ValueRange args) -> Value {
              return arith::MulFOp::create(
                  bb, bl, args[1],
                  math::ExpOp::create(bb, bl, clampLogGate(bb, bl, args[0])));
            });
        Value older = buildElementwise2D(
            nb, nl, ValueRange{keyStep}, {projection(ctx, 2, {1})},
            extractRows(nb, nl, keys, first, prev),
            [](OpBuilder &bb, Location bl, ValueRange args) -> Value {
              return arith::MulFOp::create(bb, bl, args[1], args[0]);
            });
        keys = tensor::InsertSliceOp::create(
            nb, nl, older, keys, ArrayRef<OpFoldResult>{first, first},
            ArrayRef<OpFoldResult>{prev, nb.getIndexAttr(chunk.keyDim)}, unit);
        Value newer = buildRelativeDecay(
            nb, nl, extractRows(nb, nl, chunk.k, prev, prevLen),
            extractRows(nb, nl, gates.prefix, prev, prevLen),
            extractRows(nb, nl, gates.residual, prev, prevLen), refHi, refLo,
            /*refMinusPrefix=*/true, extractRows(nb, nl, keys, prev, prevLen));
        keys = tensor::InsertSliceOp::create(
            nb, nl, newer, keys, ArrayRef<OpFoldResult>{prev, first},
            ArrayRef<OpFoldResult>{prevLen, nb.getIndexAttr(chunk.keyDim)},
            unit);
        Value kScaled = extractRows(nb, nl, keys, first, p);
        Value leftInit = buildZerosF32(nb, nl, {len, p});
        // One register tile of rows: B^T's gather happens once either way,
        // so a transposed copy would only add a pass.
        Value left = linalg::MatmulTransposeBOp::create(
                         nb, nl, TypeRange{leftInit.getType()},
                         ValueRange{qScaled, kScaled}, ValueRange{leftInit})
                         .getResult(0);
        scores = tensor::InsertSliceOp::create(
            nb, nl, left, scores,
            ArrayRef<OpFoldResult>{p, nb.getIndexAttr(0)},
            ArrayRef<OpFoldResult>{len, p}, unit);
        scf::YieldOp::create(nb, nl, ValueRange{scores, keys});
      });
  return loop.getResult(0);
}

/// The causal intra-chunk scores, without the scale:
///   A_ij = sum_k q_ik k_jk exp(b_ik - b_jk) for j <= i, else 0.   [L, L] f32
///
/// Vector decay: the exponent depends on k, so the decay does not factor
/// out of the sum; secondary chunking keeps the exponentials on the
/// diagonal sub-blocks and makes the rest matmuls (see there).
/// Other kinds: the decay factors out of the sum, so A is the plain
/// contraction q k^T (a linalg.matmul, tensor-core friendly) followed by an
/// elementwise generic applying exp(b_i - b_j) and the mask.
Value buildIntraChunkScores(OpBuilder &b, Location loc, const Chunk &chunk,
                            const CumulativeGates &gates) {
  MLIRContext *ctx = b.getContext();
  Value zeros = buildZerosF32(b, loc, {chunk.len, chunk.len});

  if (gates.kind == DecayKind::vector)
    return buildSubChunkedVectorDecayScores(b, loc, chunk, gates, zeros);

  Value scores = chunk.scores.transposeKeys
                     ? buildMatmulTransposedB(b, loc, chunk.q, chunk.k, zeros)
                     : linalg::MatmulTransposeBOp::create(
                           b, loc, TypeRange{zeros.getType()},
                           ValueRange{chunk.q, chunk.k}, ValueRange{zeros})
                           .getResult(0);
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  if (gates.kind == DecayKind::scalar) {
    inputs = {gates.prefix, gates.residual, gates.prefix, gates.residual};
    maps = {projection(ctx, 2, {0}), projection(ctx, 2, {0}),  // b_i
            projection(ctx, 2, {1}), projection(ctx, 2, {1})}; // b_j
  }
  DecayKind kind = gates.kind;
  Value g = gates.perToken;
  return buildElementwise2D(
      b, loc, inputs, maps, scores,
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value score = args.back();
        Value i = linalg::IndexOp::create(nb, nl, 0);
        Value j = linalg::IndexOp::create(nb, nl, 1);
        Value weighted = score;
        if (kind == DecayKind::scalar)
          weighted = arith::MulFOp::create(
              nb, nl, score,
              math::ExpOp::create(
                  nb, nl,
                  buildLogDecay(nb, nl, args[0], args[1], args[2], args[3])));
        else if (kind == DecayKind::fixed)
          weighted = arith::MulFOp::create(nb, nl, score,
                                           buildFixedDecay(nb, nl, g, i, j));
        Value causal =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ule, j, i);
        return arith::SelectOp::create(nb, nl, causal, weighted,
                                       f32Constant(nb, nl, 0.0));
      });
}

/// x_i * exp(b_i) * rowScale_i in f32 [L, K] for the chunk's rows x [L, K]:
/// the decay from the chunk start to token i, applied per key channel
/// (vector) or per row (scalar, fixed), times an optional per-row factor
/// `rowScale` [L] (the delta rule's beta). exp(b_i) <= 1.
Value buildDecayedFromChunkStart(OpBuilder &b, Location loc, const Chunk &chunk,
                                 const CumulativeGates &gates, Value x,
                                 Value rowScale = Value()) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  SmallVector<Value> inputs = {x};
  SmallVector<AffineMap> maps = {projection(ctx, 2, {0, 1})};
  int gateInput = -1, scaleInput = -1;
  if (gates.kind == DecayKind::vector || gates.kind == DecayKind::scalar) {
    gateInput = inputs.size();
    inputs.push_back(gates.prefix);
    maps.push_back(gates.kind == DecayKind::vector
                       ? projection(ctx, 2, {0, 1})  // b_ik
                       : projection(ctx, 2, {0}));   // b_i, a row scale
  }
  if (rowScale) {
    scaleInput = inputs.size();
    inputs.push_back(rowScale);
    maps.push_back(projection(ctx, 2, {0}));
  }
  DecayKind kind = gates.kind;
  Value g = gates.perToken;
  return buildElementwise2D(
      b, loc, inputs, maps, buildEmptyF32(b, loc, chunk.shape(b, chunk.keyDim)),
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value result = gate::convertFloat(nb, nl, args[0], f32);
        Value exponent;
        if (kind == DecayKind::fixed) {
          // b_i = (i + 1) g.
          Value i = linalg::IndexOp::create(nb, nl, 0);
          Value count = arith::AddFOp::create(nb, nl, indexToF32(nb, nl, i),
                                              f32Constant(nb, nl, 1.0));
          exponent = arith::MulFOp::create(nb, nl, count, g);
        } else if (gateInput >= 0) {
          exponent = args[gateInput];
        }
        if (exponent)
          result = arith::MulFOp::create(nb, nl, result,
                                         math::ExpOp::create(nb, nl, exponent));
        if (scaleInput >= 0)
          result = arith::MulFOp::create(
              nb, nl, result,
              gate::convertFloat(nb, nl, args[scaleInput], f32));
        return result;
      });
}

/// The chunk's output before scaling and rounding:
///   o_c = A v + (q * exp(b)) S                                    [L, V] f32
/// exp(b_i) <= 1 is the decay from the chunk start to token i, applied to the
/// query rather than to the state so that S stays shared by the whole chunk.
Value buildChunkOutput(OpBuilder &b, Location loc, const Chunk &chunk,
                       const CumulativeGates &gates, Value scores,
                       Value state) {
  Value decayedQ = chunk.q;
  if (gates.kind != DecayKind::none)
    decayedQ = buildDecayedFromChunkStart(b, loc, chunk, gates, chunk.q);

  Value out = buildZerosF32(b, loc, chunk.shape(b, chunk.valueDim));
  Value intra =
      linalg::MatmulOp::create(b, loc, TypeRange{out.getType()},
                               ValueRange{scores, chunk.v}, ValueRange{out})
          .getResult(0);
  return linalg::MatmulOp::create(b, loc, TypeRange{out.getType()},
                                  ValueRange{decayedQ, state},
                                  ValueRange{intra})
      .getResult(0);
}

//===----------------------------------------------------------------------===//
// The delta rule
//===----------------------------------------------------------------------===//

/// (I + A)^-1 for a strictly lower triangular A [L, L] f32, by forward
/// substitution one row at a time: row i of T = (I + A)^-1 is
///   T_i = e_i - sum_{m < i} A_im T_m,
/// which reads only the rows already final (T is unit lower triangular, so
/// row i needs columns [0, i) of rows [0, i)). L^3 / 6 multiply-adds, small
/// next to the chunk's matmuls for L <= K, V; every product then uses T
/// through matmuls, which a backend maps to its matrix units.
Value buildUnitLowerInverse(OpBuilder &b, Location loc, Value a, Value len) {
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> square = {len, len};
  Value identity = buildElementwise2D(
      b, loc, ValueRange{}, {}, buildEmptyF32(b, loc, square),
      [](OpBuilder &nb, Location nl, ValueRange) -> Value {
        Value i = linalg::IndexOp::create(nb, nl, 0);
        Value j = linalg::IndexOp::create(nb, nl, 1);
        Value diagonal =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, i, j);
        return arith::SelectOp::create(nb, nl, diagonal,
                                       f32Constant(nb, nl, 1.0),
                                       f32Constant(nb, nl, 0.0));
      });
  auto unit = SmallVector<OpFoldResult>(2, b.getIndexAttr(1));
  auto loop = scf::ForOp::create(
      b, loc, arith::ConstantIndexOp::create(b, loc, 1), len,
      arith::ConstantIndexOp::create(b, loc, 1), ValueRange{identity},
      [&](OpBuilder &nb, Location nl, Value i, ValueRange iterArgs) {
        Value inverse = iterArgs[0];
        OpFoldResult zero = nb.getIndexAttr(0), one = nb.getIndexAttr(1);
        auto rowType =
            RankedTensorType::get({ShapedType::kDynamic}, nb.getF32Type());
        // A[i, 0:i] as [i], and the finished block T[0:i, 0:i].
        Value aRow = tensor::ExtractSliceOp::create(
            nb, nl, rowType, a, ArrayRef<OpFoldResult>{i, zero},
            ArrayRef<OpFoldResult>{one, i}, unit);
        Value block = tensor::ExtractSliceOp::create(
            nb, nl,
            RankedTensorType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                                  nb.getF32Type()),
            inverse, ArrayRef<OpFoldResult>{zero, zero},
            ArrayRef<OpFoldResult>{i, i}, unit);
        // -sum_m a_m T_mj, accumulated from zero in a buffer of its own:
        // built in T's row i, the row would share T's buffer with the block
        // it reads, and bufferization (which cannot tell the two apart)
        // would copy the whole block for every row, L^3 / 3 copies a chunk.
        Value rowInit = bufferization::AllocTensorOp::create(nb, nl, rowType,
                                                             ValueRange{i});
        Value row = buildGeneric(
            nb, nl, ValueRange{aRow, block},
            linalg::FillOp::create(nb, nl, ValueRange{f32Constant(nb, nl, 0.0)},
                                   ValueRange{rowInit})
                .getResult(0),
            {projection(ctx, 2, {0}), projection(ctx, 2, {0, 1}),
             projection(ctx, 2, {1})},
            {utils::IteratorType::reduction, utils::IteratorType::parallel},
            [](OpBuilder &bb, Location bl, ValueRange args) -> Value {
              return arith::SubFOp::create(
                  bb, bl, args[2],
                  arith::MulFOp::create(bb, bl, args[0], args[1]));
            });
        Value updated = tensor::InsertSliceOp::create(
            nb, nl, row, inverse, ArrayRef<OpFoldResult>{i, zero},
            ArrayRef<OpFoldResult>{one, i}, unit);
        scf::YieldOp::create(nb, nl, ValueRange{updated});
      });
  return loop.getResult(0);
}

/// The delta rule's values for the chunk: U [L, V] f32 such that the
/// chunk's states and outputs are those of the plain (additive) chunk form
/// with U in place of v. With S the state at the chunk start and b the
/// cumulative log gates, token i's update is
///   u_i = beta_i (v_i - k_i S'_i),  S'_i = exp(b_i) S + sum_{m<i} exp(b_i - b_m) k_m^T u_m,
/// so (I + A) U = beta * V - (beta * exp(b) * K) S with the strictly lower
///   A_im = beta_i sum_c k_ic k_mc exp(b_ic - b_mc)   (m < i),
/// the keys' own causal scores (the DeltaNet/Gated DeltaNet chunk form,
/// Yang et al. 2024). With T = (I + A)^-1:
///   U = T (beta * V) - W S,   W = T (beta * exp(b) * K).
/// Every exponent is a decay to a later token, <= 0, as elsewhere.
Value buildDeltaValues(OpBuilder &b, Location loc, const Chunk &chunk,
                       const CumulativeGates &gates, Value state,
                       bool exactProducts) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  Chunk keys = chunk;
  keys.q = chunk.k;
  Value keyScores = buildIntraChunkScores(b, loc, keys, gates);
  // Strictly below the diagonal, times beta_i.
  Value a = buildElementwise2D(
      b, loc, ValueRange{chunk.beta}, {projection(ctx, 2, {0})}, keyScores,
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value i = linalg::IndexOp::create(nb, nl, 0);
        Value j = linalg::IndexOp::create(nb, nl, 1);
        Value below =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, j, i);
        Value weighted = arith::MulFOp::create(
            nb, nl, args[1], gate::convertFloat(nb, nl, args[0], f32));
        return arith::SelectOp::create(nb, nl, below, weighted,
                                       f32Constant(nb, nl, 0.0));
      });
  Value inverse = buildUnitLowerInverse(b, loc, a, chunk.len);

  // -beta_i exp(b_i) k_i, so that one accumulating matmul subtracts W S.
  Value negBeta = buildGeneric(
      b, loc, ValueRange{chunk.beta}, buildEmptyF32(b, loc, {chunk.len}),
      {b.getMultiDimIdentityMap(1), b.getMultiDimIdentityMap(1)},
      {utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        return arith::NegFOp::create(nb, nl,
                                     gate::convertFloat(nb, nl, args[0], f32));
      });
  Value keyRows =
      buildDecayedFromChunkStart(b, loc, chunk, gates, chunk.k, negBeta);
  Value valueRows = buildElementwise2D(
      b, loc, ValueRange{chunk.v, chunk.beta},
      {projection(ctx, 2, {0, 1}), projection(ctx, 2, {0})},
      buildEmptyF32(b, loc, chunk.shape(b, chunk.valueDim)),
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        return arith::MulFOp::create(nb, nl,
                                     gate::convertFloat(nb, nl, args[0], f32),
                                     gate::convertFloat(nb, nl, args[1], f32));
      });

  Value negW =
      linalg::MatmulOp::create(
          b, loc, TypeRange{keyRows.getType()}, ValueRange{inverse, keyRows},
          ValueRange{buildZerosF32(b, loc, chunk.shape(b, chunk.keyDim))})
          .getResult(0);
  Value values =
      linalg::MatmulOp::create(
          b, loc, TypeRange{valueRows.getType()},
          ValueRange{inverse, valueRows},
          ValueRange{buildZerosF32(b, loc, chunk.shape(b, chunk.valueDim))})
          .getResult(0);
  auto update = linalg::MatmulOp::create(b, loc, TypeRange{values.getType()},
                                         ValueRange{negW, state},
                                         ValueRange{values});
  // U feeds the state: with bf16 matrix units and a final state, these
  // three products split their f32 operands like the state update does.
  if (exactProducts)
    for (Value product : {negW, values, update.getResult(0)})
      product.getDefiningOp()->setAttr(kSplitMultiplicandsAttrName,
                                       b.getUnitAttr());
  return update.getResult(0);
}

/// scale * o_c, rounded once to the output element type and written into
/// `dest`, the chunk's rows of the output (destination-passing style, so that
/// bufferization writes o in place).
Value buildRoundedOutput(OpBuilder &b, Location loc, Value output, double scale,
                         Value dest) {
  MLIRContext *ctx = b.getContext();
  Type elementType = cast<ShapedType>(dest.getType()).getElementType();
  return buildElementwise2D(
      b, loc, ValueRange{output}, {projection(ctx, 2, {0, 1})}, dest,
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value scaled =
            arith::MulFOp::create(nb, nl, args[0], f32Constant(nb, nl, scale));
        return gate::convertFloat(nb, nl, scaled, elementType);
      });
}

/// decayedState + decayedK^T v: the chunk's contribution to the state, a
/// contraction over the chunk's tokens.
Value buildStateContraction(OpBuilder &b, Location loc, Value decayedK, Value v,
                            Value decayedState) {
  return linalg::MatmulTransposeAOp::create(
             b, loc, TypeRange{decayedState.getType()}, ValueRange{decayedK, v},
             ValueRange{decayedState})
      .getResult(0);
}

/// The state after the chunk:
///   S' = Diag(exp(b_last)) S + (k * exp(b_last - b))^T v          [K, V] f32
/// exp(b_last - b_j) <= 1 decays token j's contribution to the chunk end.
Value buildStateUpdate(OpBuilder &b, Location loc, const Chunk &chunk,
                       const CumulativeGates &gates, Value state) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  int64_t keyDim = chunk.keyDim;
  Value decayedK = chunk.k;
  Value decayedState = state;
  if (gates.kind == DecayKind::none)
    return buildStateContraction(b, loc, decayedK, chunk.v, decayedState);

  Value last = arith::SubIOp::create(b, loc, chunk.len,
                                     arith::ConstantIndexOp::create(b, loc, 1));
  Value keyInit = buildEmptyF32(b, loc, chunk.shape(b, keyDim));
  switch (gates.kind) {
  case DecayKind::none:
    llvm_unreachable("handled above");
  case DecayKind::vector: {
    // b_last: row L - 1 of b, [K].
    Value lastHi = extractRow(b, loc, gates.prefix, last);
    Value lastLo = extractRow(b, loc, gates.residual, last);
    AffineMap rows = projection(ctx, 2, {0, 1}), row = projection(ctx, 2, {1});
    decayedK = buildElementwise2D(
        b, loc,
        ValueRange{chunk.k, gates.prefix, gates.residual, lastHi, lastLo},
        {rows, rows, rows, row, row}, keyInit,
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value decay = math::ExpOp::create(
              nb, nl,
              buildLogDecay(nb, nl, args[3], args[4], args[1], args[2]));
          return arith::MulFOp::create(
              nb, nl, gate::convertFloat(nb, nl, args[0], f32), decay);
        });
    // exp(b_last) once per key channel, not once per state element.
    AffineMap id = b.getMultiDimIdentityMap(1);
    Value channelDecay =
        buildGeneric(b, loc, ValueRange{lastHi},
                     buildEmptyF32(b, loc, {b.getIndexAttr(keyDim)}), {id, id},
                     {utils::IteratorType::parallel},
                     [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                       return math::ExpOp::create(nb, nl, args[0]);
                     });
    decayedState = buildElementwise2D(
        b, loc, ValueRange{channelDecay}, {projection(ctx, 2, {0})}, state,
        [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          return arith::MulFOp::create(nb, nl, args[1], args[0]);
        });
    break;
  }
  case DecayKind::scalar:
  case DecayKind::fixed: {
    // The decay from token j to the chunk end, and from the chunk start to
    // its end (one scalar for the whole state).
    bool scalar = gates.kind == DecayKind::scalar;
    Value g = gates.perToken;
    Value lastHi, lastLo, chunkDecay;
    if (scalar) {
      lastHi = tensor::ExtractOp::create(b, loc, gates.prefix, last);
      lastLo = tensor::ExtractOp::create(b, loc, gates.residual, last);
      chunkDecay = math::ExpOp::create(b, loc, lastHi);
    } else {
      chunkDecay = math::ExpOp::create(
          b, loc,
          arith::MulFOp::create(b, loc, indexToF32(b, loc, chunk.len), g));
    }
    SmallVector<Value> inputs = {chunk.k};
    SmallVector<AffineMap> maps = {projection(ctx, 2, {0, 1})};
    if (scalar) {
      inputs.append({gates.prefix, gates.residual});
      maps.append(2, projection(ctx, 2, {0})); // b_j
    }
    decayedK = buildElementwise2D(
        b, loc, inputs, maps, keyInit,
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value decay =
              scalar ? math::ExpOp::create(nb, nl,
                                           buildLogDecay(nb, nl, lastHi, lastLo,
                                                         args[1], args[2]))
                           .getResult()
                     : buildFixedDecay(nb, nl, g, last,
                                       linalg::IndexOp::create(nb, nl, 0));
          return arith::MulFOp::create(
              nb, nl, gate::convertFloat(nb, nl, args[0], f32), decay);
        });
    decayedState = buildElementwise2D(
        b, loc, ValueRange{}, {}, state,
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          return arith::MulFOp::create(nb, nl, args[0], chunkDecay);
        });
    break;
  }
  }

  return buildStateContraction(b, loc, decayedK, chunk.v, decayedState);
}

//===----------------------------------------------------------------------===//
// The pattern
//===----------------------------------------------------------------------===//

/// What every (sequence, head) pair of the scan shares.
struct ScanOperands {
  Value q, k, v;
  Value decay; // null for decay kind none
  Value beta;  // the delta rule's learning rates, else null
  DecayKind kind;
  int64_t chunkSize, keyDim, valueDim;
  /// G: value head h reads query/key head h / G.
  int64_t valueHeadsPerKeyHead;
  /// Whether the products that feed the state (the state update, and the
  /// delta rule's values) keep f32-grade multiplicands when the chunk
  /// products run on bf16 matrix units: the final state is an f32 output.
  bool exactStateProducts = false;
  double scale;
  gatec::ScoreDecomposition scores;
};

/// The tokens of one (sequence, head) pair: rows [begin, begin + len) of batch
/// entry `batch`, head `head`.
struct SequenceSlice {
  OpFoldResult batch, begin, len;
  /// The value head (of v, the decay, beta, o and the states), and the
  /// query/key head it reads.
  Value head;
  OpFoldResult keyHead;
  /// fixed decay: the head's clamped f32 log gate, read once for all chunks.
  Value fixedGate;
  /// With a state pool: the sequence's row of the pool.
  gatec::PoolSlot pool;
};

/// The tokens of sequence `n`: the whole batch entry n, or with cu_seqlens
/// the offsets [cu[n], cu[n+1]) of batch entry 0, clamped into the tokens
/// (buildClampedSequenceBounds).
SequenceSlice buildSequenceSlice(OpBuilder &b, Location loc,
                                 const ScanOperands &scan, Value cuSeqlens,
                                 OpFoldResult numTokens, Value n, Value h) {
  SequenceSlice seq;
  seq.batch = n;
  seq.begin = b.getIndexAttr(0);
  seq.len = numTokens;
  seq.head = h;
  seq.keyHead = h;
  if (scan.valueHeadsPerKeyHead != 1)
    seq.keyHead = affine::makeComposedFoldedAffineApply(
        b, loc,
        getAffineDimExpr(0, b.getContext())
            .floorDiv(scan.valueHeadsPerKeyHead),
        {h});
  if (cuSeqlens) {
    auto [begin, end] = gatec::buildClampedSequenceBounds(
        b, loc, cuSeqlens, indexValue(b, loc, numTokens), n);
    seq.batch = b.getIndexAttr(0);
    seq.begin = begin;
    seq.len = arith::SubIOp::create(b, loc, end, begin).getResult();
  }
  if (scan.kind == DecayKind::fixed)
    seq.fixedGate = clampLogGate(
        b, loc, tensor::ExtractOp::create(b, loc, scan.decay, ValueRange{h}));
  return seq;
}

/// The f32 state [K, V] of pair (n, h) before its first token, written into
/// `dest`: a copy of initial_state[n, h] (an input, never written in place),
/// or zeros.
Value buildStartState(OpBuilder &b, Location loc, Value initialState,
                      ArrayRef<OpFoldResult> offsets,
                      ArrayRef<OpFoldResult> sizes, Value dest) {
  if (!initialState)
    return linalg::FillOp::create(b, loc, ValueRange{f32Constant(b, loc, 0.0)},
                                  ValueRange{dest})
        .getResult(0);
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  Value slice = tensor::ExtractSliceOp::create(
      b, loc, cast<RankedTensorType>(dest.getType()), initialState, offsets,
      sizes, strides);
  return linalg::CopyOp::create(b, loc, slice, dest).getResult(0);
}

/// Slices chunk [t, t + L) of a sequence, L = min(C, len - t): the last chunk
/// may be partial.
Chunk extractChunk(OpBuilder &b, Location loc, const ScanOperands &scan,
                   const SequenceSlice &seq, Value t) {
  MLIRContext *ctx = b.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);
  // affine.min rather than arith.minsi: value-bounds analysis sees L <= C, so
  // a backend can pad or tile the chunk to static sizes.
  AffineMap lenMap = AffineMap::get(
      2, 0, {getAffineConstantExpr(scan.chunkSize, ctx), d0 - d1}, ctx);
  Value seqLen = indexValue(b, loc, seq.len);
  Chunk chunk;
  chunk.len =
      affine::AffineMinOp::create(b, loc, lenMap, ValueRange{seqLen, t});
  chunk.keyDim = scan.keyDim;
  chunk.valueDim = scan.valueDim;
  chunk.scores = scan.scores;
  OpFoldResult start =
      affine::makeComposedFoldedAffineApply(b, loc, d0 + d1, {seq.begin, t});
  auto rows = [&](Value source, OpFoldResult head) {
    return extractHeadRows(b, loc, source, seq.batch, start, chunk.len, head);
  };
  chunk.q = rows(scan.q, seq.keyHead);
  chunk.k = rows(scan.k, seq.keyHead);
  chunk.v = rows(scan.v, seq.head);
  if (scan.kind == DecayKind::vector || scan.kind == DecayKind::scalar)
    chunk.gates = rows(scan.decay, seq.head);
  else if (scan.kind == DecayKind::fixed)
    chunk.gates = seq.fixedGate;
  if (scan.beta)
    chunk.beta = rows(scan.beta, seq.head);
  return chunk;
}

/// One step of the chunk loop: computes the chunk at token offset `t` of the
/// sequence, writes its output rows into `oSeq` (the sequence's rows of o) and
/// returns {the state after the chunk, the updated oSeq}.
std::pair<Value, Value> buildChunkStep(OpBuilder &b, Location loc,
                                       const ScanOperands &scan,
                                       const SequenceSlice &seq, Value t,
                                       Value state, Value oSeq) {
  Chunk chunk = extractChunk(b, loc, scan, seq, t);
  CumulativeGates gates = buildCumulativeGates(b, loc, scan.kind, chunk);
  if (chunk.beta)
    chunk.v = buildDeltaValues(b, loc, chunk, gates, state,
                               scan.exactStateProducts);
  Value scores = buildIntraChunkScores(b, loc, chunk, gates);
  Value output = buildChunkOutput(b, loc, chunk, gates, scores, state);

  SmallVector<OpFoldResult> offsets = {t, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {chunk.len, b.getIndexAttr(scan.valueDim)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  auto rowsType =
      RankedTensorType::get({ShapedType::kDynamic, scan.valueDim},
                            cast<ShapedType>(oSeq.getType()).getElementType());
  Value oRows = tensor::ExtractSliceOp::create(b, loc, rowsType, oSeq, offsets,
                                               sizes, strides);
  Value rounded = buildRoundedOutput(b, loc, output, scan.scale, oRows);
  Value oUpdated = tensor::InsertSliceOp::create(b, loc, rounded, oSeq, offsets,
                                                 sizes, strides);
  return {buildStateUpdate(b, loc, chunk, gates, state), oUpdated};
}

/// With a state pool: sequence n's row is slots[n]. A slot outside [0, P)
/// skips the sequence: it reads and writes no row and runs no chunk (length
/// 0), so its outputs keep their initial 0 and no other sequence's row is
/// touched.
void restrictToPoolSlot(OpBuilder &b, Location loc, Value slots, Value pool,
                        Value n, SequenceSlice &seq) {
  seq.pool = gatec::buildPoolSlot(b, loc, slots, pool, n);
  seq.len = gatec::lengthInPool(b, loc, seq.pool, seq.len);
}

struct ChunkedScanLowering : OpConversionPattern<ChunkedScanOp> {
  ChunkedScanLowering(MLIRContext *ctx, const gatec::ScoreDecomposition &scores)
      : OpConversionPattern(ctx), scores(scores) {}
  gatec::ScoreDecomposition scores;

  LogicalResult
  matchAndRewrite(ChunkedScanOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType oType = op.getO().getType();
    ScanOperands scan;
    scan.q = adaptor.getQ();
    scan.k = adaptor.getK();
    scan.v = adaptor.getV();
    scan.decay = adaptor.getDecay();
    scan.beta = adaptor.getBeta();
    scan.kind = op.getDecayKind();
    scan.valueHeadsPerKeyHead = op.getValueHeadsPerKeyHead();
    scan.chunkSize = op.getChunkSize();
    scan.keyDim = op.getQ().getType().getDimSize(3);
    scan.valueDim = oType.getDimSize(3);
    scan.scale = op.getEffectiveScale();
    scan.scores = scores;
    Value cuSeqlens = adaptor.getCuSeqlens();
    Value slots = adaptor.getStateSlots();
    bool hasFinalState = static_cast<bool>(op.getFinalState());
    TypedValue<RankedTensorType> history = op.getChunkStates();
    Type inputType = getElementTypeOrSelf(scan.q);
    scan.exactStateProducts = inputType.isBF16() && (hasFinalState || history);

    // Problem sizes; B, T, H and N may be dynamic, K and V are static.
    OpFoldResult batchSize = tensor::getMixedSize(rewriter, loc, scan.q, 0);
    OpFoldResult numTokens = tensor::getMixedSize(rewriter, loc, scan.q, 1);
    // The pairs run over value heads (HV; H when ungrouped).
    OpFoldResult numHeads = tensor::getMixedSize(rewriter, loc, scan.v, 2);
    OpFoldResult numSequences = batchSize;
    if (cuSeqlens) // N = len(cu_seqlens) - 1
      numSequences = affine::makeComposedFoldedAffineApply(
          rewriter, loc, getAffineDimExpr(0, getContext()) - 1,
          {tensor::getMixedSize(rewriter, loc, cuSeqlens, 0)});
    OpFoldResult keyDim = rewriter.getIndexAttr(scan.keyDim);
    OpFoldResult valueDim = rewriter.getIndexAttr(scan.valueDim);

    // With cu_seqlens, tokens past the last offset belong to no sequence and
    // their output is defined as 0, as are the outputs of a sequence whose
    // pool slot is skipped; otherwise every token is written.
    Value oInit = buildEmptyOfType(rewriter, loc, oType,
                                   {batchSize, numTokens, numHeads, valueDim});
    if (cuSeqlens || slots) {
      Type elementType = oType.getElementType();
      Value zero = arith::ConstantOp::create(
          rewriter, loc, elementType, rewriter.getFloatAttr(elementType, 0.0));
      oInit = linalg::FillOp::create(rewriter, loc, ValueRange{zero},
                                     ValueRange{oInit})
                  .getResult(0);
    }
    SmallVector<Value> sharedOuts = {oInit};
    // With a pool, the updated pool starts as the pool itself: each pair
    // rewrites its own row, so a writable pool is updated in place.
    if (slots)
      sharedOuts.push_back(adaptor.getInitialState());
    else if (hasFinalState)
      sharedOuts.push_back(
          buildEmptyOfType(rewriter, loc, op.getFinalState().getType(),
                           {numSequences, numHeads, keyDim, valueDim}));
    // The states after each chunk: [B, ceil(T / C), HV, K, V]; rows of no
    // sequence are 0, as o's tokens are.
    if (history) {
      OpFoldResult rows = affine::makeComposedFoldedAffineApply(
          rewriter, loc,
          getAffineDimExpr(0, getContext()).ceilDiv(scan.chunkSize),
          {numTokens});
      Value historyInit =
          buildEmptyOfType(rewriter, loc, history.getType(),
                           {batchSize, rows, numHeads, keyDim, valueDim});
      if (cuSeqlens || slots)
        historyInit =
            linalg::FillOp::create(rewriter, loc,
                                   ValueRange{f32Constant(rewriter, loc, 0.0)},
                                   ValueRange{historyInit})
                .getResult(0);
      sharedOuts.push_back(historyInit);
    }

    // Every (sequence, head) pair is independent.
    auto forall = scf::ForallOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{numSequences, numHeads},
        sharedOuts, std::nullopt);
    forall->setAttr(kChunkedScanLoopAttrName, rewriter.getUnitAttr());
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(forall.getBody());
    Value n = forall.getInductionVars()[0];
    Value h = forall.getInductionVars()[1];
    Value oShared = forall.getRegionOutArgs()[0];
    SequenceSlice seq =
        buildSequenceSlice(rewriter, loc, scan, cuSeqlens, numTokens, n, h);
    if (slots)
      restrictToPoolSlot(rewriter, loc, slots, adaptor.getInitialState(), n,
                         seq);

    // The state lives in this pair's slice of final_state when there is one,
    // so the chunk loop updates it in place.
    OpFoldResult zeroIndex = rewriter.getIndexAttr(0),
                 oneIndex = rewriter.getIndexAttr(1);
    SmallVector<OpFoldResult> stateOffsets = {n, h, zeroIndex, zeroIndex};
    SmallVector<OpFoldResult> stateSizes = {oneIndex, oneIndex, keyDim,
                                            valueDim};
    SmallVector<OpFoldResult> unitStrides(4, oneIndex);
    auto stateType = RankedTensorType::get({scan.keyDim, scan.valueDim},
                                           rewriter.getF32Type());
    Value stateInit;
    // A pair's part of a pool row: head h, [K, V].
    SmallVector<OpFoldResult> poolOffsets = {h, zeroIndex, zeroIndex};
    SmallVector<OpFoldResult> poolSizes = {oneIndex, keyDim, valueDim};
    if (slots) {
      // A bf16 pool's row is widened as it is read (a skipped sequence's
      // state is never read).
      stateInit =
          gatec::readPoolRow(rewriter, loc, forall.getRegionOutArgs()[1],
                             seq.pool, poolOffsets, poolSizes, stateType,
                             /*zeroSkipped=*/false);
    } else {
      Value stateDest =
          hasFinalState
            ? tensor::ExtractSliceOp::create(
                  rewriter, loc, stateType, forall.getRegionOutArgs()[1],
                  stateOffsets, stateSizes, unitStrides)
                  .getResult()
            : tensor::EmptyOp::create(rewriter, loc, stateType.getShape(),
                                      stateType.getElementType())
                  .getResult();
      stateInit = buildStartState(rewriter, loc, adaptor.getInitialState(),
                                  stateOffsets, stateSizes, stateDest);
    }
    Value oSeq = extractHeadRows(rewriter, loc, oShared, seq.batch, seq.begin,
                                 seq.len, h);
    SmallVector<Value> loopInits = {stateInit, oSeq};

    // The pair's rows of chunk_states, [R, K, V]: R = ceil(len / C) rows from
    // row begin / C (with cu_seqlens C = 1, so begin / C is exact).
    AffineExpr d0 = getAffineDimExpr(0, getContext());
    OpFoldResult historyBegin, historyRows;
    SmallVector<OpFoldResult> historyOffsets, historySizes;
    SmallVector<OpFoldResult> historyStrides(5, oneIndex);
    RankedTensorType historyRowsType;
    if (history) {
      historyBegin = affine::makeComposedFoldedAffineApply(
          rewriter, loc, d0.floorDiv(scan.chunkSize), {seq.begin});
      historyRows = affine::makeComposedFoldedAffineApply(
          rewriter, loc, d0.ceilDiv(scan.chunkSize), {seq.len});
      historyOffsets = {seq.batch, historyBegin, h, zeroIndex, zeroIndex};
      historySizes = {oneIndex, historyRows, oneIndex, keyDim, valueDim};
      historyRowsType = RankedTensorType::get(
          {staticSize(historyRows), scan.keyDim, scan.valueDim},
          rewriter.getF32Type());
      loopInits.push_back(tensor::ExtractSliceOp::create(
          rewriter, loc, historyRowsType, forall.getRegionOutArgs().back(),
          historyOffsets, historySizes, historyStrides));
    }

    // The chunks of the sequence, in order: the state carries across them.
    auto chunkLoop = scf::ForOp::create(
        rewriter, loc, arith::ConstantIndexOp::create(rewriter, loc, 0),
        indexValue(rewriter, loc, seq.len),
        arith::ConstantIndexOp::create(rewriter, loc, scan.chunkSize),
        loopInits, [&](OpBuilder &b, Location l, Value t, ValueRange iterArgs) {
          auto [state, oUpdated] =
              buildChunkStep(b, l, scan, seq, t, iterArgs[0], iterArgs[1]);
          SmallVector<Value> yielded = {state, oUpdated};
          if (history) {
            // Row t / C of the pair's states: the state after this chunk.
            OpFoldResult row = affine::makeComposedFoldedAffineApply(
                b, l,
                getAffineDimExpr(0, b.getContext()).floorDiv(scan.chunkSize),
                {t});
            yielded.push_back(tensor::InsertSliceOp::create(
                b, l, state, iterArgs[2],
                ArrayRef<OpFoldResult>{row, zeroIndex, zeroIndex},
                ArrayRef<OpFoldResult>{oneIndex, keyDim, valueDim},
                SmallVector<OpFoldResult>(3, oneIndex)));
          }
          scf::YieldOp::create(b, l, yielded);
        });

    // With bf16 inputs the chunk products may run on bf16 matrix units:
    // their operands (q, k, v, the decay-rescaled q and k, the scores A, and
    // the state S for q S) are then rounded to bf16, every sum stays f32 and
    // S itself stays f32 across chunks. This is FLA's chunked GLA (A and S
    // cast to the input type for A v and q S); the error it adds is of the
    // order of the bf16 rounding of the output. The diagonal sub-blocks of
    // a vector decay are elementwise generics, not matmuls, so they stay f32
    // (the paper's secondary chunking). Not f16: scores and states are not
    // bounded by f16's range (65504), where bf16 has f32's.
    // A final state is an f32 output the user reads: its contraction
    // splits the decayed keys into a bf16 high and low part instead
    // (f32-grade products, twice the work).
    if (inputType.isBF16()) {
      chunkLoop.getBody()->walk([&](linalg::MatmulOp matmul) {
        matmul->setAttr(kMultiplicandTypeAttrName, TypeAttr::get(inputType));
      });
      Value nextState = chunkLoop.getBody()->getTerminator()->getOperand(0);
      if (auto update = nextState.getDefiningOp<linalg::MatmulOp>();
          update && hasFinalState)
        update->setAttr(kSplitMultiplicandsAttrName, rewriter.getUnitAttr());
    }

    // Without cu_seqlens every element of o is some chunk's row: ops after
    // the scan may then take o a chunk of rows at a time.
    if (!cuSeqlens) {
      auto oRowsInsert = chunkLoop.getBody()
                             ->getTerminator()
                             ->getOperand(1)
                             .getDefiningOp<tensor::InsertSliceOp>();
      oRowsInsert.getSource().getDefiningOp()->setAttr(
          kScanOutputRowsAttrName, rewriter.getUnitAttr());
    }

    // Each pair writes its own tokens of o and its own final state.
    Value poolRows;
    if (slots) {
      rewriter.setInsertionPoint(forall.getTerminator());
      poolRows = gatec::poolRowsOf(
          rewriter, loc, chunkLoop.getResult(0), seq.pool, poolSizes,
          getElementTypeOrSelf(adaptor.getInitialState()));
    }
    rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(
        rewriter, loc, chunkLoop.getResult(1), oShared,
        ArrayRef<OpFoldResult>{seq.batch, seq.begin, h, zeroIndex},
        ArrayRef<OpFoldResult>{oneIndex, seq.len, oneIndex, valueDim},
        unitStrides);
    if (slots)
      gatec::writePoolRows(rewriter, loc, poolRows,
                           forall.getRegionOutArgs()[1], seq.pool, poolOffsets,
                           poolSizes);
    else if (hasFinalState)
      tensor::ParallelInsertSliceOp::create(
          rewriter, loc, chunkLoop.getResult(0), forall.getRegionOutArgs()[1],
          stateOffsets, stateSizes, unitStrides);
    if (history)
      tensor::ParallelInsertSliceOp::create(
          rewriter, loc, chunkLoop.getResult(2),
          forall.getRegionOutArgs().back(), historyOffsets, historySizes,
          historyStrides);

    rewriter.replaceOp(op, forall.getResults());
    return success();
  }
};

} // namespace

void gatec::populateChunkedScanToLinalgConversionPatterns(
    RewritePatternSet &patterns, const ScoreDecomposition &scores) {
  patterns.add<ChunkedScanLowering>(patterns.getContext(), scores);
}
