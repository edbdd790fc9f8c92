//===- ApproximateMath.cpp - Polynomial math for vectorized code ----------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace gatec {
#define GEN_PASS_DEF_APPROXIMATEMATH
#include "gatec/Codegen/CPU/Passes.h.inc"
} // namespace gatec

using namespace mlir;

namespace {
struct ApproximateMathPass
    : gatec::impl::ApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // Everything MLIR can approximate, plus the f32 expansions the
    // approximations are written in terms of; except rsqrt, whose rewrites
    // assume 8-lane AVX2 vectors and crash on other shapes (LLVM lowers it
    // to vsqrtps + vdivps, vector instructions anyway).
    auto approximate = [](StringRef name) { return !name.ends_with("rsqrt"); };
    populateMathF32ExpansionPatterns(patterns, approximate);
    populateMathPolynomialApproximationPatterns(patterns, approximate);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
