//===- GPULowerMath.cpp - Math in NVPTX instructions, no libdevice --------===//
//
// Part of gatec. The NVVM conversion lowers math ops to libdevice calls
// (__nv_expf, __nv_fabsf...), which a PTX image cannot resolve unless the
// CUDA toolkit's libdevice is linked in. gatec's kernels use the same
// polynomial approximations as on the CPU (same numerics on both backends),
// and what remains maps to LLVM intrinsics that NVPTX selects to single
// instructions (abs.f32, cvt.rmi.f32.f32, sqrt.rn.f32, fma.rn.f32).
//
//===----------------------------------------------------------------------===//

#include "gatec/Codegen/CUDA/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace gatec {
#define GEN_PASS_DEF_GPULOWERMATH
#include "gatec/Codegen/CUDA/Passes.h.inc"
} // namespace gatec

using namespace mlir;

namespace {

/// `op` (scalar f32 or f64) as a call of the LLVM intrinsic `name`.<type>
/// (fastmath flags dropped: the intrinsics keep IEEE semantics).
template <typename MathOp> struct ToIntrinsic : OpRewritePattern<MathOp> {
  ToIntrinsic(MLIRContext *ctx, StringRef name)
      : OpRewritePattern<MathOp>(ctx), name(name) {}
  LogicalResult matchAndRewrite(MathOp op,
                                PatternRewriter &rewriter) const override {
    Type type = op->getResult(0).getType();
    if (!type.isF32() && !type.isF64())
      return failure();
    std::string intrinsic = (name + (type.isF32() ? ".f32" : ".f64")).str();
    auto call = LLVM::CallIntrinsicOp::create(rewriter, op.getLoc(), type,
                                              rewriter.getStringAttr(intrinsic),
                                              op->getOperands());
    rewriter.replaceOp(op, call.getResults());
    return success();
  }
  StringRef name;
};

/// rsqrt(x) = 1 / sqrt(x), both correctly rounded.
struct RsqrtToDivSqrt : OpRewritePattern<math::RsqrtOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::RsqrtOp op,
                                PatternRewriter &rewriter) const override {
    Type type = op.getType();
    if (!type.isF32() && !type.isF64())
      return failure();
    Value sqrt = math::SqrtOp::create(rewriter, op.getLoc(), op.getOperand());
    Value one = arith::ConstantOp::create(rewriter, op.getLoc(),
                                          rewriter.getFloatAttr(type, 1.0));
    rewriter.replaceOpWithNewOp<arith::DivFOp>(op, one, sqrt);
    return success();
  }
};

struct GPULowerMathPass : gatec::impl::GPULowerMathBase<GPULowerMathPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // 1. powf and friends in terms of exp and log; then the polynomial
    //    approximations of exp, log, tanh, erf... (as on the CPU).
    {
      RewritePatternSet patterns(ctx);
      math::populateExpansionPatterns(patterns, {"powf", "fpowi"});
      auto approximate = [](StringRef name) {
        return !name.ends_with("rsqrt");
      };
      populateMathF32ExpansionPatterns(patterns, approximate);
      populateMathPolynomialApproximationPatterns(patterns, approximate);
      patterns.add<RsqrtToDivSqrt>(ctx);
      if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
        return signalPassFailure();
    }
    // 2. What is left: one NVPTX instruction each.
    RewritePatternSet patterns(ctx);
    patterns.add<ToIntrinsic<math::AbsFOp>>(ctx, "llvm.fabs");
    patterns.add<ToIntrinsic<math::FloorOp>>(ctx, "llvm.floor");
    patterns.add<ToIntrinsic<math::CeilOp>>(ctx, "llvm.ceil");
    patterns.add<ToIntrinsic<math::SqrtOp>>(ctx, "llvm.sqrt");
    patterns.add<ToIntrinsic<math::FmaOp>>(ctx, "llvm.fma");
    patterns.add<ToIntrinsic<math::CopySignOp>>(ctx, "llvm.copysign");
    patterns.add<ToIntrinsic<math::RoundEvenOp>>(ctx, "llvm.roundeven");
    patterns.add<ToIntrinsic<math::TruncOp>>(ctx, "llvm.trunc");
    // The NVVM conversion sends these to libdevice too (__nv_fmaxf).
    patterns.add<ToIntrinsic<arith::MaxNumFOp>>(ctx, "llvm.maxnum");
    patterns.add<ToIntrinsic<arith::MinNumFOp>>(ctx, "llvm.minnum");
    patterns.add<ToIntrinsic<arith::MaximumFOp>>(ctx, "llvm.maximum");
    patterns.add<ToIntrinsic<arith::MinimumFOp>>(ctx, "llvm.minimum");
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // Anything else would become a libdevice call ptxas cannot resolve.
    WalkResult left = getOperation()->walk([&](Operation *op) {
      if (isa<math::MathDialect>(op->getDialect()) || isa<arith::RemFOp>(op)) {
        op->emitError("gatec-gpu-lower-math: no NVPTX lowering for '")
            << op->getName() << "' on " << op->getResult(0).getType();
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
