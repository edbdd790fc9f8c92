//===- GateDialect.h - Gate dialect -------------------------------*- C++ -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_DIALECT_GATE_GATEDIALECT_H
#define GATEC_DIALECT_GATE_GATEDIALECT_H

#include "mlir/IR/Dialect.h"

#include "gatec/Dialect/Gate/GateOpsDialect.h.inc"

namespace mlir::gate {

/// A discardable TypeAttr on a contraction produced from a gate op: its
/// operands may be rounded to this 16-bit float type before they are
/// multiplied, the accumulation staying f32. The op's lowering sets it where
/// that is within the op's stated numerics (a chunked scan over bf16 inputs:
/// the GLA paper's tensor-core products off the diagonal); backends with
/// 16-bit matrix units (CUDA's mma.sync) use it, the others ignore it and
/// multiply in f32.
inline constexpr llvm::StringLiteral kMultiplicandTypeAttrName =
    "gate.multiplicand_type";

/// A discardable unit attribute next to gate.multiplicand_type: an operand
/// wider than the multiplicand type must not be rounded once but split into
/// hi + lo, both of that type (hi = round(x), lo = round(x - hi)), and each
/// part multiplied: 16 of f32's 24 significant bits, for an f32 result that
/// the user reads (a scan's final state) at twice the matrix-unit work.
inline constexpr llvm::StringLiteral kSplitMultiplicandsAttrName =
    "gate.split_multiplicands";

/// A discardable unit attribute on the op that writes one chunk's rows of a
/// chunked scan's output o ([L, V], inserted into the rows of its (sequence,
/// head) pair): set where the scan writes every element of o (no
/// cu_seqlens), so the ops after the scan that need one row of o at a time
/// may run on these rows instead (gatec-fuse-into-scans).
inline constexpr llvm::StringLiteral kScanOutputRowsAttrName =
    "gate.scan_output_rows";

/// A discardable unit attribute on the scf.forall over (sequence, head) that
/// a chunked scan lowers to: elementwise producers of its inputs that it
/// reads only through its slices may be computed there, per chunk
/// (gatec-fuse-into-scans).
inline constexpr llvm::StringLiteral kChunkedScanLoopAttrName =
    "gate.chunked_scan_loop";

} // namespace mlir::gate

#endif // GATEC_DIALECT_GATE_GATEDIALECT_H
