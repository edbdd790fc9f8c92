//===- CUDALaunch.h - Host code of CUDA kernels as C++ ----------*- C++ -*-===//
//
// Part of gatec. Private to the header emitter.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_TARGET_CPPHEADER_CUDALAUNCH_H
#define GATEC_LIB_TARGET_CPPHEADER_CUDALAUNCH_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringMap.h"

#include <string>
#include <vector>

namespace gatec {

/// The host side of a module lowered by gatec-cuda-pipeline.
struct CUDAHostCode {
  /// Every launched kernel, in first-launch order: the index of a kernel's
  /// CUfunction in the loaded module's table.
  std::vector<std::string> kernelNames;
  /// Per kernel function: the C++ statements of its launch function. They
  /// read descriptors gatec_a<i> (inputs, then outputs), `stream`, `kernel`
  /// (a name for messages) and `err`, the CUfunction table gatec_fn and a
  /// workspace set gatec_ws.
  llvm::StringMap<std::string> launchers;
};

/// Translates every public host function of `lowered`; reports ops it cannot
/// translate.
mlir::FailureOr<CUDAHostCode> translateCUDAHostCode(mlir::ModuleOp lowered);

} // namespace gatec

#endif // GATEC_LIB_TARGET_CPPHEADER_CUDALAUNCH_H
