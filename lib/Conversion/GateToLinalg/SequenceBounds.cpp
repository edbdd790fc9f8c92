//===- SequenceBounds.cpp - A packed sequence's token range ---------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "SequenceBounds.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

std::pair<Value, Value>
gatec::buildClampedSequenceBounds(OpBuilder &b, Location loc, Value cuSeqlens,
                                  Value numTokens, Value n) {
  auto offsetAt = [&](Value index, Value lowest) -> Value {
    Value raw = tensor::ExtractOp::create(b, loc, cuSeqlens, index);
    Value offset = arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
    return arith::MinSIOp::create(
        b, loc, arith::MaxSIOp::create(b, loc, offset, lowest), numTokens);
  };
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value begin = offsetAt(n, arith::ConstantIndexOp::create(b, loc, 0));
  Value end = offsetAt(arith::AddIOp::create(b, loc, n, one), begin);
  return {begin, end};
}
