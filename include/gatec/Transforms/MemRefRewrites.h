//===- MemRefRewrites.h - memref rewrites both backends need ----*- C++ -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_TRANSFORMS_MEMREFREWRITES_H
#define GATEC_TRANSFORMS_MEMREFREWRITES_H

namespace mlir {
class Operation;
class RewriterBase;
} // namespace mlir

namespace gatec {

/// Rewrites each memref.expand_shape under `root` with two or more dynamic
/// sizes in one reassociation group (e.g. [B*T, D] -> [B, T, D]) as the
/// equivalent memref.reinterpret_cast of its source's metadata:
/// expand-strided-metadata crashes on such ops (LLVM 22).
void rewriteMultiDynamicExpandShapes(mlir::RewriterBase &rewriter,
                                     mlir::Operation *root);

} // namespace gatec

#endif // GATEC_TRANSFORMS_MEMREFREWRITES_H
