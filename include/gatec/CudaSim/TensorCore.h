//===- TensorCore.h - Warp-collective matrix instructions -------*- C++ -*-===//
//
// The data movement and arithmetic of PTX's warp- and warpgroup-collective
// matrix instructions, as pure functions over the participating lanes'
// registers: mma.sync.m16n8k16, ldmatrix.m8n8 and wgmma.mma_async.m64nNk16.
// The interpreter (Collectives.cpp) gathers each lane's operand registers,
// calls these, and scatters the results back; so the fragment ownership tables
// of the PTX ISA live here and nowhere else, and their unit tests need no PTX.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_CUDASIM_TENSORCORE_H
#define GATEC_CUDASIM_TENSORCORE_H

#include <cstdint>
#include <functional>
#include <string>

namespace gatec::cudasim {

/// Element type of a tensor-core multiplicand.
enum class MmaElement : uint8_t { BF16, F16 };

/// mma.sync.aligned.m16n8k16.row.col.f32.<ab>.<ab>.f32 (PTX ISA 9.7.14.5.14,
/// fragment figures for .m16n8k16): `a[lane]` are the lane's four .b32
/// registers of A (two packed 16-bit elements each, low half first), `b[lane]`
/// its two of B, `c[lane]` and `d[lane]` its four f32 accumulators. d may
/// alias c.
void mmaSyncM16N8K16(MmaElement ab, const uint32_t a[32][4],
                     const uint32_t b[32][2], const float c[32][4],
                     float d[32][4]);

/// ldmatrix.sync.aligned.m8n8.x<count>{.trans}.shared.b16 (PTX ISA 9.7.14.5.15):
/// `rows[m][r]` holds the 16 bytes read at the address lane 8 m + r supplied
/// (row r of matrix m, m < count); `out[lane][m]` receives lane's register
/// of matrix m.
void ldmatrixM8N8(int count, bool trans, const uint8_t rows[4][8][16],
                  uint32_t out[32][4]);

/// Reads `bytes` bytes of shared memory at shared-window address `address`
/// into `out`; returns false when the access is invalid (the callee has
/// reported it).
using SharedRead =
    std::function<bool(uint32_t address, void *out, unsigned bytes)>;

/// One wgmma.mma_async.sync.aligned.m64n<n>k16.f32.<ab>.<ab> (PTX ISA
/// 9.7.15.5.2) over the 128 threads of a warpgroup.
struct WgmmaOp {
  int n = 8;                 ///< 8..256, a multiple of 8
  MmaElement ab = MmaElement::BF16;
  bool aInRegisters = false; ///< A from registers instead of a descriptor
  bool transA = false;       ///< imm-trans-a (descriptor A only)
  bool transB = false;       ///< imm-trans-b
  int scaleA = 1, scaleB = 1;///< imm-scale-a/b: +1 or -1
  bool scaleD = true;        ///< false: D = A*B, true: D = A*B + D
};

/// Runs `op`: `descA`/`descB` are the 64-bit shared-memory matrix descriptors
/// (PTX ISA 9.7.15.5.1), `aRegs[thread]` the four .b32 A registers of each of
/// the 128 threads when op.aInRegisters, `d[thread]` its n/2 f32 accumulators
/// (read when scaleD, then written). Returns false with `error` set when a
/// descriptor is malformed (a swizzle mode or base offset it does not
/// support) or a read fails.
bool wgmmaM64NK16(const WgmmaOp &op, uint64_t descA, uint64_t descB,
                  const uint32_t (*aRegs)[4], float (*d)[128],
                  const SharedRead &read, std::string &error);

} // namespace gatec::cudasim

#endif // GATEC_CUDASIM_TENSORCORE_H
