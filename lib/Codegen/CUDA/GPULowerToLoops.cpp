//===- GPULowerToLoops.cpp - Linalg ops onto parallel loops ---------------===//
//
// Part of gatec. The first step of gatec-gpu-distribute: copies, linalg ops
// and foralls become scf.parallel loops (contiguous elementwise kernels with
// vector accesses), except the matmuls a block's tensor cores run and the
// reductions a warp may split, which stay whole for the mapping.
//
//===----------------------------------------------------------------------===//

#include "Codegen/CUDA/GPUDistribute.h"
#include "Codegen/CUDA/TensorCore.h"
#include "Transforms/GenericBody.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace gatec::gpu_distribute;

namespace {

/// Elements per thread of a top-level elementwise generic when each of its
/// contiguous rows can be read and written `vectorBytes` at a time, or 0.
/// The innermost loop must be static and a multiple of that count; every
/// operand that it indexes must index it last, with unit stride and every
/// other stride and the offset multiples of the count (identity layouts
/// qualify: their strides are products of sizes that include the static
/// last one). Operands not indexed by it are broadcast along it.
int64_t vectorElements(linalg::GenericOp op, int64_t vectorBytes) {
  if (vectorBytes <= 0 || !op.hasPureBufferSemantics() ||
      op.getNumLoops() == 0 || op.getNumParallelLoops() != op.getNumLoops() ||
      !isa<func::FuncOp>(op->getParentOp()))
    return 0;
  unsigned last = op.getNumLoops() - 1;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t narrowest = vectorBytes;
  SmallVector<MemRefType> rows;
  for (OpOperand &operand : op->getOpOperands()) {
    Type operandType = operand.get().getType();
    if (op.isDpsInput(&operand) && operandType.isIntOrIndexOrFloat())
      continue; // A scalar input (a fill's value).
    auto type = dyn_cast<MemRefType>(operandType);
    AffineMap map = op.getMatchingIndexingMap(&operand);
    if (!type || !map.isProjectedPermutation() ||
        !type.getElementType().isIntOrFloat() ||
        type.getElementTypeBitWidth() % 8 != 0)
      return 0;
    std::optional<unsigned> at =
        map.getResultPosition(getAffineDimExpr(last, op.getContext()));
    if (!at) {
      // Broadcast along the row: an output must not be (each thread
      // would write the same element).
      if (op.isDpsInit(&operand))
        return 0;
      continue;
    }
    if (*at != map.getNumResults() - 1)
      return 0;
    rows.push_back(type);
    narrowest = std::min<int64_t>(narrowest, type.getElementTypeBitWidth() / 8);
  }
  int64_t count = vectorBytes / narrowest;
  if (count < 2 || ShapedType::isDynamic(ranges[last]) ||
      ranges[last] % count != 0)
    return 0;
  for (MemRefType type : rows) {
    if (type.getLayout().isIdentity())
      continue;
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(type.getStridesAndOffset(strides, offset)) ||
        strides.back() != 1 || ShapedType::isDynamic(offset) ||
        offset % count != 0)
      return 0;
    for (int64_t stride : ArrayRef<int64_t>(strides).drop_back())
      if (ShapedType::isDynamic(stride) || stride % count != 0)
        return 0;
  }
  return count;
}

/// Replaces `op` (see vectorElements) by an scf.parallel loop whose
/// iteration handles `count` consecutive elements of the innermost loop:
/// one aligned vector.load per contiguous operand, the scalar body once per
/// element (GPUs have no wider arithmetic to gain), one aligned
/// vector.store per output. A 16-byte access is one ld/st.global.v4 in
/// place of eight 2-byte ones for bf16. Kernel arguments are 16-byte
/// aligned (the generated launch functions check it) and temporaries 256.
void lowerToVectorLoop(RewriterBase &rewriter, linalg::GenericOp op,
                       int64_t count, int64_t vectorBytes) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  SmallVector<Range, 4> ranges =
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(rewriter, loc);
  SmallVector<Value> lbs, ubs, steps;
  for (auto [i, range] : llvm::enumerate(ranges)) {
    lbs.push_back(getValueOrCreateConstantIndexOp(rewriter, loc, range.offset));
    ubs.push_back(getValueOrCreateConstantIndexOp(rewriter, loc, range.size));
    steps.push_back(
        constantIndex(rewriter, loc, i + 1 == ranges.size() ? count : 1));
  }
  unsigned last = ranges.size() - 1;
  auto loop = scf::ParallelOp::create(rewriter, loc, lbs, ubs, steps);
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(loop.getBody()->getTerminator());
  SmallVector<Value> ivs(loop.getInductionVars());
  MLIRContext *ctx = op.getContext();
  AffineExpr lastDim = getAffineDimExpr(last, ctx);

  auto indices = [&](AffineMap map) {
    SmallVector<Value> at;
    for (AffineExpr result : map.getResults())
      at.push_back(ivs[cast<AffineDimExpr>(result).getPosition()]);
    return at;
  };
  auto alignment = [&](Type elem) {
    return llvm::MaybeAlign(std::min<int64_t>(
        vectorBytes, count * (elem.getIntOrFloatBitWidth() / 8)));
  };
  // Each operand read: a vector (contiguous) or a scalar (broadcast).
  // In operand order, so that the emitted IR does not depend on pointers.
  SmallVector<std::pair<Value, Value>> vectors, scalars;
  for (OpOperand &operand : op->getOpOperands()) {
    BlockArgument arg = op.getMatchingBlockArgument(&operand);
    if (arg.use_empty())
      continue;
    if (!isa<MemRefType>(operand.get().getType())) {
      scalars.push_back({arg, operand.get()});
      continue;
    }
    AffineMap map = op.getMatchingIndexingMap(&operand);
    Type elem = arg.getType();
    SmallVector<Value> at = indices(map);
    if (map.getResultPosition(lastDim))
      vectors.push_back({arg, vector::LoadOp::create(
                                  rewriter, loc, VectorType::get({count}, elem),
                                  operand.get(), at, /*nontemporal=*/false,
                                  alignment(elem))});
    else
      scalars.push_back(
          {arg, memref::LoadOp::create(rewriter, loc, operand.get(), at)});
  }
  // The body once per element.
  SmallVector<SmallVector<Value>> results(op.getNumDpsInits());
  for (int64_t e = 0; e < count; ++e) {
    IRMapping map;
    for (auto [arg, vec] : vectors)
      map.map(arg, vector::ExtractOp::create(rewriter, loc, vec,
                                             ArrayRef<int64_t>{e}));
    for (auto [arg, scalar] : scalars)
      map.map(arg, scalar);
    SmallVector<Value> yielded =
        gatec::cloneGenericBody(rewriter, op, map, [&](unsigned dim) {
          if (dim != last)
            return ivs[dim];
          return Value(arith::AddIOp::create(rewriter, loc, ivs[dim],
                                             constantIndex(rewriter, loc, e)));
        });
    for (auto [i, value] : llvm::enumerate(yielded))
      results[i].push_back(value);
  }
  for (auto [i, init] : llvm::enumerate(op.getDpsInits())) {
    Type elem = getElementTypeOrSelf(init);
    Value vec = vector::FromElementsOp::create(
        rewriter, loc, VectorType::get({count}, elem), results[i]);
    vector::StoreOp::create(
        rewriter, loc, vec, init,
        indices(op.getMatchingIndexingMap(op.getDpsInitOperand(i))),
        /*nontemporal=*/false, alignment(elem));
  }
  rewriter.eraseOp(op);
}

/// True if `op` is inside a top-level forall whose only linalg ops are
/// copies and which holds no other parallel loop.
static bool onlyCopiesInside(Operation *op) {
  auto forall = op->getParentOfType<scf::ForallOp>();
  if (!forall || !isa<func::FuncOp>(forall->getParentOp()))
    return false;
  WalkResult result = forall.getBody()->walk([](Operation *nested) {
    if (isa<scf::ParallelOp, scf::ForallOp>(nested) ||
        (isa<linalg::LinalgOp>(nested) && !isa<linalg::CopyOp>(nested)))
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return !result.wasInterrupted();
}

} // namespace

namespace gatec::gpu_distribute {

/// Copies, linalg ops and foralls become scf.parallel loops (a copy
/// between strided views would otherwise need MLIR's runtime library).
LogicalResult GPUDistributor::lowerToLoops(func::FuncOp func) {
  IRRewriter rewriter(func.getContext());
  SmallVector<memref::CopyOp> copies;
  func.walk([&](memref::CopyOp copy) { copies.push_back(copy); });
  for (memref::CopyOp copy : copies) {
    rewriter.setInsertionPoint(copy);
    // A forall's in-place write-back copies a slice onto itself.
    if (copy.getSource() == copy.getTarget()) {
      rewriter.eraseOp(copy);
      continue;
    }
    // One element (a scatter's write) is a load and a store, not a loop
    // that would make its enclosing loop look like work for a group.
    auto type = cast<MemRefType>(copy.getSource().getType());
    if (type.hasStaticShape() && type.getNumElements() == 1) {
      SmallVector<Value> zeros(type.getRank(),
                               constantIndex(rewriter, copy.getLoc(), 0));
      Value value = memref::LoadOp::create(rewriter, copy.getLoc(),
                                           copy.getSource(), zeros);
      rewriter.replaceOpWithNewOp<memref::StoreOp>(copy, value,
                                                   copy.getTarget(), zeros);
      continue;
    }
    rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                copy.getTarget());
  }
  SmallVector<linalg::LinalgOp> linalgOps;
  func.walk([&](linalg::LinalgOp op) {
    if (!keepsForTensorCores(op) && !keepsForWarp(op))
      linalgOps.push_back(op);
  });
  for (linalg::LinalgOp op : linalgOps) {
    if (!op.hasPureBufferSemantics())
      return op.emitError("gatec-gpu-distribute: expected a bufferized op");
    // Fills and copies at the top level are elementwise kernels too.
    if (isa<linalg::FillOp, linalg::CopyOp>(op) &&
        isa<func::FuncOp>(op->getParentOp())) {
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::GenericOp> generalized =
          linalg::generalizeNamedOp(rewriter, op);
      if (succeeded(generalized))
        op = *generalized;
    }
    // A loop whose only inner work is copying (a chunk's private copy of
    // its cursors) runs per thread: the copy is a serial loop.
    if (isa<linalg::CopyOp>(op) && onlyCopiesInside(op)) {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToLoops(rewriter, op)))
        return op.emitError("gatec-gpu-distribute: cannot lower to loops");
      rewriter.eraseOp(op);
      continue;
    }
    auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
    if (int64_t count = generic ? vectorElements(generic, vectorBytes) : 0) {
      lowerToVectorLoop(rewriter, generic, count, vectorBytes);
      ++counts.numVectorLoops;
      continue;
    }
    rewriter.setInsertionPoint(op);
    if (failed(linalg::linalgOpToParallelLoops(rewriter, op)))
      return op.emitError("gatec-gpu-distribute: cannot lower to loops");
    rewriter.eraseOp(op);
  }
  SmallVector<scf::ForallOp> foralls;
  func.walk([&](scf::ForallOp op) { foralls.push_back(op); });
  for (scf::ForallOp forall : foralls) {
    rewriter.setInsertionPoint(forall);
    if (failed(scf::forallToParallelLoop(rewriter, forall)))
      return forall.emitError("gatec-gpu-distribute: cannot convert to a "
                              "parallel loop");
  }
  return success();
}

/// True for a matmul that a block will run on tensor cores: marked for
/// it and inside a loop that becomes a per-block launch.
bool GPUDistributor::keepsForTensorCores(linalg::LinalgOp op) {
  auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation());
  return tensorCores && threadsPerBlock % 32 == 0 && matmul &&
         inOneTopLevelLoop(op) && gatec::isBlockMatmul(matmul);
}

/// True if `op` is inside a top-level forall (a launch's group
/// iteration) and inside no other parallel loop: the whole group reaches
/// it, uniformly.
bool inOneTopLevelLoop(Operation *op) {
  auto forall = op->getParentOfType<scf::ForallOp>();
  if (!forall || !isa<func::FuncOp>(forall->getParentOp()))
    return false;
  for (Operation *parent = op->getParentOp(); parent != forall;
       parent = parent->getParentOp())
    if (isa<scf::ParallelOp, scf::ForallOp, scf::IfOp>(parent))
      return false;
  return true;
}

} // namespace gatec::gpu_distribute
