//===- RouterToLinalg.cpp - Lower gate.router and gate.dispatch -----------===//
//
// Part of gatec. Routers become an scf.forall over groups of tokens whose
// body works on each token's row of logits with linalg ops over the experts
// (and an scf.forall over the tokens left over); the capacity rule and
// gate.dispatch are counting problems across tokens: a stable counting sort
// of the (token, slot) pairs by expert in three parallel passes over chunks
// of pairs (RouterCounting.cpp).
//
// The pieces live beside this file (RouterLowering.h): a token's scores
// (RouterScoring.cpp), its selection keys and top-k (RouterTopK.cpp), the
// counting sorts and dispatch metadata (RouterCounting.cpp) and the capacity
// rule (RouterCapacity.cpp). This file holds the patterns.
//
//===----------------------------------------------------------------------===//

#include "gatec/Conversion/GateToLinalg/GateToLinalg.h"

#include "Conversion/GateToLinalg/RouterLowering.h"
#include "gatec/Dialect/Gate/GateOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <algorithm>
#include <tuple>

using namespace mlir;
using namespace mlir::gate;
using namespace gatec::router;

namespace {

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// An scf.forall of `count` iterations, iteration i routing the `rows`
/// consecutive tokens from `first + i * rows` (scores, optional group mask,
/// top-k, weight epilogue per token) into slices of `weightsInit` and
/// `expertsInit` ([T, k]); returns the forall's (weights, experts).
static std::pair<Value, Value>
buildRoutingLoop(OpBuilder &b, Location loc, RouterOp op, Value logits,
                 Value bias, Value count, Value first, int64_t rows,
                 Value weightsInit, Value expertsInit) {
  auto logitsType = cast<RankedTensorType>(logits.getType());
  int64_t numExperts = logitsType.getDimSize(1), k = op.getK();
  int64_t nGroup = op.getNGroup(), topkGroup = op.getTopkGroup();
  bool renormalize = op.getRenormalize();
  float scale = op.getRoutedScalingFactor().convertToFloat();
  auto forall =
      scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{count},
                            ValueRange{weightsInit, expertsInit}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  Value iv = forall.getInductionVar(0);
  Value sharedWeights = forall.getRegionIterArgs()[0];
  Value sharedExperts = forall.getRegionIterArgs()[1];
  SmallVector<OpFoldResult> unitStrides(2, b.getIndexAttr(1));
  SmallVector<OpFoldResult> rowSizes = {b.getIndexAttr(1),
                                        b.getIndexAttr(numExperts)};
  SmallVector<OpFoldResult> outSizes = {b.getIndexAttr(1), b.getIndexAttr(k)};
  auto rowType =
      RankedTensorType::get({numExperts}, logitsType.getElementType());
  bool hasEpilogue = renormalize || scale != 1.0f;

  Value firstOfGroup = iv;
  if (rows > 1)
    firstOfGroup = arith::MulIOp::create(b, loc, iv, constIndex(b, loc, rows));
  if (!isConstantIntValue(first, 0))
    firstOfGroup = arith::AddIOp::create(b, loc, firstOfGroup, first);
  SmallVector<SmallVector<OpFoldResult>> offsets;
  SmallVector<Value> keys, scores, weightsRows, rawWeights, expertsRows;
  for (int64_t r = 0; r < rows; ++r) {
    Value token = r == 0 ? firstOfGroup
                         : arith::AddIOp::create(b, loc, firstOfGroup,
                                                 constIndex(b, loc, r));
    offsets.push_back({token, b.getIndexAttr(0)});
    Value row = tensor::ExtractSliceOp::create(
        b, loc, rowType, logits, offsets.back(), rowSizes, unitStrides);
    RowScores rowScores = op.getScoring() == Scoring::softmax
                              ? buildSoftmaxRow(b, loc, row, numExperts, bias)
                              : buildSigmoidRow(b, loc, row, numExperts, bias);
    Value rowKeys = rowScores.keys;
    if (nGroup > 1 && topkGroup < nGroup)
      rowKeys = buildGroupMask(b, loc, rowKeys, numExperts, nGroup, topkGroup,
                               op.getGroupScore());
    keys.push_back(rowKeys);
    scores.push_back(rowScores.scores);

    // The token's slots are built in slices of the shared outputs, so that
    // bufferization writes them in place instead of copying a temporary.
    auto rowOf = [&](Value shared, Type elementType) -> Value {
      return tensor::ExtractSliceOp::create(
          b, loc, RankedTensorType::get({k}, elementType), shared,
          offsets.back(), outSizes, unitStrides);
    };
    weightsRows.push_back(rowOf(sharedWeights, b.getF32Type()));
    expertsRows.push_back(rowOf(sharedExperts, b.getI32Type()));
    rawWeights.push_back(
        hasEpilogue
            ? tensor::EmptyOp::create(
                  b, loc, cast<RankedTensorType>(weightsRows.back().getType()),
                  ValueRange{})
                  .getResult()
            : weightsRows.back());
  }

  SmallVector<TopK> tops =
      buildTopK(b, loc, keys, scores, k, rawWeights, expertsRows);
  SmallVector<Value> weights;
  for (int64_t r = 0; r < rows; ++r)
    weights.push_back(
        hasEpilogue ? buildWeightEpilogue(b, loc, tops[r].weights, tops[r].sum,
                                          renormalize, scale, weightsRows[r])
                    : tops[r].weights);

  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  for (int64_t r = 0; r < rows; ++r) {
    tensor::ParallelInsertSliceOp::create(b, loc, weights[r], sharedWeights,
                                          offsets[r], outSizes, unitStrides);
    tensor::ParallelInsertSliceOp::create(b, loc, tops[r].experts,
                                          sharedExperts, offsets[r], outSizes,
                                          unitStrides);
  }
  return {forall.getResult(0), forall.getResult(1)};
}

/// gate.router -> scf.forall over groups of `rowsPerIteration` tokens and
/// one over the tokens left over, then the capacity pass when there is one.
struct RouterOpLowering : OpConversionPattern<RouterOp> {
  RouterOpLowering(MLIRContext *ctx, int64_t pairChunk,
                   int64_t rowsPerIteration)
      : OpConversionPattern(ctx), pairChunk(pairChunk),
        rowsPerIteration(rowsPerIteration) {}
  int64_t pairChunk;
  int64_t rowsPerIteration;
  LogicalResult
  matchAndRewrite(RouterOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value logits = adaptor.getLogits();
    int64_t numExperts = cast<RankedTensorType>(logits.getType()).getDimSize(1);

    Value tokens = dimSize(rewriter, loc, logits, 0);
    Value kSize = constIndex(rewriter, loc, op.getK());
    Value weights =
        buildEmpty(rewriter, loc, op.getWeights().getType(), {tokens, kSize});
    Value experts =
        buildEmpty(rewriter, loc, op.getExperts().getType(), {tokens, kSize});

    // Tokens are independent; a group of them per iteration lets the core
    // overlap their top-k passes (buildTopK), and the tokens left over take
    // one iteration each.
    int64_t rows = std::max<int64_t>(rowsPerIteration, 1);
    Value zero = constIndex(rewriter, loc, 0);
    Value groups = tokens, grouped = zero;
    if (rows > 1) {
      Value size = constIndex(rewriter, loc, rows);
      groups = rewriter.createOrFold<arith::DivUIOp>(loc, tokens, size);
      grouped = rewriter.createOrFold<arith::MulIOp>(loc, groups, size);
    }
    Value bias = adaptor.getSelectionBias();
    if (getConstantIntValue(groups) != 0)
      std::tie(weights, experts) =
          buildRoutingLoop(rewriter, loc, op, logits, bias, groups, zero, rows,
                           weights, experts);
    if (rows > 1) {
      Value rest = rewriter.createOrFold<arith::SubIOp>(loc, tokens, grouped);
      if (getConstantIntValue(rest) != 0)
        std::tie(weights, experts) =
            buildRoutingLoop(rewriter, loc, op, logits, bias, rest, grouped, 1,
                             weights, experts);
    }

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

    ExpertSort sort = buildExpertSort(rewriter, loc, experts, order, numExperts,
                                      blockSize, pairChunk);
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
    RewritePatternSet &patterns, int64_t pairChunk, int64_t rowsPerIteration) {
  patterns.add<RouterOpLowering>(patterns.getContext(), pairChunk,
                                 rowsPerIteration);
  patterns.add<DispatchOpLowering>(patterns.getContext(), pairChunk);
}
