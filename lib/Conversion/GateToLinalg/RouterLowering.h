//===- RouterLowering.h - The pieces of the router lowering -----*- C++ -*-===//
//
// Part of gatec. Private to the lowering of gate.router and gate.dispatch
// (RouterToLinalg.cpp and the Router*.cpp files beside it): the builders of
// a token's scores, its top-k, the counting sort of the (token, slot) pairs
// by expert, and the capacity rule.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_CONVERSION_GATETOLINALG_ROUTERLOWERING_H
#define GATEC_LIB_CONVERSION_GATETOLINALG_ROUTERLOWERING_H

#include "gatec/Dialect/Gate/GateOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"

#include <utility>

namespace gatec::router {

//===----------------------------------------------------------------------===//
// Small builders (RouterBuilders.cpp)
//===----------------------------------------------------------------------===//

/// An integer constant of `type` (i1, i32, i64).
mlir::Value constInt(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type,
                     int64_t value);

/// An index constant.
mlir::Value constIndex(mlir::OpBuilder &b, mlir::Location loc, int64_t value);

/// An f32 constant.
mlir::Value constF32(mlir::OpBuilder &b, mlir::Location loc, float value);

/// An i32 (expert id, offset, position) as an index.
mlir::Value toIndex(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value);

/// An index as i32, the element type of every id the ops return.
mlir::Value toI32(mlir::OpBuilder &b, mlir::Location loc, mlir::Value index);

/// The size of dimension `dim` of `tensor` as an index (a constant when
/// static, so the arithmetic built on it folds).
mlir::Value dimSize(mlir::OpBuilder &b, mlir::Location loc, mlir::Value tensor,
                    int64_t dim);

/// An empty tensor of `type`; `sizes` holds one size per dimension, of which
/// only the dynamic dimensions' are used.
mlir::Value buildEmpty(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::RankedTensorType type,
                       llvm::ArrayRef<mlir::Value> sizes);

/// buildEmpty filled with `value`.
mlir::Value buildFilled(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType type,
                        llvm::ArrayRef<mlir::Value> sizes, mlir::Value value);

/// `rank` parallel iterators.
llvm::SmallVector<mlir::utils::IteratorType> parallelIterators(int64_t rank);

//===----------------------------------------------------------------------===//
// Selection keys and top-k (RouterTopK.cpp)
//===----------------------------------------------------------------------===//

/// The selection key of `score` (f32) at `index` (i32, >= 0): rank bits in the
/// high half, ~index in the low half, so an unsigned max prefers the larger
/// score and, among equal ones, the lower index.
mlir::Value buildKey(mlir::OpBuilder &b, mlir::Location loc, mlir::Value score,
                     mlir::Value index);

/// The score (f32) a key was built with (-0 reads back as +0).
mlir::Value keyScore(mlir::OpBuilder &b, mlir::Location loc, mlir::Value key);

/// The `count`-th largest of the 1-D i64 `keys` (count >= 1).
mlir::Value buildKthLargestKey(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::Value keys, int64_t count);

/// A row's chosen experts and their unnormalized weights, slot by slot.
struct TopK {
  mlir::Value weights; // [k] f32: s at the chosen experts
  mlir::Value experts; // [k] i32
  mlir::Value sum;     // f32: the weights' sum, added in slot order
};

/// Top-k of each row's `keys`, the weights gathered from that row's
/// `scores`, written into its `weightsInits` and `expertsInits` ([k] f32 and
/// i32); the rows' passes interleave in one loop over the slots.
llvm::SmallVector<TopK> buildTopK(mlir::OpBuilder &b, mlir::Location loc,
                                  mlir::ValueRange keys,
                                  mlir::ValueRange scores, int64_t k,
                                  mlir::ValueRange weightsInits,
                                  mlir::ValueRange expertsInits);

/// weights / (sum + 1e-20) when renormalizing, then * scale, written into
/// `init`.
mlir::Value buildWeightEpilogue(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::Value weights, mlir::Value sum,
                                bool renormalize, float scale,
                                mlir::Value init);

//===----------------------------------------------------------------------===//
// A token's scores (RouterScoring.cpp)
//===----------------------------------------------------------------------===//

/// One row's scores over the E experts.
struct RowScores {
  /// s (f32), what the weights are taken from.
  mlir::Value scores;
  /// Selection keys (i64) of s + bias.
  mlir::Value keys;
};

/// Softmax over one row `row` ([E], any float type), in f32.
RowScores buildSoftmaxRow(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value row, int64_t numExperts,
                          mlir::Value bias);

/// Sigmoid scores of one row `row` ([E], any float type), in f32.
RowScores buildSigmoidRow(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value row, int64_t numExperts,
                          mlir::Value bias);

/// Grouped selection: zeroes the keys of every expert outside the best
/// `topkGroup` of `nGroup` contiguous groups.
mlir::Value buildGroupMask(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value keys, int64_t numExperts, int64_t nGroup,
                           int64_t topkGroup,
                           mlir::gate::GroupScore groupScore);

//===----------------------------------------------------------------------===//
// Counting across tokens (RouterCounting.cpp)
//===----------------------------------------------------------------------===//

/// The visiting order of the pairs: pair j is (j / k, j % k) token-major, or
/// (j % T, j / T) slot-major (every token's first choice before any second).
struct PairOrder {
  PairOrder(mlir::OpBuilder &b, mlir::Location loc, mlir::Value tokens,
            mlir::Value k, bool slotMajor)
      : tokens(tokens), k(k), slotMajor(slotMajor),
        numPairs(b.createOrFold<mlir::arith::MulIOp>(loc, tokens, k)) {}

  mlir::Value tokens, k;
  bool slotMajor;
  mlir::Value numPairs; // T * k

  /// (token, slot) of pair j.
  std::pair<mlir::Value, mlir::Value>
  pairAt(mlir::OpBuilder &b, mlir::Location loc, mlir::Value j) const {
    mlir::Value stride = slotMajor ? tokens : k;
    mlir::Value major = mlir::arith::DivUIOp::create(b, loc, j, stride);
    mlir::Value minor = mlir::arith::RemUIOp::create(b, loc, j, stride);
    return slotMajor ? std::pair{minor, major} : std::pair{major, minor};
  }
};

/// Whether `expert` (i32) names an expert in [0, E); anything else is a
/// dropped pair.
mlir::Value isKeptExpert(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Value expert, int64_t numExperts);

/// `expert` as an index that is safe to address an [E] tensor with (0 for a
/// dropped pair), so that loops can stay branch-free.
mlir::Value clampedExpertIndex(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::Value expert, mlir::Value kept);

/// The static size `size` stands for, or ShapedType::kDynamic.
int64_t staticOrDynamic(mlir::Value size);

/// The counting sort of the pairs of `experts` ([T, k] i32) in `order`.
struct ExpertSort {
  mlir::Value counts;    // [E]: kept pairs per expert
  mlir::Value offsets;   // [E + 1]: segment starts, padded to the block size
  mlir::Value positions; // [T * k] flat in visiting order: offset + rank, or -1
};

/// The counting sort of `experts`' pairs in `order`, over chunks of `chunk`
/// pairs, with segments padded to `blockSize`.
ExpertSort buildExpertSort(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value experts, const PairOrder &order,
                           int64_t numExperts, int64_t blockSize,
                           int64_t chunk);

/// The stable ranks alone (no segment starts) of `experts`' pairs in
/// `order`, flat in that order, -1 for a dropped pair.
mlir::Value buildExpertRanks(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value experts, const PairOrder &order,
                             int64_t numExperts, int64_t chunk);

/// sorted[positions[j]] = j for every kept pair, in a `sortedType` tensor of
/// `length` entries prefilled with `sentinel`.
mlir::Value buildScatterPairs(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value positions, mlir::Value numPairs,
                              mlir::RankedTensorType sortedType,
                              mlir::Value length, mlir::Value sentinel);

/// A flat [major * minor] tensor as [major, minor].
mlir::Value expandPairs(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::Value flat, mlir::Value major, mlir::Value minor);

/// block_experts[b], the expert owning block b (-1 past the used length).
mlir::Value buildBlockExperts(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value offsets, int64_t numExperts,
                              int64_t blockSize,
                              mlir::RankedTensorType blocksType,
                              mlir::Value numBlocks);

//===----------------------------------------------------------------------===//
// The capacity rule (RouterCapacity.cpp)
//===----------------------------------------------------------------------===//

/// The capacity per expert as the reference computes it, floor(T * cf / E),
/// clamped to T, as i32.
mlir::Value buildCapacity(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value tokens, int64_t numExperts,
                          double capacityFactor);

/// token_order and score_order: the router's (weights, experts) after the
/// capacity rule, dropped pairs as (0, -1).
std::pair<mlir::Value, mlir::Value>
buildTokenOrderDrops(mlir::OpBuilder &b, mlir::Location loc,
                     mlir::Value weights, mlir::Value experts,
                     mlir::Value tokens, mlir::Value k, int64_t numExperts,
                     mlir::Value capacity, int64_t chunk);
std::pair<mlir::Value, mlir::Value>
buildScoreOrderDrops(mlir::OpBuilder &b, mlir::Location loc,
                     mlir::Value weights, mlir::Value experts,
                     mlir::Value tokens, mlir::Value k, int64_t numExperts,
                     mlir::Value capacity, int64_t chunk);

} // namespace gatec::router

#endif // GATEC_LIB_CONVERSION_GATETOLINALG_ROUTERLOWERING_H
