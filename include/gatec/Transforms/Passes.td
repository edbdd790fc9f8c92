//===- Passes.td - gatec backend transforms ----------------*- tablegen -*-===//
//
// Part of gatec. Target-independent kernel ABI handling and the CPU
// tiling/vectorization strategy.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_TRANSFORMS_PASSES_TD
#define GATEC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def DestinationPassingABI : Pass<"gatec-destination-passing-abi", "::mlir::ModuleOp"> {
  let summary = "Give every kernel caller-allocated outputs and a C interface";
  let description = [{
    Rewrites each public function with tensor results into one that takes an
    extra memref argument per result (the caller's output buffer, dense
    row-major) and returns nothing: each result is materialized in its
    destination, so after
    `eliminate-empty-tensors` and bufferization the last op of each result
    writes straight into the caller's memory, with no copy. Inputs are marked
    read-only for bufferization (the C ABI promises not to write them); the
    `gate.name`/`gate.shape` result attributes move to the new arguments, and
    `llvm.emit_c_interface` is set so the entry point is
    `_mlir_ciface_<kernel>(descriptors...)`.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
}

def FuseElementwise : Pass<"gatec-fuse-elementwise"> {
  let summary = "Fuse elementwise linalg ops and propagate reshapes, keeping contractions whole";
  let description = [{
    Upstream `linalg-fuse-elementwise-ops` (fuse elementwise producers into
    their consumers, fold `tensor.expand_shape`/`collapse_shape` into linalg
    ops by expanding their iteration space), except that no reshape is folded
    into or out of an op with reduction loops. A matmul whose result is
    reshaped for its consumer (the gated-attention output gate:
    `reshape(x @ W, [B, T, H, D])`) thus stays a 2-D `linalg.matmul` that the
    CPU schedule tiles into register blocks, instead of becoming a rank-5
    contraction that the consumer's per-token tiles would recompute as one
    matrix-vector product per token. The consumer is collapsed to the
    matmul's 2-D shape instead (a second phase: upstream's reshape folding by
    collapsing, only across an `expand_shape` of a contraction's result), so
    that a GEMM kernel can run it as its epilogue; a
    `bufferization.materialize_in_destination` of an expanded value writes
    the unexpanded value into a collapsed view of its destination, so the
    result still lands in the caller's buffer without a copy.

    A `linalg.matmul` whose two operands are elementwise widenings of bf16
    (or f16) tensors (`cast(x, f32) @ cast(w, f32)`, as in DeepSeek-V3's
    router) reads the narrow tensors instead: linalg.matmul widens its
    operands itself, so the math is the same, no f32 copy is written, and
    the contraction reaches tensor cores and the CPU's bf16 dot products.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::affine::AffineDialect"];
}

def FuseIntoScans : Pass<"gatec-fuse-into-scans"> {
  let summary = "Compute a chunked scan's elementwise producers and row-wise consumers per chunk";
  let description = [{
    A chunked scan's lowering is an `scf.forall` over (sequence, head)
    (marked `gate.chunked_scan_loop`) whose chunk loop reads `[L, K]` slices
    of its inputs and writes `[L, V]` rows of its output o (the op marked
    `gate.scan_output_rows`). Work on both sides moves into that loop:

    - Prologues: an all-parallel `linalg.generic` outside the loop whose
      only reader is a slice inside it (a broadcast of Mamba-2's B and C
      over the heads, `dt * x`, `dt * A`) is computed on that slice instead,
      and so on up its chain of single-use producers. A generic reading a
      contraction's result stays where it is: it is that GEMM's epilogue.
    - Epilogues: when every op reading o after the scan is row-wise (a
      `linalg.generic` over o's dims that reads o and the values computed
      from it at the same row only, all loops parallel except an optional
      reduction along V: a per-head RMSNorm's sum of squares, the
      normalization, an output gate), and one value of o's type leaves them,
      the ops are rebuilt over each chunk's rows inside the chunk loop:
      their other operands are sliced at the chunk's rows (fills are filled
      at the slice), the forall moves down to the last op and writes its
      result instead of o. So `gate(rms_norm(scan(q, k, v), w), g)` with a
      per-head norm is one loop nest (one kernel on a GPU) and o is never
      stored. A norm over more than one head, a scan with `cu_seqlens` or
      an o that is also read elsewhere keeps its ops after the scan.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::affine::AffineDialect"];
}

def PrivatizeFills : Pass<"gatec-privatize-fills"> {
  let summary = "Give every op that writes into a filled tensor its own fill";
  let description = [{
    CSE merges identical `linalg.fill`s of identical `tensor.empty`s: the
    zero accumulators of several projections of the same shape become one
    tensor that each matmul updates in place. Bufferization then keeps one
    filled buffer and copies it for every other matmul (on CUDA, a fill and
    a copy kernel per projection, and the tensor-core kernels read C instead
    of starting from zero). This pass clones the fill, and the empty tensor
    it fills, for each destination-style op that takes it as an init, right
    before that op, so each accumulator is its own fill. Run it after the
    last CSE before bufferization (and before the CPU schedule, which fuses
    a fill with no other reader into its consumer's tiles).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def RoundMultiplicands : Pass<"gatec-round-multiplicands"> {
  let summary = "Round the operands of gate.multiplicand_type contractions, as 16-bit matrix units do";
  let description = [{
    Each `linalg.matmul` (on tensors) marked `gate.multiplicand_type = T`
    reads its wider float operands through `extf(truncf(x to T))` (with
    `gate.split_multiplicands`, through hi + lo, lo the rounded remainder)
    and loses the marks. The CUDA backend runs such contractions on tensor cores with T
    operands; with this pass the CPU backend computes the same values (up to
    the order of the f32 sums), so the error the rounding adds is measured
    against the reference on any machine (`gatec-check
    --round-multiplicands`).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def CPUTileAndVectorize : Pass<"gatec-cpu-tile-and-vectorize", "::mlir::func::FuncOp"> {
  let summary = "Tile linalg ops for threads and registers, fuse epilogues, vectorize";
  let description = [{
    The CPU strategy, at tensor level:
    1. Thread level: every top-level linalg op, last to first, becomes the
       root of an `scf.forall`; its producers that have no other use are
       fused into it. This is where a gate consumes the two matmuls feeding
       it tile by tile: `act(x W) * (x V)` never exists as two full tensors.
       Contractions and such epilogues take `thread-tile-m` x `thread-tile-n`
       blocks; elementwise ops over data already in memory take blocks of
       whole rows, so each operand is read as one contiguous stream; short
       static reductions (a router row) are vectorized whole.
    2. Cache level: contractions are tiled along K (`k-tile`).
    3. Register level: contractions are tiled to `m-tile` x `n-tile` x 1 and
       every other op to 1 x ... x `vector-width` on its innermost loop; loops
       are peeled so full tiles are static, then vectorized. With `bf16-dot`,
       bf16 matmuls take k in pairs and become `x86vector.avx512.dot`
       (vdpbf16ps) on interleaved rows of B instead of widening to f32.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes of the widest vector register (16: AVX-512, 8: AVX2)">,
    Option<"threadTileM", "thread-tile-m", "int64_t", /*default=*/"256",
           "rows of a contraction (or 2-D epilogue) per thread tile">,
    Option<"threadTileN", "thread-tile-n", "int64_t", /*default=*/"128",
           "columns of a contraction (or 2-D epilogue) per thread tile">,
    Option<"kTile", "k-tile", "int64_t", /*default=*/"256",
           "reduction depth of a contraction cache block">,
    Option<"bf16Dot", "bf16-dot", "bool", /*default=*/"false",
           "bf16 x bf16 -> f32 matmuls use avx512_bf16 dot products "
           "(vdpbf16ps) on pairs of k">,
    Option<"mTile", "m-tile", "int64_t", /*default=*/"8",
           "rows of the register tile of a contraction">,
    Option<"nTileVectors", "n-tile-vectors", "int64_t", /*default=*/"2",
           "vectors per row of the register tile of a contraction">
  ];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect",
    "::mlir::affine::AffineDialect", "::mlir::x86vector::X86VectorDialect"
  ];
  let statistics = [
    Statistic<"numThreadTiled", "thread-tiled", "Ops tiled across threads">,
    Statistic<"numFused", "fused", "Producers fused into a thread tile">,
    Statistic<"numVectorized", "vectorized", "Ops vectorized">,
    Statistic<"numScalar", "left-scalar", "Ops the vectorizer could not take">,
    Statistic<"numBF16Dot", "bf16-dot-tiles",
              "Register tiles emitted as avx512_bf16 dot products">
  ];
}

def CPUOptimizeVectors : Pass<"gatec-cpu-optimize-vectors", "::mlir::func::FuncOp"> {
  let summary = "Prepare bufferized CPU code for the LLVM lowering";
  let description = [{
    Turns `memref.copy` into `linalg.copy`, so no copy of a strided view
    becomes a call into MLIR's runtime library, and rewrites
    `memref.expand_shape` ops with several dynamic sizes in one group (which
    `expand-strided-metadata` cannot take) into `memref.reinterpret_cast`.
    Small static scratch buffers allocated per iteration of a parallel loop
    (up to 4 KiB; also from sequential loops nested in it, when no use
    outlives the iteration) become `memref.alloca` at the start of the
    parallel body, instead of a malloc and free per token. Reductions of a
    1-D vector to a scalar become trees of elementwise ops on halves (LLVM
    would expand a wide one into a serial chain).
  }];
  let statistics = [
    Statistic<"numScratchOnStack", "scratch-on-stack",
              "Per-iteration scratch buffers moved to the stack">,
    Statistic<"numTreeReductions", "tree-reductions",
              "1-D vector reductions rewritten as trees of halves">,
  ];
  let dependentDialects = ["::mlir::vector::VectorDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::memref::MemRefDialect"];
}

def ApproximateMath : Pass<"gatec-approximate-math"> {
  let summary = "Replace math ops with polynomial approximations";
  let description = [{
    exp, log, tanh, erf and friends become polynomial arithmetic (MLIR's
    approximations), so vector math stays vectorized instead of becoming one
    libm call per lane, and the object needs no libm symbols for them.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def RoundToBF16WithIntegers : Pass<"gatec-round-to-bf16-with-integers"> {
  let summary = "Round f32 to bf16 with i32 arithmetic, for CPUs without avx512_bf16";
  let description = [{
    `arith.truncf` from f32 to bf16 (round to nearest even, NaN to the quiet
    NaN 0x7fc0) becomes one i32 select (a NaN's bits replaced by
    0x7fc00000), i32 shifts and adds, a truncation to i16 and a bitcast.
    Upstream's bf16 expansion selects between two bf16 vectors after the
    rounding; x86 without avx512_bf16 has no legal bf16 vector type, so LLVM
    scalarizes that select (a vucomiss and a 16-bit store per lane), and a
    select on the rounded i16 or i32 value is folded back into it through
    the bitcast. Selecting on the input keeps every lane in vector
    registers. Runs before arith-expand, which then only sees the ops it
    handles well.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

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
  }];
  let options = [
    Option<"mergedModuleName", "module-name", "std::string",
           "\"gatec_kernels\"", "Name of the merged gpu.module">,
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

#endif // GATEC_TRANSFORMS_PASSES_TD
