//===- ScanScores.cpp - Intra-chunk scores of the scan lowering -----------===//
//
// Part of gatec. The causal scores A = q k^T of a gate.chunked_scan chunk,
// decayed: a matmul and an elementwise decay for scalar, fixed and no decay;
// for vector decay, secondary chunking (direct diagonal sub-blocks, matmuls
// of rescaled operands left of them).
//
//===----------------------------------------------------------------------===//

#include "Conversion/GateToLinalg/ScanLowering.h"

#include "gatec/Dialect/Gate/GateMath.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::gate;

namespace gatec::scan {

/// transposed copy of b, added into `init` [M, N]. Vectorizing a^T b's N
/// loop directly would gather b's column elements one by one (rows of b are
/// token rows of a [B, T, H, K] input, K x H elements apart), once per
/// register tile of M; transposing the chunk once makes them contiguous.
static Value buildMatmulTransposedB(OpBuilder &b, Location loc, Value lhs,
                                    Value rhs, Value init) {
  auto rhsType = cast<RankedTensorType>(rhs.getType());
  SmallVector<OpFoldResult> transposedSizes = {
      b.getIndexAttr(rhsType.getDimSize(1)),
      tensor::getMixedSize(b, loc, rhs, 0)};
  Value transposedInit = tensor::EmptyOp::create(b, loc, transposedSizes,
                                                 rhsType.getElementType());
  Value transposed = linalg::TransposeOp::create(b, loc, rhs, transposedInit,
                                                 ArrayRef<int64_t>{1, 0})
                         .getResult()[0];
  return linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                  ValueRange{lhs, transposed}, ValueRange{init})
      .getResult(0);
}

/// Vector decay, direct form: one 3-loop generic (i, j parallel; k
/// reduction) with an exponential per term and the causal mask from
/// linalg.index, written into `init` [L, L]:
///   init_ij + sum_k q_ik k_jk exp(b_ik - b_jk)   for j <= i, else init_ij.
/// Used on the diagonal sub-blocks, where q and k rows are the same tokens;
/// `hi`, `lo` [L, K] are their compensated prefix sums.
static Value buildDirectVectorDecayScores(OpBuilder &b, Location loc, Value q,
                                          Value k, Value hi, Value lo,
                                          Value init) {
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
static Value buildRelativeDecay(OpBuilder &b, Location loc, Value x, Value hi,
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
static Value buildSubChunkedVectorDecayScores(OpBuilder &b, Location loc,
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
            AffineMap::get(1, 0, {getAffineConstantExpr(0, ctx), d0 - 1}, ctx),
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
            nb, nl, left, scores, ArrayRef<OpFoldResult>{p, nb.getIndexAttr(0)},
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

} // namespace gatec::scan
