//===- CUDATarget.h - PTX and cubin for NVIDIA GPUs ---------------*- C++ -*-===//
//
// Part of gatec. From a module lowered by gatec-cuda-pipeline (host code plus
// a gpu.binary holding PTX) to the PTX text, and from PTX to a cubin through
// the CUDA toolkit's ptxas, with each kernel's resource use.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_TARGET_CUDA_CUDATARGET_H
#define GATEC_TARGET_CUDA_CUDATARGET_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir {
class DialectRegistry;
class Location;
class ModuleOp;
} // namespace mlir

namespace gatec {

/// One row of the CUDA target table.
struct CUDATarget {
  /// The chip: "sm_80", "sm_90a"...
  std::string chip;
  /// PTX features for LLVM's NVPTX backend ("+ptx78", "+ptx80").
  std::string features;
};

/// The target for a chip listed in the driver's target table; failure
/// otherwise.
llvm::FailureOr<CUDATarget> lookupCUDATarget(llvm::StringRef chip);

/// Registers the translations gpu-module-to-binary needs (GPU and NVVM
/// dialects to LLVM IR, the NVVM target attribute).
void registerCUDATranslations(mlir::DialectRegistry &registry);

/// The PTX of the one gpu.binary in `module`, lowered for `target`; a PTX
/// module without entries when nothing needs a launch (no kernel at all, say),
/// which ptxas and the driver accept. Errors are reported on the module.
llvm::FailureOr<std::string> getKernelPTX(mlir::ModuleOp module,
                                          const CUDATarget &target);

/// What ptxas reports for one kernel.
struct KernelResources {
  std::string name;
  int64_t registers = 0;
  int64_t sharedBytes = 0;
  int64_t stackBytes = 0;
  int64_t spillStoreBytes = 0;
  int64_t spillLoadBytes = 0;
};

/// Where ptxas is: $CUDA_PATH/bin, /usr/local/cuda/bin, then PATH.
std::optional<std::string> findPtxas();

struct Cubin {
  std::string data;
  std::vector<KernelResources> kernels;
};

/// Assembles `ptx` for `chip` with ptxas -O3 -v. Errors (no ptxas, ptxas
/// rejecting the code, e.g. too much shared memory) are reported at `loc`.
llvm::FailureOr<Cubin> assembleCubin(llvm::StringRef ptx, llvm::StringRef chip,
                                     mlir::Location loc);

/// Parses the `ptxas -v` log into per-kernel resources.
std::vector<KernelResources> parsePtxasLog(llvm::StringRef log);

} // namespace gatec

#endif // GATEC_TARGET_CUDA_CUDATARGET_H
