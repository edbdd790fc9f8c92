//===- Pipelines.h - gatec's lowering pipelines -------------------*- C++ -*-===//
//
// Part of gatec. Each pipeline is a library function (the gatec driver calls
// it) and a named pipeline (gatec-opt runs it), so both run the same passes.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_PIPELINES_PIPELINES_H
#define GATEC_PIPELINES_PIPELINES_H

#include "gatec/Conversion/GateToLinalg/GateToLinalg.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Support/LLVM.h"

namespace mlir {
class OpPassManager;
} // namespace mlir

namespace gatec {

struct CPUPipelineOptions
    : public mlir::PassPipelineOptions<CPUPipelineOptions> {
  Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("f32 lanes per vector register: 16 (AVX-512) or 8 (AVX2)"),
      llvm::cl::init(16)};
  Option<bool> nativeBF16{
      *this, "native-bf16",
      llvm::cl::desc("The CPU converts f32 to bf16 in hardware (avx512_bf16); "
                     "otherwise the rounding is expanded to integer ops"),
      llvm::cl::init(false)};
  Option<int64_t> threadTileM{
      *this, "thread-tile-m",
      llvm::cl::desc("Rows of the output each thread computes"),
      llvm::cl::init(256)};
  Option<int64_t> threadTileN{
      *this, "thread-tile-n",
      llvm::cl::desc("Columns of the output each thread computes"),
      llvm::cl::init(128)};
  Option<int64_t> kTile{
      *this, "k-tile",
      llvm::cl::desc("Reduction block of matmuls (cache blocking)"),
      llvm::cl::init(256)};
  Option<bool> roundMultiplicands{
      *this, "round-multiplicands",
      llvm::cl::desc("Round the operands of contractions marked "
                     "gate.multiplicand_type as the CUDA backend's tensor "
                     "cores do (to measure that error on a CPU)"),
      llvm::cl::init(false)};
  Option<bool> stopAtVectors{
      *this, "stop-at-vectors",
      llvm::cl::desc("Stop after bufferization, before LLVM lowering "
                     "(what --emit=mlir-lowered prints)"),
      llvm::cl::init(false)};
};

/// Gate-level MLIR (gate + linalg on tensors) to the LLVM dialect: lower the
/// gate ops, adopt the destination-passing C ABI, tile for threads with fused
/// epilogues, vectorize, bufferize, parallelize with OpenMP, approximate math.
void buildCPUPipeline(mlir::OpPassManager &pm,
                      const CPUPipelineOptions &options);

struct CUDAPipelineOptions
    : public mlir::PassPipelineOptions<CUDAPipelineOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("CUDA chip: sm_80, sm_90a..."),
                           llvm::cl::init("sm_80")};
  Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features, e.g. +ptx78 (sm_90a needs +ptx80)"),
      llvm::cl::init("+ptx78")};
  Option<int64_t> threadsPerBlock{
      *this, "threads-per-block",
      llvm::cl::desc("Threads of the blocks that run loops"),
      llvm::cl::init(256)};
  Option<bool> tensorCores{
      *this, "tensor-cores",
      llvm::cl::desc("Run bf16/f16 matmuls on tensor cores (mma.sync)"),
      llvm::cl::init(true)};
  Option<bool> wgmma{
      *this, "wgmma",
      llvm::cl::desc("sm_90a only: tensor-core matmuls on wgmma.mma_async "
                     "instead of mma.sync (not yet validated on a GPU)"),
      llvm::cl::init(false)};
  Option<std::string> matmulTile{
      *this, "matmul-tile",
      llvm::cl::desc("Block tile and stages of every tensor-core matmul, "
                     "MxNxKxS (default: the tuning table's row for the "
                     "weight shape, else 128x128x32x2)"),
      llvm::cl::init("")};
  Option<bool> stopAtKernels{
      *this, "stop-at-kernels",
      llvm::cl::desc("Stop after outlining, before the NVVM lowering "
                     "(what --emit=mlir-lowered prints)"),
      llvm::cl::init(false)};
  Option<bool> serialize{
      *this, "serialize",
      llvm::cl::desc("Finish with gpu-module-to-binary{format=isa}: each "
                     "gpu.module becomes a gpu.binary holding PTX"),
      llvm::cl::init(true)};
};

/// Why `options` cannot make a CUDA pipeline, naming the gatec and
/// gatec-check flag at fault (--cuda-wgmma off sm_90a, a malformed
/// --cuda-matmul-tile), or an empty string. Both tools report it before
/// they build the pipeline.
std::string cudaPipelineOptionsError(const CUDAPipelineOptions &options);

/// Gate-level MLIR to host code plus NVVM kernels: the same tensor-level
/// decomposition as the CPU pipeline, bufferization, tensor-core matmuls,
/// the remaining loops onto CUDA grids, outlining, and the NVVM lowering of
/// each kernel module (then PTX, when `serialize`). The host function keeps
/// memref-level IR (sizes, workspace allocations, gpu.launch_func) for the
/// CUDA header emitter to turn into launch code.
void buildCUDAPipeline(mlir::OpPassManager &pm,
                       const CUDAPipelineOptions &options);

/// The stages every backend shares. The tensor level: gate ops to linalg
/// (the one decomposition of each op), the destination-passing kernel ABI,
/// elementwise fusion. `decomposition` holds the choices each backend makes
/// for its machine: how finely the routers' and dispatch's counting sorts
/// and the short convolutions' iterations are cut (a GPU thread or block
/// per small piece, a CPU thread per large one) and how a scan's scores are
/// built.
void addGateToLinalgPasses(mlir::OpPassManager &pm,
                           const ConvertGateToLinalgOptions &decomposition);
/// Empty-tensor elimination and one-shot bufferization across function
/// boundaries with identity layouts: results go straight into the caller's
/// outputs.
void addBufferizationPasses(mlir::OpPassManager &pm);
/// Canonicalization and CSE.
void addCleanupPasses(mlir::OpPassManager &pm);

/// Registers `gatec-cpu-pipeline` and `gatec-cuda-pipeline` for gatec-opt.
void registerPipelines();

} // namespace gatec

#endif // GATEC_PIPELINES_PIPELINES_H
