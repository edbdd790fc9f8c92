//===- CPUPipeline.cpp - Gate-level MLIR to vectorized LLVM dialect -------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Pipelines/Pipelines.h"

#include "gatec/Codegen/CPU/Passes.h"
#include "gatec/Conversion/Passes.h"
#include "gatec/Transforms/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void gatec::addCleanupPasses(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void gatec::addGateToLinalgPasses(
    OpPassManager &pm, const ConvertGateToLinalgOptions &decomposition) {
  pm.addPass(createConvertGateToLinalg(decomposition));
  pm.addPass(createDestinationPassingABI());
  pm.addPass(createFuseIntoScans());
  pm.addPass(createFuseElementwise());
  addCleanupPasses(pm);
  // After the last CSE before bufferization and the CPU schedule.
  pm.addPass(createPrivatizeFills());
}

void gatec::addBufferizationPasses(OpPassManager &pm) {
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  addCleanupPasses(pm);
}

// The pipeline is built from pass constructors, not text, so a library user
// (the gatec driver, the embedding API) needs no global pass registration.
void gatec::buildCPUPipeline(OpPassManager &pm,
                             const CPUPipelineOptions &options) {
  auto cleanup = [&] { addCleanupPasses(pm); };
  // Tensor level: the math of each op, then the schedule.
  ConvertGateToLinalgOptions decomposition;
  // Counting sorts in chunks of 4096 pairs: a few chunks per core keep the
  // [chunks, E] table small (its prefix pass walks it by columns); a GPU
  // wants many short chunks instead.
  decomposition.pairChunk = 4096;
  // Routers take four tokens per iteration, their top-k passes interleaved:
  // softmax top-8 of 64 ran 1.7x faster than one token at a time (eight
  // tokens spill registers and ran slower than four).
  decomposition.routerRows = 4;
  // Short convolutions in blocks of 512 channels by 256 tokens: each row
  // of a block is a new page of x, so a thread wants long rows (64-channel
  // rows ran five times slower at C = 8192), and 128K elements per
  // iteration keep the loop overhead small.
  decomposition.convChannelBlock = 512;
  decomposition.convSliceTokens = 256;
  // Vector-decay scores in sub-chunks of 8: best for the usual 64-token
  // chunk when the keys took L^2 K / (2c) exponentials (GLA, K = 128,
  // T = 2048: 16.6 ms with 8, 19-21 ms with 16, 39 ms without sub-chunks).
  decomposition.scoreSubChunk = 8;
  // q k^T against a transposed copy of the chunk's keys: vectorizing
  // q k^T's N loop directly gathers k's columns one element at a time (k's
  // rows are H x K elements apart), once per register tile of q.
  decomposition.transposeScoreKeys = true;
  addGateToLinalgPasses(pm, decomposition);
  if (options.roundMultiplicands)
    pm.addPass(createRoundMultiplicands());
  CPUTileAndVectorizeOptions tiling;
  tiling.vectorWidth = options.vectorWidth;
  tiling.threadTileM = options.threadTileM;
  tiling.threadTileN = options.threadTileN;
  tiling.kTile = options.kTile;
  tiling.bf16Dot = options.nativeBF16;
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(createCPUTileAndVectorize(tiling));
  funcPm.addPass(vector::createLowerVectorMaskPass());
  cleanup();
  // Keeps each register tile's accumulator in registers across its K loop
  // (a vector iter_arg) instead of a load and a store per iteration. The
  // hoisting proves slices disjoint through their sizes' backward slices;
  // scf-for-loop-canonicalization first rewrites tensor.dim of a loop's
  // result as the dim of its init (and folds affine.min/max of induction
  // variables), which keeps those slices short: a delta-rule scan's proofs
  // took 1.7 s before.
  pm.addNestedPass<func::FuncOp>(createSCFForLoopCanonicalizationPass());
  pm.addPass(createLoopInvariantSubsetHoistingPass());
  cleanup();

  // Buffers: results go straight into the caller's outputs; temporaries are
  // freed where their last use ends.
  addBufferizationPasses(pm);
  pm.addNestedPass<func::FuncOp>(createCPUOptimizeVectors());
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  cleanup();
  if (options.stopAtVectors)
    return;

  // To LLVM. alloca_scope from the OpenMP conversion must meet the memref
  // lowering while its body is one block, so memref goes before scf-to-cf.
  // Transfers are fully unrolled: the alternative stages n-D vectors through
  // allocas inside loops, which grow the stack every iteration.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addNestedPass<func::FuncOp>(vector::createLowerVectorMultiReductionPass());
  pm.addPass(createForallToParallelLoopPass());
  pm.addPass(createConvertSCFToOpenMPPass());
  pm.addPass(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll()));
  pm.addPass(createApproximateMath());
  // x86 has no bf16 arithmetic or comparisons (avx512_bf16 converts and
  // takes dot products only): a bf16 cmpf left to LLVM is widened and its
  // operands re-rounded through __truncsfbf2 calls. Compute in f32.
  arith::ArithEmulateUnsupportedFloatsOptions emulate;
  emulate.sourceTypeStrs = {"bf16"};
  emulate.targetTypeStr = "f32";
  pm.addPass(arith::createArithEmulateUnsupportedFloats(emulate));
  // Without avx512_bf16 LLVM turns f32->bf16 rounding into a call to
  // __truncsfbf2, which libgcc 12 lacks: expand it to integer ops so the
  // object needs nothing beyond libc and libomp.
  if (!options.nativeBF16) {
    pm.addPass(createRoundToBF16WithIntegers());
    arith::ArithExpandOpsPassOptions expand;
    expand.includeBf16 = true;
    pm.addPass(arith::createArithExpandOpsPass(expand));
  }
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createSCFToControlFlowPass());
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  vectorToLLVM.vectorContractLowering = vector::VectorContractLowering::OuterProduct;
  vectorToLLVM.x86Vector = options.nativeBF16;
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  cleanup();
}

void gatec::registerPipelines() {
  PassPipelineRegistration<CPUPipelineOptions>(
      "gatec-cpu-pipeline",
      "Lower gate-level MLIR to the LLVM dialect for x86-64 CPUs",
      buildCPUPipeline);
  PassPipelineRegistration<CUDAPipelineOptions>(
      "gatec-cuda-pipeline",
      "Lower gate-level MLIR to host code and NVVM (then PTX) kernels",
      buildCUDAPipeline);
}
