//===- GenericBody.cpp - A linalg.generic's body at one point -------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "Transforms/GenericBody.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;

SmallVector<Value>
gatec::cloneGenericBody(OpBuilder &b, linalg::GenericOp op, IRMapping &map,
                        function_ref<Value(unsigned)> index) {
  Block &body = op.getRegion().front();
  for (Operation &nested : body.without_terminator()) {
    // linalg.index is only valid inside a linalg op.
    if (auto indexOp = dyn_cast<linalg::IndexOp>(nested)) {
      map.map(indexOp.getResult(), index(indexOp.getDim()));
      continue;
    }
    b.clone(nested, map);
  }
  SmallVector<Value> yielded;
  for (Value value : body.getTerminator()->getOperands())
    yielded.push_back(map.lookupOrDefault(value));
  return yielded;
}
