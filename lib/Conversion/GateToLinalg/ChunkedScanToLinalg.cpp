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
// The pieces live beside this file (ScanLowering.h): the cumulative log
// gates and their numerics (ScanGates.cpp), the intra-chunk scores
// (ScanScores.cpp), the delta rule (ScanDeltaRule.cpp), and a chunk's output
// and state update (ScanChunkUpdate.cpp). This file holds the pattern: the
// (sequence, head) pairs, their tokens and pool rows, and the chunk loop.
//
//===----------------------------------------------------------------------===//

#include "gatec/Conversion/GateToLinalg/GateToLinalg.h"

#include "Conversion/GateToLinalg/ScanLowering.h"
#include "Conversion/GateToLinalg/SequenceBounds.h"
#include "gatec/Dialect/Gate/GateOps.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::gate;
using namespace gatec::scan;
using gatec::indexValue;

namespace {

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
        getAffineDimExpr(0, b.getContext()).floorDiv(scan.valueHeadsPerKeyHead),
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
    chunk.v =
        buildDeltaValues(b, loc, chunk, gates, state, scan.exactStateProducts);
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
      oRowsInsert.getSource().getDefiningOp()->setAttr(kScanOutputRowsAttrName,
                                                       rewriter.getUnitAttr());
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
