//===- RouterToLinalg.cpp - Lower gate.router and gate.dispatch -----------===//
//
// Part of gatec. Routers become an scf.forall over tokens whose body works on
// one row of logits with linalg ops over the experts; the capacity rule and
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
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <tuple>

using namespace mlir;
using namespace mlir::gate;
using namespace gatec::router;

namespace {

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
    RewritePatternSet &patterns, int64_t pairChunk) {
  patterns.add<RouterOpLowering, DispatchOpLowering>(patterns.getContext(),
                                                     pairChunk);
}
