//===- ApproximateMath.cpp - Polynomial math for vectorized code ----------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace gatec {
#define GEN_PASS_DEF_APPROXIMATEMATH
#include "gatec/Transforms/Passes.h.inc"
} // namespace gatec

using namespace mlir;

namespace {
struct ApproximateMathPass
    : gatec::impl::ApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // Everything MLIR can approximate, plus the f32 expansions the
    // approximations are written in terms of.
    populateMathF32ExpansionPatterns(patterns, [](StringRef) { return true; });
    populateMathPolynomialApproximationPatterns(patterns,
                                                [](StringRef) { return true; });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
