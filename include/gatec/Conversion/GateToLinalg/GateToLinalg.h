//===- GateToLinalg.h - Lower gate ops to linalg ------------------*- C++ -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_CONVERSION_GATETOLINALG_GATETOLINALG_H
#define GATEC_CONVERSION_GATETOLINALG_GATETOLINALG_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace gatec {

#define GEN_PASS_DECL_CONVERTGATETOLINALG
#include "gatec/Conversion/Passes.h.inc"

/// Gate ops -> one elementwise linalg.generic each.
void populateGateToLinalgConversionPatterns(mlir::RewritePatternSet &patterns);
/// How a chunk's causal scores A = q k^T (decayed) are decomposed; the
/// pipelines choose, since the best choice depends on the machine.
struct ScoreDecomposition {
  /// Sub-chunk length c of the vector-decay scores (the GLA paper's
  /// secondary chunking): L c K exponentials on the diagonal blocks and
  /// matmuls of rescaled operands elsewhere, instead of L^2 K exponentials.
  int64_t subChunk = 8;
  /// q k^T as a matmul of q and a transposed copy of k (contiguous k
  /// columns, one copy per chunk), or as linalg.matmul_transpose_b.
  bool transposeKeys = true;
};

/// gate.chunked_scan -> chunk loop with linalg contractions.
void populateChunkedScanToLinalgConversionPatterns(
    mlir::RewritePatternSet &patterns, const ScoreDecomposition &scores);
/// gate.router and gate.dispatch -> loops over groups of `rowsPerIteration`
/// tokens, and counting sorts of the (token, slot) pairs over chunks of
/// `pairChunk` pairs.
void populateRouterToLinalgConversionPatterns(mlir::RewritePatternSet &patterns,
                                              int64_t pairChunk,
                                              int64_t rowsPerIteration);
/// gate.causal_conv1d -> a loop over (sequence, time slice of about
/// `sliceTokens` tokens, block of `channelBlock` channels) with elementwise
/// linalg.generics over the taps' shifted views of x, and a loop over
/// (sequence, channel block) for the final state.
void populateShortConvToLinalgConversionPatterns(
    mlir::RewritePatternSet &patterns, int64_t channelBlock,
    int64_t sliceTokens);

} // namespace gatec

#endif // GATEC_CONVERSION_GATETOLINALG_GATETOLINALG_H
