//===- MemRefRewrites.cpp - memref rewrites both backends need -------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Transforms/MemRefRewrites.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;

void gatec::rewriteMultiDynamicExpandShapes(RewriterBase &rewriter,
                                            Operation *root) {
  // expand-strided-metadata crashes (LLVM 22) on a memref.expand_shape
  // with two dynamic sizes in one group, e.g. [B*T, D] -> [B, T, D]; say
  // the same thing as a reinterpret_cast of the source's metadata.
  root->walk([&](memref::ExpandShapeOp expand) {
    if (llvm::all_of(expand.getReassociationIndices(),
                     [&](const ReassociationIndices &group) {
                       return llvm::count_if(group, [&](int64_t d) {
                                return expand.getResultType().isDynamicDim(d);
                              }) < 2;
                     }))
      return;
    rewriter.setInsertionPoint(expand);
    Location loc = expand.getLoc();
    auto metadata = memref::ExtractStridedMetadataOp::create(
        rewriter, loc, expand.getSrc());
    SmallVector<OpFoldResult> sizes = expand.getMixedOutputShape();
    SmallVector<OpFoldResult> strides(sizes.size());
    for (auto [srcDim, group] :
         llvm::enumerate(expand.getReassociationIndices())) {
      OpFoldResult stride = metadata.getStrides()[srcDim];
      for (int64_t d : llvm::reverse(group)) {
        strides[d] = stride;
        AffineExpr s0, s1;
        bindSymbols(rewriter.getContext(), s0, s1);
        stride = affine::makeComposedFoldedAffineApply(
            rewriter, loc, s0 * s1, {stride, sizes[d]});
      }
    }
    // Where the result type knows a value statically, the op must say the
    // same constant.
    auto [typeStrides, typeOffset] =
        expand.getResultType().getStridesAndOffset();
    for (auto [i, stride] : llvm::enumerate(typeStrides))
      if (!ShapedType::isDynamic(stride))
        strides[i] = rewriter.getIndexAttr(stride);
    OpFoldResult offset =
        ShapedType::isDynamic(typeOffset)
            ? getAsOpFoldResult(metadata.getOffset())
            : OpFoldResult(rewriter.getIndexAttr(typeOffset));
    rewriter.replaceOpWithNewOp<memref::ReinterpretCastOp>(
        expand, expand.getResultType(), metadata.getBaseBuffer(), offset,
        sizes, strides);
  });
}
