//===- SliceEquivalence.cpp - Cheap equivalence of tensor slices ----------===//
//
// Part of gatec. Upstream decides whether two tensor slices are the same
// subset by proving their offsets, sizes and strides equal with
// ValueBoundsConstraintSet::strongCompare, which adds the whole backward slice
// of each index to a Presburger system and eliminates it by Fourier-Motzkin.
// Loop-invariant subset hoisting, empty-tensor elimination and One-Shot
// Bufferize ask that question for every extract/insert pair, and a chunked
// scan's indices come from clamped packed-sequence bounds: the proofs took 80%
// of a scan kernel's compile time (docs/performance.md, "Compile time").
//
// gatec's lowerings build both sides of every slice pair it needs matched from
// the same SSA values (and CSE merges the rest), so equality of the values or
// of their constants decides every pair it relies on. These models say "same
// subset" exactly then and "not known" otherwise, which only ever costs a copy
// or a missed hoist, never a wrong result. Disjointness keeps upstream's
// bounded check, except for slices at the same offsets (a tile and its
// partial last tile, which loop-invariant subset hoisting asks about for
// every pair in a tiled loop): they overlap unless one is empty, so they are
// "not known to be disjoint" without a proof, the answer the proof gave.
//
//===----------------------------------------------------------------------===//

#include "gatec/InitAll.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Interfaces/SubsetOpInterface.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;

namespace {

template <typename OpTy>
struct SyntacticSliceModel
    : public SubsetOpInterface::ExternalModel<SyntacticSliceModel<OpTy>, OpTy> {
  FailureOr<HyperrectangularSlice>
  getAccessedHyperrectangularSlice(Operation *op) const {
    return HyperrectangularSlice(cast<OffsetSizeAndStrideOpInterface>(op));
  }

  bool operatesOnEquivalentSubset(
      Operation *op, SubsetOpInterface candidate,
      function_ref<bool(Value, Value)> equivalenceFn) const {
    auto other =
        dyn_cast<OffsetSizeAndStrideOpInterface>(candidate.getOperation());
    if (!other)
      return detail::defaultOperatesOnEquivalentSubset(op, candidate,
                                                       equivalenceFn);
    if (!equivalenceFn(cast<SubsetOpInterface>(op).getTensorContainer(),
                       candidate.getTensorContainer()))
      return false;
    return detail::sameOffsetsSizesAndStrides(
        cast<OffsetSizeAndStrideOpInterface>(op), other,
        isEqualConstantIntOrValue);
  }

  bool operatesOnDisjointSubset(
      Operation *op, SubsetOpInterface candidate,
      function_ref<bool(Value, Value)> equivalenceFn) const {
    if (auto other = dyn_cast<OffsetSizeAndStrideOpInterface>(
            candidate.getOperation())) {
      SmallVector<OpFoldResult> mine =
          cast<OffsetSizeAndStrideOpInterface>(op).getMixedOffsets();
      SmallVector<OpFoldResult> theirs = other.getMixedOffsets();
      if (mine.size() == theirs.size() &&
          llvm::all_of(llvm::zip_equal(mine, theirs), [](auto pair) {
            return isEqualConstantIntOrValue(std::get<0>(pair),
                                             std::get<1>(pair));
          }))
        return false;
    }
    return detail::defaultOperatesOnDisjointSubset(op, candidate,
                                                   equivalenceFn);
  }
};

} // namespace

void gatec::registerSliceEquivalenceModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, tensor::TensorDialect *) {
    tensor::ExtractSliceOp::attachInterface<
        SyntacticSliceModel<tensor::ExtractSliceOp>>(*ctx);
    tensor::InsertSliceOp::attachInterface<
        SyntacticSliceModel<tensor::InsertSliceOp>>(*ctx);
    tensor::ParallelInsertSliceOp::attachInterface<
        SyntacticSliceModel<tensor::ParallelInsertSliceOp>>(*ctx);
  });
}
