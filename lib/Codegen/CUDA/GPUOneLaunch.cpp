//===- GPUOneLaunch.cpp - One launch for small problems -------------------===//
//
// Part of gatec. The one-launch path of gatec-gpu-distribute: when a kernel's
// loops after its first are small, the whole kernel runs as one launch whose
// last block to finish runs them, chosen on the host from the shapes.
//
//===----------------------------------------------------------------------===//

#include "Codegen/CUDA/GPUDistribute.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

using namespace mlir;
using namespace gatec::gpu_distribute;

namespace {

//===--------------------------------------------------------------------===//
// One launch for small problems
//===--------------------------------------------------------------------===//
/// The loops of a one-launch path after its first.
static SmallVector<scf::ParallelOp> loopsAfterFirst(ArrayRef<Operation *> ops) {
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

} // namespace

namespace gatec::gpu_distribute {

/// Trip count of `loop` as a host value: from its bounds when they are host
/// values, else a constant upper bound (a chunk of at most 128 pairs).
FailureOr<Value>
GPUDistributor::hostTripCount(OpBuilder &b, scf::ForOp loop,
                              llvm::function_ref<bool(Value)> isHost) {
  Location loc = loop.getLoc();
  Value lb = loop.getLowerBound(), ub = loop.getUpperBound(),
        step = loop.getStep();
  if (isHost(lb) && isHost(ub) && isHost(step)) {
    Value span = b.createOrFold<arith::SubIOp>(loc, ub, lb);
    span = b.createOrFold<arith::MaxSIOp>(loc, span, constantIndex(b, loc, 0));
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
FailureOr<Value>
GPUDistributor::sequentialWork(OpBuilder &b, Block &block,
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
FailureOr<Value>
GPUDistributor::opWork(OpBuilder &b, Operation &op,
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
scf::IfOp GPUDistributor::splitForOneLaunch(func::FuncOp func) {
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
LogicalResult GPUDistributor::buildOneLaunch(Block &block) {
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
      perIterationScratch[alloc] = {sharedScratch(bytes * threadsPerBlock, loc),
                                    bytes};
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
  auto last =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, before,
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
  countLaunch(*plan, loc);
  return success();
}

} // namespace gatec::gpu_distribute
