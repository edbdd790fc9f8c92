//===- GateToLinalg.cpp - Lower gate ops to linalg ------------------------===//
//
// Part of gatec. The gate family (gate.gate, gate.fused_gate) becomes one
// elementwise linalg.generic; the pass also drives the scan, short
// convolution and router patterns, which live in their own files.
//
//===----------------------------------------------------------------------===//

#include "gatec/Conversion/GateToLinalg/GateToLinalg.h"

#include "gatec/Dialect/Gate/GateMath.h"
#include "gatec/Dialect/Gate/GateOps.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace gatec {
#define GEN_PASS_DEF_CONVERTGATETOLINALG
#include "gatec/Conversion/Passes.h.inc"
} // namespace gatec

using namespace mlir;
using namespace mlir::gate;

namespace {

/// The scalar body shared by gate.gate and gate.fused_gate: f32 arithmetic,
/// optional clamping, one rounding at the end.
Value buildGateScalar(OpBuilder &b, Location loc, Activation act,
                      std::optional<APFloat> clampLimit, Value x, Value g,
                      Type resultType) {
  Type f32 = b.getF32Type();
  Value x32 = gate::convertFloat(b, loc, x, f32);
  Value g32 = gate::convertFloat(b, loc, g, f32);
  if (clampLimit) {
    double limit = clampLimit->convertToDouble();
    Value hi = arith::ConstantOp::create(b, loc, f32, b.getFloatAttr(f32, limit));
    Value lo =
        arith::ConstantOp::create(b, loc, f32, b.getFloatAttr(f32, -limit));
    g32 = arith::MinimumFOp::create(b, loc, g32, hi);
    x32 = arith::MaximumFOp::create(
        b, loc, arith::MinimumFOp::create(b, loc, x32, hi), lo);
  }
  Value y = arith::MulFOp::create(b, loc,
                                  gate::buildActivation(b, loc, act, g32), x32);
  return gate::convertFloat(b, loc, y, resultType);
}

/// An empty tensor of `type`, sized like `like` on its dynamic dims.
Value emptyLike(OpBuilder &b, Location loc, RankedTensorType type,
                Value like) {
  SmallVector<Value> dynSizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dynSizes.push_back(tensor::DimOp::create(b, loc, like, i));
  return tensor::EmptyOp::create(b, loc, type, dynSizes);
}

/// The elementwise generic both gate ops become: y = act(g) * x over y's
/// shape, with `gMap` reading g (identity, or the broadcast of a headwise g).
Value buildGateGeneric(OpBuilder &b, Location loc, RankedTensorType yType,
                       Value x, Value g, AffineMap gMap, Activation act,
                       std::optional<APFloat> clamp) {
  int64_t rank = yType.getRank();
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  Value init = emptyLike(b, loc, yType, x);
  Type elemType = yType.getElementType();
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{yType}, ValueRange{x, g}, ValueRange{init},
      ArrayRef<AffineMap>{identity, gMap, identity},
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &nested, Location l, ValueRange args) {
        linalg::YieldOp::create(nested, l,
                                buildGateScalar(nested, l, act, clamp, args[0],
                                                args[1], elemType));
      });
  return generic.getResult(0);
}

struct GateOpLowering : OpConversionPattern<GateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto yType = op.getY().getType();
    int64_t rank = yType.getRank();
    MLIRContext *ctx = op.getContext();
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    AffineMap gMap = identity;
    if (op.getGranularity() == Granularity::headwise) {
      // g is [..., 1]: read its only element for every position of the last dim.
      SmallVector<AffineExpr> exprs(identity.getResults());
      exprs.back() = getAffineConstantExpr(0, ctx);
      gMap = AffineMap::get(rank, 0, exprs, ctx);
    }
    rewriter.replaceOp(op, buildGateGeneric(rewriter, loc, yType,
                                            adaptor.getX(), adaptor.getG(),
                                            gMap, op.getActivation(),
                                            op.getClampLimit()));
    return success();
  }
};

/// The column half [:, offset:offset + width] of `input` when it is a 2-D
/// projection rounded to its type (x @ W_gate_up, then a one-input
/// elementwise generic) that nothing else reads: the same rounding of
/// x @ W[:, offset:offset + width] with its own zero accumulator. The two
/// halves of a fused gate then form a paired projection (one GEMM with the
/// gate in its epilogue) and the [T, 2F] projection never exists; the values
/// are the same, each a dot product over the same K. Null otherwise.
Value projectColumnHalf(OpBuilder &b, Location loc, Value input,
                        int64_t offset, int64_t width) {
  auto round = input.getDefiningOp<linalg::GenericOp>();
  if (!round || !input.hasOneUse() || !round.hasPureTensorSemantics() ||
      round.getNumDpsInputs() != 1 || round.getNumDpsInits() != 1 ||
      round.getNumParallelLoops() != 2 || round.getNumLoops() != 2 ||
      !llvm::all_of(round.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }) ||
      round.payloadUsesValueFromOperand(round.getDpsInitOperand(0)))
    return {};
  auto matmul = round.getDpsInputs()[0].getDefiningOp<linalg::MatmulOp>();
  if (!matmul || matmul.hasUserDefinedMaps() ||
      !matmul->getResult(0).hasOneUse())
    return {};
  auto fill = matmul.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
  Value weights = matmul.getDpsInputs()[1];
  auto weightType = cast<RankedTensorType>(weights.getType());
  if (!fill || weightType.isDynamicDim(0))
    return {};

  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  auto halfWeightType = RankedTensorType::get(
      {weightType.getDimSize(0), width}, weightType.getElementType());
  Value halfWeights = tensor::ExtractSliceOp::create(
      b, loc, halfWeightType, weights,
      ArrayRef<OpFoldResult>{zero, b.getIndexAttr(offset)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(weightType.getDimSize(0)),
                             b.getIndexAttr(width)},
      ArrayRef<OpFoldResult>{one, one});
  Value rows = tensor::DimOp::create(b, loc, matmul.getDpsInputs()[0], 0);
  auto accType = cast<RankedTensorType>(matmul->getResult(0).getType());
  Value acc = linalg::FillOp::create(
                  b, loc, fill.getDpsInputs(),
                  ValueRange{tensor::EmptyOp::create(
                      b, loc, ArrayRef<OpFoldResult>{rows, b.getIndexAttr(width)},
                      accType.getElementType())})
                  .getResult(0);
  Value product =
      linalg::MatmulOp::create(b, loc, TypeRange{acc.getType()},
                               ValueRange{matmul.getDpsInputs()[0], halfWeights},
                               ValueRange{acc})
          .getResult(0);
  Type elemType = getElementTypeOrSelf(input.getType());
  Value init = tensor::EmptyOp::create(
      b, loc, ArrayRef<OpFoldResult>{rows, b.getIndexAttr(width)}, elemType);
  auto rounded = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{product}, ValueRange{init},
      round.getIndexingMapsArray(), round.getIteratorTypesArray());
  IRMapping map;
  round.getRegion().cloneInto(&rounded.getRegion(), map);
  return rounded.getResult(0);
}

struct FusedGateOpLowering : OpConversionPattern<FusedGateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(FusedGateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto yType = op.getY().getType();
    int64_t rank = yType.getRank();
    Value input = adaptor.getInput();
    int64_t fusedSize =
        cast<RankedTensorType>(input.getType()).getDimSize(rank - 1);
    // A rounded projection splits into its column halves' projections: the
    // value half first, so that the gate half's GEMM is the one right
    // before the gate, which pairs them (its epilogue applies the gate).
    bool gateFirst = op.getGateHalf() == GateHalf::first;
    Value first, second;
    if (rank == 2 && !ShapedType::isDynamic(fusedSize)) {
      int64_t half = fusedSize / 2;
      Value &valueHalf = gateFirst ? second : first;
      Value &gateHalf = gateFirst ? first : second;
      valueHalf = projectColumnHalf(rewriter, loc, input,
                                    gateFirst ? half : 0, half);
      if (valueHalf)
        gateHalf = projectColumnHalf(rewriter, loc, input,
                                     gateFirst ? 0 : half, half);
    }
    bool splitProjection = first && second;
    if (!splitProjection) {
      // The two halves as views of the fused operand: [..., 0:F] and
      // [..., F:2F].
      SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes =
          tensor::getMixedSizes(rewriter, loc, input);
      SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
      OpFoldResult half = rewriter.getIndexAttr(fusedSize / 2);
      if (ShapedType::isDynamic(fusedSize)) {
        Value fused = tensor::DimOp::create(rewriter, loc, input, rank - 1);
        Value two = arith::ConstantIndexOp::create(rewriter, loc, 2);
        half = arith::DivUIOp::create(rewriter, loc, fused, two).getResult();
      }
      sizes.back() = half;
      first = tensor::ExtractSliceOp::create(rewriter, loc, yType, input,
                                             offsets, sizes, strides);
      offsets.back() = half;
      second = tensor::ExtractSliceOp::create(rewriter, loc, yType, input,
                                              offsets, sizes, strides);
    }
    Value g = gateFirst ? first : second;
    Value x = gateFirst ? second : first;

    rewriter.replaceOp(
        op, buildGateGeneric(rewriter, loc, yType, x, g,
                             rewriter.getMultiDimIdentityMap(rank),
                             op.getActivation(), op.getClampLimit()));
    if (splitProjection) { // The full projection and its rounding are unread.
      Operation *round = input.getDefiningOp();
      Operation *matmul = round->getOperand(0).getDefiningOp();
      rewriter.eraseOp(round);
      rewriter.eraseOp(matmul);
    }
    return success();
  }
};

struct ConvertGateToLinalgPass
    : gatec::impl::ConvertGateToLinalgBase<ConvertGateToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    module.walk([&](Operation *op) {
      if (isa<GateOp, FusedGateOp>(op))
        ++numGates;
      else if (isa<ChunkedScanOp>(op))
        ++numScans;
      else if (isa<RouterOp, DispatchOp>(op))
        ++numRouters;
      else if (isa<CausalConv1dOp>(op))
        ++numConvs;
    });
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<GateDialect>();
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    auto isPositive = [&](StringRef option, int64_t value) {
      if (value >= 1)
        return true;
      module.emitError() << "convert-gate-to-linalg: " << option
                         << " must be >= 1, got " << value;
      return false;
    };
    if (!isPositive("score-sub-chunk", scoreSubChunk) ||
        !isPositive("router-rows", routerRows))
      return signalPassFailure();
    RewritePatternSet patterns(ctx);
    gatec::populateGateToLinalgConversionPatterns(patterns);
    gatec::populateChunkedScanToLinalgConversionPatterns(
        patterns, gatec::ScoreDecomposition{scoreSubChunk, transposeScoreKeys});
    gatec::populateRouterToLinalgConversionPatterns(patterns, pairChunk,
                                                    routerRows);
    gatec::populateShortConvToLinalgConversionPatterns(
        patterns, convChannelBlock, convSliceTokens);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void gatec::populateGateToLinalgConversionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<GateOpLowering, FusedGateOpLowering>(patterns.getContext());
}
