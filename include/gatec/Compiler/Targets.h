//===- Targets.h - The targets gatec compiles for -----------------*- C++ -*-===//
//
// Part of gatec. One table of supported targets feeds the command line
// (--target=), its help, the docs and the tests.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_COMPILER_TARGETS_H
#define GATEC_COMPILER_TARGETS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

namespace gatec {

enum class TargetFamily { CPU, CUDA };

/// "cpu" or "cuda".
llvm::StringRef stringifyTargetFamily(TargetFamily family);

struct TargetInfo {
  /// What --target= takes: "cpu", "cpu:x86-64-v4", "cuda:sm_90a"...
  llvm::StringRef name;
  TargetFamily family;
  /// LLVM target triple.
  llvm::StringRef triple;
  /// LLVM CPU name or CUDA chip ("native" asks the host).
  llvm::StringRef chip;
  /// One line for --help.
  llvm::StringRef description;
};

/// Every supported target; the first is the default.
llvm::ArrayRef<TargetInfo> getTargets();

/// The target called `name`, or null.
const TargetInfo *lookupTarget(llvm::StringRef name);

} // namespace gatec

#endif // GATEC_COMPILER_TARGETS_H
