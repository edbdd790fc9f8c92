//===- Multiplicand.h - 16-bit matrix-unit operand rounding -----*- C++ -*-===//
//
// Part of gatec. How an operand of a gate.multiplicand_type contraction is
// rounded (and split into two parts for gate.split_multiplicands) before a
// 16-bit matrix unit multiplies it: the tensor-core kernels do it on the GPU
// and gatec-round-multiplicands reproduces it on the CPU.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_TRANSFORMS_MULTIPLICAND_H
#define GATEC_TRANSFORMS_MULTIPLICAND_H

#include "mlir/IR/Builders.h"

namespace gatec {

/// `x` (a float) rounded to the 16-bit `multiplicand` type, as the
/// tensor-core paths feed operands to mma.sync (through f32 from another
/// 16-bit type).
mlir::Value roundToMultiplicand(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::Value x, mlir::Type multiplicand);

/// `x` (f32) split for gate.split_multiplicands: `high` = round(x) and
/// `low` = round(x - high), both of the multiplicand type, `highWide` being
/// `high` back in x's type. x - high is exact, so high + low holds 16 of
/// x's 24 significant bits (bf16). The CUDA kernels multiply both parts;
/// gatec-round-multiplicands computes highWide + widened low on the CPU.
struct MultiplicandParts {
  mlir::Value high, highWide, low;
};
MultiplicandParts splitMultiplicand(mlir::OpBuilder &b, mlir::Location loc,
                                    mlir::Value x, mlir::Type multiplicand);

} // namespace gatec

#endif // GATEC_TRANSFORMS_MULTIPLICAND_H
