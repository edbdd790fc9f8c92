//===- GPUDistribute.cpp - Parallel loops onto CUDA grids -----------------===//
//
// Part of gatec. The CUDA backend reuses the CPU backend's decomposition of
// every op (gate ops to linalg, chunking, one parallel loop per token or per
// (sequence, head)); this pass decides where each loop runs on the GPU.
//
// Each parallel loop at the top of a bufferized kernel becomes one launch:
// - a loop with no parallel loop inside runs one iteration per thread;
// - a loop with parallel loops inside (a scan's (sequence, head) loop around
//   its chunk loop, a router's per-token loop around its per-expert loops)
//   runs one iteration per block: the block executes the body uniformly,
//   spreads each inner parallel loop over its threads with a barrier after
//   it, and lets one thread do the remaining writes.
// Scratch buffers allocated inside an iteration move to one workspace per
// launch (a slot per block or per thread, sized by the buffer's constant
// upper bound), so no kernel calls malloc.
//
//===----------------------------------------------------------------------===//

#include "Codegen/CUDA/GPUDistribute.h"
#include "Codegen/CUDA/TensorCore.h"
#include "Codegen/Common/MemRefRewrites.h"
#include "Transforms/GenericBody.h"
#include "gatec/Codegen/CUDA/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "mlir/Transforms/RegionUtils.h"

namespace gatec {
#define GEN_PASS_DEF_GPUDISTRIBUTE
#include "gatec/Codegen/CUDA/Passes.h.inc"
} // namespace gatec

using namespace mlir;

namespace {

/// True if `op` holds work for a group of threads below it: an
/// scf.parallel, a matmul kept whole for the block's tensor cores, or a
/// reduction kept for a warp (after lowerToLoops, the only linalg ops left).
bool containsParallel(Operation *op) {
  bool found = false;
  for (Region &region : op->getRegions())
    region.walk([&](Operation *nested) {
      found |= isa<scf::ParallelOp, linalg::LinalgOp>(nested);
    });
  return found;
}

/// True if `op` holds a matmul kept for the block's tensor cores.
bool containsBlockMatmul(Operation *op) {
  bool found = false;
  op->walk([&](linalg::MatmulOp) { found = true; });
  return found;
}

/// The combining ops of a reduction a warp may split among its lanes: a
/// generic with one (reduction) loop, rank-0 outputs, and a body yielding
/// combine(out_i, x_i) for each output, where no x_i reads an output and
/// combine is associative, commutative and idempotent with a result that
/// does not depend on the order (integer max/min/and/or, maximumf/minimumf):
/// each lane may then fold any subset starting from the initial value, and
/// the lanes' partials combine in any order to the same bits as the
/// sequential loop. A router's top-k passes (an unsigned max of 64-bit
/// keys) are such reductions. Empty if `op` is not one.
SmallVector<Operation *> splittableCombiners(linalg::GenericOp op) {
  if (op.getNumLoops() != 1 || op.getNumReductionLoops() != 1 ||
      !op.hasPureBufferSemantics())
    return {};
  for (Value init : op.getDpsInits())
    if (cast<MemRefType>(init.getType()).getRank() != 0)
      return {};
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto type = dyn_cast<MemRefType>(input->get().getType());
    if (!type || type.getRank() > 1 ||
        op.getMatchingIndexingMap(input).getNumResults() != type.getRank())
      return {};
  }
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  SmallVector<Operation *> combiners;
  for (auto [i, value] : llvm::enumerate(yield.getValues())) {
    Operation *combine = value.getDefiningOp();
    if (!combine || combine->getBlock() != &body ||
        !isa<arith::MaxUIOp, arith::MaxSIOp, arith::MinUIOp, arith::MinSIOp,
             arith::AndIOp, arith::OrIOp, arith::MaximumFOp, arith::MinimumFOp>(
            combine))
      return {};
    BlockArgument out = op.getMatchingBlockArgument(op.getDpsInitOperand(i));
    if (!out.hasOneUse() || out.getUses().begin()->getOwner() != combine ||
        combine->getOperand(0) == combine->getOperand(1))
      return {};
    Type type = out.getType();
    if (!(type.isInteger(32) || type.isInteger(64) || type.isF32()))
      return {};
    combiners.push_back(combine);
  }
  // No combiner result may feed another output's x.
  for (Operation *combine : combiners)
    if (!llvm::all_of(combine->getUsers(), [&](Operation *user) {
          return isa<linalg::YieldOp>(user);
        }))
      return {};
  return combiners;
}

/// True if `op` may write memory (unknown effects count as writes).
bool mayWrite(Operation *op) {
  if (isa<memref::AllocOp, memref::DeallocOp>(op))
    return false;
  std::optional<SmallVector<MemoryEffects::EffectInstance>> effects =
      getEffectsRecursively(op);
  if (!effects)
    return true;
  return llvm::any_of(*effects, [](const MemoryEffects::EffectInstance &e) {
    return isa<MemoryEffects::Write, MemoryEffects::Free>(e.getEffect());
  });
}

Value constantIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// Trip counts of each dimension of `loop`, computed with `b`, mapping the
/// loop's bounds through `map`.
SmallVector<Value> tripCounts(OpBuilder &b, scf::ParallelOp loop,
                              IRMapping &map) {
  SmallVector<Value> counts;
  Location loc = loop.getLoc();
  for (auto [lb, ub, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    Value lo = map.lookupOrDefault(lb), hi = map.lookupOrDefault(ub);
    Value span = arith::SubIOp::create(b, loc, hi, lo);
    // An empty range (hi <= lo) has no iterations.
    span = arith::MaxSIOp::create(b, loc, span, constantIndex(b, loc, 0));
    counts.push_back(
        arith::CeilDivUIOp::create(b, loc, span, map.lookupOrDefault(step)));
  }
  return counts;
}

Value product(OpBuilder &b, Location loc, ArrayRef<Value> values) {
  Value result = constantIndex(b, loc, 1);
  for (Value v : values)
    result = arith::MulIOp::create(b, loc, result, v);
  return result;
}

/// Maps the flat index `flat` (row-major over `counts`) to the loop's
/// induction variables in `map`.
void mapInductionVars(OpBuilder &b, scf::ParallelOp loop, ValueRange counts,
                      Value flat, IRMapping &map) {
  Location loc = loop.getLoc();
  SmallVector<Value> index(counts.size());
  Value rest = flat;
  for (int d = counts.size() - 1; d >= 0; --d) {
    index[d] = d == 0 ? rest : arith::RemUIOp::create(b, loc, rest, counts[d]);
    if (d > 0)
      rest = arith::DivUIOp::create(b, loc, rest, counts[d]);
  }
  for (auto [d, iv] : llvm::enumerate(loop.getInductionVars())) {
    Value scaled = arith::MulIOp::create(
        b, loc, index[d], map.lookupOrDefault(loop.getStep()[d]));
    map.map(iv,
            arith::AddIOp::create(
                b, loc, map.lookupOrDefault(loop.getLowerBound()[d]), scaled));
  }
}

/// The threads that execute one iteration of a loop mapped per block or per
/// warp: `size` threads, this one at `lane`; `index` numbers the group in its
/// block (for its shared-memory cells).
struct Group {
  Value lane;
  Value index;
  int64_t size;
  bool warp;
};

/// Orders the group's memory accesses: a block barrier, or a warp sync
/// (none right after the same one: a write after a spread loop).
void synchronize(OpBuilder &b, Location loc, const Group &group) {
  Block::iterator at = b.getInsertionPoint();
  if (at != b.getInsertionBlock()->begin() &&
      (group.warp ? isa<NVVM::SyncWarpOp>(*std::prev(at))
                  : isa<gpu::BarrierOp>(*std::prev(at))))
    return;
  if (!group.warp) {
    gpu::BarrierOp::create(b, loc);
    return;
  }
  Value all = arith::ConstantIntOp::create(b, loc, b.getI32Type(), -1);
  NVVM::SyncWarpOp::create(b, loc, all);
}

/// The largest number of iterations of any parallel loop nested in `loop`, if
/// all have constant bounds.
std::optional<int64_t> largestInnerLoop(scf::ParallelOp loop) {
  int64_t largest = 0;
  bool constant = true;
  loop.getBody()->walk([&](scf::ParallelOp inner) {
    int64_t trips = 1;
    for (auto [lb, ub, step] : llvm::zip(
             inner.getLowerBound(), inner.getUpperBound(), inner.getStep())) {
      std::optional<int64_t> l = getConstantIntValue(lb),
                             u = getConstantIntValue(ub),
                             s = getConstantIntValue(step);
      if (!l || !u || !s || *s <= 0) {
        constant = false;
        return;
      }
      trips *= std::max<int64_t>(0, (*u - *l + *s - 1) / *s);
    }
    largest = std::max(largest, trips);
  });
  if (!constant)
    return std::nullopt;
  return largest;
}

//===----------------------------------------------------------------------===//
// Vector accesses for elementwise kernels
//===----------------------------------------------------------------------===//

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

struct GPUDistributePass : gatec::impl::GPUDistributeBase<GPUDistributePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    if (!func.getBody().hasOneBlock()) {
      func.emitError("gatec-gpu-distribute: expected a single-block kernel");
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    gatec::foldDimsOfExpandShapes(rewriter, func);
    gatec::eraseWriteOnlyBuffers(rewriter, func);
    if (failed(lowerToLoops(func)))
      return signalPassFailure();
    scf::IfOp split = splitForOneLaunch(func);
    if (split && failed(buildOneLaunch(*split.thenBlock())))
      return signalPassFailure();
    if (failed(distributeBlock(func.getBody().front(), split)) ||
        (split && failed(distributeBlock(*split.elseBlock()))))
      return signalPassFailure();
    if (split)
      ++numOneLaunchPaths;
  }

  /// Gives each top-level loop of `block` its launch, and each run of other
  /// writes a one-thread launch; `split` (a one-launch path's choice) is left
  /// to the caller.
  LogicalResult distributeBlock(Block &block, Operation *split = nullptr) {
    SmallVector<Operation *> topLevel;
    for (Operation &op : block.without_terminator())
      topLevel.push_back(&op);
    SmallVector<Operation *> run; // Sequential writes for one thread.
    auto flush = [&]() {
      if (run.empty())
        return success();
      LogicalResult ok = launchSingleThread(run);
      run.clear();
      return ok;
    };
    for (Operation *op : topLevel) {
      if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
        if (failed(flush()) || failed(distribute(loop)))
          return failure();
        continue;
      }
      if (op == split ||
          isa<gpu::LaunchOp, memref::AllocOp, memref::DeallocOp>(op)) {
        if (failed(flush()))
          return failure();
        continue;
      }
      if (containsParallel(op))
        return op->emitError("gatec-gpu-distribute: parallel loops inside "
                             "host control flow are not supported");
      // Shape arithmetic stays on the host unless it continues a run of
      // device code (it may depend on its results); anything that touches
      // memory runs on the device.
      if (!isMemoryEffectFree(op) || !run.empty())
        run.push_back(op);
    }
    return flush();
  }

  //===--------------------------------------------------------------------===//
  // One launch for small problems
  //===--------------------------------------------------------------------===//

  /// The loops of a one-launch path after its first.
  static SmallVector<scf::ParallelOp>
  loopsAfterFirst(ArrayRef<Operation *> ops) {
    SmallVector<scf::ParallelOp> loops;
    for (Operation *op : llvm::drop_begin(ops))
      if (auto loop = dyn_cast<scf::ParallelOp>(op))
        loops.push_back(loop);
    return loops;
  }

  /// The iterations of `loop`, whose bounds are host values, computed on
  /// the host with `b`.
  static Value hostIterations(OpBuilder &b, scf::ParallelOp loop) {
    IRMapping none;
    return product(b, loop.getLoc(), tripCounts(b, loop, none));
  }

  /// Trip count of `loop` as a host value: from its bounds when they are host
  /// values, else a constant upper bound (a chunk of at most 128 pairs).
  FailureOr<Value> hostTripCount(OpBuilder &b, scf::ForOp loop,
                                 llvm::function_ref<bool(Value)> isHost) {
    Location loc = loop.getLoc();
    Value lb = loop.getLowerBound(), ub = loop.getUpperBound(),
          step = loop.getStep();
    if (isHost(lb) && isHost(ub) && isHost(step)) {
      Value span = b.createOrFold<arith::SubIOp>(loc, ub, lb);
      span =
          b.createOrFold<arith::MaxSIOp>(loc, span, constantIndex(b, loc, 0));
      return b.createOrFold<arith::CeilDivUIOp>(loc, span, step);
    }
    std::optional<int64_t> constantStep = getConstantIntValue(step);
    if (!constantStep || *constantStep <= 0)
      return failure();
    AffineMap span = AffineMap::get(0, 2,
                                    getAffineSymbolExpr(1, b.getContext()) -
                                        getAffineSymbolExpr(0, b.getContext()));
    auto spanBound = [&](Value upper) {
      return ValueBoundsConstraintSet::computeConstantBound(
          presburger::BoundType::UB,
          ValueBoundsConstraintSet::Variable(span, ValueRange{lb, upper}),
          /*stopCondition=*/nullptr, /*closedUB=*/true);
    };
    FailureOr<int64_t> bound = spanBound(ub);
    // A chunk's end, min(start + size, total): the value-bounds analysis
    // does not see through arith's min, either operand bounds it.
    if (failed(bound) &&
        isa_and_nonnull<arith::MinUIOp, arith::MinSIOp>(ub.getDefiningOp()))
      for (Value operand : ub.getDefiningOp()->getOperands())
        if (FailureOr<int64_t> one = spanBound(operand); succeeded(one))
          bound = failed(bound) ? *one : std::min(*bound, *one);
    if (failed(bound))
      return failure();
    int64_t trips = std::max<int64_t>(*bound, 0);
    return constantIndex(b, loc, (trips + *constantStep - 1) / *constantStep);
  }

  /// Sequential iterations one thread runs for `block`: one, plus the work
  /// of each op with regions in it (opWork). A host value built with `b`, or
  /// failure when a trip count has neither a host value nor a constant bound.
  FailureOr<Value> sequentialWork(OpBuilder &b, Block &block,
                                  llvm::function_ref<bool(Value)> isHost) {
    Value work = constantIndex(b, block.getParentOp()->getLoc(), 1);
    for (Operation &op : block) {
      if (op.getNumRegions() == 0)
        continue;
      FailureOr<Value> nested = opWork(b, op, isHost);
      if (failed(nested))
        return failure();
      work = b.createOrFold<arith::AddIOp>(op.getLoc(), work, *nested);
    }
    return work;
  }

  /// Sequential iterations of the regions of `op`: each block's work, times
  /// the trip count for an scf.for.
  FailureOr<Value> opWork(OpBuilder &b, Operation &op,
                          llvm::function_ref<bool(Value)> isHost) {
    Location loc = op.getLoc();
    Value work = constantIndex(b, loc, 0);
    for (Region &region : op.getRegions())
      for (Block &nested : region) {
        FailureOr<Value> inner = sequentialWork(b, nested, isHost);
        if (failed(inner))
          return failure();
        Value total = *inner;
        if (auto loop = dyn_cast<scf::ForOp>(op)) {
          FailureOr<Value> trips = hostTripCount(b, loop, isHost);
          if (failed(trips))
            return failure();
          total = b.createOrFold<arith::MulIOp>(loc, *trips, total);
        }
        work = b.createOrFold<arith::AddIOp>(loc, work, total);
      }
    return work;
  }

  /// When the kernel qualifies, wraps its device work after its last
  /// tensor-core launch (a router's logits projection) in an scf.if on the
  /// host whose then-block holds a copy of it (for buildOneLaunch) and whose
  /// else-block the original (for the usual launches); the condition is that
  /// running the loops after the first in one block adds at most
  /// oneLaunchWork sequential iterations per thread. It qualifies when the
  /// work's first
  /// write is a loop, everything after it is loops that run one iteration
  /// per thread and other writes, no scratch buffer is allocated outside
  /// those loops, and no matmul in it runs on tensor cores. Allocations and
  /// shape arithmetic on host values move before the scf.if, so both paths
  /// share them.
  scf::IfOp splitForOneLaunch(func::FuncOp func) {
    if (oneLaunchWork < 0)
      return nullptr;
    Block &body = func.getBody().front();
    llvm::SmallPtrSet<Operation *, 32> host;
    auto isHost = [&](Value v) {
      Operation *def = v.getDefiningOp();
      return !def || host.contains(def);
    };
    // The work after the last tensor-core launch.
    Operation *start = &body.front();
    for (Operation &op : body.without_terminator())
      if (isa<gpu::LaunchOp>(op))
        start = op.getNextNode();
    bool inWork = false;
    scf::ParallelOp first;
    SmallVector<Operation *> device;
    bool writesAfterFirst = false;
    for (Operation &op : body.without_terminator()) {
      inWork |= &op == start;
      // Allocations and shape arithmetic on host values.
      if (llvm::all_of(op.getOperands(), isHost) &&
          (isa<memref::AllocOp>(op) ||
           (op.getNumRegions() == 0 && isMemoryEffectFree(&op)))) {
        host.insert(&op);
        continue;
      }
      if (!inWork)
        continue;
      if (isa<gpu::LaunchOp, memref::AllocOp, memref::DeallocOp>(op) ||
          containsBlockMatmul(&op))
        return nullptr;
      if (!first) {
        first = dyn_cast<scf::ParallelOp>(op);
        if (!first)
          return nullptr;
        device.push_back(&op);
        continue;
      }
      if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
        if (!loop.getInitVals().empty() || containsParallel(loop) ||
            !llvm::all_of(loop.getLowerBound(), isHost) ||
            !llvm::all_of(loop.getUpperBound(), isHost) ||
            !llvm::all_of(loop.getStep(), isHost))
          return nullptr;
      } else {
        bool allocates = false;
        op.walk([&](memref::AllocOp) { allocates = true; });
        if (allocates || containsParallel(&op))
          return nullptr;
      }
      writesAfterFirst |= !isMemoryEffectFree(&op);
      device.push_back(&op);
    }
    if (!first || !writesAfterFirst)
      return nullptr;

    // Host values after the first loop move before it, in order.
    SmallVector<Operation *> hoisted;
    for (Operation *op = first->getNextNode(); op; op = op->getNextNode())
      if (host.contains(op))
        hoisted.push_back(op);
    for (Operation *op : hoisted)
      op->moveBefore(first);

    // The sequential iterations per thread that running the later loops in
    // one block adds: a loop of more iterations than the block has threads
    // repeats its body (with its inner loops) that many more times. Other
    // writes run on one thread either way.
    OpBuilder b(first);
    Location loc = first.getLoc();
    Value zero = constantIndex(b, loc, 0), one = constantIndex(b, loc, 1);
    Value threads = constantIndex(b, loc, threadsPerBlock);
    Value work = zero;
    for (scf::ParallelOp loop : loopsAfterFirst(device)) {
      Value total = hostIterations(b, loop);
      FailureOr<Value> body = sequentialWork(b, *loop.getBody(), isHost);
      if (failed(body))
        return nullptr;
      Value extraRounds = b.createOrFold<arith::DivUIOp>(
          loc,
          b.createOrFold<arith::MaxSIOp>(
              loc, b.createOrFold<arith::SubIOp>(loc, total, one), zero),
          threads);
      work = b.createOrFold<arith::AddIOp>(
          loc, work, b.createOrFold<arith::MulIOp>(loc, extraRounds, *body));
    }
    Value small = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, work,
                                        constantIndex(b, loc, oneLaunchWork));
    auto split = scf::IfOp::create(b, loc, small, /*withElseRegion=*/true);
    OpBuilder then(split.thenBlock()->getTerminator());
    IRMapping copy;
    for (Operation *op : device)
      then.clone(*op, copy);
    for (Operation *op : device)
      op->moveBefore(split.elseBlock()->getTerminator());
    return split;
  }

  /// The one launch of the small-problem path: the first loop of `block` runs
  /// over the grid as distribute() would run it, then each block counts
  /// itself done and the last one runs the rest of `block` with all its
  /// threads (each loop spread over them with a barrier after it, other
  /// writes on its first thread). Every block made its writes visible at GPU
  /// scope before it counted (a barrier, then its first thread's fence and
  /// atomic add), and the last one fences after it read the count, so its
  /// reads see them.
  LogicalResult buildOneLaunch(Block &block) {
    SmallVector<Operation *> ops;
    for (Operation &op : block.without_terminator())
      ops.push_back(&op);
    auto first = cast<scf::ParallelOp>(ops.front());
    OpBuilder b(first);
    Location loc = first.getLoc();
    FailureOr<LoopPlan> plan = planLoop(b, first);
    if (failed(plan))
      return failure();
    // The later loops' scratch: a slot per thread (a thread runs its
    // iterations one after another), in shared memory when it fits beside
    // the first loop's.
    perIterationScratch.clear();
    SmallVector<memref::AllocOp> tailScratch;
    for (scf::ParallelOp loop : loopsAfterFirst(ops))
      loop.getBody()->walk(
          [&](memref::AllocOp alloc) { tailScratch.push_back(alloc); });
    int64_t sharedBytes = 0;
    if (plan->sharedScratch)
      for (auto &[alloc, bytes] : plan->scratch)
        sharedBytes += bytes * plan->perBlockIterations;
    SmallVector<int64_t> tailSharedBytes;
    for (memref::AllocOp alloc : tailScratch) {
      FailureOr<int64_t> bytes = scratchBytes(alloc, /*alignment=*/16);
      if (failed(bytes))
        return failure();
      tailSharedBytes.push_back(*bytes);
      sharedBytes += *bytes * threadsPerBlock;
    }
    bool tailShared = sharedBytes <= sharedScratchBytes;
    SmallVector<Value> workspaces(plan->workspaces);
    if (!tailShared) {
      for (memref::AllocOp alloc : tailScratch) {
        int64_t bytes = *scratchBytes(alloc);
        Value buffer =
            workspace(b, loc, constantIndex(b, loc, bytes * threadsPerBlock));
        perIterationScratch[alloc] = {buffer, bytes};
        workspaces.push_back(buffer);
      }
    }
    // The count of blocks done, zeroed on the stream before the launch.
    Type i32 = b.getI32Type();
    Value counter =
        memref::AllocOp::create(b, loc, MemRefType::get({1}, i32), ValueRange{},
                                b.getI64IntegerAttr(256));
    gpu::MemsetOp::create(b, loc, TypeRange{}, ValueRange{}, counter,
                          arith::ConstantIntOp::create(b, loc, i32, 0));
    workspaces.push_back(counter);
    // An empty first loop still needs a block for the rest.
    Value grid =
        arith::MaxUIOp::create(b, loc, plan->grid, constantIndex(b, loc, 1));
    gpu::LaunchOp launch = createLaunch(b, loc, grid, threadsPerBlock);
    if (tailShared)
      for (auto [alloc, bytes] : llvm::zip(tailScratch, tailSharedBytes))
        perIterationScratch[alloc] = {
            sharedScratch(bytes * threadsPerBlock, loc), bytes};
    if (failed(emitIterations(b, launch, *plan, /*guardBlocks=*/true)))
      return failure();

    Value zero = constantIndex(b, loc, 0);
    Group wholeBlock{launch.getThreadIds().x, zero, threadsPerBlock,
                     /*warp=*/false};
    Value cell = broadcastSlot(i32, 0, loc, wholeBlock);
    gpu::BarrierOp::create(b, loc);
    auto firstThread = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                             wholeBlock.lane, zero);
    auto count = scf::IfOp::create(b, loc, firstThread, /*else=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(count.thenBlock()->getTerminator());
      NVVM::MembarOp::create(b, loc, NVVM::MemScopeKind::GPU);
      auto add = memref::AtomicRMWOp::create(
          b, loc, arith::AtomicRMWKind::addi,
          arith::ConstantIntOp::create(b, loc, i32, 1), counter,
          ValueRange{zero});
      add->setAttr(gatec::kOneLaunchMarker, b.getUnitAttr());
      NVVM::MembarOp::create(b, loc, NVVM::MemScopeKind::GPU);
      memref::StoreOp::create(b, loc, add.getResult(), cell, ValueRange{zero});
    }
    gpu::BarrierOp::create(b, loc);
    Value before = memref::LoadOp::create(b, loc, cell, ValueRange{zero});
    Value lastIndex = arith::SubIOp::create(b, loc, launch.getGridSize().x,
                                            constantIndex(b, loc, 1));
    auto last = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq, before,
        arith::IndexCastOp::create(b, loc, i32, lastIndex));
    auto rest = scf::IfOp::create(b, loc, last, /*else=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(rest.thenBlock()->getTerminator());
      scratchViews.clear();
      IRMapping map;
      for (Operation *op : llvm::drop_begin(ops))
        if (failed(emitUniform(b, op, map, wholeBlock)))
          return failure();
    }
    propagateMemorySpaces(launch);
    b.setInsertionPointAfter(launch);
    for (Value buffer : workspaces)
      memref::DeallocOp::create(b, loc, buffer);
    for (Operation *op : llvm::reverse(ops))
      op->erase();
    countLaunch(*plan);
    return success();
  }

  /// Copies, linalg ops and foralls become scf.parallel loops (a copy
  /// between strided views would otherwise need MLIR's runtime library).
  LogicalResult lowerToLoops(func::FuncOp func) {
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
        ++numVectorLoops;
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

  /// True for a matmul that a block will run on tensor cores: marked for
  /// it and inside a loop that becomes a per-block launch.
  bool keepsForTensorCores(linalg::LinalgOp op) {
    auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation());
    return tensorCores && threadsPerBlock % 32 == 0 && matmul &&
           inOneTopLevelLoop(op) && gatec::isBlockMatmul(matmul);
  }

  /// True if `op` is inside a top-level forall (a launch's group
  /// iteration) and inside no other parallel loop: the whole group reaches
  /// it, uniformly.
  static bool inOneTopLevelLoop(Operation *op) {
    auto forall = op->getParentOfType<scf::ForallOp>();
    if (!forall || !isa<func::FuncOp>(forall->getParentOp()))
      return false;
    for (Operation *parent = op->getParentOp(); parent != forall;
         parent = parent->getParentOp())
      if (isa<scf::ParallelOp, scf::ForallOp, scf::IfOp>(parent))
        return false;
    return true;
  }

  /// True for a reduction that a warp may run split among its lanes: kept
  /// whole until distribute() knows whether its loop runs per warp.
  bool keepsForWarp(linalg::LinalgOp op) {
    auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
    return threadsPerBlock % 32 == 0 && generic && inOneTopLevelLoop(op) &&
           !splittableCombiners(generic).empty();
  }

  /// Lowers the reductions kept for a warp in `loop` to loops: its
  /// iterations do not run per warp.
  LogicalResult lowerKeptReductions(scf::ParallelOp loop) {
    SmallVector<linalg::GenericOp> kept;
    loop.getBody()->walk([&](linalg::GenericOp op) { kept.push_back(op); });
    IRRewriter rewriter(loop.getContext());
    for (linalg::GenericOp op : kept) {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToLoops(rewriter, op)))
        return op.emitError("gatec-gpu-distribute: cannot lower to loops");
      rewriter.eraseOp(op);
    }
    return success();
  }

  /// Emits a reduction kept for a warp: each lane folds elements lane,
  /// lane + 32, ... into its own partials (from the initial values), a
  /// butterfly of shuffles combines them, and lane 0 stores the results.
  void emitWarpReduction(OpBuilder &b, linalg::GenericOp op, IRMapping &map,
                         const Group &group) {
    Location loc = op.getLoc();
    SmallVector<Operation *> combiners = splittableCombiners(op);
    SmallVector<Value> inits;
    for (Value init : op.getDpsInits())
      inits.push_back(
          memref::LoadOp::create(b, loc, map.lookupOrDefault(init)));
    // The trip count, from an input that the loop indexes (with none, the
    // single iteration of a rank-0 reduction).
    Value count = constantIndex(b, loc, 1);
    for (OpOperand *input : op.getDpsInputOperands())
      if (op.getMatchingIndexingMap(input).getNumResults() == 1) {
        Value memref = map.lookupOrDefault(input->get());
        int64_t size = cast<MemRefType>(memref.getType()).getDimSize(0);
        count = ShapedType::isDynamic(size)
                    ? Value(memref::DimOp::create(b, loc, memref, 0))
                    : constantIndex(b, loc, size);
        break;
      }
    auto lanes = scf::ForOp::create(b, loc, group.lane, count,
                                    constantIndex(b, loc, group.size), inits);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(lanes.getBody());
      Value i = lanes.getInductionVar();
      IRMapping bodyMap = map;
      for (OpOperand *input : op.getDpsInputOperands()) {
        Value memref = map.lookupOrDefault(input->get());
        SmallVector<Value> at;
        if (op.getMatchingIndexingMap(input).getNumResults() == 1)
          at.push_back(i);
        bodyMap.map(op.getMatchingBlockArgument(input),
                    memref::LoadOp::create(b, loc, memref, at));
      }
      for (unsigned k = 0; k < op.getNumDpsInits(); ++k)
        bodyMap.map(op.getMatchingBlockArgument(op.getDpsInitOperand(k)),
                    lanes.getRegionIterArgs()[k]);
      // The one loop's index is the element's.
      scf::YieldOp::create(
          b, loc,
          gatec::cloneGenericBody(b, op, bodyMap, [&](unsigned) { return i; }));
    }
    // Butterfly: after log2(32) steps every lane holds the whole result.
    SmallVector<Value> partials(lanes.getResults());
    Type i32 = b.getI32Type();
    Value width = arith::ConstantIntOp::create(b, loc, i32, 32);
    for (int64_t offset = 16; offset >= 1; offset /= 2) {
      Value shift = arith::ConstantIntOp::create(b, loc, i32, offset);
      for (auto [k, combine] : llvm::enumerate(combiners)) {
        Value other = shuffleXor(b, loc, partials[k], shift, width);
        BlockArgument out =
            op.getMatchingBlockArgument(op.getDpsInitOperand(k));
        IRMapping pair;
        for (Value operand : combine->getOperands())
          pair.map(operand, operand == out ? partials[k] : other);
        partials[k] = b.clone(*combine, pair)->getResult(0);
      }
    }
    // Every lane read the initial values before lane 0 overwrites them.
    synchronize(b, loc, group);
    auto first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                       group.lane, constantIndex(b, loc, 0));
    auto guard = scf::IfOp::create(b, loc, first, /*else=*/false);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPoint(guard.thenBlock()->getTerminator());
      for (auto [partial, init] : llvm::zip(partials, op.getDpsInits()))
        memref::StoreOp::create(b, loc, partial, map.lookupOrDefault(init));
    }
    synchronize(b, loc, group);
    ++numWarpReductions;
  }

  /// gpu.shuffle xor of an i32, f32 or (as two halves) i64 value.
  static Value shuffleXor(OpBuilder &b, Location loc, Value value, Value offset,
                          Value width) {
    auto shuffle = [&](Value v) -> Value {
      return gpu::ShuffleOp::create(b, loc, v, offset, width,
                                    gpu::ShuffleMode::XOR)
          .getShuffleResult();
    };
    if (!value.getType().isInteger(64))
      return shuffle(value);
    Type i32 = b.getI32Type(), i64 = b.getI64Type();
    Value c32 = arith::ConstantIntOp::create(b, loc, i64, 32);
    Value low = arith::TruncIOp::create(b, loc, i32, value);
    Value high = arith::TruncIOp::create(
        b, loc, i32, arith::ShRUIOp::create(b, loc, value, c32));
    Value lowOut = arith::ExtUIOp::create(b, loc, i64, shuffle(low));
    Value highOut = arith::ShLIOp::create(
        b, loc, arith::ExtUIOp::create(b, loc, i64, shuffle(high)), c32);
    return arith::OrIOp::create(b, loc, highOut, lowOut);
  }

  /// A launch of `grid` blocks of `threads` threads before `at`, with an
  /// empty body ending in gpu.terminator; `b` is left at the body's start.
  /// It becomes the current launch, whose shared buffers are made anew.
  gpu::LaunchOp createLaunch(OpBuilder &b, Location loc, Value grid,
                             int64_t threads) {
    Value one = constantIndex(b, loc, 1);
    auto launch = gpu::LaunchOp::create(
        b, loc, grid, one, one, constantIndex(b, loc, threads), one, one);
    currentLaunch = launch;
    broadcastCells.clear();
    stagingBuffers.clear();
    Block &body = launch.getBody().front();
    b.setInsertionPointToStart(&body);
    auto terminator = gpu::TerminatorOp::create(b, loc);
    b.setInsertionPoint(terminator);
    return launch;
  }

  /// Runs consecutive top-level ops (writes, and what follows them up to the
  /// next loop or allocation) on one thread. A result used after the run
  /// must come from a side-effect-free op on host values, which then also
  /// stays on the host.
  LogicalResult launchSingleThread(ArrayRef<Operation *> ops) {
    OpBuilder b(ops.front());
    Location loc = ops.front()->getLoc();
    createLaunch(b, loc, constantIndex(b, loc, 1), 1);
    IRMapping map;
    // Ops that depend on the run's writes; the others may stay on the host.
    llvm::SmallPtrSet<Operation *, 8> dependent;
    for (Operation *op : ops) {
      b.clone(*op, map);
      if (!isMemoryEffectFree(op) ||
          llvm::any_of(op->getOperands(), [&](Value v) {
            return v.getDefiningOp() && dependent.count(v.getDefiningOp());
          }))
        dependent.insert(op);
    }
    for (Operation *op : llvm::reverse(ops)) {
      bool usedAfter = llvm::any_of(op->getUsers(), [&](Operation *user) {
        // Later ops of the run that stay on the host count too.
        return !user->getParentOfType<gpu::LaunchOp>();
      });
      if (!usedAfter) {
        // Uses inside the launch refer to the clones already.
        op->dropAllUses();
        op->erase();
        continue;
      }
      if (dependent.count(op))
        return op->emitError("gatec-gpu-distribute: a value computed by a "
                             "one-thread kernel is used by the host");
    }
    ++numSingleThreadKernels;
    return success();
  }

  /// How a top-level loop's iterations map onto a grid, with the host values
  /// its launch needs (trip counts, grid, scratch workspaces).
  struct LoopPlan {
    scf::ParallelOp loop;
    bool perGroup = false, perWarp = false;
    SmallVector<Value> counts;
    Value total, grid;
    int64_t perBlockIterations = 1;
    SmallVector<std::pair<memref::AllocOp, int64_t>> scratch;
    /// Global workspaces of the scratch buffers, or none when they live in
    /// shared memory (`sharedScratch`).
    SmallVector<Value> workspaces;
    bool sharedScratch = false;
  };

  /// Decides how `loop` runs and computes its host values with `b`.
  FailureOr<LoopPlan> planLoop(OpBuilder &b, scf::ParallelOp loop) {
    if (!loop.getInitVals().empty())
      return loop.emitError("gatec-gpu-distribute: parallel reductions are "
                            "not supported");
    LoopPlan plan;
    plan.loop = loop;
    plan.perGroup = containsParallel(loop);
    // Inner loops of at most warpLoopLimit iterations (a router's loops
    // over experts) take one warp per iteration; larger ones (a scan's
    // chunk products) a whole block.
    std::optional<int64_t> inner = largestInnerLoop(loop);
    plan.perWarp = plan.perGroup && inner && *inner <= warpLoopLimit &&
                   threadsPerBlock % 32 == 0 && !containsBlockMatmul(loop);
    if (!plan.perWarp) {
      // Only a warp splits the kept reductions; elsewhere they are loops.
      if (failed(lowerKeptReductions(loop)))
        return failure();
      plan.perGroup = containsParallel(loop);
    }
    Location loc = loop.getLoc();
    IRMapping hostMap;
    plan.counts = tripCounts(b, loop, hostMap);
    plan.total = product(b, loc, plan.counts);
    int64_t threads = threadsPerBlock;
    // Iterations per block: one per thread, per warp, or one.
    plan.perBlockIterations =
        !plan.perGroup ? threads : (plan.perWarp ? threads / 32 : 1);
    plan.grid = arith::CeilDivUIOp::create(
        b, loc, plan.total, constantIndex(b, loc, plan.perBlockIterations));
    // Scratch: one slot per iteration a block may run.
    Value slots = arith::MulIOp::create(
        b, loc, plan.grid, constantIndex(b, loc, plan.perBlockIterations));
    bool scratchOk = true;
    loop.getBody()->walk([&](memref::AllocOp alloc) {
      FailureOr<int64_t> bytes = scratchBytes(alloc);
      if (failed(bytes)) {
        scratchOk = false;
        return;
      }
      plan.scratch.push_back({alloc, *bytes});
    });
    if (!scratchOk)
      return failure();
    // Scratch of the iterations a block runs that fits in shared memory
    // (a router's per-token scores and keys, eight tokens per block) lives
    // there, in 16-byte aligned slots: no workspace to allocate on every
    // call, no global traffic.
    int64_t blockBytes = 0;
    SmallVector<int64_t> sharedBytes;
    for (auto &[alloc, bytes] : plan.scratch) {
      sharedBytes.push_back(*scratchBytes(alloc, /*alignment=*/16));
      blockBytes += sharedBytes.back() * plan.perBlockIterations;
    }
    plan.sharedScratch = !plan.scratch.empty() &&
                         blockBytes <= sharedScratchBytes &&
                         !containsBlockMatmul(loop);
    if (plan.sharedScratch) {
      for (auto [entry, bytes] : llvm::zip(plan.scratch, sharedBytes))
        entry.second = bytes;
      return plan;
    }
    for (auto &[alloc, bytes] : plan.scratch)
      plan.workspaces.push_back(workspace(
          b, loc,
          arith::MulIOp::create(b, loc, slots, constantIndex(b, loc, bytes))));
    return plan;
  }

  /// A 256-byte aligned device buffer of `bytes` bytes.
  static Value workspace(OpBuilder &b, Location loc, Value bytes) {
    auto type = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
    return memref::AllocOp::create(b, loc, type, ValueRange{bytes},
                                   b.getI64IntegerAttr(256));
  }

  /// Emits the iterations of `plan`'s loop at `b`, inside `launch`. With
  /// `guardBlocks`, a loop run per block checks that its block has an
  /// iteration too (the grid may be larger than the loop).
  LogicalResult emitIterations(OpBuilder &b, gpu::LaunchOp launch,
                               LoopPlan &plan, bool guardBlocks) {
    OpBuilder::InsertionGuard insertion(b);
    scf::ParallelOp loop = plan.loop;
    Location loc = loop.getLoc();
    Value blockId = launch.getBlockIds().x;
    Value threadId = launch.getThreadIds().x;
    IRMapping map;
    // The iteration this thread works on, and its group.
    Group group{threadId, constantIndex(b, loc, 0), threadsPerBlock,
                plan.perWarp};
    Value iteration = blockId;
    if (plan.perWarp) {
      Value c32 = constantIndex(b, loc, 32);
      group.lane = arith::RemUIOp::create(b, loc, threadId, c32);
      group.index = arith::DivUIOp::create(b, loc, threadId, c32);
      group.size = 32;
    }
    bool perBlock = plan.perGroup && !plan.perWarp;
    if (!perBlock) {
      Value within = plan.perWarp ? group.index : threadId;
      iteration = arith::AddIOp::create(
          b, loc,
          arith::MulIOp::create(b, loc, blockId,
                                constantIndex(b, loc, plan.perBlockIterations)),
          within);
    }
    if (plan.perBlockIterations > 1 || guardBlocks) {
      // The last block's spare threads or warps: uniform within a group.
      auto inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                           iteration, plan.total);
      auto guard = scf::IfOp::create(b, loc, inRange, /*else=*/false);
      b.setInsertionPoint(guard.thenBlock()->getTerminator());
    }
    mapInductionVars(b, loop, plan.counts, iteration, map);
    // Scratch views into this iteration's slot: of the block's shared
    // buffer (a slot per thread, warp or the block) or of the workspace.
    scratchViews.clear();
    if (plan.sharedScratch) {
      Value local = !plan.perGroup ? threadId : group.index;
      for (auto &[alloc, bytes] : plan.scratch)
        scratchViews[alloc.getOperation()] = {
            sharedScratch(bytes * plan.perBlockIterations, loc), bytes, local};
    } else {
      for (auto [entry, workspace] : llvm::zip(plan.scratch, plan.workspaces))
        scratchViews[entry.first.getOperation()] = {workspace, entry.second,
                                                    iteration};
    }

    for (Operation &op : loop.getBody()->without_terminator()) {
      if (plan.perGroup) {
        if (failed(emitUniform(b, &op, map, group)))
          return failure();
      } else {
        if (failed(cloneSequential(b, &op, map)))
          return failure();
      }
    }
    if (plan.sharedScratch)
      propagateMemorySpaces(launch);
    return success();
  }

  /// The views of shared scratch were cloned with the types of global
  /// buffers: gives every view derived from a memref in another memory space
  /// than its type says that space.
  static void propagateMemorySpaces(gpu::LaunchOp launch) {
    launch.getBody().walk([](ViewLikeOpInterface view) {
      auto source = dyn_cast<MemRefType>(view.getViewSource().getType());
      if (!source)
        return;
      for (Value result : view->getResults())
        if (auto type = dyn_cast<MemRefType>(result.getType());
            type && type.getMemorySpace() != source.getMemorySpace())
          result.setType(MemRefType::Builder(type).setMemorySpace(
              source.getMemorySpace()));
    });
  }

  void countLaunch(const LoopPlan &plan) {
    if (!plan.perGroup)
      ++numThreadKernels;
    else if (plan.perWarp)
      ++numWarpKernels;
    else
      ++numBlockKernels;
    numScratchBuffers += plan.scratch.size();
  }

  LogicalResult distribute(scf::ParallelOp loop) {
    OpBuilder b(loop);
    Location loc = loop.getLoc();
    FailureOr<LoopPlan> plan = planLoop(b, loop);
    if (failed(plan))
      return failure();
    gpu::LaunchOp launch = createLaunch(b, loc, plan->grid, threadsPerBlock);
    if (failed(emitIterations(b, launch, *plan, /*guardBlocks=*/false)))
      return failure();
    b.setInsertionPointAfter(launch);
    for (Value workspace : plan->workspaces)
      memref::DeallocOp::create(b, loc, workspace);
    loop.erase();
    countLaunch(*plan);
    return success();
  }

  /// Bytes of a slot for `alloc`: every dynamic size replaced by its constant
  /// upper bound, rounded up to `alignment` (that of every slot: 256 in a
  /// global workspace, 16 in shared memory).
  FailureOr<int64_t> scratchBytes(memref::AllocOp alloc,
                                  int64_t alignment = 256) {
    MemRefType type = alloc.getType();
    if (!type.getLayout().isIdentity() || type.getMemorySpace() != nullptr ||
        !type.getElementType().isIntOrFloat())
      return alloc.emitError("gatec-gpu-distribute: cannot place scratch "
                             "buffer of type ")
             << type;
    int64_t elems = 1;
    unsigned dynamic = 0;
    for (int64_t size : type.getShape()) {
      if (!ShapedType::isDynamic(size)) {
        elems *= size;
        continue;
      }
      Value sizeValue = alloc.getDynamicSizes()[dynamic++];
      FailureOr<int64_t> bound = ValueBoundsConstraintSet::computeConstantBound(
          presburger::BoundType::UB,
          ValueBoundsConstraintSet::Variable(sizeValue),
          /*stopCondition=*/nullptr, /*closedUB=*/true);
      if (failed(bound) || *bound < 0)
        return alloc.emitError("gatec-gpu-distribute: no constant upper bound "
                               "for a dynamic size of scratch buffer ")
               << type;
      elems *= std::max<int64_t>(*bound, 0);
    }
    int64_t bytes = elems * ((type.getElementTypeBitWidth() + 7) / 8);
    return (bytes + alignment - 1) / alignment * alignment;
  }

  /// Clones `op`, replacing scratch allocations by views into their slot and
  /// dropping their deallocations.
  LogicalResult cloneSequential(OpBuilder &b, Operation *op, IRMapping &map) {
    if (isa<linalg::LinalgOp>(op))
      return op->emitError("gatec-gpu-distribute: an op kept for a group "
                           "of threads reached a single thread");
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      map.map(alloc.getResult(), scratchView(b, alloc, map));
      return success();
    }
    if (auto dealloc = dyn_cast<memref::DeallocOp>(op))
      if (scratchViews.count(
              dealloc.getMemref().getDefiningOp<memref::AllocOp>()))
        return success();
    if (op->getNumRegions() == 0 || !containsScratch(op)) {
      b.clone(*op, map);
      return success();
    }
    return cloneShell(b, op, map, [&](OpBuilder &inner, Operation *nested) {
      return cloneSequential(inner, nested, map);
    });
  }

  bool containsScratch(Operation *op) {
    bool found = false;
    op->walk([&](memref::AllocOp alloc) {
      found |= scratchViews.count(alloc) != 0;
    });
    op->walk([&](memref::DeallocOp dealloc) {
      found |= scratchViews.count(
                   dealloc.getMemref().getDefiningOp<memref::AllocOp>()) != 0;
    });
    return found;
  }

  Value scratchView(OpBuilder &b, memref::AllocOp alloc, IRMapping &map) {
    const ScratchSlot &slot = scratchViews.lookup(alloc);
    Location loc = alloc.getLoc();
    Value shift = arith::MulIOp::create(b, loc, slot.slot,
                                        constantIndex(b, loc, slot.bytes));
    SmallVector<Value> sizes;
    for (Value size : alloc.getDynamicSizes())
      sizes.push_back(map.lookupOrDefault(size));
    MemRefType type =
        MemRefType::Builder(alloc.getType())
            .setMemorySpace(
                cast<MemRefType>(slot.workspace.getType()).getMemorySpace());
    return memref::ViewOp::create(b, loc, type, slot.workspace, shift, sizes);
  }

  /// Clones `op` without its regions, then fills each (single-block) region
  /// by calling `fill` on every op of the original block.
  LogicalResult
  cloneShell(OpBuilder &b, Operation *op, IRMapping &map,
             llvm::function_ref<LogicalResult(OpBuilder &, Operation *)> fill) {
    Operation *shell = b.cloneWithoutRegions(*op, map);
    for (auto [oldRegion, newRegion] :
         llvm::zip(op->getRegions(), shell->getRegions())) {
      if (oldRegion.empty())
        continue;
      if (!oldRegion.hasOneBlock())
        return op->emitError("gatec-gpu-distribute: multi-block regions are "
                             "not supported");
      Block &oldBlock = oldRegion.front();
      Block *newBlock = new Block();
      newRegion.push_back(newBlock);
      for (BlockArgument arg : oldBlock.getArguments())
        map.map(arg, newBlock->addArgument(arg.getType(), arg.getLoc()));
      OpBuilder inner = OpBuilder::atBlockEnd(newBlock);
      for (Operation &nested : oldBlock)
        if (failed(fill(inner, &nested)))
          return failure();
    }
    map.map(op->getResults(), shell->getResults());
    return success();
  }

  /// Emits `op` for execution by every thread of a group alike.
  LogicalResult emitUniform(OpBuilder &b, Operation *op, IRMapping &map,
                            const Group &group) {
    Location loc = op->getLoc();
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      map.map(alloc.getResult(), scratchView(b, alloc, map));
      return success();
    }
    if (isa<memref::DeallocOp>(op) && !containsScratch(op)) {
      // Not a scratch buffer of this loop: nothing a kernel may free.
      return op->emitError("gatec-gpu-distribute: cannot free memory in a "
                           "kernel");
    }
    if (isa<memref::DeallocOp>(op))
      return success();
    if (auto inner = dyn_cast<scf::ParallelOp>(op)) {
      // Spread the iterations over the block's threads.
      if (!inner.getInitVals().empty())
        return inner.emitError("gatec-gpu-distribute: parallel reductions are "
                               "not supported");
      SmallVector<Value> counts = tripCounts(b, inner, map);
      Value total = product(b, loc, counts);
      auto spread = scf::ForOp::create(b, loc, group.lane, total,
                                       constantIndex(b, loc, group.size));
      OpBuilder body = OpBuilder::atBlockBegin(spread.getBody());
      body.setInsertionPoint(spread.getBody()->getTerminator());
      mapInductionVars(body, inner, counts, spread.getInductionVar(), map);
      // A loop of the one-launch path: a scratch slot per thread.
      inner.getBody()->walk([&](memref::AllocOp alloc) {
        auto it = perIterationScratch.find(alloc);
        if (it != perIterationScratch.end())
          scratchViews[alloc] = {it->second.first, it->second.second,
                                 group.lane};
      });
      for (Operation &nested : inner.getBody()->without_terminator())
        if (failed(cloneSequential(body, &nested, map)))
          return failure();
      synchronize(b, loc, group);
      return success();
    }
    if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
      // Kept by lowerToLoops; distribute() lowered it unless this is a warp.
      assert(group.warp && "a kept reduction outside a warp");
      emitWarpReduction(b, generic, map, group);
      return success();
    }
    if (auto matmul = dyn_cast<linalg::MatmulOp>(op)) {
      // Kept whole by lowerToLoops: the block's tensor cores run it. Its
      // operands come from earlier loops and writes, each of which ended
      // with a barrier; it ends with one for the loops that read C.
      gatec::buildBlockMatmul(b, matmul, map, group.lane, group.size,
                              [&](MemRefType type, unsigned index) {
                                return stagingBuffer(type, index);
                              });
      synchronize(b, loc, group);
      ++numBlockMatmuls;
      return success();
    }
    if (containsParallel(op)) {
      // Control flow around parallel loops runs on every thread; its bounds
      // and conditions come from shapes and inputs, the same for all.
      return cloneShell(b, op, map, [&](OpBuilder &inner, Operation *nested) {
        return emitUniform(inner, nested, map, group);
      });
    }
    if (!mayWrite(op)) {
      b.clone(*op, map);
      return success();
    }
    // One thread writes; barriers order it after earlier reads and before
    // later ones. Its results reach the other threads through shared memory.
    SmallVector<Value> broadcast;
    for (auto [i, result] : llvm::enumerate(op->getResults())) {
      if (!result.getType().isIntOrIndexOrFloat())
        return op->emitError("gatec-gpu-distribute: cannot share a result of "
                             "type ")
               << result.getType() << " between the threads of a block";
      broadcast.push_back(broadcastSlot(result.getType(), i, loc, group));
    }
    synchronize(b, loc, group);
    auto first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                       group.lane, constantIndex(b, loc, 0));
    auto guard = scf::IfOp::create(b, loc, first, /*else=*/false);
    OpBuilder then = OpBuilder::atBlockBegin(guard.thenBlock());
    then.setInsertionPoint(guard.thenBlock()->getTerminator());
    if (failed(cloneSequential(then, op, map)))
      return failure();
    for (auto [result, slot] : llvm::zip(op->getResults(), broadcast))
      memref::StoreOp::create(then, loc, map.lookup(result), slot, group.index);
    synchronize(b, loc, group);
    for (auto [result, slot] : llvm::zip(op->getResults(), broadcast))
      map.map(result, memref::LoadOp::create(b, loc, slot, group.index));
    return success();
  }

  /// The `i`-th shared-memory cells of `type` of the current launch (one per
  /// group of the block), through which a group's first thread hands a
  /// result to the others.
  Value broadcastSlot(Type type, unsigned i, Location loc, const Group &group) {
    SmallVector<Value> &cells = broadcastCells[type];
    while (cells.size() <= i) {
      auto workgroup = gpu::AddressSpaceAttr::get(type.getContext(),
                                                  gpu::AddressSpace::Workgroup);
      int64_t groups = group.warp ? threadsPerBlock / 32 : 1;
      auto cellType = MemRefType::get({groups}, type,
                                      MemRefLayoutAttrInterface(), workgroup);
      cells.push_back(currentLaunch.addWorkgroupAttribution(cellType, loc));
    }
    return cells[i];
  }

  /// A shared-memory buffer of `bytes` bytes for the current launch's
  /// scratch slots.
  Value sharedScratch(int64_t bytes, Location loc) {
    auto workgroup = gpu::AddressSpaceAttr::get(currentLaunch.getContext(),
                                                gpu::AddressSpace::Workgroup);
    auto type = MemRefType::get({bytes},
                                IntegerType::get(currentLaunch.getContext(), 8),
                                MemRefLayoutAttrInterface(), workgroup);
    ++numSharedScratchBuffers;
    return currentLaunch.addWorkgroupAttribution(type, loc);
  }

  /// The current launch's `index`-th shared-memory buffer of `type` for
  /// staging tensor-core operands, shared by its matmuls.
  Value stagingBuffer(MemRefType type, unsigned index) {
    Value &buffer = stagingBuffers[{type, index}];
    if (!buffer)
      buffer =
          currentLaunch.addWorkgroupAttribution(type, currentLaunch.getLoc());
    return buffer;
  }

  gpu::LaunchOp currentLaunch;
  llvm::DenseMap<Type, SmallVector<Value>> broadcastCells;
  llvm::DenseMap<std::pair<Type, unsigned>, Value> stagingBuffers;

  struct ScratchSlot {
    Value workspace;
    int64_t bytes = 0;
    Value slot;
  };
  llvm::DenseMap<Operation *, ScratchSlot> scratchViews;
  /// Buffers (shared or global, a slot per thread) and slot bytes of the
  /// scratch buffers in the loops that the last block of a one-launch path
  /// runs.
  llvm::DenseMap<Operation *, std::pair<Value, int64_t>> perIterationScratch;
};

} // namespace
