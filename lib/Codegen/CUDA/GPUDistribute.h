//===- GPUDistribute.h - Loop-to-grid mapping internals ---------*- C++ -*-===//
//
// Part of gatec. What the files of gatec-gpu-distribute share: the driver
// that maps one function's parallel loops onto launches (with the state of
// the function and of its current launch), and the helpers its concerns
// (lowering to loops, warp reductions, scratch placement, the one-launch
// path) use across files; also the marker the one-launch path leaves for
// gatec-gpu-merge-kernel-modules.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_CODEGEN_CUDA_GPUDISTRIBUTE_H
#define GATEC_LIB_CODEGEN_CUDA_GPUDISTRIBUTE_H

#include "gatec/Codegen/CUDA/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringRef.h"

namespace gatec {

/// A unit attribute on the atomic add that counts a one-launch path's blocks
/// done: it tells gatec-gpu-merge-kernel-modules which kernels hold a whole
/// kernel's work (their register budget is set like a block matmul's).
inline constexpr llvm::StringLiteral kOneLaunchMarker =
    "gatec.one_launch_count";

namespace gpu_distribute {

using namespace mlir;

/// The threads that execute one iteration of a loop mapped per block or per
/// warp: `size` threads, this one at `lane`; `index` numbers the group in its
/// block (for its shared-memory cells).
struct Group {
  Value lane;
  Value index;
  int64_t size;
  bool warp;
};

// Loop arithmetic and queries (GPUDistribute.cpp).
Value constantIndex(OpBuilder &b, Location loc, int64_t v);
SmallVector<Value> tripCounts(OpBuilder &b, scf::ParallelOp loop,
                              IRMapping &map);
Value product(OpBuilder &b, Location loc, ArrayRef<Value> values);
bool containsParallel(Operation *op);
bool containsBlockMatmul(Operation *op);
void synchronize(OpBuilder &b, Location loc, const Group &group);
/// True if `op` is inside a top-level forall and inside no other parallel
/// loop (GPULowerToLoops.cpp).
bool inOneTopLevelLoop(Operation *op);
// Global workspaces and shared views (GPUScratch.cpp).
Value workspace(OpBuilder &b, Location loc, Value bytes);
void propagateMemorySpaces(gpu::LaunchOp launch);

/// What the mapping decided, for the pass's statistics.
struct DistributeCounts {
  int64_t numThreadKernels = 0, numWarpKernels = 0, numBlockKernels = 0,
          numSingleThreadKernels = 0, numScratchBuffers = 0,
          numBlockMatmuls = 0, numWarpReductions = 0, numVectorLoops = 0,
          numSharedScratchBuffers = 0, numOneLaunchPaths = 0;
};

/// Maps one function's parallel loops onto launches. Made anew for every
/// function, so no state outlives it; the state of the launch being built
/// (its shared buffers) is reset by createLaunch.
class GPUDistributor {
public:
  /// `passFlag` names the pass in the remarks reporting each launch.
  GPUDistributor(const GPUDistributeOptions &options, StringRef passFlag)
      : passFlag(passFlag), threadsPerBlock(options.threadsPerBlock),
        vectorBytes(options.vectorBytes), tensorCores(options.tensorCores),
        warpLoopLimit(options.warpLoopLimit),
        sharedScratchBytes(options.sharedScratchBytes),
        oneLaunchWork(options.oneLaunchWork) {}

  /// Maps the loops of `func`, a single-block kernel.
  LogicalResult run(func::FuncOp func);

  DistributeCounts counts;

private:
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

  struct ScratchSlot {
    Value workspace;
    int64_t bytes = 0;
    Value slot;
  };

  // Launches and the uniform execution of a group (GPUDistribute.cpp).
  LogicalResult distributeBlock(Block &block, Operation *split = nullptr);
  gpu::LaunchOp createLaunch(OpBuilder &b, Location loc, Value grid,
                             int64_t threads);
  LogicalResult launchSingleThread(ArrayRef<Operation *> ops);
  FailureOr<LoopPlan> planLoop(OpBuilder &b, scf::ParallelOp loop);
  LogicalResult emitIterations(OpBuilder &b, gpu::LaunchOp launch,
                               LoopPlan &plan, bool guardBlocks);
  /// Counts the launch made for `plan` and reports it as a remark at `loc`
  /// (the loop's source location).
  void countLaunch(const LoopPlan &plan, Location loc);
  LogicalResult distribute(scf::ParallelOp loop);
  LogicalResult
  cloneShell(OpBuilder &b, Operation *op, IRMapping &map,
             llvm::function_ref<LogicalResult(OpBuilder &, Operation *)> fill);
  LogicalResult emitUniform(OpBuilder &b, Operation *op, IRMapping &map,
                            const Group &group);
  Value broadcastSlot(Type type, unsigned i, Location loc, const Group &group);
  Value stagingBuffer(MemRefType type, unsigned index);

  // The one-launch path (GPUOneLaunch.cpp).
  FailureOr<Value> hostTripCount(OpBuilder &b, scf::ForOp loop,
                                 llvm::function_ref<bool(Value)> isHost);
  FailureOr<Value> sequentialWork(OpBuilder &b, Block &block,
                                  llvm::function_ref<bool(Value)> isHost);
  FailureOr<Value> opWork(OpBuilder &b, Operation &op,
                          llvm::function_ref<bool(Value)> isHost);
  scf::IfOp splitForOneLaunch(func::FuncOp func);
  LogicalResult buildOneLaunch(Block &block);

  // Lowering to loops, keeping what a group runs whole (GPULowerToLoops.cpp).
  LogicalResult lowerToLoops(func::FuncOp func);
  bool keepsForTensorCores(linalg::LinalgOp op);

  // Reductions split among a warp's lanes (GPUWarpReduction.cpp).
  bool keepsForWarp(linalg::LinalgOp op);
  LogicalResult lowerKeptReductions(scf::ParallelOp loop);
  void emitWarpReduction(OpBuilder &b, linalg::GenericOp op, IRMapping &map,
                         const Group &group);

  // Scratch slots (GPUScratch.cpp).
  FailureOr<int64_t> scratchBytes(memref::AllocOp alloc,
                                  int64_t alignment = 256);
  LogicalResult cloneSequential(OpBuilder &b, Operation *op, IRMapping &map);
  bool containsScratch(Operation *op);
  Value scratchView(OpBuilder &b, memref::AllocOp alloc, IRMapping &map);
  Value sharedScratch(int64_t bytes, Location loc);

  StringRef passFlag;
  const int64_t threadsPerBlock, vectorBytes;
  const bool tensorCores;
  const int64_t warpLoopLimit, sharedScratchBytes, oneLaunchWork;

  gpu::LaunchOp currentLaunch;
  llvm::DenseMap<Type, SmallVector<Value>> broadcastCells;
  llvm::DenseMap<std::pair<Type, unsigned>, Value> stagingBuffers;
  llvm::DenseMap<Operation *, ScratchSlot> scratchViews;
  /// Buffers (shared or global, a slot per thread) and slot bytes of the
  /// scratch buffers in the loops that the last block of a one-launch path
  /// runs.
  llvm::DenseMap<Operation *, std::pair<Value, int64_t>> perIterationScratch;
};

} // namespace gpu_distribute
} // namespace gatec

#endif // GATEC_LIB_CODEGEN_CUDA_GPUDISTRIBUTE_H
