//===- FuseIntoScans.cpp - Work before and after a scan, per chunk --------===//
//
// Part of gatec. A chunked scan lowers to an scf.forall over (sequence,
// head) whose chunk loop reads [L, K] slices of q, k, the decay and v and
// writes [L, V] rows of o. Work on either side that is only needed a slice
// at a time moves into that loop:
// - prologues: an elementwise producer of a scan input that the scan alone
//   reads (Mamba-2's broadcast of B and C over heads, dt * x, dt * A) is
//   computed per chunk on the slice, instead of over the whole tensor in
//   memory first;
// - epilogues: ops after the scan that need o only one row of V at a time
//   (a per-head RMSNorm's sum of squares, the normalization, an output gate)
//   run on the chunk's rows: `gate(rms_norm(scan(...)), g)` is one kernel on
//   a GPU and one pass on the CPU, and o itself is never stored.
//
//===----------------------------------------------------------------------===//

#include "Transforms/GenericBody.h"
#include "gatec/Dialect/Gate/GateDialect.h"
#include "gatec/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "llvm/ADT/SetVector.h"

namespace gatec {
#define GEN_PASS_DEF_FUSEINTOSCANS
#include "gatec/Transforms/Passes.h.inc"
} // namespace gatec

using namespace mlir;

namespace {

//===----------------------------------------------------------------------===//
// Epilogues
//===----------------------------------------------------------------------===//

/// Where a scan writes one chunk of o: the generic computing the chunk's
/// rows, its insertion into the (sequence, head) pair's rows inside the
/// chunk loop, and the pair's insertion into o.
struct ScanRows {
  scf::ForallOp forall;
  unsigned resultIndex;      // o among the forall's results
  linalg::GenericOp rowsOp;  // the chunk's rows of o, [L, V]
  tensor::InsertSliceOp rowsInsert;
  tensor::ParallelInsertSliceOp pairInsert;
  unsigned rowDim, colDim;   // the dims of o the rows run along (T and V)

  Value o() { return forall.getResult(resultIndex); }
};

/// Matches the structure ChunkedScanToLinalg builds around an op marked
/// gate.scan_output_rows; fails on anything else.
FailureOr<ScanRows> matchScanRows(linalg::GenericOp rowsOp) {
  ScanRows rows;
  rows.rowsOp = rowsOp;
  if (rowsOp->getNumResults() != 1 || !rowsOp->getResult(0).hasOneUse())
    return failure();
  rows.rowsInsert =
      dyn_cast<tensor::InsertSliceOp>(*rowsOp->getResult(0).user_begin());
  if (!rows.rowsInsert || rows.rowsInsert.getSource() != rowsOp->getResult(0))
    return failure();
  auto rowsArg = dyn_cast<BlockArgument>(rows.rowsInsert.getDest());
  auto chunkLoop =
      rowsArg ? dyn_cast<scf::ForOp>(rowsArg.getOwner()->getParentOp())
              : scf::ForOp();
  if (!chunkLoop || rowsArg.getArgNumber() == 0 ||
      !rows.rowsInsert->getResult(0).hasOneUse())
    return failure();
  unsigned iterIndex = rowsArg.getArgNumber() - 1;
  auto yield = cast<scf::YieldOp>(chunkLoop.getBody()->getTerminator());
  if (yield.getOperand(iterIndex) != rows.rowsInsert.getResult())
    return failure();
  Value rowsResult = chunkLoop.getResult(iterIndex);
  if (!rowsResult.hasOneUse())
    return failure();
  rows.pairInsert =
      dyn_cast<tensor::ParallelInsertSliceOp>(*rowsResult.user_begin());
  rows.forall = dyn_cast<scf::ForallOp>(chunkLoop->getParentOp());
  if (!rows.pairInsert || !rows.forall ||
      rows.pairInsert->getParentOfType<scf::ForallOp>() != rows.forall)
    return failure();
  auto pairArg = dyn_cast<BlockArgument>(rows.pairInsert.getDest());
  if (!pairArg || pairArg.getOwner() != rows.forall.getBody() ||
      pairArg.getArgNumber() < rows.forall.getRank())
    return failure();
  rows.resultIndex = pairArg.getArgNumber() - rows.forall.getRank();

  // The pair's rows are a 2-D slice of o along (rowDim, colDim) with every
  // other dim fixed; the chunk's rows span all of colDim.
  auto oType = cast<RankedTensorType>(rows.o().getType());
  llvm::SmallBitVector dropped = rows.pairInsert.getDroppedDims();
  SmallVector<unsigned> kept;
  for (unsigned d = 0; d < oType.getRank(); ++d)
    if (!dropped.test(d))
      kept.push_back(d);
  if (kept.size() != 2)
    return failure();
  rows.rowDim = kept[0];
  rows.colDim = kept[1];
  int64_t width = oType.getDimSize(rows.colDim);
  if (ShapedType::isDynamic(width) ||
      !isConstantIntValue(rows.pairInsert.getMixedOffsets()[rows.colDim], 0) ||
      !isConstantIntValue(rows.pairInsert.getMixedSizes()[rows.colDim],
                          width) ||
      !isConstantIntValue(rows.rowsInsert.getMixedOffsets()[1], 0) ||
      !isConstantIntValue(rows.rowsInsert.getMixedSizes()[1], width) ||
      !areAllConstantIntValue(rows.pairInsert.getMixedStrides(), 1) ||
      !rows.rowsInsert.hasUnitStride())
    return failure();
  return rows;
}

/// The ops after the scan that read o a row at a time, in block order, and
/// the one value of theirs that the rest of the function reads.
struct RowChain {
  SmallVector<linalg::GenericOp> ops;
  /// Chain values ([..., V], indexed like o) and row values (one per row,
  /// o's shape without colDim).
  llvm::SetVector<Value> rowsValues, rowValues;
  SmallVector<tensor::DimOp> dims; // sizes of chain values, read elsewhere
  Value result;
};

AffineMap rowValueMap(MLIRContext *ctx, unsigned rank, unsigned colDim) {
  return AffineMap::getMultiDimIdentityMap(rank, ctx).dropResult(colDim);
}

/// Whether `op` computes each row of its result from the same row of the
/// chain values it reads: its loops are o's dims (all parallel but colDim,
/// which may reduce), it reads chain values only at the current row, and
/// everything else it reads through a projection of its loops.
bool isRowWise(linalg::GenericOp op, const RowChain &chain,
               const ScanRows &rows, unsigned rank) {
  MLIRContext *ctx = op.getContext();
  if (!op.hasPureTensorSemantics() || op.getNumLoops() != rank ||
      op.getNumDpsInits() != 1)
    return false;
  for (auto [d, kind] : llvm::enumerate(op.getIteratorTypesArray()))
    if (kind != utils::IteratorType::parallel && d != rows.colDim)
      return false;
  bool reduces = op.getNumReductionLoops() == 1;
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap perRow = rowValueMap(ctx, rank, rows.colDim);
  AffineMap resultMap = op.getIndexingMapMatchingResult(op->getResult(0));
  if (resultMap != (reduces ? perRow : identity))
    return false;
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    if (chain.rowsValues.contains(operand.get())) {
      if (map != identity)
        return false;
    } else if (chain.rowValues.contains(operand.get())) {
      if (map != perRow)
        return false;
    } else if (!map.isProjectedPermutation(/*allowZeroInResults=*/true) ||
               !isa<RankedTensorType>(operand.get().getType())) {
      return false;
    }
  }
  return true;
}

/// The row-wise ops reading o, or failure when some op reads o or a value
/// computed from it otherwise, or when anything but one full-width value of
/// o's type leaves the chain.
FailureOr<RowChain> collectRowChain(const ScanRows &rows, Value o) {
  RowChain chain;
  chain.rowsValues.insert(o);
  auto oType = cast<RankedTensorType>(o.getType());
  unsigned rank = oType.getRank();
  Operation *forall = rows.forall;
  for (Operation &op : llvm::make_range(std::next(forall->getIterator()),
                                        forall->getBlock()->end())) {
    bool readsChain = llvm::any_of(op.getOperands(), [&](Value v) {
      return chain.rowsValues.contains(v) || chain.rowValues.contains(v);
    });
    if (!readsChain)
      continue;
    if (auto dim = dyn_cast<tensor::DimOp>(op)) {
      if (dim.getConstantIndex())
        chain.dims.push_back(dim);
      continue;
    }
    auto generic = dyn_cast<linalg::GenericOp>(op);
    if (!generic || !isRowWise(generic, chain, rows, rank))
      continue; // reads the chain from outside: checked below
    chain.ops.push_back(generic);
    if (generic.getNumReductionLoops() == 1)
      chain.rowValues.insert(generic->getResult(0));
    else
      chain.rowsValues.insert(generic->getResult(0));
  }
  if (chain.ops.empty())
    return failure();

  // One value leaves the chain: the last op's, full width, of o's type.
  auto isChainUser = [&](Operation *user) {
    return llvm::is_contained(chain.ops, user) ||
           llvm::any_of(chain.dims,
                        [&](tensor::DimOp dim) { return dim == user; });
  };
  SmallVector<Value> values(chain.rowsValues.begin(), chain.rowsValues.end());
  llvm::append_range(values, chain.rowValues);
  for (Value v : values) {
    bool escapes = llvm::any_of(v.getUsers(), [&](Operation *user) {
      return !isChainUser(user);
    });
    if (!escapes)
      continue;
    if (chain.result || v == o)
      return failure();
    chain.result = v;
  }
  linalg::GenericOp last = chain.ops.back();
  if (!chain.result || chain.result.getDefiningOp() != last ||
      chain.result.getType() != o.getType() ||
      last.payloadUsesValueFromOperand(last.getDpsInitOperand(0)))
    return failure();
  // The forall moves down to the last op: its other results (a final
  // state) must not be read before it.
  for (OpResult result : rows.forall->getResults())
    for (Operation *user : result.getUsers()) {
      Operation *inBlock = forall->getBlock()->findAncestorOpInBlock(*user);
      if (result != o && inBlock && !last->isBeforeInBlock(inBlock))
        return failure();
    }
  return chain;
}

/// Rewrites the chain into the scan's chunk loop. The scan's forall moves
/// down to the chain's last op and writes that op's result instead of o;
/// each chain op becomes a generic over (row, column) of the chunk's rows.
void fuseIntoChunkLoop(RewriterBase &rewriter, ScanRows &rows,
                       RowChain &chain) {
  MLIRContext *ctx = rewriter.getContext();
  Value o = rows.o();
  auto oType = cast<RankedTensorType>(o.getType());
  unsigned rank = oType.getRank();
  linalg::GenericOp last = chain.ops.back();
  Value resultInit = last.getDpsInits()[0];
  OpOperand &sharedOut = rows.forall.getOutputsMutable()[rows.resultIndex];
  Value oInit = sharedOut.get();

  // Sizes of chain values read elsewhere are o's sizes.
  for (tensor::DimOp dim : chain.dims) {
    int64_t d = *dim.getConstantIndex();
    if (chain.rowValues.contains(dim.getSource()) && d >= rows.colDim)
      ++d;
    rewriter.setInsertionPoint(dim);
    rewriter.replaceOpWithNewOp<tensor::DimOp>(dim, oInit, d);
  }

  // The rows of this chunk in o: row offset pairRow + chunkRow, all of
  // colDim, every other dim at the pair's offset.
  Location loc = rows.rowsOp.getLoc();
  rewriter.setInsertionPoint(rows.rowsInsert);
  SmallVector<OpFoldResult> pairOffsets = rows.pairInsert.getMixedOffsets();
  OpFoldResult chunkRow = rows.rowsInsert.getMixedOffsets()[0];
  OpFoldResult numRows = rows.rowsInsert.getMixedSizes()[0];
  OpFoldResult firstRow = affine::makeComposedFoldedAffineApply(
      rewriter, loc, getAffineDimExpr(0, ctx) + getAffineDimExpr(1, ctx),
      {pairOffsets[rows.rowDim], chunkRow});
  OpFoldResult width = rewriter.getIndexAttr(oType.getDimSize(rows.colDim));
  auto rowsType = cast<RankedTensorType>(rows.rowsOp->getResult(0).getType());

  // The chunk's o rows get their own buffer: the chain's result takes their
  // place in the pair's rows.
  Value oldRowsInit = rows.rowsOp.getDpsInits()[0];
  rewriter.setInsertionPoint(rows.rowsOp);
  Value rowsInit = tensor::EmptyOp::create(
      rewriter, loc, SmallVector<OpFoldResult>{numRows, width},
      rowsType.getElementType());
  rewriter.modifyOpInPlace(rows.rowsOp, [&] {
    rows.rowsOp.getDpsInitsMutable()[0].assign(rowsInit);
  });
  rewriter.setInsertionPoint(rows.rowsInsert);
  if (Operation *oldInit = oldRowsInit.getDefiningOp();
      oldInit && oldInit->use_empty())
    rewriter.eraseOp(oldInit);

  // An operand from outside the chain, at the chunk's rows: a slice along
  // the operand's own dims, keeping those that map to rowDim or colDim.
  auto sliceOperand = [&](Value value, AffineMap map,
                          SmallVector<AffineExpr> &chunkExprs) -> Value {
    auto type = cast<RankedTensorType>(value.getType());
    SmallVector<OpFoldResult> offsets, sizes;
    SmallVector<int64_t> keptShape;
    SmallVector<OpFoldResult> keptSizes;
    for (auto [j, expr] : llvm::enumerate(map.getResults())) {
      auto dimExpr = dyn_cast<AffineDimExpr>(expr);
      unsigned d = dimExpr ? dimExpr.getPosition() : rank;
      if (d == rows.rowDim) {
        offsets.push_back(firstRow);
        sizes.push_back(numRows);
        keptShape.push_back(rowsType.getDimSize(0));
        keptSizes.push_back(numRows);
        chunkExprs.push_back(getAffineDimExpr(0, ctx));
      } else if (d == rows.colDim) {
        offsets.push_back(rewriter.getIndexAttr(0));
        sizes.push_back(tensor::getMixedSize(rewriter, loc, value, j));
        keptShape.push_back(type.getDimSize(j));
        keptSizes.push_back(sizes.back());
        chunkExprs.push_back(getAffineDimExpr(1, ctx));
      } else { // a fixed dim of the pair, or a broadcast one
        offsets.push_back(d < rank ? pairOffsets[d] : rewriter.getIndexAttr(0));
        sizes.push_back(rewriter.getIndexAttr(1));
      }
    }
    SmallVector<OpFoldResult> strides(type.getRank(), rewriter.getIndexAttr(1));
    auto sliceType = RankedTensorType::get(keptShape, type.getElementType());
    // An empty tensor stays one, and a fill is filled again at the slice:
    // no full-size tensor remains.
    if (value.getDefiningOp<tensor::EmptyOp>())
      return tensor::EmptyOp::create(rewriter, loc, keptSizes,
                                     type.getElementType());
    if (auto fill = value.getDefiningOp<linalg::FillOp>()) {
      Value dest = tensor::ExtractSliceOp::create(
          rewriter, loc, sliceType, fill.getDpsInits()[0], offsets, sizes,
          strides);
      return linalg::FillOp::create(rewriter, loc, fill.getDpsInputs(),
                                    ValueRange{dest})
          .getResult(0);
    }
    return tensor::ExtractSliceOp::create(rewriter, loc, sliceType, value,
                                          offsets, sizes, strides);
  };

  IRMapping chunkValues;
  chunkValues.map(o, rows.rowsOp->getResult(0));
  AffineMap rowsMap = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap rowMap = AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
  for (linalg::GenericOp op : chain.ops) {
    bool reduces = op.getNumReductionLoops() == 1;
    SmallVector<Value> inputs, inits;
    SmallVector<AffineMap> maps;
    for (OpOperand &operand : op->getOpOperands()) {
      Value value = operand.get();
      Value chunkValue;
      AffineMap map;
      if (Value mapped = chunkValues.lookupOrNull(value)) {
        chunkValue = mapped;
        map = chain.rowValues.contains(value) ? rowMap : rowsMap;
      } else if (op == last && op.isDpsInit(&operand)) {
        // The result's rows: where o's rows went.
        chunkValue = tensor::ExtractSliceOp::create(
            rewriter, loc, rows.rowsInsert.getDest(),
            rows.rowsInsert.getMixedOffsets(), rows.rowsInsert.getMixedSizes(),
            rows.rowsInsert.getMixedStrides());
        map = rowsMap;
      } else {
        SmallVector<AffineExpr> exprs;
        chunkValue = sliceOperand(value, op.getMatchingIndexingMap(&operand),
                                  exprs);
        map = AffineMap::get(2, 0, exprs, ctx);
      }
      (op.isDpsInit(&operand) ? inits : inputs).push_back(chunkValue);
      maps.push_back(map);
    }
    SmallVector<utils::IteratorType> iterators = {
        utils::IteratorType::parallel, reduces ? utils::IteratorType::reduction
                                               : utils::IteratorType::parallel};
    auto chunkOp = linalg::GenericOp::create(
        rewriter, op.getLoc(), TypeRange{inits[0].getType()}, inputs, inits,
        maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          IRMapping map;
          map.map(op.getBody()->getArguments(), args);
          SmallVector<Value> yielded = gatec::cloneGenericBody(
              b, op, map, [&](unsigned d) -> Value {
                if (d == rows.rowDim)
                  return affine::makeComposedAffineApply(
                      b, l, getAffineDimExpr(0, ctx) + getAffineDimExpr(1, ctx),
                      {firstRow, OpFoldResult(linalg::IndexOp::create(b, l, 0))});
                if (d == rows.colDim)
                  return linalg::IndexOp::create(b, l, 1);
                return getValueOrCreateConstantIndexOp(b, l, pairOffsets[d]);
              });
          linalg::YieldOp::create(b, l, yielded);
        });
    chunkValues.map(op->getResult(0), chunkOp->getResult(0));
  }

  // The pair's rows now hold the chain's result; the forall writes it where
  // the last op wrote it, and moves there so that every operand read above
  // is defined.
  rewriter.modifyOpInPlace(rows.rowsInsert, [&] {
    rows.rowsInsert.getSourceMutable().assign(
        chunkValues.lookup(chain.result));
  });
  rewriter.modifyOpInPlace(rows.forall, [&] { sharedOut.assign(resultInit); });
  rewriter.moveOpBefore(rows.forall, last);
  rewriter.replaceAllUsesWith(chain.result, o);
  for (linalg::GenericOp op : llvm::reverse(chain.ops))
    rewriter.eraseOp(op);
}

//===----------------------------------------------------------------------===//
// Prologues
//===----------------------------------------------------------------------===//

/// Whether `op`, defined outside the scan, can be computed on a slice inside
/// it instead: elementwise (broadcasts included), its one result read only
/// by that slice, and not a contraction's epilogue (a GEMM kernel stores the
/// result of its epilogue; reading the unrounded contraction per chunk would
/// move more bytes, not fewer).
bool isSinkableProducer(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op->getNumResults() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() ||
      !op->getResult(0).hasOneUse() ||
      !op.getIndexingMapMatchingResult(op->getResult(0)).isIdentity())
    return false;
  return llvm::none_of(op.getDpsInputs(), [](Value input) {
    auto producer = input.getDefiningOp<linalg::LinalgOp>();
    return producer && producer.getNumReductionLoops() > 0;
  });
}

/// Computes each sinkable producer read through a slice inside `scanLoop`
/// on that slice, until none is left (a producer's own operands are then
/// sliced there, and may be sinkable in turn). Returns how many moved.
unsigned sinkProducers(RewriterBase &rewriter, scf::ForallOp scanLoop) {
  unsigned moved = 0;
  // The scan's sizes are read off its inputs: read them off the producers'
  // destinations instead, which have the same shape, so that a slice can be
  // a producer's only reader.
  auto readSizesOffInits = [&](linalg::GenericOp producer) {
    for (Operation *user :
         llvm::make_early_inc_range(producer->getResult(0).getUsers()))
      if (auto dim = dyn_cast<tensor::DimOp>(user)) {
        rewriter.modifyOpInPlace(dim, [&] {
          dim.getSourceMutable().assign(producer.getDpsInits()[0]);
        });
      }
  };
  while (true) {
    tensor::ExtractSliceOp slice;
    scanLoop.getBody()->walk([&](tensor::ExtractSliceOp candidate) {
      auto producer = candidate.getSource().getDefiningOp<linalg::GenericOp>();
      if (producer && !scanLoop->isAncestor(producer))
        readSizesOffInits(producer);
      if (producer && !scanLoop->isAncestor(producer) &&
          isSinkableProducer(producer) && candidate.hasUnitStride()) {
        slice = candidate;
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (!slice)
      return moved;
    auto producer = slice.getSource().getDefiningOp<linalg::GenericOp>();
    rewriter.setInsertionPoint(slice);
    FailureOr<TilingResult> tile =
        cast<TilingInterface>(producer.getOperation())
            .generateResultTileValue(rewriter, 0, slice.getMixedOffsets(),
                                     slice.getMixedSizes());
    if (failed(tile))
      return moved;
    // The tile has the producer's rank; the slice may drop unit dims.
    Value value = tile->tiledValues[0];
    if (value.getType() != slice.getType()) {
      auto tileType = cast<RankedTensorType>(value.getType());
      SmallVector<OpFoldResult> zeros(tileType.getRank(),
                                      rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> ones(tileType.getRank(),
                                     rewriter.getIndexAttr(1));
      value = tensor::ExtractSliceOp::create(
          rewriter, slice.getLoc(), slice.getType(), value, zeros,
          slice.getMixedSizes(), ones);
    }
    rewriter.replaceOp(slice, value);
    rewriter.eraseOp(producer);
    ++moved;
  }
}

struct FuseIntoScansPass : gatec::impl::FuseIntoScansBase<FuseIntoScansPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<scf::ForallOp> scanLoops;
    getOperation()->walk([&](scf::ForallOp loop) {
      if (loop->hasAttr(mlir::gate::kChunkedScanLoopAttrName))
        scanLoops.push_back(loop);
    });
    for (scf::ForallOp loop : scanLoops)
      sinkProducers(rewriter, loop);

    SmallVector<linalg::GenericOp> rowsOps;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (op->hasAttr(mlir::gate::kScanOutputRowsAttrName))
        rowsOps.push_back(op);
    });
    for (linalg::GenericOp rowsOp : rowsOps) {
      FailureOr<ScanRows> rows = matchScanRows(rowsOp);
      if (failed(rows))
        continue;
      FailureOr<RowChain> chain = collectRowChain(*rows, rows->o());
      if (failed(chain))
        continue;
      fuseIntoChunkLoop(rewriter, *rows, *chain);
    }
  }
};

} // namespace
