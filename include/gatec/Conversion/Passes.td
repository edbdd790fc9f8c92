//===- Passes.td - gatec conversion passes -----------------*- tablegen -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_CONVERSION_PASSES_TD
#define GATEC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertGateToLinalg : Pass<"convert-gate-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower gate ops to linalg, tensor, scf and math at tensor level";
  let description = [{
    Decomposes every gate op into upstream tensor-level IR that both backends
    tile: gates become one elementwise `linalg.generic` (f32 arithmetic,
    one rounding to the result type); chunked scans become a loop over
    chunks carrying the f32 state, with the intra-chunk products as linalg
    contractions; short causal convolutions become a loop over (sequence,
    time slice, channel block) with elementwise generics over the taps, and
    one over (sequence, channel block) for their final state; routers and
    dispatch become per-row loops. The math of each
    op is written once here, and the CPU and GPU pipelines differ only in how
    they tile and map the result.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
  let options = [
    Option<"pairChunk", "pair-chunk", "int64_t", /*default=*/"128",
           "Pairs per chunk in the counting sorts of routers and dispatch "
           "(capacity, dispatch metadata): the longest serial walk is "
           "max(chunk, T * k / chunk + 1)">,
    Option<"routerRows", "router-rows", "int64_t", /*default=*/"1",
           "Tokens a router routes per loop iteration, their top-k passes "
           "interleaved (a CPU core overlaps them; a GPU thread takes one)">,
    Option<"convChannelBlock", "conv-channel-block", "int64_t",
           /*default=*/"64",
           "Channels per iteration of a short convolution (contiguous along "
           "each row of x: a GPU block wants 64, a CPU thread longer rows)">,
    Option<"convSliceTokens", "conv-slice-tokens", "int64_t",
           /*default=*/"64",
           "Tokens per time slice (iteration) of a short convolution, on "
           "average over the sequences">,
    Option<"scoreSubChunk", "score-sub-chunk", "int64_t", /*default=*/"8",
           "Sub-chunk length of a vector-decay scan's intra-chunk scores "
           "(exponentials on the diagonal blocks, matmuls elsewhere)">,
    Option<"transposeScoreKeys", "transpose-score-keys", "bool",
           /*default=*/"true",
           "Compute a scan's q k^T as a matmul with a transposed copy of "
           "the chunk's keys (else linalg.matmul_transpose_b)">
  ];
  let statistics = [
    Statistic<"numGates", "gates", "Number of gate ops lowered">,
    Statistic<"numScans", "scans", "Number of chunked scans lowered">,
    Statistic<"numRouters", "routers", "Number of routers and dispatches lowered">,
    Statistic<"numConvs", "convs", "Number of short causal convolutions lowered">
  ];
}

#endif // GATEC_CONVERSION_PASSES_TD
