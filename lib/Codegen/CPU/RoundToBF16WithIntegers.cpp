//===- RoundToBF16WithIntegers.cpp - f32 -> bf16 rounding as i32 ops ------===//
//
// Part of gatec. See the pass description in Passes.td for why the select
// is done in i32.
//
//===----------------------------------------------------------------------===//

#include "gatec/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace gatec {
#define GEN_PASS_DEF_ROUNDTOBF16WITHINTEGERS
#include "gatec/Codegen/CPU/Passes.h.inc"
} // namespace gatec

using namespace mlir;

namespace {

/// bf16(x) = (bits + 0x7fff + ((bits >> 16) & 1)) >> 16, the upper half of
/// x rounded to nearest even; a NaN x gives 0x7fc0, as upstream's expansion.
struct RoundF32ToBF16 : OpRewritePattern<arith::TruncFOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(arith::TruncFOp op,
                                PatternRewriter &rewriter) const override {
    Type from = op.getIn().getType(), to = op.getType();
    if (!getElementTypeOrSelf(from).isF32() ||
        !getElementTypeOrSelf(to).isBF16())
      return failure();
    if (std::optional<arith::RoundingMode> mode = op.getRoundingmode();
        mode && *mode != arith::RoundingMode::to_nearest_even)
      return failure();
    Location loc = op.getLoc();
    auto like = [&](Type element) -> Type {
      if (auto shaped = dyn_cast<ShapedType>(from))
        return shaped.clone(element);
      return element;
    };
    Type i32 = like(rewriter.getI32Type()), i16 = like(rewriter.getI16Type());
    auto constant = [&](int64_t value) -> Value {
      TypedAttr attr = rewriter.getI32IntegerAttr(static_cast<int32_t>(value));
      if (auto shaped = dyn_cast<ShapedType>(i32))
        attr = SplatElementsAttr::get(shaped, attr);
      return arith::ConstantOp::create(rewriter, loc, i32, attr);
    };
    // A NaN's bits become 0x7fc00000 first, which rounds to 0x7fc0: the
    // select is on the f32-sized input, so LLVM cannot fold it through the
    // final bitcast into a select of bf16 vectors (which it would scalarize).
    Value isNaN = arith::CmpFOp::create(
        rewriter, loc, arith::CmpFPredicate::UNO, op.getIn(), op.getIn());
    Value bits = arith::SelectOp::create(
        rewriter, loc, isNaN, constant(0x7fc00000),
        arith::BitcastOp::create(rewriter, loc, i32, op.getIn()));
    Value sixteen = constant(16);
    Value lsb = arith::AndIOp::create(
        rewriter, loc, arith::ShRUIOp::create(rewriter, loc, bits, sixteen),
        constant(1));
    Value biased = arith::AddIOp::create(
        rewriter, loc,
        arith::AddIOp::create(rewriter, loc, bits, constant(0x7fff)), lsb);
    Value rounded = arith::ShRUIOp::create(rewriter, loc, biased, sixteen);
    Value half = arith::TruncIOp::create(rewriter, loc, i16, rounded);
    rewriter.replaceOpWithNewOp<arith::BitcastOp>(op, to, half);
    return success();
  }
};

struct RoundToBF16WithIntegersPass
    : gatec::impl::RoundToBF16WithIntegersBase<RoundToBF16WithIntegersPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RoundF32ToBF16>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
