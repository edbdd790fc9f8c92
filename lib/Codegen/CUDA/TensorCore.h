//===- TensorCore.h - mma.sync building blocks ------------------*- C++ -*-===//
//
// Part of gatec. What gatec-gpu-tensor-core-matmul (a kernel per top-level
// matmul) and gatec-gpu-distribute (matmuls inside a block's loop body, such
// as a chunked scan's chunk products) share about sm_80 tensor cores.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_CODEGEN_CUDA_TENSORCORE_H
#define GATEC_CODEGEN_CUDA_TENSORCORE_H

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
std::pair<mlir::Value, mlir::Value> accumulatorPosition(mlir::OpBuilder &b,
                                                        mlir::Location loc,
                                                        mlir::Value lane,
                                                        int64_t i);

//===----------------------------------------------------------------------===//
// sm_90a warpgroup MMA (wgmma.mma_async)
//===----------------------------------------------------------------------===//
//
// wgmma reads both operands from shared memory through 64-bit descriptors
// and keeps D in registers: a warpgroup (4 warps, 128 threads) computes a
// 64 x N tile, N/2 f32 per thread, laid out per warp as mma.sync's 16 x 8
// fragments side by side (warp w holds rows 16w..16w+15). Operands are in
// the canonical no-swizzle layout: "core matrices" of 8 rows of 16 bytes,
// each stored as 128 contiguous bytes.
// - A (M x K, K-major): core matrix (m/8, k/8) at
//   (k/8) * kLeadingA + (m/8) * 128 bytes: kLeadingA, the leading byte
//   offset, steps along K; 128, the stride byte offset, along M.
// - B (K x N row-major, "MN-major", the transposed form for 16-bit types):
//   core matrix (k/8, n/8) at (n/8) * (K/8 * 128) + (k/8) * 128 bytes. In
//   the no-swizzle ("interleave") MN-major layout the leading byte offset
//   steps along K (128 here) and the stride byte offset along N (K/8 * 128),
//   the reverse of the swizzled MN-major layouts (PTX ISA, tcgen05 strides
//   table; CUTLASS's canonical GMMA layouts).
// A 16-byte cp.async of 8 consecutive elements of a row lands as one
// 16-byte row of one core matrix in either layout.

/// Rows of a wgmma's M: one warpgroup's tile.
inline constexpr int64_t kWgmmaM = 64;
inline constexpr int64_t kWgmmaK = 16;
inline constexpr int64_t kWarpgroupThreads = 128;

/// The 64-bit shared-memory matrix descriptor of a no-swizzle operand
/// starting at shared-window byte address `address` (i64), with the given
/// leading and stride byte offsets.
mlir::Value buildWgmmaDescriptor(mlir::OpBuilder &b, mlir::Location loc,
                                 mlir::Value address, int64_t leadingBytes,
                                 int64_t strideBytes);

/// Pins the registers of wgmma accumulator `acc` (an empty inline asm that
/// reads and rewrites every element) and returns the pinned value. Placed
/// before wgmma.fence, it makes every write of the accumulators (their zero
/// initialization included) happen before the fence; after wgmma.wait_group,
/// it keeps reads of them after the wait. The PTX ISA's fence rule (9.7.15.6.1)
/// forbids register accesses between the fence and the wgmma; without the
/// pin, LLVM sank the zero fill past the fence and ptxas serialized the
/// wgmmas (notes C7517/C7519); cuda-sim reports it as wgmma-fence.
mlir::Value fenceWgmmaAccumulator(mlir::OpBuilder &b, mlir::Location loc,
                                  mlir::Value acc);

/// One wgmma.mma_async.m64nNk16 with f32 accumulation: A K-major and B
/// MN-major (row-major K x N) from `descA`/`descB`, D += A B for the
/// !llvm.struct of N/2 f32 `acc`; `multiplicand` is bf16 or f16.
mlir::Value buildWgmma(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::Type multiplicand, int64_t n, mlir::Value acc,
                       mlir::Value descA, mlir::Value descB);

/// The !llvm.struct of N/2 f32 that holds a warpgroup's m64nN accumulators.
mlir::Type wgmmaAccumulatorType(mlir::MLIRContext *ctx, int64_t n);

/// A unit attribute on the ldmatrix ops of buildBlockMatmul(): it tells
/// gatec-gpu-merge-kernel-modules which outlined kernels hold block-level
/// matmuls (their register budget is set differently).
inline constexpr llvm::StringLiteral kBlockMatmulMarker = "gatec.block_matmul";

/// One mma.sync.m16n8k16.row.col with f32 accumulation: `fragA` is the
/// vector<4x2xT> and `fragB` the vector<2x2xT> that ldmatrix.x4 and
/// ldmatrix.x2.trans return (T = bf16 or f16), `acc` the four f32
/// accumulators of this lane; returns the four new ones.
llvm::SmallVector<mlir::Value, 4>
buildMmaSync(mlir::OpBuilder &b, mlir::Location loc, mlir::Value fragA,
             mlir::Value fragB, mlir::ValueRange acc);

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

#endif // GATEC_CODEGEN_CUDA_TENSORCORE_H
