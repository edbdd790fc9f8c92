//===- MemRefRewrites.cpp - memref rewrites both backends need
//-------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "Codegen/Common/MemRefRewrites.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;

/// Replaces each constant-index memref.dim of `expand` by the output size it
/// reads: a dim of the view must not keep the source alive (a launch would
/// take the buffer just for its shape).
static void replaceDimsBySizes(RewriterBase &rewriter,
                               memref::ExpandShapeOp expand) {
  for (Operation *user : llvm::make_early_inc_range(expand->getUsers()))
    if (auto dim = dyn_cast<memref::DimOp>(user))
      if (std::optional<int64_t> d = dim.getConstantIndex()) {
        rewriter.setInsertionPoint(dim);
        rewriter.replaceOp(
            dim, getValueOrCreateConstantIndexOp(
                     rewriter, dim.getLoc(), expand.getMixedOutputShape()[*d]));
      }
}

void gatec::rewriteMultiDynamicExpandShapes(RewriterBase &rewriter,
                                            Operation *root) {
  // expand-strided-metadata crashes (LLVM 22) on a memref.expand_shape
  // with two dynamic sizes in one group, e.g. [B*T, D] -> [B, T, D]; say
  // the same thing as a reinterpret_cast of the source's metadata.
  SmallVector<memref::ExpandShapeOp> expands;
  root->walk([&](memref::ExpandShapeOp expand) { expands.push_back(expand); });
  for (memref::ExpandShapeOp expand : expands) {
    if (llvm::all_of(expand.getReassociationIndices(),
                     [&](const ReassociationIndices &group) {
                       return llvm::count_if(group, [&](int64_t d) {
                                return expand.getResultType().isDynamicDim(d);
                              }) < 2;
                     }))
      continue;
    replaceDimsBySizes(rewriter, expand);
    rewriter.setInsertionPoint(expand);
    Location loc = expand.getLoc();
    auto metadata = memref::ExtractStridedMetadataOp::create(rewriter, loc,
                                                             expand.getSrc());
    SmallVector<OpFoldResult> sizes = expand.getMixedOutputShape();
    SmallVector<OpFoldResult> strides(sizes.size());
    for (auto [srcDim, group] :
         llvm::enumerate(expand.getReassociationIndices())) {
      OpFoldResult stride = metadata.getStrides()[srcDim];
      for (int64_t d : llvm::reverse(group)) {
        strides[d] = stride;
        AffineExpr s0, s1;
        bindSymbols(rewriter.getContext(), s0, s1);
        stride = affine::makeComposedFoldedAffineApply(rewriter, loc, s0 * s1,
                                                       {stride, sizes[d]});
      }
    }
    // Where the result type knows a value statically, the op must say the
    // same constant.
    auto [typeStrides, typeOffset] =
        expand.getResultType().getStridesAndOffset();
    for (auto [i, stride] : llvm::enumerate(typeStrides))
      if (!ShapedType::isDynamic(stride))
        strides[i] = rewriter.getIndexAttr(stride);
    OpFoldResult offset = ShapedType::isDynamic(typeOffset)
                              ? getAsOpFoldResult(metadata.getOffset())
                              : OpFoldResult(rewriter.getIndexAttr(typeOffset));
    rewriter.replaceOpWithNewOp<memref::ReinterpretCastOp>(
        expand, expand.getResultType(), metadata.getBaseBuffer(), offset, sizes,
        strides);
  }
}

void gatec::foldDimsOfExpandShapes(RewriterBase &rewriter, Operation *root) {
  SmallVector<memref::ExpandShapeOp> expands;
  root->walk([&](memref::ExpandShapeOp expand) { expands.push_back(expand); });
  for (memref::ExpandShapeOp expand : expands) {
    replaceDimsBySizes(rewriter, expand);
    if (expand->use_empty())
      rewriter.eraseOp(expand);
  }
}

void gatec::eraseWriteOnlyBuffers(RewriterBase &rewriter, Operation *root) {
  bool changed = true;
  while (changed) {
    changed = false;
    SmallVector<memref::AllocOp> allocs;
    root->walk([&](memref::AllocOp alloc) { allocs.push_back(alloc); });
    for (memref::AllocOp alloc : allocs) {
      Value buffer = alloc.getResult();
      bool writeOnly = llvm::all_of(buffer.getUsers(), [&](Operation *user) {
        if (isa<memref::DeallocOp>(user))
          return true;
        if (auto fill = dyn_cast<linalg::FillOp>(user))
          return fill.getDpsInits()[0] == buffer;
        if (auto copy = dyn_cast<memref::CopyOp>(user))
          return copy.getTarget() == buffer;
        return false;
      });
      if (!writeOnly)
        continue;
      for (Operation *user : llvm::make_early_inc_range(buffer.getUsers()))
        rewriter.eraseOp(user);
      rewriter.eraseOp(alloc);
      changed = true;
    }
  }
}
