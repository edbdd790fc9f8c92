//===- RouterBuilders.cpp - Small builders of the router lowering ---------===//
//
// Part of gatec. The constants, casts, sizes and empty or filled tensors
// that the pieces of the gate.router and gate.dispatch lowering are built
// from (declared in RouterLowering.h).
//
//===----------------------------------------------------------------------===//

#include "Conversion/GateToLinalg/RouterLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::gate;

namespace gatec::router {

Value constInt(OpBuilder &b, Location loc, Type type, int64_t value) {
  return arith::ConstantIntOp::create(b, loc, type, value);
}

Value constIndex(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

Value constF32(OpBuilder &b, Location loc, float value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

Value toIndex(OpBuilder &b, Location loc, Value value) {
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), value);
}

Value toI32(OpBuilder &b, Location loc, Value index) {
  return arith::IndexCastOp::create(b, loc, b.getI32Type(), index);
}

Value dimSize(OpBuilder &b, Location loc, Value tensor, int64_t dim) {
  return b.createOrFold<tensor::DimOp>(loc, tensor, dim);
}

Value buildEmpty(OpBuilder &b, Location loc, RankedTensorType type,
                 ArrayRef<Value> sizes) {
  SmallVector<Value> dynSizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dynSizes.push_back(sizes[i]);
  return tensor::EmptyOp::create(b, loc, type, dynSizes);
}

Value buildFilled(OpBuilder &b, Location loc, RankedTensorType type,
                  ArrayRef<Value> sizes, Value value) {
  Value empty = buildEmpty(b, loc, type, sizes);
  return linalg::FillOp::create(b, loc, ValueRange{value}, ValueRange{empty})
      .getResult(0);
}

SmallVector<utils::IteratorType> parallelIterators(int64_t rank) {
  return SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel);
}

} // namespace gatec::router
