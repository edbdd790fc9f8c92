//===- GateMath.h - The one definition of each gate function ----*- C++ -*-===//
//
// Part of gatec. Every lowering and the DSL's builtins build the gate family's
// functions here, so `silu(g) * x` in a kernel body and `gate(x, g, act =
// silu)` are the same arithmetic, bit for bit, including the tails (+-inf,
// |z| past exp's range, subnormal results).
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_DIALECT_GATE_GATEMATH_H
#define GATEC_DIALECT_GATE_GATEMATH_H

#include "gatec/Dialect/Gate/GateOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::gate {

/// `value` converted between float types (extf/truncf, or itself; bf16 <->
/// f16 through f32).
Value convertFloat(OpBuilder &b, Location loc, Value value, Type to);

/// sigmoid(z) with e = exp(-|z|) <= 1: z >= 0 ? 1 / (1 + e) : e / (1 + e).
/// Nothing overflows: at z = -inf it is 0 where z * (1 / (1 + exp(-z))) in
/// silu would be -inf * 0 = NaN, and for z << 0 it is as small as exp(z)
/// itself (the CPU's polynomial exp returns 0 below 2^-126). A NaN z gives
/// NaN.
Value buildSigmoid(OpBuilder &b, Location loc, Value z);

/// softplus(z) = max(z, 0) + log1p(exp(-|z|)), which never overflows.
Value buildSoftplus(OpBuilder &b, Location loc, Value z);

/// logsigmoid(z) = min(z, 0) - log1p(exp(-|z|)) = -softplus(-z).
Value buildLogSigmoid(OpBuilder &b, Location loc, Value z);

/// act(z) for a float `z` (f32 in every caller): sigmoid, identity, relu,
/// silu = z sigmoid(z), gelu = 0.5 z erfc(-z / sqrt(2)) and gelu_tanh =
/// z sigmoid(2 sqrt(2/pi) (z + 0.044715 z^3)), the last three 0 at z = -inf.
Value buildActivation(OpBuilder &b, Location loc, Activation act, Value z);

} // namespace mlir::gate

#endif // GATEC_DIALECT_GATE_GATEMATH_H
