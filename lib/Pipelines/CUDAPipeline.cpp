//===- CUDAPipeline.cpp - Gate-level MLIR to host code and NVVM kernels ---===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Pipelines/Pipelines.h"

#include "gatec/Codegen/CUDA/Passes.h"
#include "gatec/Codegen/CUDA/Tuning.h"
#include "gatec/Conversion/Passes.h"
#include "gatec/Transforms/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

std::string
gatec::cudaPipelineOptionsError(const CUDAPipelineOptions &options) {
  if (options.wgmma && options.chip != "sm_90a")
    return "--cuda-wgmma needs the sm_90a target (wgmma is arch-specific), "
           "not '" + options.chip + "'";
  if (!options.matmulTile.empty() &&
      !gatec::parseMatmulTile(options.matmulTile))
    return "--cuda-matmul-tile: expected MxNxKxS (four positive integers, "
           "e.g. 128x128x32x2), got '" + options.matmulTile + "'";
  return "";
}

void gatec::buildCUDAPipeline(OpPassManager &pm,
                              const CUDAPipelineOptions &options) {
  auto cleanup = [](OpPassManager &nested) { addCleanupPasses(nested); };
  // Tensor level: the same math as the CPU backend, cut for CUDA blocks.
  ConvertGateToLinalgOptions decomposition;
  // Counting sorts in chunks of 128 pairs: one thread walks each.
  decomposition.pairChunk = 128;
  // Short convolutions in blocks of 64 channels (128-byte rows of bf16) by
  // 64 tokens: one CUDA block each, 16 elements per thread.
  decomposition.convChannelBlock = 64;
  decomposition.convSliceTokens = 64;
  // Vector-decay scores in sub-chunks of 8, as on the CPU; not yet measured
  // on a GPU (16 would be one m16n8k16 tile).
  decomposition.scoreSubChunk = 8;
  // q k^T with the keys transposed into a contiguous copy: the tensor-core
  // matmul then reads both operands row by row.
  decomposition.transposeScoreKeys = true;
  addGateToLinalgPasses(pm, decomposition);

  // Buffers. Temporaries are not freed here: the generated launch code
  // allocates them on the stream and frees them after the last launch.
  addBufferizationPasses(pm);

  // Kernels: tensor-core matmuls first, then every remaining loop.
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  if (options.tensorCores) {
    GPUTensorCoreMatmulOptions matmul;
    matmul.wgmma = options.wgmma;
    if (options.matmulTile.empty()) {
      // Tuned tiles per weight shape (tuning/cuda-matmul.tsv).
      matmul.chip = options.chip;
    } else {
      // One tile for every matmul; a malformed one is reported by the pass
      // as an impossible tile.
      gatec::MatmulTile tile = gatec::parseMatmulTile(options.matmulTile)
                                   .value_or(gatec::MatmulTile{0, 0, 0, 0});
      matmul.blockTileM = tile.m;
      matmul.blockTileN = tile.n;
      matmul.kTile = tile.k;
      matmul.stages = tile.stages;
    }
    funcPm.addPass(createGPUTensorCoreMatmul(matmul));
  }
  GPUDistributeOptions distribute;
  distribute.threadsPerBlock = options.threadsPerBlock;
  distribute.tensorCores = options.tensorCores;
  funcPm.addPass(createGPUDistribute(distribute));
  funcPm.addPass(createParallelForToNestedForsPass());
  cleanup(pm);
  pm.addNestedPass<func::FuncOp>(createGPUSinkIntoLaunches());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createGPUMergeKernelModules());
  pm.addPass(createLowerAffinePass());
  cleanup(pm);
  if (options.stopAtKernels)
    return;

  // Each kernel module to NVVM.
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &gpuPm = pm.nest<gpu::GPUModuleOp>();
  gpuPm.addPass(createLowerAffinePass());
  // Polynomial math, as on the CPU, and NVPTX instructions for the rest:
  // no libdevice needed, same numerics.
  gpuPm.addPass(createGPULowerMath());
  gpuPm.addPass(memref::createExpandStridedMetadataPass());
  gpuPm.addPass(createLowerAffinePass());
  gpuPm.addPass(createSCFToControlFlowPass());
  gpuPm.addPass(createConvertNVGPUToNVVMPass());
  gpuPm.addPass(createConvertGpuOpsToNVVMOps());
  // wgmma.mma_async and its fences reach PTX as inline assembly.
  if (options.wgmma)
    gpuPm.addPass(createConvertNVVMToLLVMPass());
  cleanup(gpuPm);
  gpuPm.addPass(createReconcileUnrealizedCastsPass());
  if (!options.serialize)
    return;
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  pm.addPass(createGpuModuleToBinaryPass(binary));
}
