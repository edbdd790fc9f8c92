//===- RoundMultiplicands.cpp - Reproduce 16-bit matrix-unit rounding -----===//
//
// Part of gatec. A contraction marked gate.multiplicand_type may have its
// operands rounded to that type on a backend with 16-bit matrix units (the
// CUDA backend's tensor cores); backends without them keep f32 operands.
// This pass makes the rounding explicit at tensor level, so that the CPU
// backend computes what the tensor cores compute (up to the order of the f32
// sums) and gatec-check can measure that error against the double-precision
// oracle on a machine without a GPU.
//
//===----------------------------------------------------------------------===//

#include "Transforms/Multiplicand.h"
#include "gatec/Transforms/Passes.h"

#include "gatec/Dialect/Gate/GateDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace gatec {
#define GEN_PASS_DEF_ROUNDMULTIPLICANDS
#include "gatec/Transforms/Passes.h.inc"
} // namespace gatec

using namespace mlir;

namespace {

/// `operand` rounded to `narrow` as the tensor cores take it, in its own
/// type; with `split`, hi + lo of splitMultiplicand().
Value roundThrough(OpBuilder &b, Location loc, Value operand, Type narrow,
                   bool split) {
  auto type = cast<RankedTensorType>(operand.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, operand);
  Value init = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  AffineMap identity = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> parallel(type.getRank(),
                                            utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{operand}, ValueRange{init},
             ArrayRef<AffineMap>{identity, identity}, parallel,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Type wideType = type.getElementType();
               Value value;
               if (split) {
                 gatec::MultiplicandParts parts =
                     gatec::splitMultiplicand(nb, nl, args[0], narrow);
                 value = arith::AddFOp::create(
                     nb, nl, parts.highWide,
                     arith::ExtFOp::create(nb, nl, wideType, parts.low));
               } else {
                 value = arith::ExtFOp::create(
                     nb, nl, wideType,
                     gatec::roundToMultiplicand(nb, nl, args[0], narrow));
               }
               linalg::YieldOp::create(nb, nl, value);
             })
      .getResult(0);
}

struct RoundMultiplicandsPass
    : gatec::impl::RoundMultiplicandsBase<RoundMultiplicandsPass> {
  void runOnOperation() override {
    getOperation()->walk([&](linalg::MatmulOp matmul) {
      auto narrow = dyn_cast_or_null<TypeAttr>(
          matmul->getAttr(gate::kMultiplicandTypeAttrName));
      if (!narrow || !matmul.hasPureTensorSemantics())
        return;
      OpBuilder b(matmul);
      for (OpOperand *input : matmul.getDpsInputOperands()) {
        Type elem = getElementTypeOrSelf(input->get());
        auto wide = dyn_cast<FloatType>(elem);
        if (!wide || elem == narrow.getValue() ||
            wide.getWidth() <=
                cast<FloatType>(narrow.getValue()).getWidth())
          continue;
        input->set(roundThrough(
            b, matmul.getLoc(), input->get(), narrow.getValue(),
            matmul->hasAttr(gate::kSplitMultiplicandsAttrName)));
      }
      // Rounded once: running the pass again changes nothing.
      matmul->removeAttr(gate::kMultiplicandTypeAttrName);
      matmul->removeAttr(gate::kSplitMultiplicandsAttrName);
    });
  }
};

} // namespace
