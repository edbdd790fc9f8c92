//===- Passes.td - gatec tensor-level transforms -----------*- tablegen -*-===//
//
// Part of gatec. Target-independent passes on the linalg form of a kernel:
// its C ABI, elementwise and scan fusion, operand rounding. Both backends
// run them.
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

#endif // GATEC_TRANSFORMS_PASSES_TD
