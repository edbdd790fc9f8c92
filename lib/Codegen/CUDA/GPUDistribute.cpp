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
// This file holds the pass, the per-function driver's launches and the
// uniform execution of a group; the other concerns of the driver
// (GPUDistribute.h) are in GPULowerToLoops.cpp, GPUWarpReduction.cpp,
// GPUScratch.cpp and GPUOneLaunch.cpp.
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
#include "mlir/IR/Remarks.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "mlir/Transforms/RegionUtils.h"

namespace gatec {
#define GEN_PASS_DEF_GPUDISTRIBUTE
#include "gatec/Codegen/CUDA/Passes.h.inc"
} // namespace gatec

using namespace mlir;
using namespace gatec::gpu_distribute;

namespace {

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

} // namespace

namespace gatec::gpu_distribute {

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

LogicalResult GPUDistributor::run(func::FuncOp func) {
  IRRewriter rewriter(func.getContext());
  gatec::foldDimsOfExpandShapes(rewriter, func);
  gatec::eraseWriteOnlyBuffers(rewriter, func);
  if (failed(lowerToLoops(func)))
    return failure();
  scf::IfOp split = splitForOneLaunch(func);
  if (split && failed(buildOneLaunch(*split.thenBlock())))
    return failure();
  if (failed(distributeBlock(func.getBody().front(), split)) ||
      (split && failed(distributeBlock(*split.elseBlock()))))
    return failure();
  if (split)
    ++counts.numOneLaunchPaths;
  return success();
}

/// Gives each top-level loop of `block` its launch, and each run of other
/// writes a one-thread launch; `split` (a one-launch path's choice) is left
/// to the caller.
LogicalResult GPUDistributor::distributeBlock(Block &block, Operation *split) {
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

/// A launch of `grid` blocks of `threads` threads before `at`, with an
/// empty body ending in gpu.terminator; `b` is left at the body's start.
/// It becomes the current launch, whose shared buffers are made anew.
gpu::LaunchOp GPUDistributor::createLaunch(OpBuilder &b, Location loc,
                                           Value grid, int64_t threads) {
  Value one = constantIndex(b, loc, 1);
  auto launch = gpu::LaunchOp::create(b, loc, grid, one, one,
                                      constantIndex(b, loc, threads), one, one);
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
LogicalResult GPUDistributor::launchSingleThread(ArrayRef<Operation *> ops) {
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
  ++counts.numSingleThreadKernels;
  return success();
}

/// Decides how `loop` runs and computes its host values with `b`.
FailureOr<GPUDistributor::LoopPlan>
GPUDistributor::planLoop(OpBuilder &b, scf::ParallelOp loop) {
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

/// Emits the iterations of `plan`'s loop at `b`, inside `launch`. With
/// `guardBlocks`, a loop run per block checks that its block has an
/// iteration too (the grid may be larger than the loop).
LogicalResult GPUDistributor::emitIterations(OpBuilder &b, gpu::LaunchOp launch,
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

void GPUDistributor::countLaunch(const LoopPlan &plan, Location loc) {
  if (!plan.perGroup)
    ++counts.numThreadKernels;
  else if (plan.perWarp)
    ++counts.numWarpKernels;
  else
    ++counts.numBlockKernels;
  counts.numScratchBuffers += plan.scratch.size();
  // The decision, for `gatec --remarks=gatec-gpu` (free when off).
  StringRef unit = !plan.perGroup ? "thread" : plan.perWarp ? "warp" : "block";
  remark::passed(loc, remark::RemarkOpts::name("Launch").category(passFlag))
      << remark::add(
             "one {0} per iteration, {1} threads per block, {2} iteration(s) "
             "per block, {3} scratch buffer(s){4}",
             unit, threadsPerBlock, plan.perBlockIterations,
             plan.scratch.size(),
             plan.scratch.empty() ? ""
             : plan.sharedScratch ? " in shared memory"
                                  : " in a global workspace");
}

LogicalResult GPUDistributor::distribute(scf::ParallelOp loop) {
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
  countLaunch(*plan, loc);
  return success();
}

/// Clones `op` without its regions, then fills each (single-block) region
/// by calling `fill` on every op of the original block.
LogicalResult GPUDistributor::cloneShell(
    OpBuilder &b, Operation *op, IRMapping &map,
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
LogicalResult GPUDistributor::emitUniform(OpBuilder &b, Operation *op,
                                          IRMapping &map, const Group &group) {
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
        scratchViews[alloc] = {it->second.first, it->second.second, group.lane};
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
    ++counts.numBlockMatmuls;
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
Value GPUDistributor::broadcastSlot(Type type, unsigned i, Location loc,
                                    const Group &group) {
  SmallVector<Value> &cells = broadcastCells[type];
  while (cells.size() <= i) {
    auto workgroup = gpu::AddressSpaceAttr::get(type.getContext(),
                                                gpu::AddressSpace::Workgroup);
    int64_t groups = group.warp ? threadsPerBlock / 32 : 1;
    auto cellType =
        MemRefType::get({groups}, type, MemRefLayoutAttrInterface(), workgroup);
    cells.push_back(currentLaunch.addWorkgroupAttribution(cellType, loc));
  }
  return cells[i];
}

/// The current launch's `index`-th shared-memory buffer of `type` for
/// staging tensor-core operands, shared by its matmuls.
Value GPUDistributor::stagingBuffer(MemRefType type, unsigned index) {
  Value &buffer = stagingBuffers[{type, index}];
  if (!buffer)
    buffer =
        currentLaunch.addWorkgroupAttribution(type, currentLaunch.getLoc());
  return buffer;
}

} // namespace gatec::gpu_distribute

namespace {

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
    gatec::GPUDistributeOptions options;
    options.threadsPerBlock = threadsPerBlock;
    options.vectorBytes = vectorBytes;
    options.tensorCores = tensorCores;
    options.warpLoopLimit = warpLoopLimit;
    options.sharedScratchBytes = sharedScratchBytes;
    options.oneLaunchWork = oneLaunchWork;
    GPUDistributor driver(options, getArgument());
    LogicalResult result = driver.run(func);
    const DistributeCounts &counts = driver.counts;
    numThreadKernels += counts.numThreadKernels;
    numWarpKernels += counts.numWarpKernels;
    numBlockKernels += counts.numBlockKernels;
    numSingleThreadKernels += counts.numSingleThreadKernels;
    numScratchBuffers += counts.numScratchBuffers;
    numBlockMatmuls += counts.numBlockMatmuls;
    numWarpReductions += counts.numWarpReductions;
    numVectorLoops += counts.numVectorLoops;
    numSharedScratchBuffers += counts.numSharedScratchBuffers;
    numOneLaunchPaths += counts.numOneLaunchPaths;
    if (failed(result))
      signalPassFailure();
  }
};

} // namespace
