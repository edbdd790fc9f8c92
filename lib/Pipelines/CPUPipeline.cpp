//===- CPUPipeline.cpp - Gate-level MLIR to vectorized LLVM dialect -------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Pipelines/Pipelines.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

/// Appends a textual pipeline: upstream passes are most precisely named by
/// their flags, and the text is what `gatec-opt --mlir-print-ir-after-all`
/// shows the user.
static void addPipeline(OpPassManager &pm, StringRef text) {
  if (failed(parsePassPipeline(text, pm, llvm::errs())))
    llvm::report_fatal_error("gatec: malformed built-in pipeline");
}

void gatec::buildCPUPipeline(OpPassManager &pm,
                             const CPUPipelineOptions &options) {
  // Tensor level: the math of each op, then the schedule.
  addPipeline(pm, "convert-gate-to-linalg,gatec-destination-passing-abi,"
                  "linalg-fuse-elementwise-ops,canonicalize,cse");
  addPipeline(pm, llvm::formatv("func.func(gatec-cpu-tile-and-vectorize{{"
                                "vector-width={0}},lower-vector-mask),"
                                "canonicalize,cse",
                                options.vectorWidth.getValue())
                      .str());
  // Buffers: results go straight into the caller's outputs; temporaries are
  // freed where their last use ends.
  addPipeline(pm, "eliminate-empty-tensors,"
                  "one-shot-bufferize{bufferize-function-boundaries=1 "
                  "function-boundary-type-conversion=identity-layout-map},"
                  "canonicalize,cse,func.func(gatec-cpu-optimize-vectors),"
                  "buffer-deallocation-pipeline,convert-bufferization-to-memref,"
                  "canonicalize,cse");
  if (options.stopAtVectors)
    return;
  // To LLVM. alloca_scope from the OpenMP conversion must meet the memref
  // lowering while its body is one block, so memref goes before scf-to-cf.
  addPipeline(pm, "func.func(convert-linalg-to-loops,lower-vector-multi-reduction),"
                  "scf-forall-to-parallel,convert-scf-to-openmp,"
                  "convert-vector-to-scf{full-unroll=1},gatec-approximate-math,"
                  "expand-strided-metadata,lower-affine,finalize-memref-to-llvm,"
                  "convert-scf-to-cf,"
                  "convert-vector-to-llvm{vector-contract-lowering=outerproduct},"
                  "convert-math-to-llvm,convert-arith-to-llvm,"
                  "convert-index-to-llvm,convert-ub-to-llvm,"
                  "convert-openmp-to-llvm,convert-cf-to-llvm,"
                  "convert-func-to-llvm,reconcile-unrealized-casts,"
                  "canonicalize,cse");
}

void gatec::registerPipelines() {
  PassPipelineRegistration<CPUPipelineOptions>(
      "gatec-cpu-pipeline",
      "Lower gate-level MLIR to the LLVM dialect for x86-64 CPUs",
      buildCPUPipeline);
}
