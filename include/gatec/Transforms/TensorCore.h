//===- TensorCore.h - mma.sync building blocks for the CUDA passes -*- C++ -*-===//
//
// Part of gatec. What gatec-gpu-tensor-core-matmul (a kernel per top-level
// matmul) and gatec-gpu-distribute (matmuls inside a block's loop body, such
// as a chunked scan's chunk products) share about sm_80 tensor cores.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_TRANSFORMS_TENSORCORE_H
#define GATEC_TRANSFORMS_TENSORCORE_H

#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace mlir {
class IRMapping;
namespace linalg {
class MatmulOp;
} // namespace linalg
} // namespace mlir

namespace gatec {

/// mma.sync.m16n8k16 fragment sizes.
inline constexpr int64_t kMmaM = 16, kMmaN = 8, kMmaK = 16;

/// Padding of each row of a shared-memory operand tile, in 16-bit elements
/// (16 bytes): the eight rows of an ldmatrix phase then start in distinct
/// bank groups, and every row start stays 16-byte aligned as ldmatrix and
/// cp.async need.
inline constexpr int64_t kSharedRowPad = 8;

/// ldmatrix.x4 of the 16 x 16 A fragment at (`row`, `col`) of the
/// row-major shared tile `shared` (after the leading indices `prefix`, e.g.
/// a ring slot), as `lane` holds it for mma.sync.
mlir::Value loadFragmentA(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value shared, mlir::ValueRange prefix,
                          mlir::Value row, mlir::Value col, mlir::Value lane);

/// ldmatrix.x2.trans of the 16 x 8 B fragment at (`row`, `col`) = (k, n) of
/// the row-major K x N shared tile `shared`, as `lane` holds it.
mlir::Value loadFragmentB(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value shared, mlir::ValueRange prefix,
                          mlir::Value row, mlir::Value col, mlir::Value lane);

/// The (row, column) within its 16 x 8 tile of accumulator `i` (0 to 3) of
/// `lane`.
std::pair<mlir::Value, mlir::Value>
accumulatorPosition(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lane,
                    int64_t i);

/// A unit attribute on the ldmatrix ops of buildBlockMatmul(): it tells
/// gatec-gpu-merge-kernel-modules which outlined kernels hold block-level
/// matmuls (their register budget is set differently).
inline constexpr llvm::StringLiteral kBlockMatmulMarker = "gatec.block_matmul";

/// One mma.sync.m16n8k16.row.col with f32 accumulation: `fragA` is the
/// vector<4x2xT> and `fragB` the vector<2x2xT> that ldmatrix.x4 and
/// ldmatrix.x2.trans return (T = bf16 or f16), `acc` the four f32
/// accumulators of this lane; returns the four new ones.
llvm::SmallVector<mlir::Value, 4> buildMmaSync(mlir::OpBuilder &b,
                                               mlir::Location loc,
                                               mlir::Value fragA,
                                               mlir::Value fragB,
                                               mlir::ValueRange acc);

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

/// True if gatec-gpu-distribute can run `matmul` with
/// buildBlockMatmul(): it carries gate.multiplicand_type (bf16 or f16),
/// its operands are rank-2 float memrefs read as A[m, k] or A[k, m] and
/// B[k, n] or B[n, k], and C is an f32 C[m, n].
bool isBlockMatmul(mlir::linalg::MatmulOp matmul);

/// Emits `matmul` (C += A B, its operands looked up in `map`) as the
/// cooperative work of the `threads` threads of a block, this thread being
/// `thread`; `threads` is a multiple of 32. C is walked in tiles of
/// (16 warpsM) x (32 warpsN); for each tile, K advances in steps of 32
/// staged through shared memory (rounded to the multiplicand type, zero past
/// the edges, so any M, N, K work), and each warp multiplies its 16 x 32
/// sub-tile with ldmatrix and mma.sync into f32 registers, then adds them
/// to C. With gate.split_multiplicands, an operand wider than the
/// multiplicand type is staged as a high and a low part and both are
/// multiplied (f32-grade products for twice the mma work). Every thread of
/// the block must reach it (it holds barriers). `sharedBuffer(type, i)`
/// returns the i-th workgroup buffer of that type (the same one for every
/// call with the same arguments, so that the matmuls of a kernel share
/// their staging buffers).
void buildBlockMatmul(
    mlir::OpBuilder &b, mlir::linalg::MatmulOp matmul, mlir::IRMapping &map,
    mlir::Value thread, int64_t threads,
    llvm::function_ref<mlir::Value(mlir::MemRefType, unsigned)> sharedBuffer);

} // namespace gatec

#endif // GATEC_TRANSFORMS_TENSORCORE_H
