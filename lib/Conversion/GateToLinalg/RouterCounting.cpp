//===- RouterCounting.cpp - Counting sorts of a router's pairs ------------===//
//
// Part of gatec. The counting across tokens behind the capacity rule and
// gate.dispatch, and the dispatch metadata built from it (sorted pairs,
// segment offsets, block owners).
//
// Every decision across tokens is a stable counting sort of the T * k
// (token, slot) pairs by expert: a pair's rank is the number of pairs of its
// expert before it in a visiting order (token-major for dispatch, slot-major
// for token-order capacity). The pairs are cut into P chunks of `chunk`
// consecutive pairs of that order, and three parallel passes replace the
// serial walk over all T * k pairs:
//   1. per chunk, the histogram of its experts (row c of a [P + 1, E] table);
//   2. per expert, an exclusive prefix sum down its column: row c then holds
//      the expert's pairs in the chunks before c, and row P its total;
//   3. per chunk, each pair's rank: row c plus the pairs of its expert seen
//      so far in the chunk.
// No serial chain is longer than max(chunk, P + 1), and the ranks are bit for
//
//===----------------------------------------------------------------------===//

#include "Conversion/GateToLinalg/RouterLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <tuple>

using namespace mlir;
using namespace mlir::gate;

namespace gatec::router {

/// Whether `expert` (i32) names an expert in [0, E); anything else is a
/// dropped pair.
Value isKeptExpert(OpBuilder &b, Location loc, Value expert,
                   int64_t numExperts) {
  Type i32 = b.getI32Type();
  Value nonNegative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge,
                                            expert, constInt(b, loc, i32, 0));
  Value inRange =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, expert,
                            constInt(b, loc, i32, numExperts));
  return arith::AndIOp::create(b, loc, nonNegative, inRange);
}

/// `expert` as an index that is safe to address an [E] tensor with (0 for a
/// dropped pair), so that loops can stay branch-free.
Value clampedExpertIndex(OpBuilder &b, Location loc, Value expert, Value kept) {
  Value zero = constInt(b, loc, b.getI32Type(), 0);
  return toIndex(b, loc, arith::SelectOp::create(b, loc, kept, expert, zero));
}

/// The static size `size` stands for, or ShapedType::kDynamic.
int64_t staticOrDynamic(Value size) {
  return getConstantIntValue(size).value_or(ShapedType::kDynamic);
}

/// Row `row` ([E]) of a [rows, E] table: each chunk updates its own row in
/// place.
static Value extractRow(OpBuilder &b, Location loc, Value table, Value row,
                        int64_t numExperts) {
  auto rowType = RankedTensorType::get(
      {numExperts}, cast<RankedTensorType>(table.getType()).getElementType());
  return tensor::ExtractSliceOp::create(
      b, loc, rowType, table, ArrayRef<OpFoldResult>{row, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(numExperts)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}
namespace {

/// The pairs of one chunk and the experts they name.
struct PairChunks {
  const PairOrder &order;
  Value experts; // [T, k] i32
  int64_t numExperts;
  Value chunk, numChunks, numPairs;

  /// [begin, end) of chunk `c` in the visiting order.
  std::pair<Value, Value> range(OpBuilder &b, Location loc, Value c) const {
    Value begin = arith::MulIOp::create(b, loc, c, chunk);
    Value end = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, begin, chunk), numPairs);
    return {begin, end};
  }

  /// A forall over the chunks with `shared` outputs; `body` gets the chunk
  /// index, its range and the shared tensors and returns the slices to
  /// write back as (value, destination index, offsets, sizes).
  using WriteBack = std::tuple<Value, unsigned, SmallVector<OpFoldResult>,
                               SmallVector<OpFoldResult>>;
  scf::ForallOp
  forEach(OpBuilder &b, Location loc, ValueRange shared,
          function_ref<SmallVector<WriteBack>(OpBuilder &, Value, Value, Value,
                                              ValueRange)>
              body) const {
    auto forall = scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{numChunks}, shared, std::nullopt);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(forall.getTerminator());
    Value c = forall.getInductionVar(0);
    auto [begin, end] = range(b, loc, c);
    SmallVector<WriteBack> writes =
        body(b, c, begin, end, forall.getRegionIterArgs());
    b.setInsertionPointToEnd(forall.getTerminator().getBody());
    for (auto &[value, dest, offsets, sizes] : writes)
      tensor::ParallelInsertSliceOp::create(
          b, loc, value, forall.getRegionIterArgs()[dest], offsets, sizes,
          SmallVector<OpFoldResult>(offsets.size(), b.getIndexAttr(1)));
    return forall;
  }

  /// The expert of pair j: (i32 id, kept, an index safe to address [E]).
  std::tuple<Value, Value, Value> expertOf(OpBuilder &b, Location loc,
                                           Value j) const {
    auto [t, slot] = order.pairAt(b, loc, j);
    Value expert =
        tensor::ExtractOp::create(b, loc, experts, ValueRange{t, slot});
    Value kept = isKeptExpert(b, loc, expert, numExperts);
    return {expert, kept, clampedExpertIndex(b, loc, expert, kept)};
  }
};

} // namespace

/// Passes 1 and 2: the table whose row c < P holds, per expert, its kept
/// pairs in the chunks before c; and a copy of row P, the counts per expert
/// (a copy, so that pass 3 may reuse the table's rows as its cursors).
static std::pair<Value, Value> buildChunkBases(OpBuilder &b, Location loc,
                                               const PairChunks &chunks) {
  Type i32 = b.getI32Type();
  int64_t numExperts = chunks.numExperts;
  Value zero = constIndex(b, loc, 0), one = constIndex(b, loc, 1);
  Value rows = b.createOrFold<arith::AddIOp>(loc, chunks.numChunks, one);
  auto tableType =
      RankedTensorType::get({staticOrDynamic(rows), numExperts}, i32);
  Value table =
      buildFilled(b, loc, tableType, {rows, Value()}, constInt(b, loc, i32, 0));

  auto histograms = chunks.forEach(
      b, loc, table,
      [&](OpBuilder &nb, Value c, Value begin, Value end, ValueRange shared) {
        Value row = extractRow(nb, loc, shared[0], c, numExperts);
        auto loop = scf::ForOp::create(
            nb, loc, begin, end, one, ValueRange{row},
            [&](OpBuilder &lb, Location ll, Value j, ValueRange args) {
              auto [expert, kept, index] = chunks.expertOf(lb, ll, j);
              Value count = tensor::ExtractOp::create(lb, ll, args[0], index);
              Value next = arith::AddIOp::create(
                  lb, ll, count, arith::ExtUIOp::create(lb, ll, i32, kept));
              scf::YieldOp::create(lb, ll,
                                   ValueRange{tensor::InsertOp::create(
                                       lb, ll, next, args[0], index)});
            });
        return SmallVector<PairChunks::WriteBack>{
            {loop.getResult(0),
             0,
             {c, nb.getIndexAttr(0)},
             {nb.getIndexAttr(1), nb.getIndexAttr(numExperts)}}};
      });

  // One column per expert: row P starts at 0, so it ends as the total.
  auto prefix = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(numExperts)},
      histograms.getResults(), std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(prefix.getTerminator());
    Value e = prefix.getInductionVar(0);
    Value shared = prefix.getRegionIterArgs()[0];
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), e};
    SmallVector<OpFoldResult> sizes = {getAsOpFoldResult(rows),
                                       b.getIndexAttr(1)};
    SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
    auto columnType = RankedTensorType::get({staticOrDynamic(rows)}, i32);
    Value column = tensor::ExtractSliceOp::create(b, loc, columnType, shared,
                                                  offsets, sizes, strides);
    auto loop = scf::ForOp::create(
        b, loc, zero, rows, one, ValueRange{column, constInt(b, loc, i32, 0)},
        [&](OpBuilder &lb, Location ll, Value c, ValueRange args) {
          Value count = tensor::ExtractOp::create(lb, ll, args[0], c);
          Value before = tensor::InsertOp::create(lb, ll, args[1], args[0], c);
          scf::YieldOp::create(lb, ll,
                               ValueRange{before, arith::AddIOp::create(
                                                      lb, ll, args[1], count)});
        });
    b.setInsertionPointToEnd(prefix.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, loc, loop.getResult(0), shared,
                                          offsets, sizes, strides);
  }
  Value bases = prefix.getResult(0);
  Value totals = extractRow(b, loc, bases, chunks.numChunks, numExperts);
  auto countsType = RankedTensorType::get({numExperts}, i32);
  Value empty = tensor::EmptyOp::create(b, loc, countsType, ValueRange{});
  Value counts =
      linalg::CopyOp::create(b, loc, ValueRange{totals}, ValueRange{empty})
          .getResult(0);
  return {bases, counts};
}

/// Pass 3: every pair's position in visiting order ([T * k], flat): its rank
/// among its expert's pairs plus `starts[e]` (when given), or -1 for a
/// dropped pair. Uses `bases`' rows as each chunk's cursors.
static Value buildPairPositions(OpBuilder &b, Location loc,
                                const PairChunks &chunks, Value bases,
                                Value starts) {
  Type i32 = b.getI32Type();
  int64_t numExperts = chunks.numExperts;
  Value one = constIndex(b, loc, 1);
  auto positionsType =
      RankedTensorType::get({staticOrDynamic(chunks.numPairs)}, i32);
  Value positions = buildEmpty(b, loc, positionsType, {chunks.numPairs});
  auto ranked = chunks.forEach(
      b, loc, ValueRange{bases, positions},
      [&](OpBuilder &nb, Value c, Value begin, Value end, ValueRange shared) {
        Value row = extractRow(nb, loc, shared[0], c, numExperts);
        Value length = arith::SubIOp::create(nb, loc, end, begin);
        auto sliceType = RankedTensorType::get({ShapedType::kDynamic}, i32);
        Value slice = tensor::ExtractSliceOp::create(
            nb, loc, sliceType, shared[1], ArrayRef<OpFoldResult>{begin},
            ArrayRef<OpFoldResult>{length},
            ArrayRef<OpFoldResult>{nb.getIndexAttr(1)});
        auto loop = scf::ForOp::create(
            nb, loc, begin, end, one, ValueRange{row, slice},
            [&](OpBuilder &lb, Location ll, Value j, ValueRange args) {
              auto [expert, kept, index] = chunks.expertOf(lb, ll, j);
              Value rank = tensor::ExtractOp::create(lb, ll, args[0], index);
              Value position = rank;
              if (starts)
                position = arith::AddIOp::create(
                    lb, ll, position,
                    tensor::ExtractOp::create(lb, ll, starts, index));
              position = arith::SelectOp::create(lb, ll, kept, position,
                                                 constInt(lb, ll, i32, -1));
              Value next = arith::AddIOp::create(
                  lb, ll, rank, arith::ExtUIOp::create(lb, ll, i32, kept));
              Value at = arith::SubIOp::create(lb, ll, j, begin);
              scf::YieldOp::create(
                  lb, ll,
                  ValueRange{
                      tensor::InsertOp::create(lb, ll, next, args[0], index),
                      tensor::InsertOp::create(lb, ll, position, args[1], at)});
            });
        return SmallVector<PairChunks::WriteBack>{
            {loop.getResult(0),
             0,
             {c, nb.getIndexAttr(0)},
             {nb.getIndexAttr(1), nb.getIndexAttr(numExperts)}},
            {loop.getResult(1), 1, {begin}, {length}}};
      });
  return ranked.getResult(1);
}

/// The exclusive prefix sum of `counts` rounded up to `blockSize`: E + 1
/// offsets, the last one the used length.
static Value buildSegmentOffsets(OpBuilder &b, Location loc, Value counts,
                                 int64_t numExperts, int64_t blockSize) {
  Type i32 = b.getI32Type();
  auto offsetsType = RankedTensorType::get({numExperts + 1}, i32);
  Value zero = constInt(b, loc, i32, 0);
  auto loop = scf::ForOp::create(
      b, loc, constIndex(b, loc, 0), constIndex(b, loc, numExperts),
      constIndex(b, loc, 1),
      ValueRange{zero,
                 tensor::EmptyOp::create(b, loc, offsetsType, ValueRange{})},
      [&](OpBuilder &nb, Location nl, Value e, ValueRange args) {
        Value offsets = tensor::InsertOp::create(nb, nl, args[0], args[1], e);
        Value size = tensor::ExtractOp::create(nb, nl, counts, e);
        if (blockSize != 1) {
          Value block = constInt(nb, nl, i32, blockSize);
          Value rounded = arith::AddIOp::create(
              nb, nl, size, constInt(nb, nl, i32, blockSize - 1));
          size = arith::MulIOp::create(
              nb, nl, arith::DivUIOp::create(nb, nl, rounded, block), block);
        }
        scf::YieldOp::create(
            nb, nl,
            ValueRange{arith::AddIOp::create(nb, nl, args[0], size), offsets});
      });
  return tensor::InsertOp::create(b, loc, loop.getResult(0), loop.getResult(1),
                                  constIndex(b, loc, numExperts));
}

/// The pairs of `experts` in `order`, cut into chunks of `chunk` pairs.
static PairChunks chunkPairs(OpBuilder &b, Location loc, Value experts,
                             const PairOrder &order, int64_t numExperts,
                             int64_t chunk) {
  Value chunkSize = constIndex(b, loc, chunk);
  Value numChunks =
      b.createOrFold<arith::CeilDivUIOp>(loc, order.numPairs, chunkSize);
  return PairChunks{order,     experts,   numExperts,
                    chunkSize, numChunks, order.numPairs};
}

ExpertSort buildExpertSort(OpBuilder &b, Location loc, Value experts,
                           const PairOrder &order, int64_t numExperts,
                           int64_t blockSize, int64_t chunk) {
  PairChunks chunks = chunkPairs(b, loc, experts, order, numExperts, chunk);
  auto [bases, counts] = buildChunkBases(b, loc, chunks);
  Value offsets = buildSegmentOffsets(b, loc, counts, numExperts, blockSize);
  Value positions = buildPairPositions(b, loc, chunks, bases, offsets);
  return {counts, offsets, positions};
}

/// The stable ranks alone (no segment starts) of `experts`' pairs in
/// `order`, flat in that order, -1 for a dropped pair.
Value buildExpertRanks(OpBuilder &b, Location loc, Value experts,
                       const PairOrder &order, int64_t numExperts,
                       int64_t chunk) {
  PairChunks chunks = chunkPairs(b, loc, experts, order, numExperts, chunk);
  Value bases = buildChunkBases(b, loc, chunks).first;
  return buildPairPositions(b, loc, chunks, bases, Value());
}

/// sorted[positions[j]] = j for every kept pair (`positions` token-major and
/// flat), in a `sortedType` tensor of `length` entries prefilled with
/// `sentinel`. Kept pairs have distinct entries, so every pair writes in
/// parallel; a dropped pair writes to an entry of its own past `length`,
/// cut off at the end.
Value buildScatterPairs(OpBuilder &b, Location loc, Value positions,
                        Value numPairs, RankedTensorType sortedType,
                        Value length, Value sentinel) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type();
  Value extendedLength = b.createOrFold<arith::AddIOp>(loc, length, numPairs);
  auto extendedType =
      RankedTensorType::get({staticOrDynamic(extendedLength)}, i32);
  Value extended =
      buildFilled(b, loc, extendedType, {extendedLength}, sentinel);
  // The pair ids, as slices to insert.
  auto idsType = RankedTensorType::get({staticOrDynamic(numPairs)}, i32);
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
  Value ids =
      linalg::GenericOp::create(
          b, loc, TypeRange{idsType}, ValueRange{},
          ValueRange{buildEmpty(b, loc, idsType, {numPairs})},
          ArrayRef<AffineMap>{identity}, parallelIterators(1),
          [&](OpBuilder &nb, Location nl, ValueRange) {
            linalg::YieldOp::create(
                nb, nl, toI32(nb, nl, linalg::IndexOp::create(nb, nl, 0)));
          })
          .getResult(0);
  auto scatter = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{getAsOpFoldResult(numPairs)},
      ValueRange{extended}, std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(scatter.getTerminator());
    Value j = scatter.getInductionVar(0);
    Value position = tensor::ExtractOp::create(b, loc, positions, j);
    Value kept = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge,
                                       position, constInt(b, loc, i32, 0));
    Value destination =
        arith::SelectOp::create(b, loc, kept, toIndex(b, loc, position),
                                arith::AddIOp::create(b, loc, length, j));
    SmallVector<OpFoldResult> one = {b.getIndexAttr(1)};
    Value id = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({1}, i32), ids, ArrayRef<OpFoldResult>{j},
        one, one);
    b.setInsertionPointToEnd(scatter.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(
        b, loc, id, scatter.getRegionIterArgs()[0],
        ArrayRef<OpFoldResult>{destination}, one, one);
  }
  return tensor::ExtractSliceOp::create(
      b, loc, sortedType, scatter.getResult(0),
      ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{getAsOpFoldResult(length)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
}

/// A flat [major * minor] tensor as [major, minor].
Value expandPairs(OpBuilder &b, Location loc, Value flat, Value major,
                  Value minor) {
  auto flatType = cast<RankedTensorType>(flat.getType());
  auto type =
      RankedTensorType::get({staticOrDynamic(major), staticOrDynamic(minor)},
                            flatType.getElementType());
  return tensor::ExpandShapeOp::create(
      b, loc, type, flat, ArrayRef<ReassociationIndices>{{0, 1}},
      ArrayRef<OpFoldResult>{getAsOpFoldResult(major),
                             getAsOpFoldResult(minor)});
}

/// block_experts[b] = the number of segments that end at or before block b's
/// start: segments are contiguous and in expert order, so that is the expert
/// owning the block, and it reaches E exactly past the used length (-1
/// there). A parallel (block x expert) counting reduction instead of a
/// sequential fill, so it vectorizes; E is small.
Value buildBlockExperts(OpBuilder &b, Location loc, Value offsets,
                        int64_t numExperts, int64_t blockSize,
                        RankedTensorType blocksType, Value numBlocks) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type();
  SmallVector<OpFoldResult> offset = {b.getIndexAttr(1)};
  SmallVector<OpFoldResult> size = {b.getIndexAttr(numExperts)};
  SmallVector<OpFoldResult> stride = {b.getIndexAttr(1)};
  Value ends =
      tensor::ExtractSliceOp::create(b, loc, offsets, offset, size, stride);
  Value zeros =
      buildFilled(b, loc, blocksType, {numBlocks}, constInt(b, loc, i32, 0));
  AffineMap toExpert = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
  AffineMap toBlock = AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
  auto counted = linalg::GenericOp::create(
      b, loc, TypeRange{blocksType}, ValueRange{ends}, ValueRange{zeros},
      {toExpert, toBlock},
      {utils::IteratorType::parallel, utils::IteratorType::reduction},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value start = toI32(
            nb, nl,
            arith::MulIOp::create(nb, nl, linalg::IndexOp::create(nb, nl, 0),
                                  constIndex(nb, nl, blockSize)));
        Value ended = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sle,
                                            args[0], start);
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::AddIOp::create(
                nb, nl, args[1], arith::ExtUIOp::create(nb, nl, i32, ended))});
      });
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
  auto named = linalg::GenericOp::create(
      b, loc, TypeRange{blocksType}, ValueRange{counted.getResult(0)},
      ValueRange{buildEmpty(b, loc, blocksType, {numBlocks})},
      {identity, identity}, parallelIterators(1),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value past =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, args[0],
                                  constInt(nb, nl, i32, numExperts));
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::SelectOp::create(
                nb, nl, past, constInt(nb, nl, i32, -1), args[0])});
      });
  return named.getResult(0);
}

} // namespace gatec::router
