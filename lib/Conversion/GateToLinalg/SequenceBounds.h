//===- SequenceBounds.h - A packed sequence's token range -------*- C++ -*-===//
//
// Part of gatec. Private to the GateToLinalg lowerings of the ops that take
// packed sequences (gate.chunked_scan, gate.causal_conv1d).
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_CONVERSION_GATETOLINALG_SEQUENCEBOUNDS_H
#define GATEC_LIB_CONVERSION_GATETOLINALG_SEQUENCEBOUNDS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

#include <utility>

namespace gatec {

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

} // namespace gatec

#endif // GATEC_LIB_CONVERSION_GATETOLINALG_SEQUENCEBOUNDS_H
