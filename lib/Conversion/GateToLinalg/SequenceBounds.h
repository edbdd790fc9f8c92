//===- SequenceBounds.h - A sequence's tokens and pool row ------*- C++ -*-===//
//
// Part of gatec. Private to the GateToLinalg lowerings of the ops that take
// packed sequences and state pools (gate.chunked_scan, gate.causal_conv1d).
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_CONVERSION_GATETOLINALG_SEQUENCEBOUNDS_H
#define GATEC_LIB_CONVERSION_GATETOLINALG_SEQUENCEBOUNDS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/Value.h"

#include <utility>

namespace gatec {

/// `ofr` as an index value: itself, or an arith.constant.
mlir::Value indexValue(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::OpFoldResult ofr);

/// Emits the tokens [begin, end) of packed sequence `n` (index values): the
/// offsets [cu[n], cu[n+1]) of the i32 or i64 tensor `cuSeqlens`, clamped
/// into the `numTokens` (index) tokens as begin = clamp(cu[n], 0, T) and
/// end = clamp(cu[n+1], begin, T), so that no offsets can make a kernel read
/// or write out of bounds: an offset past T or below 0 and decreasing offsets
/// give empty or shortened sequences, a defined output. Valid offsets
/// (0 = cu[0] <= ... <= cu[N] <= T) pass unchanged; the entry points report
/// invalid ones as errors before the call.
std::pair<mlir::Value, mlir::Value>
buildClampedSequenceBounds(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value cuSeqlens, mlir::Value numTokens,
                           mlir::Value n);

/// Sequence n's row of a state pool `pool` [P, ...]: `row` = slots[n] (i32
/// or i64) with `rows` = 1 when it is in [0, P); otherwise (vLLM's padding
/// slot -1, or any row outside the pool) row 0 with `rows` = 0, so that the
/// slices below read and write nothing and the sequence is skipped.
struct PoolSlot {
  mlir::Value valid;
  mlir::OpFoldResult row, rows;
};
PoolSlot buildPoolSlot(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::Value slots, mlir::Value pool, mlir::Value n);

/// A sequence's token count `len` with its pool slot applied: 0 when the slot
/// skips it, so that it runs no tokens and writes no outputs.
mlir::OpFoldResult lengthInPool(mlir::OpBuilder &b, mlir::Location loc,
                                const PoolSlot &slot, mlir::OpFoldResult len);

/// The part of pool row `slot` at `offsets` with `sizes` (both without the
/// row dimension), copied into a fresh tensor of `type`: `sizes` without
/// their leading static 1s, the elements converted to type's (a bf16 pool's
/// states widened to f32). A skipped sequence's copy is zeros with
/// `zeroSkipped`, else uninitialized (then it must read none of it).
mlir::Value readPoolRow(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::Value pool, const PoolSlot &slot,
                        llvm::ArrayRef<mlir::OpFoldResult> offsets,
                        llvm::ArrayRef<mlir::OpFoldResult> sizes,
                        mlir::RankedTensorType type, bool zeroSkipped);

/// `value` (what readPoolRow gives for `sizes`) as the [rows, sizes...]
/// slice that writePoolRows stores, converted to `poolElementType`: no rows
/// (and so nothing read or rounded) for a skipped sequence.
mlir::Value poolRowsOf(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::Value value, const PoolSlot &slot,
                       llvm::ArrayRef<mlir::OpFoldResult> sizes,
                       mlir::Type poolElementType);

/// Stores poolRowsOf's slice at pool[row, offsets...], in an scf.forall's
/// in_parallel region. Reading the row from the forall's shared pool with
/// the same offsets and sizes lets bufferization update it in place.
void writePoolRows(mlir::OpBuilder &b, mlir::Location loc, mlir::Value rows,
                   mlir::Value pool, const PoolSlot &slot,
                   llvm::ArrayRef<mlir::OpFoldResult> offsets,
                   llvm::ArrayRef<mlir::OpFoldResult> sizes);

} // namespace gatec

#endif // GATEC_LIB_CONVERSION_GATETOLINALG_SEQUENCEBOUNDS_H
