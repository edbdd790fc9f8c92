//===- Passes.td - gatec CPU code generation ---------------*- tablegen -*-===//
//
// Part of gatec. The CPU schedule: thread and register tiling,
// vectorization, and the math and bf16 lowerings for x86-64.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_CODEGEN_CPU_PASSES_TD
#define GATEC_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

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

#endif // GATEC_CODEGEN_CPU_PASSES_TD
