//===- CUDATarget.cpp - PTX and cubin for NVIDIA GPUs ---------------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Target/CUDA/CUDATarget.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir;

FailureOr<gatec::CUDATarget> gatec::lookupCUDATarget(StringRef chip) {
  // PTX 7.8 is the first ISA that knows sm_90; the arch-specific sm_90a
  // (wgmma, setmaxnreg) needs 8.0. Both are older than any CUDA 12 driver.
  if (chip == "sm_80" || chip == "sm_86" || chip == "sm_89" ||
      chip == "sm_90")
    return CUDATarget{chip.str(), "+ptx78"};
  if (chip == "sm_90a")
    return CUDATarget{chip.str(), "+ptx80"};
  return failure();
}

void gatec::registerCUDATranslations(DialectRegistry &registry) {
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
}

FailureOr<std::string> gatec::getKernelPTX(ModuleOp module) {
  SmallVector<gpu::BinaryOp> binaries(module.getOps<gpu::BinaryOp>());
  if (binaries.empty())
    return std::string();
  if (binaries.size() != 1 || binaries.front().getObjects().size() != 1)
    return module.emitError("gatec: expected one kernel module with one PTX "
                            "object after the CUDA pipeline");
  auto object = cast<gpu::ObjectAttr>(binaries.front().getObjects()[0]);
  if (object.getFormat() != gpu::CompilationTarget::Assembly)
    return module.emitError("gatec: the kernel module holds no PTX");
  return object.getObject().getValue().str();
}

std::optional<std::string> gatec::findPtxas() {
  SmallVector<std::string> candidates;
  if (const char *cudaPath = std::getenv("CUDA_PATH"))
    candidates.push_back((llvm::Twine(cudaPath) + "/bin/ptxas").str());
  candidates.push_back("/usr/local/cuda/bin/ptxas");
  for (const std::string &path : candidates)
    if (llvm::sys::fs::can_execute(path))
      return path;
  if (llvm::ErrorOr<std::string> onPath = llvm::sys::findProgramByName("ptxas"))
    return *onPath;
  return std::nullopt;
}

std::vector<gatec::KernelResources> gatec::parsePtxasLog(StringRef log) {
  std::vector<KernelResources> kernels;
  llvm::Regex entry("Compiling entry function '([A-Za-z0-9_$.]+)'");
  llvm::Regex frame("([0-9]+) bytes stack frame, ([0-9]+) bytes spill stores, "
                    "([0-9]+) bytes spill loads");
  llvm::Regex used("Used ([0-9]+) registers");
  llvm::Regex smem("([0-9]+) bytes smem");
  SmallVector<StringRef> lines;
  log.split(lines, '\n');
  for (StringRef line : lines) {
    SmallVector<StringRef> m;
    if (entry.match(line, &m)) {
      kernels.push_back({m[1].str()});
      continue;
    }
    if (kernels.empty())
      continue;
    KernelResources &k = kernels.back();
    if (frame.match(line, &m)) {
      m[1].getAsInteger(10, k.stackBytes);
      m[2].getAsInteger(10, k.spillStoreBytes);
      m[3].getAsInteger(10, k.spillLoadBytes);
    }
    if (used.match(line, &m))
      m[1].getAsInteger(10, k.registers);
    if (line.contains("Used") && smem.match(line, &m))
      m[1].getAsInteger(10, k.sharedBytes);
  }
  return kernels;
}

FailureOr<gatec::Cubin> gatec::assembleCubin(StringRef ptx, StringRef chip,
                                             Location loc) {
  std::optional<std::string> ptxas = findPtxas();
  if (!ptxas)
    return emitError(loc) << "gatec: ptxas not found (looked in $CUDA_PATH/bin, "
                             "/usr/local/cuda/bin and PATH): a cubin needs the "
                             "CUDA toolkit; --emit=ptx does not";
  SmallString<128> ptxPath, cubinPath, logPath;
  auto makeTemp = [&](StringRef suffix, SmallString<128> &path) {
    int fd;
    if (llvm::sys::fs::createTemporaryFile("gatec", suffix, fd, path))
      return false;
    llvm::raw_fd_ostream(fd, /*shouldClose=*/true);
    return true;
  };
  if (!makeTemp("ptx", ptxPath) || !makeTemp("cubin", cubinPath) ||
      !makeTemp("log", logPath))
    return emitError(loc) << "gatec: cannot create temporary files for ptxas";
  auto cleanup = llvm::make_scope_exit([&] {
    llvm::sys::fs::remove(ptxPath);
    llvm::sys::fs::remove(cubinPath);
    llvm::sys::fs::remove(logPath);
  });
  {
    std::error_code ec;
    llvm::raw_fd_ostream out(ptxPath, ec);
    if (ec)
      return emitError(loc) << "gatec: cannot write " << ptxPath;
    out << ptx;
  }
  std::string arch = ("-arch=" + chip).str();
  SmallVector<StringRef> args = {*ptxas, arch,   "-O3",   "-v",
                                 "-o",   cubinPath, ptxPath};
  std::optional<StringRef> redirects[] = {std::nullopt, logPath, logPath};
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(*ptxas, args, std::nullopt, redirects,
                                     /*SecondsToWait=*/300, 0, &error);
  std::string log;
  if (auto buffer = llvm::MemoryBuffer::getFile(logPath))
    log = (*buffer)->getBuffer().str();
  if (rc != 0)
    return emitError(loc) << "gatec: ptxas rejected the kernels for " << chip
                          << (error.empty() ? "" : ": " + error) << "\n"
                          << log;
  auto cubin = llvm::MemoryBuffer::getFile(cubinPath, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
  if (!cubin)
    return emitError(loc) << "gatec: ptxas wrote no cubin";
  return Cubin{(*cubin)->getBuffer().str(), parsePtxasLog(log)};
}
