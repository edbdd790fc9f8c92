//===- Passes.td - gatec CUDA code generation --------------*- tablegen -*-===//
//
// Part of gatec. The CUDA mapping: loops onto launches and warps,
// tensor-core matmuls, kernel modules, and the math lowering for NVPTX.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_CODEGEN_CUDA_PASSES_TD
#define GATEC_CODEGEN_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

def GPUDistribute : Pass<"gatec-gpu-distribute", "::mlir::func::FuncOp"> {
  let summary = "Map a bufferized kernel's parallel loops onto CUDA launches";
  let description = [{
    An elementwise `linalg.generic` at the top of a kernel whose innermost
    loop is static and walks its operands contiguously is lowered with
    `vector-bytes`-wide accesses: each iteration (thread) loads a vector per
    contiguous operand (`vector.load` with its alignment: 16 bytes, 8 bf16,
    one `ld.global.v4`), computes the body once per element, and stores a
    vector per output; operands constant along the row are read once.

    Each `scf.parallel` at the top of a kernel becomes one `gpu.launch`. A
    loop with no parallel loop inside runs one iteration per thread (blocks of
    `threads-per-block`, the last one guarded). A loop with parallel loops
    inside runs one iteration per group of threads: per warp when every
    inner loop has a constant trip count of at most `warp-loop-limit` (a
    router's per-token loop over experts: eight tokens per block of 256),
    per block otherwise (a scan's (sequence, head) loop). The group executes
    the body uniformly, spreads each inner parallel loop over its threads and
    synchronizes after it (`gpu.barrier`, or `nvvm.bar.warp.sync` for a
    warp); any other write runs on the group's first thread between
    synchronizations, its results handed to the others through shared
    memory. Scratch buffers allocated inside an iteration become views into
    a slot per thread, warp or block, sized by the buffer's constant upper
    bound: in shared memory (16-byte aligned slots) when a block's slots take
    at most `shared-scratch-bytes` (44 KiB: static shared memory stops at 48)
    and no tensor-core matmul needs the block's shared memory, else in one
    global workspace per launch (256-byte aligned slots); kernels never
    allocate. Side-effect-free
    definitions a launch uses (constants, sizes, views) are cloned into it,
    so the outlined kernel takes only buffers. Writes at the top level that
    are not loops run in a one-thread launch.

    With `tensor-cores`, a `linalg.matmul` inside such a loop that carries
    `gate.multiplicand_type` (a chunked scan's chunk products over bf16 or
    f16 inputs) stays whole and runs on the block's tensor cores: the block
    walks C in tiles of 64 x 64 (8 warps of 16 x 32), stages 32-deep K
    slices of A and B through shared memory rounded to the multiplicand
    type (zero past the edges: any chunk length), and each warp multiplies
    with `ldmatrix` and `mma.sync.m16n8k16` into f32 registers before adding
    them to C. A loop holding one always runs per block.

    In a loop that runs per warp, a one-loop reduction into scalars whose
    combiner is order-independent (integer max/min/and/or,
    `arith.maximumf`/`minimumf`: a router's top-k passes over 64-bit keys)
    is split among the lanes: each folds every 32nd element from the
    initial value, a butterfly of `gpu.shuffle xor` combines the partials,
    and lane 0 stores the result, bit for bit the sequential loop's.

    A kernel of several launches with no tensor-core matmul (a router and
    its dispatch metadata, the counting sort's passes) also gets a one-launch
    path, taken when the problem is small: an `scf.if` on the host compares
    the sequential iterations per thread that running the later loops in
    one block adds (for each loop, its iterations beyond `threads-per-block`
    per thread, times its body's sequential work: the trip counts of its
    inner loops, host values or constant upper bounds) with
    `one-launch-work`. The first loop then runs over the grid as
    above (at least one block); each block counts itself done on a zeroed
    device counter (`gpu.memset`, then a GPU-scope fence and an atomic add by
    its first thread), and the last block to finish runs the remaining loops
    and writes itself, spreading each loop over its threads with a barrier
    after it. No block waits for another, so any grid is safe. Larger
    problems take the usual launches (the `else` branch). Only loops that
    would run one iteration per thread may follow the first.
  }];
  let options = [
    Option<"threadsPerBlock", "threads-per-block", "int64_t", "256",
           "Threads of each block">,
    Option<"vectorBytes", "vector-bytes", "int64_t", "16",
           "Bytes each thread of an elementwise kernel reads or writes per "
           "contiguous operand at once (0: element by element)">,
    Option<"tensorCores", "tensor-cores", "bool", "false",
           "Run matmuls marked gate.multiplicand_type inside per-block loops "
           "on mma.sync (threads-per-block must be a multiple of 32)">,
    Option<"warpLoopLimit", "warp-loop-limit", "int64_t", "1024",
           "Largest inner parallel loop (constant trip count) for which an "
           "iteration runs on one warp instead of a whole block">,
    Option<"sharedScratchBytes", "shared-scratch-bytes", "int64_t",
           "45056",
           "Largest per-block total of a loop's scratch buffers kept in "
           "shared memory instead of a global workspace">,
    Option<"oneLaunchWork", "one-launch-work", "int64_t", "128",
           "Largest number of sequential iterations per thread that running "
           "a kernel's loops after its first in one block may add for the "
           "kernel to run as one launch (negative: never)">,
  ];
  let statistics = [
    Statistic<"numThreadKernels", "thread-kernels",
              "Launches with one loop iteration per thread">,
    Statistic<"numWarpKernels", "warp-kernels",
              "Launches with one loop iteration per warp">,
    Statistic<"numBlockKernels", "block-kernels",
              "Launches with one loop iteration per block">,
    Statistic<"numSingleThreadKernels", "single-thread-kernels",
              "Launches of one thread for a top-level write">,
    Statistic<"numScratchBuffers", "scratch-buffers",
              "Per-iteration scratch buffers moved to a workspace">,
    Statistic<"numBlockMatmuls", "block-matmuls",
              "Matmuls inside per-block loops run on tensor cores">,
    Statistic<"numWarpReductions", "warp-reductions",
              "Reductions split among the lanes of a warp">,
    Statistic<"numVectorLoops", "vector-loops",
              "Elementwise kernels with vector loads and stores">,
    Statistic<"numSharedScratchBuffers", "shared-scratch-buffers",
              "Per-iteration scratch buffers placed in shared memory">,
    Statistic<"numOneLaunchPaths", "one-launch-paths",
              "Kernels given a one-launch path for small problems">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::linalg::LinalgDialect"];
}

def GPUTensorCoreMatmul : Pass<"gatec-gpu-tensor-core-matmul", "::mlir::func::FuncOp"> {
  let summary = "Run bf16/f16 matmuls as mma.sync tensor-core kernels (sm_80+)";
  let description = [{
    Each bufferized `linalg.matmul` at the top of a kernel with bf16 or f16
    operands, an f32 accumulator, rows that 16-byte copies can move (last
    stride 1, K and N multiples of 8) becomes a `gpu.launch` of
    `ceil(M / block-tile-m) x ceil(N / block-tile-n)` blocks of 8 warps. Each
    warp keeps a (block-tile-m / 2) x (block-tile-n / 4) tile of C in f32
    registers as 16 x 8 `mma.sync.m16n8k16` fragments (`nvvm.mma.sync`, PTX
    type bf16 or f16) over the whole K loop. A and B tiles pass through a
    ring of `stages` shared-memory buffers filled by `cp.async` 16-byte copies
    (`nvgpu.device_async_copy`, zero-filled past M, N and K; one commit
    group per K step, waited for `stages - 1` steps later) and reach
    registers by `ldmatrix` (`nvgpu.ldmatrix`; B transposed, so row-major
    K x N weights are used as stored). Shared rows are padded by 8 elements
    against bank conflicts. The epilogue adds the fragments to C under
    bounds checks (not reading C when the last write before the matmul was
    a zero fill). When the next op is an elementwise `linalg.generic` that
    reads C (identity maps, C's shape) and nothing reads C after it, its body
    runs in the epilogue on each finished element (C from registers, its
    other operands loaded at the same position) and it is erased: a gate
    (`silu(x W_gate) * up`) or a rounding to bf16 never sees C in memory.
    When that epilogue also reads the elementwise image (a rounding) of
    another matmul of the same A with a zero-filled C (the gate's up
    projection `x W_up`), one kernel computes both products: a second B ring
    beside the first, C tiles of `block-tile-m` x `block-tile-n / 2` with
    two sets of accumulators, and the rounding then the gate applied to each
    pair of elements, so `act(x W) * (x V)` never reaches memory. A
    configuration whose buffers exceed the 48 KiB of static
    shared memory is rejected with the size it needs.
  }];
  let options = [
    Option<"blockTileM", "block-tile-m", "int64_t", "128",
           "Rows of C per block (a multiple of 32)">,
    Option<"blockTileN", "block-tile-n", "int64_t", "128",
           "Columns of C per block (a multiple of 32)">,
    Option<"kTile", "k-tile", "int64_t", "32",
           "K step staged per buffer (a multiple of 16)">,
    Option<"stages", "stages", "int64_t", "2",
           "Shared-memory buffers in the cp.async ring (>= 2)">,
    Option<"wgmma", "wgmma", "bool", "false",
           "sm_90a: multiply with wgmma.mma_async (both operands from "
           "shared memory through descriptors, two warpgroups of 64 rows) "
           "instead of ldmatrix + mma.sync; block-tile-m must be 128">,
    Option<"chip", "chip", "std::string", "\"\"",
           "CUDA chip whose tuned tiles apply (tuning/cuda-matmul.tsv): a "
           "matmul takes the row nearest its weight shape, when there is "
           "one; empty: the block-tile options for every matmul">,
    Option<"tuningTable", "tuning-table", "std::string", "\"\"",
           "Tuning table to read instead of the one compiled into gatec "
           "(same format)">,
  ];
  let statistics = [
    Statistic<"numTunedMatmuls", "tuned-matmuls",
              "Matmuls whose tile came from the tuning table">,
    Statistic<"numTensorCoreMatmuls", "tensor-core-matmuls",
              "Matmuls run on mma.sync">,
    Statistic<"numFusedEpilogues", "fused-epilogues",
              "Elementwise consumers applied in a matmul's epilogue">,
    Statistic<"numPairedProjections", "paired-projections",
              "Gated projection pairs computed by one kernel">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def GPUSinkIntoLaunches : Pass<"gatec-gpu-sink-into-launches", "::mlir::func::FuncOp"> {
  let summary = "Clone the side-effect-free definitions a gpu.launch uses into it";
  let description = [{
    Constants, sizes and memref views used inside a `gpu.launch` but defined
    outside are cloned into its body (with the side-effect-free definitions
    they depend on), so that `gpu-kernel-outlining` passes only buffers and
    the few values that need memory effects to compute: the host code the
    CUDA header emitter translates is then sizes, allocations and launches.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def GPUMergeKernelModules : Pass<"gatec-gpu-merge-kernel-modules", "::mlir::ModuleOp"> {
  let summary = "Put every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` creates one `gpu.module` per launch. This pass
    moves every kernel into the first one (renamed `module-name`), naming
    each kernel after the module it came from (unique by construction), and
    updates the `gpu.launch_func` references: a kernel module compiles to one
    PTX image and one cubin that the generated header loads once. Every
    workgroup (shared-memory) buffer gets `llvm.align = 16`: the NVVM
    lowering would align it to its element type only, and 16-byte `cp.async`
    copies and `ldmatrix` rows need 16.

    The occupancy hint is decided here: a kernel that runs a block's
    tensor-core matmuls (`gatec.block_matmul`, a chunk step of a scan) or a
    one-launch path (`gatec.one_launch_count`, every loop of its kernel)
    gets `nvvm.minctasm = min-blocks-per-sm` (`.minnctapersm` in PTX).
    Without it ptxas aims at several blocks per SM and caps the registers
    (40 to 128 on sm_80), and those kernels spill; with one block per SM
    they may take up to 255. Other kernels get no hint.
  }];
  let options = [
    Option<"mergedModuleName", "module-name", "std::string",
           "\"gatec_kernels\"", "Name of the merged gpu.module">,
    Option<"minBlocksPerSM", "min-blocks-per-sm", "int64_t", "1",
           "nvvm.minctasm of kernels running block tensor-core matmuls or a "
           "one-launch path (0: no hint, ptxas's default register target)">,
  ];
  let statistics = [
    Statistic<"numKernels", "kernels", "Kernels in the outlined modules">,
    Statistic<"numOccupancyHints", "occupancy-hints",
              "Kernels given nvvm.minctasm">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def GPULowerMath : Pass<"gatec-gpu-lower-math"> {
  let summary = "Lower math ops for NVPTX without libdevice";
  let description = [{
    powf becomes exp and log; exp, log, tanh, erf and the rest become the
    same polynomial approximations the CPU backend uses; rsqrt becomes
    1 / sqrt; abs, floor, ceil, sqrt, fma, copysign, roundeven and trunc on
    f32/f64, and arith's maxnumf/minnumf/maximumf/minimumf, become calls of
    the LLVM intrinsics (`llvm.call_intrinsic`) that NVPTX selects to single
    instructions. Left to the NVVM conversion they
    would become libdevice calls (`__nv_fabsf`...) that a PTX image cannot
    resolve without the CUDA toolkit's libdevice. A math op with no such
    lowering is an error here rather than at ptxas.
  }];
  // The polynomial patterns build vector ops for vector operands.
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // GATEC_CODEGEN_CUDA_PASSES_TD
