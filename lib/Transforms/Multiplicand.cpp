//===- Multiplicand.cpp - 16-bit matrix-unit operand rounding -------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "Transforms/Multiplicand.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

Value gatec::roundToMultiplicand(OpBuilder &b, Location loc, Value x,
                                 Type multiplicand) {
  Type type = x.getType();
  if (type == multiplicand)
    return x;
  if (type.getIntOrFloatBitWidth() < 32)
    x = arith::ExtFOp::create(b, loc, b.getF32Type(), x);
  return arith::TruncFOp::create(b, loc, multiplicand, x);
}

gatec::MultiplicandParts gatec::splitMultiplicand(OpBuilder &b, Location loc,
                                                  Value x, Type multiplicand) {
  MultiplicandParts parts;
  parts.high = roundToMultiplicand(b, loc, x, multiplicand);
  parts.highWide = arith::ExtFOp::create(b, loc, x.getType(), parts.high);
  parts.low = roundToMultiplicand(
      b, loc, arith::SubFOp::create(b, loc, x, parts.highWide), multiplicand);
  return parts;
}
