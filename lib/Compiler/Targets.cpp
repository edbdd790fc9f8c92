//===- Targets.cpp - The targets gatec compiles for -----------------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Compiler/Targets.h"

using namespace gatec;

llvm::StringRef gatec::stringifyTargetFamily(TargetFamily family) {
  return family == TargetFamily::CPU ? "cpu" : "cuda";
}

static const TargetInfo kTargets[] = {
    {"cpu", TargetFamily::CPU, "x86_64-unknown-linux-gnu", "x86-64",
     "any x86-64 CPU (SSE2); the default"},
    {"cpu:x86-64-v3", TargetFamily::CPU, "x86_64-unknown-linux-gnu",
     "x86-64-v3", "x86-64 with AVX2 and FMA (Haswell, Zen 1 and later)"},
    {"cpu:x86-64-v4", TargetFamily::CPU, "x86_64-unknown-linux-gnu",
     "x86-64-v4", "x86-64 with AVX-512 (Skylake-SP, Zen 4 and later)"},
    {"cpu:znver4", TargetFamily::CPU, "x86_64-unknown-linux-gnu", "znver4",
     "AMD Zen 4: AVX-512 with avx512_bf16 (bf16 dot products, "
     "conversions)"},
    {"cpu:native", TargetFamily::CPU, "x86_64-unknown-linux-gnu", "native",
     "the CPU gatec runs on (objects may not run elsewhere)"},
    {"cuda:sm_80", TargetFamily::CUDA, "nvptx64-nvidia-cuda", "sm_80",
     "NVIDIA Ampere A100"},
    {"cuda:sm_86", TargetFamily::CUDA, "nvptx64-nvidia-cuda", "sm_86",
     "NVIDIA Ampere A10, A40, RTX 30xx"},
    {"cuda:sm_89", TargetFamily::CUDA, "nvptx64-nvidia-cuda", "sm_89",
     "NVIDIA Ada L4, L40, RTX 40xx"},
    {"cuda:sm_90", TargetFamily::CUDA, "nvptx64-nvidia-cuda", "sm_90",
     "NVIDIA Hopper H100, H200"},
    {"cuda:sm_90a", TargetFamily::CUDA, "nvptx64-nvidia-cuda", "sm_90a",
     "NVIDIA Hopper H100, H200 with wgmma (arch-specific, not portable)"},
};

llvm::ArrayRef<TargetInfo> gatec::getTargets() { return kTargets; }

const TargetInfo *gatec::lookupTarget(llvm::StringRef name) {
  for (const TargetInfo &target : kTargets)
    if (target.name == name)
      return &target;
  return nullptr;
}
