//===- ScanLowering.h - The pieces of the chunked scan lowering -*- C++ -*-===//
//
// Part of gatec. Private to the lowering of gate.chunked_scan
// (ChunkedScanToLinalg.cpp and the Scan*.cpp files beside it): one chunk of
// one (sequence, head) pair, its cumulative log gates, and the builders of
// its scores, delta-rule values, output and state update.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_CONVERSION_GATETOLINALG_SCANLOWERING_H
#define GATEC_LIB_CONVERSION_GATETOLINALG_SCANLOWERING_H

#include "gatec/Conversion/GateToLinalg/GateToLinalg.h"
#include "gatec/Dialect/Gate/GateOps.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/Value.h"

namespace gatec::scan {

//===----------------------------------------------------------------------===//
// Small builders (ScanBuilders.cpp)
//===----------------------------------------------------------------------===//

mlir::Value f32Constant(mlir::OpBuilder &b, mlir::Location loc, double value);

/// An index (a token position inside a chunk) as f32; exact below 2^24.
mlir::Value indexToF32(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::Value index);

/// The static value of `size`, or ShapedType::kDynamic.
int64_t staticSize(mlir::OpFoldResult size);

/// An uninitialized f32 tensor of the given sizes.
mlir::Value buildEmptyF32(mlir::OpBuilder &b, mlir::Location loc,
                          llvm::ArrayRef<mlir::OpFoldResult> sizes);

/// An f32 tensor of zeros: the accumulator of a contraction.
mlir::Value buildZerosF32(mlir::OpBuilder &b, mlir::Location loc,
                          llvm::ArrayRef<mlir::OpFoldResult> sizes);

/// An uninitialized tensor of exactly `type` (the op's result types may be
/// less static than the operands they are sized from).
mlir::Value buildEmptyOfType(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::RankedTensorType type,
                             llvm::ArrayRef<mlir::OpFoldResult> sizes);

/// The projection (d0, ..., d{numDims-1}) -> (d{dims[0]}, d{dims[1]}, ...).
mlir::AffineMap projection(mlir::MLIRContext *ctx, unsigned numDims,
                           llvm::ArrayRef<unsigned> dims);

/// The body of a generic: gets the block arguments (inputs, then the
/// output's current value) and returns the value to yield.
using GenericBody = llvm::function_ref<mlir::Value(
    mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

/// A linalg.generic with one result, written into `init`. `maps` holds one map
/// per input, then the output's.
mlir::Value buildGeneric(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::ValueRange inputs, mlir::Value init,
                         llvm::ArrayRef<mlir::AffineMap> maps,
                         llvm::ArrayRef<mlir::utils::IteratorType> iterators,
                         GenericBody body);

/// An elementwise generic over the rank-2 `init`: inputs are read through
/// `maps` (projections of (d0, d1)), the output through the identity.
mlir::Value buildElementwise2D(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::ValueRange inputs,
                               llvm::ArrayRef<mlir::AffineMap> inputMaps,
                               mlir::Value init, GenericBody body);

/// Extracts source[batch, begin : begin + rows, head, ...] from a
/// [B, T, H, W] (or [B, T, H]) operand as a rank-reduced [rows, W] (or
/// [rows]) tensor: the tokens of one head.
mlir::Value extractHeadRows(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value source, mlir::OpFoldResult batch,
                            mlir::OpFoldResult begin, mlir::OpFoldResult rows,
                            mlir::OpFoldResult head);

/// Rows [start, start + len) of a [L, W] chunk tensor, as [len, W].
mlir::Value extractRows(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::Value source, mlir::OpFoldResult start,
                        mlir::OpFoldResult len);

/// Row `row` of a [L, W] chunk tensor, as [W].
mlir::Value extractRow(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::Value source, mlir::OpFoldResult row);

//===----------------------------------------------------------------------===//
// One chunk
//===----------------------------------------------------------------------===//

/// One chunk of one (sequence, head) pair. The slices keep the input element
/// types: the ops that read them widen to f32.
struct Chunk {
  mlir::Value q, k; // [L, K]
  /// [L, V]; for the delta rule, after buildDeltaValues, the f32 values U
  /// that the plain chunk form adds in v's place.
  mlir::Value v;
  /// The delta rule's learning rates: [L] in the input type; else null.
  mlir::Value beta;
  /// vector: [L, K]; scalar: [L]; fixed: the f32 log gate of this head,
  /// already clamped; none: null.
  mlir::Value gates;
  /// L, the number of tokens in the chunk (1 <= L <= chunk_size).
  mlir::Value len;
  int64_t keyDim, valueDim;
  /// How the causal scores are built (the pipeline's choice).
  gatec::ScoreDecomposition scores;

  llvm::SmallVector<mlir::OpFoldResult> shape(mlir::OpBuilder &b,
                                              int64_t cols) const {
    return {len, b.getIndexAttr(cols)};
  }
};

/// The within-chunk cumulative log gates b_i = sum_{j <= i} g_j, in the form
/// that the decay kind allows.
struct CumulativeGates {
  mlir::gate::DecayKind kind;
  /// vector: [L, K] f32; scalar: [L] f32; fixed, none: null. b rounded to
  /// f32, summed in token order.
  mlir::Value prefix;
  /// The rounding error of `prefix`, same shape: b = prefix + residual up to
  /// O(eps^2 |b|). Differences of b read both (buildLogDecay). The decay
  /// from the chunk start, exp(b_i), reads `prefix` alone: its error is a
  /// few ulps of |b_i| itself, which exp(b_i) <= 1 scales down with it.
  mlir::Value residual;
  /// fixed: the clamped f32 log gate g of the head, b_i = (i + 1) g.
  mlir::Value perToken;
};

//===----------------------------------------------------------------------===//
// Log gates and decays (ScanGates.cpp)
//===----------------------------------------------------------------------===//

/// max(g, kMinLogGate) in f32 (see kMinLogGate).
mlir::Value clampLogGate(mlir::OpBuilder &b, mlir::Location loc, mlir::Value g);

/// The log decay from token `from` to token `to` of the chunk (b_to -
/// b_from, `from` not after `to`) from the compensated prefix sums:
/// (hi_to - hi_from) + (lo_to - lo_from), accurate to a few ulps of the
/// decay however large |b| is.
mlir::Value buildLogDecay(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value hiTo, mlir::Value loTo,
                          mlir::Value hiFrom, mlir::Value loFrom);

/// Computes the inclusive prefix sums of the clamped log gates of a chunk,
/// compensated (see CumulativeGates).
CumulativeGates buildCumulativeGates(mlir::OpBuilder &b, mlir::Location loc,
                                     mlir::gate::DecayKind kind,
                                     const Chunk &chunk);

/// exp((i - j) g) for the fixed decay: (i - j) >= 0 and g <= 0.
mlir::Value buildFixedDecay(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value g, mlir::Value i, mlir::Value j);

//===----------------------------------------------------------------------===//
// The chunk's scores, values, output and state
//===----------------------------------------------------------------------===//

/// The causal intra-chunk scores, without the scale (ScanScores.cpp):
///   A_ij = sum_k q_ik k_jk exp(b_ik - b_jk) for j <= i, else 0.   [L, L] f32
mlir::Value buildIntraChunkScores(mlir::OpBuilder &b, mlir::Location loc,
                                  const Chunk &chunk,
                                  const CumulativeGates &gates);

/// The delta rule's values U [L, V] f32 for the chunk (ScanDeltaRule.cpp):
/// the plain chunk form with U in place of v gives the delta rule's states
/// and outputs.
mlir::Value buildDeltaValues(mlir::OpBuilder &b, mlir::Location loc,
                             const Chunk &chunk, const CumulativeGates &gates,
                             mlir::Value state, bool exactProducts);

/// x_i * exp(b_i) * rowScale_i in f32 [L, K] for the chunk's rows x [L, K]
/// (ScanChunkUpdate.cpp, as are the builders below).
mlir::Value buildDecayedFromChunkStart(mlir::OpBuilder &b, mlir::Location loc,
                                       const Chunk &chunk,
                                       const CumulativeGates &gates,
                                       mlir::Value x,
                                       mlir::Value rowScale = mlir::Value());

/// The chunk's output before scaling and rounding:
///   o_c = A v + (q * exp(b)) S                                    [L, V] f32
mlir::Value buildChunkOutput(mlir::OpBuilder &b, mlir::Location loc,
                             const Chunk &chunk, const CumulativeGates &gates,
                             mlir::Value scores, mlir::Value state);

/// scale * o_c, rounded once to the output element type and written into
/// `dest`, the chunk's rows of the output.
mlir::Value buildRoundedOutput(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::Value output, double scale,
                               mlir::Value dest);

/// The state after the chunk:
///   S' = Diag(exp(b_last)) S + (k * exp(b_last - b))^T v          [K, V] f32
mlir::Value buildStateUpdate(mlir::OpBuilder &b, mlir::Location loc,
                             const Chunk &chunk, const CumulativeGates &gates,
                             mlir::Value state);

} // namespace gatec::scan

#endif // GATEC_LIB_CONVERSION_GATETOLINALG_SCANLOWERING_H
