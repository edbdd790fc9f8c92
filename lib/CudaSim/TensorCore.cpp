//===- TensorCore.cpp - Warp-collective matrix instructions ---------------===//
//
// mma.sync.m16n8k16, ldmatrix.m8n8 and wgmma.mma_async.m64nNk16 as pure
// functions over the participating lanes' registers. The fragment ownership
// tables and the shared-memory matrix layouts follow the PTX ISA sections
// cited above each function.
//
// Arithmetic: the hardware accumulates in f32 with implementation-defined
// internal rounding and ordering. The emulator instead forms every product of
// two 16-bit floats exactly (they are exact in double), sums them in double in
// k order, adds the accumulator, and rounds once to f32. Unless the summands
// span more exponent range than a double's significand, that is the exactly
// rounded result, which may differ from a GPU's in the last bits; tests should
// compare with a tolerance. NaN and infinity propagate as in IEEE arithmetic,
// and a NaN result is PTX's canonical f32 NaN (0x7fffffff).
//
//===----------------------------------------------------------------------===//

#include "gatec/CudaSim/TensorCore.h"

#include "gatec/CudaSim/Numerics.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace gatec::cudasim {
namespace {

inline float decode(MmaElement ty, uint16_t bits) {
  return ty == MmaElement::BF16 ? bf16ToF32(bits) : f16ToF32(bits);
}

/// Element `half` (0: bits 0-15, 1: bits 16-31) of a packed .f16x2/.bf16x2
/// register: "Elements (low to high)" in the fragment tables.
uint16_t halfOf(uint32_t reg, int half) {
  return uint16_t(half ? reg >> 16 : reg & 0xffff);
}

/// Rounds the double-precision accumulation to the f32 result.
float finish(double sum) {
  if (std::isnan(sum)) {
    uint32_t canonical = 0x7fffffff;
    float f;
    std::memcpy(&f, &canonical, sizeof f);
    return f;
  }
  return float(sum);
}

/// Row and column within a 16x16 A tile (or a warp's 16 rows of wgmma's A) of
/// element a<i> (i = 0..7) held by `lane`.
/// PTX ISA 9.7.14.5.8 "Matrix Fragments for mma.m16n8k16 with floating point
/// type", multiplicand A, .f16/.bf16:
///   row = groupID       for ai where 0 <= i < 2 || 4 <= i < 6
///         groupID + 8   otherwise
///   col = threadID_in_group * 2 + (i & 0x1)       for ai where i < 4
///         threadID_in_group * 2 + (i & 0x1) + 8   for ai where i >= 4
void aFragmentPos(int lane, int i, int &row, int &col) {
  int groupID = lane >> 2, threadIDInGroup = lane % 4;
  row = groupID + ((i >> 1) & 1) * 8;
  col = threadIDInGroup * 2 + (i & 1) + (i >= 4 ? 8 : 0);
}

/// Row and column of accumulator element c<i> held by `lane`.
/// PTX ISA 9.7.14.5.8, accumulators C/D:
///   row = groupID       for ci where i < 2
///         groupID + 8   for ci where i >= 2
///   col = threadID_in_group * 2 + (i & 0x1)
/// wgmma's D (PTX ISA 9.7.15.5.1.1.1, Figure "WGMMA .m64nNk16 register
/// fragment layout for accumulator matrix D") repeats this pattern for each
/// 8-column block: d<i> sits in block i / 4 as c<i % 4> does.
void cFragmentPos(int lane, int i, int &row, int &col) {
  int groupID = lane >> 2, threadIDInGroup = lane % 4;
  row = groupID + ((i >> 1) & 1) * 8;
  col = (i >> 2) * 8 + threadIDInGroup * 2 + (i & 1);
}

/// Decoded fields of a wgmma shared-memory matrix descriptor, PTX ISA
/// 9.7.15.5.1.2.2 "Matrix Descriptor Format": bits 13-0 start address,
/// 29-16 leading dimension byte offset, 45-32 stride dimension byte offset,
/// each matrix-descriptor-encode(x) = (x & 0x3FFFF) >> 4; bits 51-49 matrix
/// base offset; bits 63-62 swizzle mode (0 none, 1 128B, 2 64B, 3 32B).
struct Descriptor {
  uint32_t start, lbo, sbo;
  unsigned baseOffset;
  unsigned swizzleBytes; ///< 0 (no swizzle), 32, 64 or 128
};

Descriptor decodeDescriptor(uint64_t desc) {
  Descriptor d;
  d.start = uint32_t(desc & 0x3fff) << 4;
  d.lbo = uint32_t((desc >> 16) & 0x3fff) << 4;
  d.sbo = uint32_t((desc >> 32) & 0x3fff) << 4;
  d.baseOffset = unsigned((desc >> 49) & 0x7);
  static const unsigned kSwizzle[4] = {0, 128, 64, 32};
  d.swizzleBytes = kSwizzle[(desc >> 62) & 0x3];
  return d;
}

/// Shared-window byte address of element (mn, k) of a 16-bit operand, where
/// mn is the row of A (M) or the column of B (N), and k < 16.
///
/// PTX ISA 9.7.15.5.1.2.1.3 "Canonical Layouts" (CuTe notation, strides in
/// elements; T = 128 / 16 = 8 elements per 16 bytes; LBO/SBO in bytes here):
///   K-major,  none:  ((8,m),(T,2k)):((1T,SBO),(1,LBO))
///   K-major,  S-byte swizzle (S = 32/64/128):
///                    ((8,m),(T,2k)):((S/16 T,SBO),(1,T))
///   MN-major, none:  ((T,1,m),(8,k)):((1,T,SBO),(1T,LBO))
///   MN-major, S-byte swizzle:
///                    ((T,S/16,m),(8,k)):((1,T,LBO),(S/16 T,SBO))
/// and 9.7.15.5.1.2.1.1/2 "Leading/Stride Dimension Byte Offset".
/// So without swizzling a core matrix is 8 rows x 16 contiguous bytes, and in
/// both major-nesses LBO steps along K (to the next 8 k, "the offset from the
/// first column to the second column of the 8x2 tile" for K-major, "from the
/// first 8 columns to the next 8 columns" for MN-major) and SBO along M/N
/// ("from the first 8 rows to the next 8 rows" for K-major, "from the first
/// row to the next row" of 128-bit elements for MN-major). With swizzling,
/// K-major rows are S bytes apart, the 16 k of one instruction are contiguous
/// and SBO steps 8 rows (LBO unused); MN-major rows hold S/2 consecutive mn
/// for one k, 8 k-rows form an atom, LBO steps to the next S/2 mn and SBO to
/// the next 8 k.
uint32_t elementOffset(const Descriptor &d, bool mnMajor, int mn, int k) {
  const uint32_t S = d.swizzleBytes;
  if (!mnMajor) {
    if (!S)
      return (mn % 8) * 16 + (mn / 8) * d.sbo + (k % 8) * 2 + (k / 8) * d.lbo;
    return (mn % 8) * S + (mn / 8) * d.sbo + k * 2;
  }
  if (!S)
    return (mn % 8) * 2 + (mn / 8) * d.sbo + (k % 8) * 16 + (k / 8) * d.lbo;
  const int perRow = int(S / 2); // 16-bit elements per swizzle row
  return (mn % perRow) * 2 + (mn / perRow) * d.lbo + (k % 8) * S +
         (k / 8) * d.sbo;
}

/// The swizzle of the canonical layouts (PTX ISA 9.7.15.5.1.2.1.3, last
/// column): Swizzle<B,4,3> on byte addresses, B = 3/2/1 for 128B/64B/32B,
/// i.e. address bits [4, 4+B) ^= bits [7, 7+B). It is a function of the
/// absolute shared address: the pattern repeats every 1024/512/256 bytes
/// (the "Starting address of the repeating pattern" table of 9.7.15.5.1.2.2),
/// which is why base offset 0 requires the pattern to start there.
uint32_t swizzle(uint32_t address, unsigned swizzleBytes) {
  if (!swizzleBytes)
    return address;
  uint32_t mask = swizzleBytes / 16 - 1; // 7, 3 or 1
  return address ^ (((address >> 7) & mask) << 4);
}

/// Reads the rows x 16 operand (rows = 64 for A, n for B) described by
/// `desc` into out[mn * 16 + k]. Elements are fetched one 16-byte chunk
/// (8 consecutive k for K-major, 8 consecutive mn for MN-major) per read;
/// the start address, LBO and SBO are multiples of 16, so a chunk is never
/// split by the swizzle.
bool loadOperand(uint64_t rawDesc, bool mnMajor, int rows, MmaElement ty,
                 const SharedRead &read, const char *name,
                 std::vector<float> &out, std::string &error) {
  Descriptor d = decodeDescriptor(rawDesc);
  if (d.swizzleBytes && d.baseOffset) {
    // The ISA gives base offset = (pattern start addr >> 7) & 7 but not how
    // the hardware folds it into the swizzle; refuse rather than guess.
    error = std::string("wgmma: matrix descriptor for ") + name +
            " has matrix base offset " + std::to_string(d.baseOffset) +
            " with " + std::to_string(d.swizzleBytes) +
            "-byte swizzling; only base offset 0 is supported";
    return false;
  }
  out.assign(size_t(rows) * 16, 0.0f);
  for (int mn = 0; mn < rows; mn += mnMajor ? 8 : 1) {
    for (int k = 0; k < 16; k += mnMajor ? 1 : 8) {
      uint32_t address =
          swizzle(d.start + elementOffset(d, mnMajor, mn, k), d.swizzleBytes);
      uint8_t chunk[16];
      if (!read(address, chunk, 16)) {
        error = std::string("wgmma: reading matrix ") + name +
                " from shared memory failed";
        return false;
      }
      for (int e = 0; e < 8; ++e) {
        uint16_t bits = uint16_t(chunk[2 * e] | (chunk[2 * e + 1] << 8));
        int m = mnMajor ? mn + e : mn, kk = mnMajor ? k : k + e;
        out[size_t(m) * 16 + kk] = decode(ty, bits);
      }
    }
  }
  return true;
}

} // namespace

// PTX ISA 9.7.14.5.14 "Matrix multiply-accumulate operation: mma"
// (mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32) with the
// fragments of 9.7.14.5.8 "Matrix Fragments for mma.m16n8k16 with floating
// point type":
//   A (16x16): see aFragmentPos; register j holds a<2j> (low) and a<2j+1>.
//   B (16x8):  row = threadID_in_group * 2 + (i & 0x1)       for bi, i < 2
//                    threadID_in_group * 2 + (i & 0x1) + 8   for bi, i >= 2
//              col = groupID; register j holds b<2j> (low) and b<2j+1>.
//   C/D (16x8 f32): see cFragmentPos.
void mmaSyncM16N8K16(MmaElement ab, const uint32_t a[32][4],
                     const uint32_t b[32][2], const float c[32][4],
                     float d[32][4]) {
  // A row-major and B column by column (Bt[col][k]), so each dot product
  // walks two contiguous rows; the emulator spends much of its time here.
  double A[16][16], Bt[8][16], C[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    for (int i = 0; i < 8; ++i) {
      int row, col;
      aFragmentPos(lane, i, row, col);
      A[row][col] = decode(ab, halfOf(a[lane][i / 2], i % 2));
    }
    int groupID = lane >> 2, threadIDInGroup = lane % 4;
    for (int i = 0; i < 4; ++i) {
      int row = threadIDInGroup * 2 + (i & 1) + (i >= 2 ? 8 : 0);
      Bt[groupID][row] = decode(ab, halfOf(b[lane][i / 2], i % 2));
    }
    for (int i = 0; i < 4; ++i) {
      int row, col;
      cFragmentPos(lane, i, row, col);
      C[row][col] = c[lane][i];
    }
  }
  double D[16][8];
  for (int row = 0; row < 16; ++row)
    for (int col = 0; col < 8; ++col) {
      double sum = 0.0;
      for (int k = 0; k < 16; ++k)
        sum += A[row][k] * Bt[col][k];
      D[row][col] = sum + C[row][col];
    }
  // All of C is read above, so d may alias c.
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      int row, col;
      cFragmentPos(lane, i, row, col);
      d[lane][i] = finish(D[row][col]);
    }
}

// PTX ISA 9.7.14.5.15 "Warp-level matrix load instruction: ldmatrix",
// .m8n8 with .b16 elements: "Each thread in a warp loads fragments of a row,
// with thread 0 receiving the first fragment in its register r, and so on. A
// group of four threads loads an entire row of the matrix" (Figure "ldmatrix
// fragment layout for one 8x8 Matrix with 16-bit elements"): lane l receives
// row l / 4, columns 2 (l % 4) (low half) and 2 (l % 4) + 1 (high half).
// ".trans indicates that the matrix is loaded in column-major format": lane l
// then receives column l / 4, rows 2 (l % 4) (low) and 2 (l % 4) + 1 (high)
// of the matrix as stored. Matrix m goes to the lane's register m; registers
// m >= count are left unchanged. A count other than 1, 2 or 4 loads nothing.
void ldmatrixM8N8(int count, bool trans, const uint8_t rows[4][8][16],
                  uint32_t out[32][4]) {
  if (count != 1 && count != 2 && count != 4)
    return;
  auto element = [&](int m, int row, int col) -> uint32_t {
    return uint32_t(rows[m][row][2 * col]) |
           (uint32_t(rows[m][row][2 * col + 1]) << 8);
  };
  for (int m = 0; m < count; ++m) {
    for (int lane = 0; lane < 32; ++lane) {
      int group = lane / 4, pair = 2 * (lane % 4);
      uint32_t lo, hi;
      if (!trans) {
        lo = element(m, group, pair);
        hi = element(m, group, pair + 1);
      } else {
        lo = element(m, pair, group);
        hi = element(m, pair + 1, group);
      }
      out[lane][m] = lo | (hi << 16);
    }
  }
}

// PTX ISA 9.7.15.5.2 "Asynchronous Multiply-and-Accumulate Instruction:
// wgmma.mma_async", .m64nNk16 with .f16/.bf16 inputs and .f32 accumulators:
//   D = A * B + D   (scale-d true)   or   D = A * B   (scale-d false),
// A negated when imm-scale-a = -1, B when imm-scale-b = -1.
// Register fragments (9.7.15.5.1.1.1 "Matrix Fragments for
// wgmma.mma_async.m64nNk16"): thread t of the warpgroup is lane t % 32 of warp
// w = t / 32, which owns rows 16 w .. 16 w + 15 of A and D; within them A
// follows the mma.m16n8k16 A pattern (aFragmentPos) and D repeats the
// mma accumulator pattern for each 8-column block (cFragmentPos), giving n/2
// f32 per thread.
// Shared-memory operands: 9.7.15.5.1.2 "Shared Memory Matrix Layout":
// imm-trans-a / imm-trans-b = 0 selects K-major, 1 M-major (A) / N-major (B);
// see elementOffset and swizzle for the address of each element. When A is
// in registers, transA does not apply and is ignored.
bool wgmmaM64NK16(const WgmmaOp &op, uint64_t descA, uint64_t descB,
                  const uint32_t (*aRegs)[4], float (*d)[128],
                  const SharedRead &read, std::string &error) {
  // 9.7.15.5.1 "Matrix Shape": .m64nNk16 for .f16/.bf16 has
  // N = 8 * i, i = 1..32.
  if (op.n < 8 || op.n > 256 || op.n % 8 != 0) {
    error = "wgmma: n = " + std::to_string(op.n) +
            " is not a multiple of 8 in [8, 256]";
    return false;
  }
  if ((op.scaleA != 1 && op.scaleA != -1) ||
      (op.scaleB != 1 && op.scaleB != -1)) {
    error = "wgmma: imm-scale-a and imm-scale-b must be 1 or -1";
    return false;
  }
  if (op.aInRegisters && !aRegs) {
    error = "wgmma: A is in registers but no A registers were given";
    return false;
  }
  const int n = op.n;

  std::vector<float> A; // A[m * 16 + k], 64 x 16
  if (op.aInRegisters) {
    A.assign(64 * 16, 0.0f);
    for (int t = 0; t < 128; ++t) {
      int warp = t / 32, lane = t % 32;
      for (int i = 0; i < 8; ++i) {
        int row, col;
        aFragmentPos(lane, i, row, col);
        A[size_t(warp * 16 + row) * 16 + col] =
            decode(op.ab, halfOf(aRegs[t][i / 2], i % 2));
      }
    }
  } else if (!loadOperand(descA, op.transA, 64, op.ab, read, "A", A, error)) {
    return false;
  }
  std::vector<float> B; // B[n * 16 + k], i.e. column n of the 16 x N matrix
  if (!loadOperand(descB, op.transB, n, op.ab, read, "B", B, error))
    return false;

  const double sa = op.scaleA, sb = op.scaleB;
  for (int t = 0; t < 128; ++t) {
    int warp = t / 32, lane = t % 32;
    for (int i = 0; i < n / 2; ++i) {
      int row, col;
      cFragmentPos(lane, i, row, col);
      row += warp * 16;
      double sum = 0.0;
      for (int k = 0; k < 16; ++k)
        sum += (sa * double(A[size_t(row) * 16 + k])) *
               (sb * double(B[size_t(col) * 16 + k]));
      if (op.scaleD)
        sum += double(d[t][i]);
      d[t][i] = finish(sum);
    }
  }
  return true;
}

} // namespace gatec::cudasim
