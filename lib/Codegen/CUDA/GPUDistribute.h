//===- GPUDistribute.h - Loop-to-grid mapping internals ---------*- C++ -*-===//
//
// Part of gatec. What the CUDA mapping's files share: the marker the
// one-launch path leaves for the kernel-module merge.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_CODEGEN_CUDA_GPUDISTRIBUTE_H
#define GATEC_LIB_CODEGEN_CUDA_GPUDISTRIBUTE_H

#include "llvm/ADT/StringRef.h"

namespace gatec {

/// A unit attribute on the atomic add that counts a one-launch path's blocks
/// done: it tells gatec-gpu-merge-kernel-modules which kernels hold a whole
/// kernel's work (their register budget is set like a block matmul's).
inline constexpr llvm::StringLiteral kOneLaunchMarker =
    "gatec.one_launch_count";

} // namespace gatec

#endif // GATEC_LIB_CODEGEN_CUDA_GPUDISTRIBUTE_H
