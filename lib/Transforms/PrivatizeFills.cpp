//===- PrivatizeFills.cpp - One filled tensor per destination -------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace gatec {
#define GEN_PASS_DEF_PRIVATIZEFILLS
#include "gatec/Transforms/Passes.h.inc"
} // namespace gatec

using namespace mlir;

namespace {

struct PrivatizeFillsPass
    : gatec::impl::PrivatizeFillsBase<PrivatizeFillsPass> {
  void runOnOperation() override {
    DenseMap<Operation *, unsigned> position;
    getOperation()->walk<WalkOrder::PreOrder>(
        [&](Operation *op) { position[op] = position.size(); });
    SmallVector<linalg::FillOp> fills;
    getOperation()->walk([&](linalg::FillOp fill) {
      if (fill.hasPureTensorSemantics() && !fill->hasOneUse())
        fills.push_back(fill);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::FillOp fill : fills) {
      // Every destination after the first gets its own copy of the fill
      // (and of the empty tensor it fills), made where it is written.
      SmallVector<OpOperand *> destinations;
      for (OpOperand &use : fill->getResult(0).getUses()) {
        auto dps = dyn_cast<DestinationStyleOpInterface>(use.getOwner());
        if (dps && dps.isDpsInit(&use))
          destinations.push_back(&use);
      }
      // Use lists run backwards; keep the fill for the first in program order.
      llvm::sort(destinations, [&](OpOperand *a, OpOperand *b) {
        return position.lookup(a->getOwner()) < position.lookup(b->getOwner());
      });
      bool firstKept = destinations.size() == fill->getResult(0).getNumUses();
      for (OpOperand *use : llvm::drop_begin(destinations, firstKept ? 1 : 0)) {
        rewriter.setInsertionPoint(use->getOwner());
        IRMapping map;
        Value init = fill.getDpsInits()[0];
        if (auto empty = init.getDefiningOp<tensor::EmptyOp>())
          map.map(init, rewriter.clone(*empty)->getResult(0));
        Operation *copy = rewriter.clone(*fill, map);
        rewriter.modifyOpInPlace(use->getOwner(),
                                 [&] { use->set(copy->getResult(0)); });
      }
    }
  }
};

} // namespace
