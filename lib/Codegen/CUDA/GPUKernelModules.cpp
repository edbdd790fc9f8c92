//===- GPUKernelModules.cpp - Launch bodies and kernel modules ------------===//
//
// Part of gatec. The passes around kernel outlining: definitions a launch
// uses are cloned into it before, and the outlined modules are merged into
// one after (with the occupancy hint of kernels that hold a block's
// tensor-core matmuls or a one-launch path).
//
//===----------------------------------------------------------------------===//

#include "Codegen/CUDA/GPUDistribute.h"
#include "Codegen/CUDA/TensorCore.h"
#include "Codegen/Common/MemRefRewrites.h"
#include "gatec/Codegen/CUDA/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

namespace gatec {
#define GEN_PASS_DEF_GPUSINKINTOLAUNCHES
#define GEN_PASS_DEF_GPUMERGEKERNELMODULES
#include "gatec/Codegen/CUDA/Passes.h.inc"
} // namespace gatec

using namespace mlir;

namespace {

/// Clones side-effect-free definitions used in `launch` into it, so the
/// outlined kernel takes buffers and a few sizes, not every intermediate
/// view or constant.
void sinkPureDefinitions(gpu::LaunchOp launch) {
  Region &body = launch.getBody();
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(body, captured);
  OpBuilder b = OpBuilder::atBlockBegin(&body.front());
  IRMapping map;
  std::function<bool(Value)> sink = [&](Value v) -> bool {
    if (map.contains(v))
      return true;
    Operation *def = v.getDefiningOp();
    if (!def || def->getNumRegions() != 0 || !isMemoryEffectFree(def))
      return false;
    for (Value operand : def->getOperands())
      if (!sink(operand))
        map.map(operand, operand);
    b.clone(*def, map);
    return true;
  };
  for (Value v : captured)
    if (sink(v))
      replaceAllUsesInRegionWith(v, map.lookup(v), body);
}

struct GPUSinkIntoLaunchesPass
    : gatec::impl::GPUSinkIntoLaunchesBase<GPUSinkIntoLaunchesPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    getOperation().walk([&](gpu::LaunchOp launch) {
      sinkPureDefinitions(launch);
      // Kernels reach expand-strided-metadata; the host code keeps its
      // views for the launch-code translator.
      gatec::rewriteMultiDynamicExpandShapes(rewriter, launch);
    });
  }
};

struct GPUMergeKernelModulesPass
    : gatec::impl::GPUMergeKernelModulesBase<GPUMergeKernelModulesPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> kernelModules(
        module.getOps<gpu::GPUModuleOp>());
    // Shared buffers take 16-byte cp.async copies and ldmatrix rows; the
    // NVVM lowering would align them to their element type only.
    for (gpu::GPUModuleOp kernels : kernelModules)
      kernels.walk([&](gpu::GPUFuncOp func) {
        for (unsigned i = 0; i < func.getNumWorkgroupAttributions(); ++i)
          if (!func.getWorkgroupAttributionAttr(
                  i, LLVM::LLVMDialect::getAlignAttrName()))
            func.setWorkgroupAttributionAttr(
                i,
                StringAttr::get(module.getContext(),
                                LLVM::LLVMDialect::getAlignAttrName()),
                IntegerAttr::get(IntegerType::get(module.getContext(), 64),
                                 16));
        // A kernel running tensor-core matmuls inside a block's loop holds
        // a whole chunk step; ptxas's default register target for it on
        // sm_80 (80 to 128 registers) spills. One block per SM (the
        // min-blocks-per-sm default) is asked for instead, so it may take up to
        // 255 (then 124 to 193, no spills, for the shipped scans). A one-launch
        // path's kernel holds every loop of its kernel; on sm_80 ptxas would
        // cap it at 40 registers and spill (a router with its dispatch
        // metadata).
        bool blockMatmul = false;
        func.walk([&](Operation *op) {
          blockMatmul |= op->hasAttr(gatec::kBlockMatmulMarker) ||
                         op->hasAttr(gatec::kOneLaunchMarker);
        });
        if (blockMatmul && minBlocksPerSM > 0) {
          func->setAttr(
              NVVM::NVVMDialect::getMinctasmAttrName(),
              IntegerAttr::get(IntegerType::get(module.getContext(), 32),
                               minBlocksPerSM));
          ++numOccupancyHints;
        }
        ++numKernels;
      });
    if (kernelModules.size() < 2)
      return;
    gpu::GPUModuleOp merged = kernelModules.front();
    MLIRContext *ctx = module.getContext();
    // Each outlined module holds one kernel named after the launching
    // function; the module's own name is unique, so the kernel takes it.
    llvm::DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    for (gpu::GPUModuleOp kernels : kernelModules) {
      for (auto func :
           llvm::make_early_inc_range(kernels.getOps<gpu::GPUFuncOp>())) {
        StringAttr oldName = SymbolTable::getSymbolName(func);
        StringAttr newName = kernels.getSymNameAttr();
        renamed[{kernels.getSymNameAttr(), oldName}] = newName;
        SymbolTable::setSymbolName(func, newName);
        if (kernels != merged)
          func->moveBefore(&merged.getBody()->back());
      }
    }
    for (gpu::GPUModuleOp kernels : kernelModules)
      if (kernels != merged)
        kernels.erase();
    StringAttr mergedName = StringAttr::get(ctx, mergedModuleName);
    merged.setSymName(mergedName);
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto it =
          renamed.find({launch.getKernelModuleName(), launch.getKernelName()});
      if (it == renamed.end())
        return;
      launch.setKernelAttr(
          SymbolRefAttr::get(mergedName, {FlatSymbolRefAttr::get(it->second)}));
    });
  }
};

} // namespace
