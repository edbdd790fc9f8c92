//===- Emitters.cpp - The outputs gatec produces --------------------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "Compiler/Emitters.h"

#include "gatec/Frontend/AST.h"
#include "gatec/Pipelines/Pipelines.h"
#include "gatec/Target/CPU/CPUTarget.h"
#include "gatec/Target/CUDA/CUDATarget.h"
#include "gatec/Target/CppHeader/ExportCppHeader.h"
#include "gatec/Target/Torch/ExportTorchExtension.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/raw_ostream.h"

using namespace gatec;

static mlir::LogicalResult emitAST(EmitContext &context,
                                   llvm::raw_ostream &os) {
  dumpAST(context.ast, context.diag, os, context.options.kernel);
  return mlir::success();
}

static mlir::LogicalResult emitGateMLIR(EmitContext &context,
                                        llvm::raw_ostream &os) {
  // OpPrintingFlags() picks up --mlir-print-debuginfo and friends.
  context.module->print(os, mlir::OpPrintingFlags());
  return mlir::success();
}

/// The CPU backend's row for the target, or an error.
static mlir::FailureOr<CPUTarget> cpuTargetFor(EmitContext &context) {
  if (context.target.family != TargetFamily::CPU) {
    mlir::emitError(context.module.getLoc())
        << "the CUDA backend is not built into this gatec: --target="
        << context.target.name << " cannot be lowered yet";
    return mlir::failure();
  }
  mlir::FailureOr<CPUTarget> cpu = lookupCPUTarget(context.target.chip);
  if (mlir::failed(cpu))
    mlir::emitError(context.module.getLoc())
        << "no CPU backend for '" << context.target.chip << "'";
  return cpu;
}

/// Runs the CPU pipeline on a clone of the gate-level module.
static mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>>
lowerForCPU(EmitContext &context, bool stopAtVectors) {
  mlir::FailureOr<CPUTarget> cpu = cpuTargetFor(context);
  if (mlir::failed(cpu))
    return mlir::failure();
  mlir::OwningOpRef<mlir::ModuleOp> clone = context.module.clone();
  mlir::PassManager pm(context.module.getContext());
  if (mlir::failed(context.configurePassManager(pm)))
    return mlir::failure();
  CPUPipelineOptions pipeline;
  pipeline.vectorWidth = cpu->vectorWidth;
  pipeline.nativeBF16 = cpu->nativeBF16;
  pipeline.stopAtVectors = stopAtVectors;
  const CompileOptions &options = context.options;
  if (options.cpuThreadTileRows)
    pipeline.threadTileM = *options.cpuThreadTileRows;
  if (options.cpuThreadTileCols)
    pipeline.threadTileN = *options.cpuThreadTileCols;
  if (options.cpuReductionTile)
    pipeline.kTile = *options.cpuReductionTile;
  buildCPUPipeline(pm, pipeline);
  if (mlir::failed(pm.run(*clone)))
    return mlir::failure();
  return clone;
}

/// Runs the CUDA pipeline on a clone of the gate-level module: to
/// outlined kernels (`stopAtKernels`), or on to PTX.
static mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>>
lowerForCUDA(EmitContext &context, const CUDATarget &cuda, bool stopAtKernels) {
  mlir::OwningOpRef<mlir::ModuleOp> clone = context.module.clone();
  mlir::PassManager pm(context.module.getContext());
  if (mlir::failed(context.configurePassManager(pm)))
    return mlir::failure();
  CUDAPipelineOptions pipeline;
  pipeline.chip = cuda.chip;
  pipeline.features = cuda.features;
  pipeline.stopAtKernels = stopAtKernels;
  pipeline.matmulTile = context.options.cudaMatmulTile;
  pipeline.wgmma = context.options.cudaWgmma;
  if (std::string error = cudaPipelineOptionsError(pipeline); !error.empty()) {
    mlir::emitError(context.module.getLoc()) << error;
    return mlir::failure();
  }
  buildCUDAPipeline(pm, pipeline);
  if (mlir::failed(pm.run(*clone)))
    return mlir::failure();
  return clone;
}

/// The CUDA backend's row for the target, or an error.
static mlir::FailureOr<CUDATarget> cudaTargetFor(EmitContext &context) {
  mlir::FailureOr<CUDATarget> cuda = lookupCUDATarget(context.target.chip);
  if (mlir::failed(cuda))
    mlir::emitError(context.module.getLoc())
        << "no CUDA backend for '" << context.target.chip << "'";
  return cuda;
}

/// The module after the whole CUDA pipeline and its PTX, built once.
static mlir::FailureOr<mlir::ModuleOp> loweredForCUDA(EmitContext &context) {
  if (!context.loweredForCUDA) {
    mlir::FailureOr<CUDATarget> cuda = cudaTargetFor(context);
    if (mlir::failed(cuda))
      return mlir::failure();
    auto lowered = lowerForCUDA(context, *cuda, /*stopAtKernels=*/false);
    if (mlir::failed(lowered))
      return mlir::failure();
    context.loweredForCUDA = std::move(*lowered);
    mlir::FailureOr<std::string> ptx =
        getKernelPTX(*context.loweredForCUDA, *cuda);
    if (mlir::failed(ptx))
      return mlir::failure();
    context.ptx = std::move(*ptx);
  }
  return *context.loweredForCUDA;
}

static mlir::LogicalResult emitPTX(EmitContext &context,
                                   llvm::raw_ostream &os) {
  if (mlir::failed(loweredForCUDA(context)))
    return mlir::failure();
  os << context.ptx;
  return mlir::success();
}

static mlir::LogicalResult emitCubin(EmitContext &context,
                                     llvm::raw_ostream &os) {
  if (mlir::failed(loweredForCUDA(context)))
    return mlir::failure();
  mlir::Location loc = context.module.getLoc();
  mlir::FailureOr<Cubin> cubin =
      assembleCubin(context.ptx, context.target.chip, loc);
  if (mlir::failed(cubin))
    return mlir::failure();
  // Resource use of every kernel, as ptxas reports it.
  for (const KernelResources &k : cubin->kernels) {
    auto remark = mlir::emitRemark(loc)
                  << k.name << ": " << k.registers << " registers, "
                  << k.sharedBytes << " bytes shared memory, " << k.stackBytes
                  << " bytes stack, " << k.spillStoreBytes + k.spillLoadBytes
                  << " bytes spilled";
    (void)remark;
  }
  os << cubin->data;
  return mlir::success();
}

static mlir::LogicalResult emitLoweredMLIR(EmitContext &context,
                                           llvm::raw_ostream &os) {
  if (context.target.family == TargetFamily::CUDA) {
    mlir::FailureOr<CUDATarget> cuda = cudaTargetFor(context);
    if (mlir::failed(cuda))
      return mlir::failure();
    auto lowered = lowerForCUDA(context, *cuda, /*stopAtKernels=*/true);
    if (mlir::failed(lowered))
      return mlir::failure();
    (*lowered)->print(os, mlir::OpPrintingFlags());
    return mlir::success();
  }
  auto lowered = lowerForCPU(context, /*stopAtVectors=*/true);
  if (mlir::failed(lowered))
    return mlir::failure();
  (*lowered)->print(os, mlir::OpPrintingFlags());
  return mlir::success();
}

/// LLVM IR, assembly or an object, from the (cached) fully lowered module.
static mlir::LogicalResult emitCPU(EmitContext &context, llvm::raw_ostream &os,
                                   CPUArtifact artifact) {
  mlir::FailureOr<CPUTarget> cpu = cpuTargetFor(context);
  if (mlir::failed(cpu))
    return mlir::failure();
  if (!context.loweredForCPU) {
    auto lowered = lowerForCPU(context, /*stopAtVectors=*/false);
    if (mlir::failed(lowered))
      return mlir::failure();
    context.loweredForCPU = std::move(*lowered);
  }
  // Object code needs a seekable stream; callers may hand a pipe.
  llvm::SmallString<0> buffer;
  llvm::raw_svector_ostream bufferStream(buffer);
  if (mlir::failed(emitCPUArtifact(*context.loweredForCPU, *cpu, artifact,
                                   bufferStream, &context.timing)))
    return mlir::failure();
  os << buffer;
  return mlir::success();
}

static mlir::LogicalResult emitLLVM(EmitContext &context,
                                    llvm::raw_ostream &os) {
  return emitCPU(context, os, CPUArtifact::LLVMIR);
}
static mlir::LogicalResult emitAsm(EmitContext &context,
                                   llvm::raw_ostream &os) {
  return emitCPU(context, os, CPUArtifact::Assembly);
}
static mlir::LogicalResult emitObject(EmitContext &context,
                                      llvm::raw_ostream &os) {
  return emitCPU(context, os, CPUArtifact::Object);
}

static mlir::LogicalResult emitHeader(EmitContext &context,
                                      llvm::raw_ostream &os) {
  CppHeaderOptions options;
  options.moduleName = context.moduleName.str();
  options.target = (context.target.triple + ", " + context.target.name).str();
  if (context.target.family == TargetFamily::CUDA) {
    mlir::FailureOr<mlir::ModuleOp> lowered = loweredForCUDA(context);
    if (mlir::failed(lowered))
      return mlir::failure();
    return exportCUDAHeader(context.module, *lowered, context.ptx, os, options);
  }
  return exportCppHeader(context.module, os, options);
}

static mlir::LogicalResult emitTorchExtension(EmitContext &context,
                                              llvm::raw_ostream &os) {
  TorchExtensionOptions options;
  options.moduleName = context.moduleName.str();
  // The header --emit=header writes next to it.
  options.headerInclude = (context.moduleName + ".h").str();
  return exportTorchExtension(context.module, os, options);
}

static const llvm::StringRef kTorchNeeds[] = {"header", "obj"};

/// The outputs gatec knows. A backend lands by setting its rows' `emit`.
static const EmitKindInfo kEmitKinds[] = {
    {"ast", "ast", "the parsed syntax tree, before semantic checks",
     std::nullopt, false, "", emitAST, false},
    {"mlir", "mlir",
     "gate-level MLIR: gate ops plus upstream linalg, tensor, arith, math",
     std::nullopt, false, "", emitGateMLIR, true},
    {"mlir-lowered", "lowered.mlir",
     "MLIR after the target's lowering pipeline, before LLVM IR", std::nullopt,
     false, "", emitLoweredMLIR, true},
    {"llvm", "ll", "LLVM IR", TargetFamily::CPU, false, "", emitLLVM, true},
    {"asm", "s", "x86-64 assembly", TargetFamily::CPU, false, "", emitAsm,
     true},
    {"obj", "o", "x86-64 ELF object file", TargetFamily::CPU, true, "",
     emitObject, true},
    {"ptx", "ptx", "PTX assembly", TargetFamily::CUDA, false, "", emitPTX,
     true},
    {"cubin", "cubin",
     "CUDA binary (assembled by the CUDA toolkit's ptxas; prints each "
     "kernel's registers, shared memory and spills)",
     TargetFamily::CUDA, true, "", emitCubin, false},
    {"header", "h",
     "C/C++ header with checked entry points for each kernel; for CUDA "
     "targets a C++ header embedding the PTX (see docs/headers.md)",
     std::nullopt, false, "the C++ header emitter", emitHeader, true},
    {"torch", "torch.cpp",
     "C++ source of a PyTorch extension registering each kernel as a custom "
     "op; includes the --emit=header output and calls the --emit=obj "
     "kernels, so it is emitted with both (see docs/torch.md)",
     TargetFamily::CPU, false, "", emitTorchExtension, true, kTorchNeeds,
     "the source includes <module>.h and the extension links <module>.o"},
};

llvm::ArrayRef<EmitKindInfo> gatec::getEmitKinds() { return kEmitKinds; }

const EmitKindInfo *gatec::lookupEmitKind(llvm::StringRef name) {
  for (const EmitKindInfo &kind : kEmitKinds)
    if (kind.name == name)
      return &kind;
  return nullptr;
}
