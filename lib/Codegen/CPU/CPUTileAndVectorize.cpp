//===- CPUTileAndVectorize.cpp - The CPU tiling strategy ------------------===//
//
// Part of gatec. Threads, cache blocks and registers, in that order, on
// tensor-level linalg; then vector hoisting once buffers exist.
//
//===----------------------------------------------------------------------===//

#include "Codegen/Common/MemRefRewrites.h"
#include "gatec/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Hoisting.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Remarks.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/InterleavedRange.h"

namespace gatec {
#define GEN_PASS_DEF_CPUTILEANDVECTORIZE
#define GEN_PASS_DEF_CPUOPTIMIZEVECTORS
#include "gatec/Codegen/CPU/Passes.h.inc"
} // namespace gatec

using namespace mlir;

namespace {

/// A contraction whose m/n/k loops we know: matmuls and anything shaped like
/// one (batch matmuls, rank-N x 2-D products written as linalg.generic).
std::optional<linalg::ContractionDimensions>
getContractionDims(linalg::LinalgOp op) {
  if (!linalg::isaContractionOpInterface(op))
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->m.empty() || dims->n.empty() || dims->k.empty())
    return std::nullopt;
  return *dims;
}

SmallVector<OpFoldResult> toFoldResults(OpBuilder &b, ArrayRef<int64_t> sizes) {
  return llvm::to_vector(llvm::map_range(
      sizes, [&](int64_t s) -> OpFoldResult { return b.getIndexAttr(s); }));
}

/// Static trip counts of `op`'s loops (kDynamic where unknown).
SmallVector<int64_t> loopRanges(linalg::LinalgOp op) {
  return op.getStaticLoopRanges();
}

/// A plain row-major matmul of bf16 operands accumulating in f32: the shape
/// that the avx512_bf16 dot-product micro-kernel takes.
bool isBF16DotMatmul(linalg::LinalgOp op) {
  auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation());
  if (!matmul || matmul.getDpsInputs().size() != 2)
    return false;
  if (matmul.getIndexingMapsArray() !=
      linalg::MatmulOp::getDefaultIndexingMaps(op->getContext()))
    return false;
  return getElementTypeOrSelf(matmul.getDpsInputs()[0]).isBF16() &&
         getElementTypeOrSelf(matmul.getDpsInputs()[1]).isBF16() &&
         getElementTypeOrSelf(matmul.getDpsInits()[0]).isF32();
}

/// Lanes of one avx512_bf16 dot product: 16 f32 accumulators, each taking
/// a pair of bf16 products.
constexpr int64_t kDotLanes = 16;

/// Replaces a static register tile C[M, N] += A[M, 2] B[2, N] (bf16 x bf16
/// -> f32, N a multiple of 16) by vdpbf16ps dot products:
///   - the two rows of B are interleaved into pairs (B[0, n], B[1, n]),
///     16 columns per vector<32xbf16>;
///   - each row's pair (A[m, 0], A[m, 1]) is broadcast as one 32-bit lane;
///   - one x86vector.avx512.dot per row and 16 columns adds both products
///     to the f32 accumulators.
/// C is read and written whole, as vector.contract would, so the K loop's
/// accumulator hoisting keeps it in registers.
LogicalResult emitBF16DotTile(RewriterBase &rewriter, linalg::MatmulOp op) {
  auto cType = cast<RankedTensorType>(op.getDpsInits()[0].getType());
  auto aType = cast<RankedTensorType>(op.getDpsInputs()[0].getType());
  if (!cType.hasStaticShape() || !aType.hasStaticShape() ||
      aType.getDimSize(1) != 2 || cType.getDimSize(1) % kDotLanes != 0)
    return failure();
  int64_t rows = cType.getDimSize(0), cols = cType.getDimSize(1);
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Type bf16 = rewriter.getBF16Type(), f32 = rewriter.getF32Type();
  Type i32 = rewriter.getI32Type();
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  SmallVector<Value> origin = {zero, zero};
  Value padBF16 = arith::ConstantOp::create(rewriter, loc, bf16,
                                            rewriter.getFloatAttr(bf16, 0.0));
  Value padF32 = arith::ConstantOp::create(rewriter, loc, f32,
                                           rewriter.getFloatAttr(f32, 0.0));
  SmallVector<bool> inBounds = {true, true};
  Value a = vector::TransferReadOp::create(
      rewriter, loc, VectorType::get({rows, 2}, bf16), op.getDpsInputs()[0],
      origin, padBF16, inBounds);
  Value b = vector::TransferReadOp::create(
      rewriter, loc, VectorType::get({2, cols}, bf16), op.getDpsInputs()[1],
      origin, padBF16, inBounds);
  Value c = vector::TransferReadOp::create(
      rewriter, loc, VectorType::get({rows, cols}, f32), op.getDpsInits()[0],
      origin, padF32, inBounds);

  // Lanes [col, col + 16) of a 1-D vector.
  auto lanesAt = [&](Value row, int64_t col) -> Value {
    return vector::ExtractStridedSliceOp::create(
        rewriter, loc, row, ArrayRef<int64_t>{col},
        ArrayRef<int64_t>{kDotLanes}, ArrayRef<int64_t>{1});
  };

  // Pairs of B's two rows, 16 columns per vector.
  Value b0 = vector::ExtractOp::create(rewriter, loc, b, 0);
  Value b1 = vector::ExtractOp::create(rewriter, loc, b, 1);
  SmallVector<Value> pairs;
  for (int64_t col = 0; col < cols; col += kDotLanes)
    pairs.push_back(vector::InterleaveOp::create(
        rewriter, loc, lanesAt(b0, col), lanesAt(b1, col)));

  auto pairType = VectorType::get({2 * kDotLanes}, bf16);
  for (int64_t row = 0; row < rows; ++row) {
    // (A[row, 0], A[row, 1]) as one i32, in every lane.
    Value aRow = vector::ExtractOp::create(rewriter, loc, a, row);
    Value aBits = vector::BitCastOp::create(rewriter, loc,
                                            VectorType::get({1}, i32), aRow);
    Value aPair = vector::BroadcastOp::create(
        rewriter, loc, VectorType::get({kDotLanes}, i32),
        vector::ExtractOp::create(rewriter, loc, aBits, 0));
    aPair = vector::BitCastOp::create(rewriter, loc, pairType, aPair);
    Value cRow = vector::ExtractOp::create(rewriter, loc, c, row);
    for (auto [index, pair] : llvm::enumerate(pairs)) {
      int64_t col = index * kDotLanes;
      Value acc = lanesAt(cRow, col);
      Value dot = x86vector::DotBF16Op::create(rewriter, loc, acc.getType(),
                                               acc, aPair, pair);
      cRow = vector::InsertStridedSliceOp::create(rewriter, loc, dot, cRow,
                                                  ArrayRef<int64_t>{col},
                                                  ArrayRef<int64_t>{1});
    }
    c = vector::InsertOp::create(rewriter, loc, cRow, c, row);
  }
  Value written = vector::TransferWriteOp::create(
                      rewriter, loc, c, op.getDpsInits()[0], origin, inBounds)
                      .getResult();
  rewriter.replaceOp(op, written);
  return success();
}

struct CPUTileAndVectorizePass
    : gatec::impl::CPUTileAndVectorizeBase<CPUTileAndVectorizePass> {
  using Base::Base;

  /// A decision of this pass (tile chosen, producers fused, path taken) as an
  /// optimization remark at `op`'s source location. Remarks are off unless
  /// the user asks (`gatec --remarks=<regex>`, gatec-opt's
  /// `--remarks-filter=<regex>`); then the remark names the pass as its
  /// category. Its text is built only when remarks are on.
  remark::detail::InFlightRemark report(Location loc, StringRef name,
                                        bool passed = true) {
    auto opts = remark::RemarkOpts::name(name)
                    .category(getArgument())
                    .function(getOperation().getSymName());
    return passed ? remark::passed(loc, opts) : remark::missed(loc, opts);
  }
  remark::detail::InFlightRemark report(Operation *op, StringRef name,
                                        bool passed = true) {
    return report(op->getLoc(), name, passed);
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    IRRewriter rewriter(&getContext());
    tileForThreads(rewriter, func);
    // Sizes of fused producers' results are asked for by tensor.dim (loop
    // bounds); answering them from the producers' operands lets the
    // producers, now computed tile by tile, die.
    {
      RewritePatternSet patterns(&getContext());
      memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
      tensor::DimOp::getCanonicalizationPatterns(patterns, &getContext());
      if (failed(applyPatternsGreedily(func, std::move(patterns))))
        return signalPassFailure();
    }
    tileContractionsForCache(rewriter, func);
    tileAndVectorizeForRegisters(rewriter, func);
  }

  /// Thread tile sizes of a root op: contractions and 2-D-or-more
  /// elementwise ops split their two innermost parallel loops into
  /// threadTileM x threadTileN blocks (so an epilogue and the matmuls fused
  /// into it share one block); 1-D ops split into long chunks; reductions
  /// stay whole.
  SmallVector<int64_t> threadTileSizes(linalg::LinalgOp op) {
    unsigned numLoops = op.getNumLoops();
    SmallVector<int64_t> sizes(numLoops, 0);
    SmallVector<unsigned> parallel;
    op.getParallelDims(parallel);
    if (parallel.empty())
      return sizes;
    if (auto dims = getContractionDims(op)) {
      for (unsigned b : dims->batch)
        sizes[b] = 1;
      for (unsigned m : dims->m)
        sizes[m] = 1;
      for (unsigned n : dims->n)
        sizes[n] = 1;
      sizes[dims->m.back()] = threadTileM;
      sizes[dims->n.back()] = threadTileN;
      return sizes;
    }
    if (parallel.size() == 1) {
      sizes[parallel[0]] = 64 * 1024;
      return sizes;
    }
    for (unsigned p : parallel)
      sizes[p] = 1;
    // An elementwise op over operands already in memory streams them: a
    // tile of whole rows reads each operand contiguously, where a 256 x 128
    // block would keep 256 strided streams per operand in flight, more than
    // the hardware prefetchers follow. Blocks stay for an epilogue whose
    // matmul producers are fused into it tile by tile.
    bool hasContractionProducer =
        llvm::any_of(op.getDpsInputOperands(), [](OpOperand *input) {
          auto producer = input->get().getDefiningOp<linalg::LinalgOp>();
          return producer && getContractionDims(producer).has_value();
        });
    if (op.getNumReductionLoops() == 0 && !hasContractionProducer) {
      sizes[parallel[parallel.size() - 2]] = kRowsPerStreamingTile;
      sizes[parallel.back()] = 0;
      return sizes;
    }
    sizes[parallel[parallel.size() - 2]] = threadTileM;
    sizes[parallel.back()] = threadTileN;
    return sizes;
  }

  /// Rows of a streaming elementwise op per thread tile.
  static constexpr int64_t kRowsPerStreamingTile = 8;

  void tileForThreads(IRRewriter &rewriter, func::FuncOp func) {
    // Roots are linalg ops directly in the function body, visited last to
    // first so that consumers claim their producers.
    SmallVector<linalg::LinalgOp> roots;
    for (Operation &op : func.getBody().getOps())
      if (auto linalgOp = dyn_cast<linalg::LinalgOp>(&op))
        if (linalgOp.hasPureTensorSemantics())
          roots.push_back(linalgOp);
    for (linalg::LinalgOp root : llvm::reverse(roots)) {
      // Fused producers (erased once dead) are no longer roots.
      if (!root->getBlock())
        continue;
      SmallVector<int64_t> sizes = threadTileSizes(root);
      if (llvm::all_of(sizes, [](int64_t s) { return s == 0; }))
        continue;
      scf::SCFTilingOptions tiling;
      tiling.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      tiling.setTileSizes(toFoldResults(rewriter, sizes));
      scf::SCFTileAndFuseOptions options;
      options.setTilingOptions(tiling);
      // Fuse producers that nothing else reads: they are computed tile by
      // tile inside the consumer's thread block and never materialize. While
      // fusion runs, the untiled root and the producers already claimed still
      // use them; any other user would need the full tensor.
      llvm::SmallPtrSet<Operation *, 8> claimed = {root.getOperation()};
      // A producer is only worth fusing if every thread tile reads a
      // different slice of it: one read through an operand that ignores a
      // tiled loop (the A operand of a matmul across its N tiles, a headwise
      // gate across the head dim) would be recomputed once per tile along
      // that loop. Beyond the root's direct inputs, only destinations
      // (fills of the accumulators) are fused.
      llvm::SmallPtrSet<Operation *, 4> sliceable;
      for (OpOperand *input : root.getDpsInputOperands()) {
        auto producer = input->get().getDefiningOp<linalg::LinalgOp>();
        if (!producer)
          continue;
        AffineMap map = root.getMatchingIndexingMap(input);
        SmallVector<int64_t> ranges = loopRanges(root);
        bool everyTiledLoopIndexes = llvm::all_of(
            llvm::seq<unsigned>(0, root.getNumLoops()), [&](unsigned loop) {
              bool tiled =
                  sizes[loop] != 0 && (ShapedType::isDynamic(ranges[loop]) ||
                                       ranges[loop] > sizes[loop]);
              return !tiled || map.isFunctionOfDim(loop);
            });
        if (everyTiledLoopIndexes)
          sliceable.insert(producer);
      }
      options.setFusionControlFn(
          [&](tensor::ExtractSliceOp slice, OpResult producer,
              bool isDestination)
              -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
            Operation *owner = producer.getOwner();
            if (!isa<linalg::LinalgOp>(owner) ||
                (!isDestination && !sliceable.contains(owner)))
              return std::nullopt;
            for (Operation *user : producer.getUsers())
              if (user != slice.getOperation() && !claimed.contains(user) &&
                  !isa<tensor::DimOp>(user))
                return std::nullopt;
            claimed.insert(owner);
            return scf::SCFTileAndFuseOptions::ControlFnResult{};
          });
      rewriter.setInsertionPoint(root);
      FailureOr<scf::SCFTileAndFuseResult> result =
          scf::tileConsumerAndFuseProducersUsingSCF(
              rewriter, cast<TilingInterface>(root.getOperation()), options);
      if (failed(result))
        continue;
      ++numThreadTiled;
      numFused += result->fusedProducers.size();
      report(root, "ThreadTile") << remark::add(
          "{0}: thread tile {1}, {2} producer(s) fused", root->getName(),
          llvm::interleaved_array(sizes), result->fusedProducers.size());
      for (OpResult res : root->getResults())
        if (Value replacement = result->replacements.lookup(res))
          rewriter.replaceAllUsesWith(res, replacement);
      if (root->use_empty())
        rewriter.eraseOp(root);
    }
  }

  /// Splits K of every contraction into cache blocks, so one block of the
  /// right-hand side is reused from L2 by all the register tiles.
  void tileContractionsForCache(IRRewriter &rewriter, func::FuncOp func) {
    SmallVector<linalg::LinalgOp> contractions;
    func.walk([&](linalg::LinalgOp op) {
      if (op.hasPureTensorSemantics() && getContractionDims(op))
        contractions.push_back(op);
    });
    for (linalg::LinalgOp op : contractions) {
      linalg::ContractionDimensions dims = *getContractionDims(op);
      SmallVector<int64_t> sizes(op.getNumLoops(), 0);
      int64_t k = loopRanges(op)[dims.k.back()];
      if (!ShapedType::isDynamic(k) && k <= kTile)
        continue;
      sizes[dims.k.back()] = kTile;
      // Tiling replaces `op`: what the remark names is taken first.
      Location loc = op.getLoc();
      OperationName name = op->getName();
      if (tileWithLoops(rewriter, op, sizes).empty())
        continue;
      report(loc, "CacheTile")
          << remark::add("{0}: K split into cache blocks of {1}", name,
                         static_cast<int64_t>(kTile));
    }
  }

  /// Register tile (== vector shape) of an op: m-tile x n vectors x 1 for
  /// contractions, 1 x ... x vector-width on the innermost loop otherwise.
  SmallVector<int64_t> registerTileSizes(linalg::LinalgOp op) {
    unsigned numLoops = op.getNumLoops();
    SmallVector<int64_t> sizes(numLoops, 1);
    if (numLoops == 0)
      return sizes;
    SmallVector<int64_t> ranges = loopRanges(op);
    auto clampToRange = [&](unsigned loop, int64_t size) {
      int64_t range = ranges[loop];
      return ShapedType::isDynamic(range) ? size : std::min(size, range);
    };
    if (auto dims = getContractionDims(op)) {
      sizes[dims->m.back()] = clampToRange(dims->m.back(), mTile);
      sizes[dims->n.back()] =
          clampToRange(dims->n.back(), nTileVectors * vectorWidth);
      // Pairs of k for the bf16 dot product (an odd K's last step is peeled
      // and takes the widening path).
      if (bf16Dot && isBF16DotMatmul(op))
        sizes[dims->k.back()] = clampToRange(dims->k.back(), 2);
      return sizes;
    }
    // A short static reduction (a router row over its experts) is
    // vectorized whole: the vector reduction then combines lanes
    // elementwise and reduces across lanes once, instead of once per
    // vector-width chunk with a scalar carried between chunks.
    // So is a short static row's elementwise op (a router row's scores):
    // cut into vector-width pieces between whole reductions of the same
    // buffer, it left LLVM extracting register-sized pieces of a row-sized
    // value, which it legalized through scalar moves.
    int64_t innermost = ranges[numLoops - 1];
    bool rowOp = numLoops == 1 || op.getIteratorTypesArray()[numLoops - 1] ==
                                      utils::IteratorType::reduction;
    if (rowOp && !ShapedType::isDynamic(innermost) &&
        innermost <= kMaxWholeReduction) {
      sizes[numLoops - 1] = innermost;
      return sizes;
    }
    sizes[numLoops - 1] = clampToRange(numLoops - 1, vectorWidth);
    return sizes;
  }

  /// Longest reduction vectorized whole (elements): 256 i64 keys are 32
  /// AVX-512 registers' worth, the most a top-k pass should hold.
  static constexpr int64_t kMaxWholeReduction = 256;

  /// Tiles `op` with scf.for loops of `sizes` (0 = not tiled) and returns the
  /// loops, innermost last, or nothing if the op cannot be tiled.
  SmallVector<scf::ForOp> tileWithLoops(IRRewriter &rewriter,
                                        linalg::LinalgOp op,
                                        ArrayRef<int64_t> sizes) {
    scf::SCFTilingOptions tiling;
    tiling.setTileSizes(toFoldResults(rewriter, sizes));
    rewriter.setInsertionPoint(op);
    FailureOr<scf::SCFTilingResult> result = scf::tileUsingSCF(
        rewriter, cast<TilingInterface>(op.getOperation()), tiling);
    if (failed(result))
      return {};
    rewriter.replaceOp(op, result->replacements);
    SmallVector<scf::ForOp> loops;
    for (LoopLikeOpInterface loop : result->loops)
      if (auto forOp = dyn_cast<scf::ForOp>(loop.getOperation()))
        loops.push_back(forOp);
    return loops;
  }

  /// Register level. Masked vectorization of partial tiles is not used: each
  /// tile loop is peeled instead, so full tiles have static shapes and become
  /// plain vector code, and the partial tile (at most one per loop) is
  /// re-tiled to size 1 along its dynamic dims, which makes it static too.
  void tileAndVectorizeForRegisters(IRRewriter &rewriter, func::FuncOp func) {
    SmallVector<linalg::LinalgOp> ops;
    func.walk([&](linalg::LinalgOp op) {
      if (op.hasPureTensorSemantics() && !isa<linalg::FillOp>(op))
        ops.push_back(op);
    });
    for (linalg::LinalgOp op : ops) {
      if (op.getNumLoops() == 0)
        continue;
      SmallVector<int64_t> sizes = registerTileSizes(op);
      report(op, "RegisterTile")
          << remark::add("{0}: register tile {1}", op->getName(),
                         llvm::interleaved_array(sizes));
      SmallVector<scf::ForOp> loops = tileWithLoops(rewriter, op, sizes);
      // Outermost first: peeling an outer loop clones the inner ones into
      // its partial iteration, where they stay unpeeled (and are re-tiled
      // to size 1 below).
      for (scf::ForOp loop : loops) {
        scf::ForOp partial;
        (void)scf::peelForLoopAndSimplifyBounds(rewriter, loop, partial);
      }
    }
    canonicalize(func);

    // Partial tiles: size 1 along every dim that is still dynamic.
    SmallVector<linalg::LinalgOp> partials;
    func.walk([&](linalg::LinalgOp op) {
      if (op.hasPureTensorSemantics() && op.hasDynamicShape())
        partials.push_back(op);
    });
    for (linalg::LinalgOp op : partials) {
      SmallVector<int64_t> sizes =
          llvm::map_to_vector(loopRanges(op), [](int64_t range) -> int64_t {
            return ShapedType::isDynamic(range);
          });
      (void)tileWithLoops(rewriter, op, sizes);
    }
    canonicalize(func);

    SmallVector<linalg::LinalgOp> candidates;
    func.walk([&](linalg::LinalgOp op) {
      if (op.hasPureTensorSemantics())
        candidates.push_back(op);
    });
    for (linalg::LinalgOp op : candidates) {
      SmallVector<int64_t> ranges = loopRanges(op);
      int64_t elements = 1;
      for (int64_t range : ranges)
        elements = ShapedType::isDynamic(range) ? -1 : elements * range;
      // Static and register-sized only: an op that escaped tiling would
      // otherwise become one enormous vector.
      if (elements < 0 || elements > kMaxVectorElements ||
          failed(linalg::vectorizeOpPrecondition(op))) {
        ++numScalar;
        report(op, "LeftScalar", /*passed=*/false)
            << remark::reason("{0}: {1}", op->getName(),
                              elements < 0 ? "a dimension is still dynamic"
                              : elements > kMaxVectorElements
                                  ? "more elements than a register tile"
                                  : "the vectorizer does not take this op");
        continue;
      }
      // Contractions go straight to vector.contract (outer products later)
      // when both sides share an element type; mixed bf16 x f32 products
      // take the generic path, which widens the narrow side first.
      bool isContraction = getContractionDims(op).has_value() &&
                           op.getDpsInputs().size() == 2 &&
                           getElementTypeOrSelf(op.getDpsInputs()[0]) ==
                               getElementTypeOrSelf(op.getDpsInputs()[1]);
      // The tile replaces and erases `op`: its location is taken first.
      Location loc = op.getLoc();
      if (bf16Dot && isBF16DotMatmul(op) &&
          succeeded(emitBF16DotTile(
              rewriter, cast<linalg::MatmulOp>(op.getOperation())))) {
        ++numBF16Dot;
        report(loc, "BF16Dot")
            << remark::add("linalg.matmul: avx512_bf16 dot-product tile");
        continue;
      }
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::VectorizationResult> vectorized = linalg::vectorize(
          rewriter, op, /*inputVectorSizes=*/{}, /*inputScalableVecDims=*/{},
          /*vectorizeNDExtract=*/false, /*flatten1DDepthwiseConv=*/false,
          /*assumeDynamicDimsMatchVecSizes=*/false,
          /*createNamedContraction=*/isContraction);
      if (failed(vectorized)) {
        ++numScalar;
        report(op, "LeftScalar", /*passed=*/false)
            << remark::reason("{0}: vectorization failed", op->getName());
        continue;
      }
      rewriter.replaceOp(op, vectorized->replacements);
      ++numVectorized;
    }
    canonicalize(func);
  }

  /// Folds the affine.min of peeled loops and propagates the static shapes
  /// they give into slices and linalg ops.
  void canonicalize(func::FuncOp func) {
    MLIRContext *ctx = func.getContext();
    RewritePatternSet patterns(ctx);
    // As the canonicalizer pass collects them: dialect-level patterns too
    // (linalg folds tensor.cast into its operands there).
    for (Dialect *dialect : ctx->getLoadedDialects())
      dialect->getCanonicalizationPatterns(patterns);
    for (RegisteredOperationName op : ctx->getRegisteredOperations())
      op.getCanonicalizationPatterns(patterns, ctx);
    (void)applyPatternsGreedily(func, std::move(patterns));
  }

  /// Largest vector (in elements) a register tile may become: 8 x 64 covers
  /// the m x n contraction tile at AVX-512 width with room to spare.
  static constexpr int64_t kMaxVectorElements = 8 * 64 * 4;
};

/// Largest per-iteration scratch buffer of a parallel loop that is moved to
/// the stack, in bytes (a router row's keys: 256 experts x 8 bytes).
constexpr int64_t kMaxStackScratchBytes = 4096;

/// Whether every use of `buffer`, through views, stays inside the loop
/// iteration: no use yields it, returns it or passes it to a call.
bool isIterationLocal(Value buffer) {
  SmallVector<Value> worklist = {buffer};
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (user->hasTrait<OpTrait::IsTerminator>() || isa<CallOpInterface>(user))
        return false;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user))
        if (view.getViewSource() == value)
          worklist.push_back(view->getResult(0));
    }
  }
  return true;
}

struct CPUOptimizeVectorsPass
    : gatec::impl::CPUOptimizeVectorsBase<CPUOptimizeVectorsPass> {
  /// Small fixed-size scratch buffers allocated inside a parallel loop
  /// (a router's per-row scores and keys, 0-d reduction results) become
  /// stack allocations at the start of the parallel loop's body: malloc and
  /// free per token cost more than the token's work, and glibc's per-thread
  /// arenas return and re-fault pages between calls. The OpenMP lowering
  /// wraps each parallel iteration in an alloca scope, so the stack is
  /// released per iteration. A buffer allocated inside a sequential loop
  /// nested in the parallel one is hoisted to the parallel body as well
  /// (one buffer reused by the sequential iterations) when no use lets it
  /// outlive its iteration; a fresh allocation's contents are undefined, so
  /// reuse is indistinguishable.
  void moveThreadScratchToStack(IRRewriter &rewriter, func::FuncOp func) {
    SmallVector<memref::AllocOp> allocs;
    func.walk([&](memref::AllocOp alloc) {
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
          !type.getElementType().isIntOrFloat())
        return;
      int64_t bytes = type.getNumElements() *
                      llvm::divideCeil(type.getElementTypeBitWidth(), 8);
      if (bytes > kMaxStackScratchBytes)
        return;
      allocs.push_back(alloc);
    });
    for (memref::AllocOp alloc : allocs) {
      // The innermost parallel loop around the buffer; only sequential
      // loops (and no other region-holding op) in between.
      Operation *parallel = nullptr;
      bool hoistable = true;
      for (Operation *parent = alloc->getParentOp(); parent != func;
           parent = parent->getParentOp()) {
        if (isa<scf::ForallOp, scf::ParallelOp>(parent)) {
          parallel = parent;
          break;
        }
        if (!isa<scf::ForOp>(parent))
          hoistable = false;
      }
      if (!parallel || !hoistable)
        continue;
      bool nested = alloc->getParentOp() != parallel;
      if (nested && !isIterationLocal(alloc.getResult()))
        continue;
      Block &body = parallel->getRegion(0).front();
      rewriter.setInsertionPointToStart(&body);
      auto alloca = memref::AllocaOp::create(
          rewriter, alloc.getLoc(), alloc.getType(), alloc.getAlignmentAttr());
      rewriter.replaceOp(alloc, alloca.getResult());
      ++numScratchOnStack;
    }
  }

  /// Rewrites each reduction of a 1-D vector to a scalar as a tree: the
  /// vector is halved and its halves combined elementwise until one element
  /// is left. LLVM expands a reduction wider than a register (a router row's
  /// 64 keys, its softmax sum) into a serial chain of scalar extracts and
  /// compares, one dependent step per element; the tree takes log2(n) steps,
  /// whole registers at the wide levels. The order is fixed at compile time,
  /// so results stay deterministic; for float sums it is pairwise summation,
  /// whose error bound is below the serial one's.
  void reduceInHalves(IRRewriter &rewriter, func::FuncOp func) {
    SmallVector<vector::MultiDimReductionOp> reductions;
    func.walk([&](vector::MultiDimReductionOp reduction) {
      if (reduction.getSourceVectorType().getRank() == 1 &&
          reduction.isReducedDim(0) &&
          !reduction->getParentOfType<vector::MaskOp>() &&
          reduction.getSourceVectorType().getDimSize(0) > 2)
        reductions.push_back(reduction);
    });
    for (vector::MultiDimReductionOp reduction : reductions) {
      rewriter.setInsertionPoint(reduction);
      Location loc = reduction.getLoc();
      vector::CombiningKind kind = reduction.getKind();
      Value values = reduction.getSource();
      int64_t width = reduction.getSourceVectorType().getDimSize(0);
      while (width > 1 && width % 2 == 0) {
        width /= 2;
        auto half = [&](int64_t offset) {
          return vector::ExtractStridedSliceOp::create(
              rewriter, loc, values, ArrayRef<int64_t>{offset},
              ArrayRef<int64_t>{width}, ArrayRef<int64_t>{1});
        };
        values = vector::makeArithReduction(rewriter, loc, kind, half(0),
                                            half(width));
      }
      Value result =
          width == 1 ? vector::makeArithReduction(
                           rewriter, loc, kind,
                           vector::ExtractOp::create(rewriter, loc, values, 0),
                           reduction.getAcc())
                     : vector::ReductionOp::create(rewriter, loc, kind, values,
                                                   reduction.getAcc())
                           .getResult();
      rewriter.replaceOp(reduction, result);
      ++numTreeReductions;
    }
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // Accumulators are hoisted out of K loops before bufferization
    // (loop-invariant-subset-hoisting, on SSA tensors), and invariant
    // broadcasts are left to LLVM's LICM. The memref-level
    // hoistRedundantVectorTransfers misses aliasing between buffers that
    // bufferization shares, and hoistRedundantVectorBroadcasts mishandles
    // vector iter_args; both miscompiled router reductions (see
    // test/Target/CPU/routers.mlir).
    IRRewriter rewriter(&getContext());
    gatec::rewriteMultiDynamicExpandShapes(rewriter, func);
    moveThreadScratchToStack(rewriter, func);
    reduceInHalves(rewriter, func);
    // memref.copy of a strided view lowers to a call into MLIR's runtime
    // library; as linalg.copy it becomes loops, and the object stays free of
    // runtime dependencies.
    func.walk([&](memref::CopyOp copy) {
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                  copy.getTarget());
    });
  }
};

} // namespace
