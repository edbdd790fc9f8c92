//===- GateMath.cpp - The one definition of each gate function -----------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Dialect/Gate/GateMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::gate;

static Value floatConstant(OpBuilder &b, Location loc, Type type, double v) {
  return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(type, v));
}

Value mlir::gate::convertFloat(OpBuilder &b, Location loc, Value value,
                               Type to) {
  Type from = value.getType();
  if (from == to)
    return value;
  unsigned fromWidth = cast<FloatType>(from).getWidth();
  unsigned toWidth = cast<FloatType>(to).getWidth();
  // bf16 <-> f16 have the same width: through f32, which holds both exactly.
  if (fromWidth == toWidth)
    return arith::TruncFOp::create(
        b, loc, to, arith::ExtFOp::create(b, loc, b.getF32Type(), value));
  if (fromWidth < toWidth)
    return arith::ExtFOp::create(b, loc, to, value);
  return arith::TruncFOp::create(b, loc, to, value);
}

/// exp(-|z|), in (0, 1]: the one exponential sigmoid and softplus take.
static Value expNegAbs(OpBuilder &b, Location loc, Value z) {
  return math::ExpOp::create(
      b, loc, arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, z)));
}

Value mlir::gate::buildSigmoid(OpBuilder &b, Location loc, Value z) {
  Type type = z.getType();
  Value e = expNegAbs(b, loc, z);
  Value den =
      arith::AddFOp::create(b, loc, floatConstant(b, loc, type, 1.0), e);
  Value positive = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, z,
                                         floatConstant(b, loc, type, 0.0));
  Value num = arith::SelectOp::create(b, loc, positive,
                                      floatConstant(b, loc, type, 1.0), e);
  return arith::DivFOp::create(b, loc, num, den);
}

/// log1p(exp(-|z|)), in [0, ln 2]: the part of softplus that never
/// overflows.
static Value softTail(OpBuilder &b, Location loc, Value z) {
  return math::Log1pOp::create(b, loc, expNegAbs(b, loc, z));
}

Value mlir::gate::buildSoftplus(OpBuilder &b, Location loc, Value z) {
  Value zero = floatConstant(b, loc, z.getType(), 0.0);
  Value positivePart = arith::MaximumFOp::create(b, loc, z, zero);
  return arith::AddFOp::create(b, loc, positivePart, softTail(b, loc, z));
}

// Not -softplus(-z): that is -0 where this is +0 (z past exp's range).
Value mlir::gate::buildLogSigmoid(OpBuilder &b, Location loc, Value z) {
  Value zero = floatConstant(b, loc, z.getType(), 0.0);
  Value negativePart = arith::MinimumFOp::create(b, loc, z, zero);
  return arith::SubFOp::create(b, loc, negativePart, softTail(b, loc, z));
}

Value mlir::gate::buildActivation(OpBuilder &b, Location loc, Activation act,
                                  Value z) {
  Type type = z.getType();
  auto constant = [&](double v) { return floatConstant(b, loc, type, v); };
  // silu and the gelus are z times a factor that tends to 0 as z -> -inf:
  // their limit there is 0 (the reference's value), but evaluated at
  // z = -inf the product is -inf * 0 = NaN.
  auto zeroAtNegativeInfinity = [&](Value y) -> Value {
    Value negInf = arith::CmpFOp::create(
        b, loc, arith::CmpFPredicate::OEQ, z,
        constant(-std::numeric_limits<double>::infinity()));
    return arith::SelectOp::create(b, loc, negInf, constant(0.0), y);
  };
  switch (act) {
  case Activation::sigmoid:
    return buildSigmoid(b, loc, z);
  case Activation::identity:
    return z;
  case Activation::relu:
    return arith::MaximumFOp::create(b, loc, z, constant(0.0));
  case Activation::silu:
    return zeroAtNegativeInfinity(
        arith::MulFOp::create(b, loc, z, buildSigmoid(b, loc, z)));
  case Activation::gelu: {
    // 0.5 z (1 + erf(z / sqrt(2))), written as 0.5 z erfc(-z / sqrt(2)):
    // 1 + erf cancels to exactly 0 in f32 below z = -5.5, where erfc keeps
    // the tiny factor (so an infinite x times it stays infinite).
    Value erfc = math::ErfcOp::create(
        b, loc, arith::MulFOp::create(b, loc, z, constant(-M_SQRT1_2)));
    Value half = arith::MulFOp::create(b, loc, z, constant(0.5));
    return zeroAtNegativeInfinity(arith::MulFOp::create(b, loc, half, erfc));
  }
  case Activation::gelu_tanh: {
    // 0.5 z (1 + tanh(u)) with u = sqrt(2/pi) (z + 0.044715 z^3), written
    // as z sigmoid(2u): 1 + tanh(u) cancels to exactly 0 in f32 for u below
    // about -9, where the sigmoid keeps the tiny factor (so inf * it stays
    // inf, as in the reference), and it costs one exp instead of a tanh.
    Value z3 =
        arith::MulFOp::create(b, loc, z, arith::MulFOp::create(b, loc, z, z));
    Value inner = arith::AddFOp::create(
        b, loc, z, arith::MulFOp::create(b, loc, z3, constant(0.044715)));
    Value twoU =
        arith::MulFOp::create(b, loc, inner, constant(2 * 0.7978845608028654));
    return zeroAtNegativeInfinity(
        arith::MulFOp::create(b, loc, z, buildSigmoid(b, loc, twoU)));
  }
  }
  llvm_unreachable("covered switch over Activation");
}
