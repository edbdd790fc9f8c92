//===- FuseElementwise.cpp - Elementwise fusion around contractions -------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace gatec {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "gatec/Transforms/Passes.h.inc"
} // namespace gatec

using namespace mlir;

namespace {

bool hasReductionLoops(Operation *op) {
  auto linalgOp = dyn_cast_or_null<linalg::LinalgOp>(op);
  return linalgOp && linalgOp.getNumReductionLoops() > 0;
}

/// The narrow source of `value` if it is an elementwise widening
/// (`cast(x, f32)` of a bf16 or f16 `x`: an all-parallel generic with
/// identity maps whose body is one arith.extf), else null.
Value wideningSource(Value value) {
  auto generic = value.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return {};
  Block &body = generic.getRegion().front();
  if (body.getOperations().size() != 2)
    return {};
  auto extf = dyn_cast<arith::ExtFOp>(body.front());
  if (!extf || extf.getIn() != body.getArgument(0) ||
      body.getTerminator()->getOperand(0) != extf.getResult())
    return {};
  return generic.getDpsInputs()[0];
}

/// matmul(cast(a, f32), cast(b, f32)) -> matmul(a, b) with the f32
/// accumulator: linalg.matmul widens its operands itself, so the math is
/// unchanged (a product of two bf16 or f16 values is exact in f32). The
/// widened copies are no longer needed (DeepSeek-V3's router would otherwise
/// write a 7 MB f32 copy of its weights per call), and the contraction
/// becomes a bf16/f16 one that tensor cores and the CPU's bf16 dot path
/// take. Both operands must end up with the same element type.
struct FoldWideningIntoMatmul : OpRewritePattern<linalg::MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::MatmulOp matmul,
                                PatternRewriter &rewriter) const override {
    if (!matmul.hasPureTensorSemantics())
      return failure();
    SmallVector<Value> inputs = matmul.getDpsInputs();
    SmallVector<Value> narrowed;
    for (Value input : inputs) {
      Value source = wideningSource(input);
      narrowed.push_back(source ? source : input);
    }
    Type lhs = getElementTypeOrSelf(narrowed[0]);
    Type rhs = getElementTypeOrSelf(narrowed[1]);
    if (narrowed == inputs || lhs != rhs || !(lhs.isBF16() || lhs.isF16()))
      return failure();
    // A new op: the body's block arguments take the operand types.
    SmallVector<NamedAttribute> attrs;
    for (NamedAttribute attr : matmul->getAttrs())
      if (attr.getName() != "operandSegmentSizes")
        attrs.push_back(attr);
    rewriter.replaceOpWithNewOp<linalg::MatmulOp>(
        matmul, matmul->getResultTypes(), narrowed, matmul.getDpsInits(),
        attrs);
    return success();
  }
};

/// materialize_in_destination(expand_shape(t), m) -> materialize t into the
/// collapsed view of m: after a consumer was collapsed to a GEMM's 2-D shape
/// its result still reaches the caller's buffer without a copy (empty-tensor
/// elimination then finds the view as the consumer's destination).
struct MaterializeBeforeExpand
    : OpRewritePattern<bufferization::MaterializeInDestinationOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult
  matchAndRewrite(bufferization::MaterializeInDestinationOp op,
                  PatternRewriter &rewriter) const override {
    auto expand = op.getSource().getDefiningOp<tensor::ExpandShapeOp>();
    auto destType = dyn_cast<MemRefType>(op.getDest().getType());
    if (!expand || !destType || !destType.getLayout().isIdentity())
      return failure();
    Value view = memref::CollapseShapeOp::create(
        rewriter, op.getLoc(), op.getDest(),
        expand.getReassociationIndices());
    rewriter.modifyOpInPlace(op, [&] {
      op.getSourceMutable().assign(expand.getSrc());
      op.getDestMutable().assign(view);
    });
    return success();
  }
};

struct FuseElementwisePass
    : gatec::impl::FuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    // As upstream: fuse a producer only into its single user.
    linalg::ControlFusionFn singleUse = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      return producer && producer->hasOneUse();
    };
    // The operand is either a reshape's source (a producer folding into the
    // reshape after it) or a linalg op's input (a reshape folding into its
    // consumer): neither side may be a contraction or reduction.
    linalg::ControlFusionFn keepReductionsWhole = [&](OpOperand *fused) {
      return singleUse(fused) && !hasReductionLoops(fused->getOwner()) &&
             !hasReductionLoops(fused->get().getDefiningOp());
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, singleUse);
    patterns.add<FoldWideningIntoMatmul>(context);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns,
                                                      keepReductionsWhole);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, context);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, context);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, context);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, context);
    context->getLoadedDialect<linalg::LinalgDialect>()
        ->getCanonicalizationPatterns(patterns);
    GreedyRewriteConfig config;
    config.setUseTopDownTraversal(true);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns),
                                     config)))
      return signalPassFailure();

    // A contraction's result expanded for an elementwise consumer (the
    // gated-attention gate over [B, T, H, D] of a [B*T, H*D] projection):
    // the consumer is collapsed to the contraction's 2-D shape instead, so
    // that it can become the GEMM's epilogue. A second phase, since the
    // expansion patterns above would undo it.
    RewritePatternSet collapsing(context);
    linalg::ControlFusionFn collapseAfterContraction = [](OpOperand *fused) {
      auto expand = fused->get().getDefiningOp<tensor::ExpandShapeOp>();
      auto consumer = dyn_cast<linalg::GenericOp>(fused->getOwner());
      return expand && expand->hasOneUse() && consumer &&
             hasReductionLoops(expand.getSrc().getDefiningOp()) &&
             consumer.getNumParallelLoops() == consumer.getNumLoops();
    };
    linalg::populateFoldReshapeOpsByCollapsingPatterns(
        collapsing, collapseAfterContraction);
    collapsing.add<MaterializeBeforeExpand>(context);
    tensor::populateFoldTensorEmptyPatterns(collapsing);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(collapsing, context);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(collapsing, context);
    if (failed(applyPatternsGreedily(getOperation(), std::move(collapsing),
                                     config)))
      signalPassFailure();
  }
};

} // namespace
