//===- MemRefRewrites.h - memref rewrites both backends need ----*- C++ -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_CODEGEN_COMMON_MEMREFREWRITES_H
#define GATEC_CODEGEN_COMMON_MEMREFREWRITES_H

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

/// Replaces each memref.dim of a memref.expand_shape under `root` by the
/// output size it reads (and erases the reshape when that was its last use):
/// a buffer's shape alone must not keep it alive, or a launch would take it.
void foldDimsOfExpandShapes(mlir::RewriterBase &rewriter,
                            mlir::Operation *root);

/// Erases the buffers under `root` that are only written (filled, copied
/// into) and freed, with those writes: a zero accumulator that a
/// tensor-core kernel never reads, a temporary whose readers were fused away.
void eraseWriteOnlyBuffers(mlir::RewriterBase &rewriter, mlir::Operation *root);

} // namespace gatec

#endif // GATEC_CODEGEN_COMMON_MEMREFREWRITES_H
