//===- CPUTarget.cpp - x86-64 code generation -----------------------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Target/CPU/CPUTarget.h"

#include "Target/CPU/WidenBF16Arithmetic.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/Timing.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <mutex>

using namespace mlir;

FailureOr<gatec::CPUTarget> gatec::lookupCPUTarget(StringRef name) {
  CPUTarget target;
  target.name = name.str();
  if (name == "x86-64") {
    target.llvmCPU = "x86-64"; // SSE2: every x86-64 CPU
    target.vectorWidth = 4;
  } else if (name == "x86-64-v3") {
    target.llvmCPU = "x86-64-v3"; // AVX2 + FMA: Haswell, Zen 1 and later
    target.vectorWidth = 8;
  } else if (name == "x86-64-v4") {
    target.llvmCPU = "x86-64-v4"; // AVX-512 F/BW/CD/DQ/VL: Skylake-X, Zen 4
    target.vectorWidth = 16;
  } else if (name == "znver4") {
    target.llvmCPU = "znver4"; // AVX-512 with avx512_bf16: AMD Zen 4
    target.vectorWidth = 16;
    target.nativeBF16 = true;
  } else if (name == "native") {
    target.llvmCPU = llvm::sys::getHostCPUName().str();
    llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
    std::string list;
    for (const auto &feature : features) {
      list += (list.empty() ? "" : ",");
      list += (feature.second ? "+" : "-");
      list += feature.first().str();
    }
    target.features = list;
    target.vectorWidth = features.lookup("avx512f") ? 16 : 8;
    target.nativeBF16 = features.lookup("avx512bf16");
  } else {
    return failure();
  }
  return target;
}

void gatec::registerCPUTranslations(DialectRegistry &registry) {
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
}

LogicalResult gatec::emitCPUArtifact(ModuleOp module, const CPUTarget &target,
                                     CPUArtifact artifact,
                                     llvm::raw_pwrite_stream &os,
                                     TimingScope *timing) {
  auto nest = [&](StringRef name) {
    return timing ? timing->nest(name) : TimingScope();
  };
  static std::once_flag initOnce;
  std::call_once(initOnce, [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
  });

  llvm::Triple triple("x86_64-unknown-linux-gnu");
  std::string error;
  const llvm::Target *llvmTarget =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget)
    return module.emitError() << "gatec: no x86-64 backend in LLVM: " << error;
  llvm::TargetOptions targetOptions;
  // Kernels are linked into position-independent executables and shared
  // libraries alike.
  std::unique_ptr<llvm::TargetMachine> machine(llvmTarget->createTargetMachine(
      triple, target.llvmCPU, target.features, targetOptions,
      llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return module.emitError() << "gatec: LLVM rejected CPU '"
                              << target.llvmCPU << "'";

  llvm::LLVMContext llvmContext;
  TimingScope translateTimer = nest("Translate to LLVM IR");
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext);
  translateTimer.stop();
  if (!llvmModule)
    return module.emitError() << "gatec: translation to LLVM IR failed";
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(machine->createDataLayout());
  // Every function gets the target's CPU and features, so LLVM's
  // vectorizers and the inliner see the same machine as the code generator.
  for (llvm::Function &fn : *llvmModule) {
    if (fn.isDeclaration())
      continue;
    fn.addFnAttr("target-cpu", target.llvmCPU);
    if (!target.features.empty())
      fn.addFnAttr("target-features", target.features);
  }

  auto optimize = makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0,
                                            machine.get());
  TimingScope optimizeTimer = nest("LLVM O3");
  llvm::Error optimized = optimize(llvmModule.get());
  optimizeTimer.stop();
  if (llvm::Error err = std::move(optimized)) {
    std::string message = llvm::toString(std::move(err));
    return module.emitError() << "gatec: LLVM optimization failed: "
                              << message;
  }

  // After O3, which is what narrows bf16 roundings into bf16 arithmetic.
  widenBF16Arithmetic(*llvmModule);

  if (artifact == CPUArtifact::LLVMIR) {
    llvmModule->print(os, nullptr);
    return success();
  }
  llvm::legacy::PassManager codegen;
  llvm::CodeGenFileType fileType = artifact == CPUArtifact::Object
                                       ? llvm::CodeGenFileType::ObjectFile
                                       : llvm::CodeGenFileType::AssemblyFile;
  if (machine->addPassesToEmitFile(codegen, os, nullptr, fileType))
    return module.emitError() << "gatec: LLVM cannot emit this file type";
  TimingScope codegenTimer = nest("x86-64 code generation");
  codegen.run(*llvmModule);
  return success();
}
