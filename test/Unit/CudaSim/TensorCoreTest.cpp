//===- TensorCoreTest.cpp - mma.sync, ldmatrix and wgmma ------------------===//
//
// Part of gatec. Checks gatec/CudaSim/TensorCore.h against the PTX ISA's
// fragment tables and shared-memory layouts: each test restates the ISA
// mapping it relies on, builds the operands from it, and compares with a
// naive matrix product; separate tests spell out individual fragment
// positions literally. Operands are small integers, so every product and sum
// is exact and the results compare equal.
//
//===----------------------------------------------------------------------===//

#include "gatec/CudaSim/TensorCore.h"

#include "gatec/CudaSim/Numerics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

using namespace gatec::cudasim;

namespace {

uint16_t enc(MmaElement ty, float v) {
  return ty == MmaElement::BF16 ? f32ToBF16(v, Rounding::RN)
                                : f32ToF16(v, Rounding::RN);
}

uint32_t pack(uint16_t lo, uint16_t hi) { return lo | (uint32_t(hi) << 16); }

//===----------------------------------------------------------------------===//
// mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}.{bf16,f16}.f32
//===----------------------------------------------------------------------===//

// PTX ISA 9.7.14.5.8, with groupID = lane >> 2, threadID_in_group = lane % 4:
// A: row = groupID (+8 for a2,a3,a6,a7), col = 2 tig + (i & 1) (+8 for i>=4).
// B: row = 2 tig + (i & 1) (+8 for i >= 2), col = groupID.
// C: row = groupID (+8 for i >= 2), col = 2 tig + (i & 1).
struct MmaOperands {
  uint32_t a[32][4];
  uint32_t b[32][2];
  float c[32][4];
};

MmaOperands packMma(MmaElement ty, const float A[16][16], const float B[16][8],
                    const float C[16][8]) {
  MmaOperands ops;
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane >> 2, t = lane % 4;
    for (int r = 0; r < 4; ++r) {
      // Register r holds a<2r>, a<2r+1>.
      int row = g + (r % 2) * 8, col = 2 * t + (r / 2) * 8;
      ops.a[lane][r] = pack(enc(ty, A[row][col]), enc(ty, A[row][col + 1]));
    }
    for (int r = 0; r < 2; ++r) {
      int row = 2 * t + r * 8;
      ops.b[lane][r] = pack(enc(ty, B[row][g]), enc(ty, B[row + 1][g]));
    }
    for (int i = 0; i < 4; ++i)
      ops.c[lane][i] = C[g + (i / 2) * 8][2 * t + (i % 2)];
  }
  return ops;
}

float dAt(const float d[32][4], int row, int col) {
  int g = row % 8, t = col / 2;
  return d[g * 4 + t][(row / 8) * 2 + col % 2];
}

class MmaTest : public ::testing::TestWithParam<MmaElement> {};

TEST_P(MmaTest, MatchesNaiveProduct) {
  MmaElement ty = GetParam();
  float A[16][16], B[16][8], C[16][8];
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 16; ++k)
      A[i][k] = float((i * 16 + k) * 7 % 11 - 5);
  for (int k = 0; k < 16; ++k)
    for (int j = 0; j < 8; ++j)
      B[k][j] = float((k * 8 + j) * 5 % 9 - 4);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j)
      C[i][j] = float(i - 2 * j);
  MmaOperands ops = packMma(ty, A, B, C);
  float d[32][4];
  mmaSyncM16N8K16(ty, ops.a, ops.b, ops.c, d);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j) {
      double ref = C[i][j];
      for (int k = 0; k < 16; ++k)
        ref += double(A[i][k]) * B[k][j];
      EXPECT_EQ(dAt(d, i, j), float(ref)) << "D[" << i << "][" << j << "]";
    }
  // d may alias c.
  mmaSyncM16N8K16(ty, ops.a, ops.b, ops.c, ops.c);
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(ops.c[lane][i], d[lane][i]);
}

INSTANTIATE_TEST_SUITE_P(Types, MmaTest,
                         ::testing::Values(MmaElement::BF16, MmaElement::F16));

// Literal positions from the ISA figures for lane 5 (groupID 1,
// threadID_in_group 1): a0,a1 = A[1][2],A[1][3]; a2,a3 = A[9][2],A[9][3];
// a4,a5 = A[1][10],A[1][11]; a6,a7 = A[9][10],A[9][11].
TEST(MmaLiteral, LaneFiveAFragment) {
  const MmaElement ty = MmaElement::F16;
  const uint16_t one = 0x3c00;
  // Element index i -> (row, col) for lane 5, spelled out.
  const int pos[8][2] = {{1, 2},  {1, 3},  {9, 2},  {9, 3},
                         {1, 10}, {1, 11}, {9, 10}, {9, 11}};
  for (int i = 0; i < 8; ++i) {
    MmaOperands ops{};
    ops.a[5][i / 2] = (i % 2) ? pack(0, one) : pack(one, 0);
    // B[k][j] = j + 1 on row k = pos[i][1], zero elsewhere.
    for (int lane = 0; lane < 32; ++lane) {
      int g = lane >> 2, t = lane % 4;
      for (int r = 0; r < 2; ++r)
        for (int h = 0; h < 2; ++h)
          if (2 * t + h + 8 * r == pos[i][1])
            ops.b[lane][r] |= uint32_t(enc(ty, float(g + 1))) << (16 * h);
    }
    float d[32][4];
    mmaSyncM16N8K16(ty, ops.a, ops.b, ops.c, d);
    for (int row = 0; row < 16; ++row)
      for (int col = 0; col < 8; ++col)
        EXPECT_EQ(dAt(d, row, col), row == pos[i][0] ? float(col + 1) : 0.0f)
            << "a" << i << " D[" << row << "][" << col << "]";
  }
}

// B literal: lane 6 (groupID 1, threadID_in_group 2) holds b0,b1 =
// B[4][1],B[5][1] and b2,b3 = B[12][1],B[13][1]. Setting b3 = 1 and
// A[i][13] = i + 1 gives D[i][1] = i + 1: lanes 4 g (threadID_in_group 0)
// hold column 1 in c1 (row g) and c3 (row g + 8).
TEST(MmaLiteral, LaneSixBFragment) {
  const MmaElement ty = MmaElement::BF16;
  MmaOperands ops{};
  ops.b[6][1] = pack(0, 0x3f80);
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane >> 2, t = lane % 4;
    // A[i][13]: col 13 = 2 t + 1 + 8 with t = 2 -> a5 (row g) and a7 (g + 8).
    if (t == 2) {
      ops.a[lane][2] = pack(0, enc(ty, float(g + 1)));
      ops.a[lane][3] = pack(0, enc(ty, float(g + 9)));
    }
  }
  float d[32][4];
  mmaSyncM16N8K16(ty, ops.a, ops.b, ops.c, d);
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane >> 2, t = lane % 4;
    for (int i = 0; i < 4; ++i) {
      float expect = 0.0f;
      if (t == 0 && i == 1)
        expect = float(g + 1);
      if (t == 0 && i == 3)
        expect = float(g + 9);
      EXPECT_EQ(d[lane][i], expect) << "lane " << lane << " c" << i;
    }
  }
}

// C/D literal: with D[i][j] = 100 i + j, lane 5 holds c0..c3 = D[1][2],
// D[1][3], D[9][2], D[9][3]; lane 31 D[7][6], D[7][7], D[15][6], D[15][7].
TEST(MmaLiteral, AccumulatorPositions) {
  float A[16][16] = {}, B[16][8] = {}, C[16][8] = {};
  for (int i = 0; i < 16; ++i) {
    A[i][0] = float(i);
    A[i][1] = 1.0f;
  }
  for (int j = 0; j < 8; ++j) {
    B[0][j] = 100.0f;
    B[1][j] = float(j);
  }
  MmaOperands ops = packMma(MmaElement::BF16, A, B, C);
  float d[32][4];
  mmaSyncM16N8K16(MmaElement::BF16, ops.a, ops.b, ops.c, d);
  EXPECT_EQ(d[5][0], 102.0f);
  EXPECT_EQ(d[5][1], 103.0f);
  EXPECT_EQ(d[5][2], 902.0f);
  EXPECT_EQ(d[5][3], 903.0f);
  EXPECT_EQ(d[31][0], 706.0f);
  EXPECT_EQ(d[31][1], 707.0f);
  EXPECT_EQ(d[31][2], 1506.0f);
  EXPECT_EQ(d[31][3], 1507.0f);
  EXPECT_EQ(d[0][0], 0.0f);
  // C is added: c0 of lane 5 is C[1][2].
  ops.c[5][0] = 0.5f;
  mmaSyncM16N8K16(MmaElement::BF16, ops.a, ops.b, ops.c, d);
  EXPECT_EQ(d[5][0], 102.5f);
}

// The emulator rounds the exact sum once: 1 + 2^-30 - 1 = 2^-30, where a
// sequential f32 accumulation would give 0.
TEST(MmaLiteral, SingleRounding) {
  float A[16][16] = {}, B[16][8] = {}, C[16][8] = {};
  A[0][0] = 1.0f;
  A[0][1] = std::ldexp(1.0f, -30);
  A[0][2] = -1.0f;
  B[0][0] = B[1][0] = B[2][0] = 1.0f;
  MmaOperands ops = packMma(MmaElement::BF16, A, B, C);
  float d[32][4];
  mmaSyncM16N8K16(MmaElement::BF16, ops.a, ops.b, ops.c, d);
  EXPECT_EQ(d[0][0], std::ldexp(1.0f, -30));
}

TEST(MmaLiteral, NaNAndInfinityPropagate) {
  const MmaElement ty = MmaElement::F16;
  float A[16][16] = {}, B[16][8] = {}, C[16][8] = {};
  for (int k = 0; k < 16; ++k)
    for (int j = 0; j < 8; ++j)
      B[k][j] = 1.0f;
  B[0][3] = 0.0f;
  A[3][5] = std::numeric_limits<float>::quiet_NaN();
  A[2][0] = std::numeric_limits<float>::infinity();
  C[4][1] = -std::numeric_limits<float>::infinity();
  A[6][0] = std::numeric_limits<float>::infinity();
  C[6][2] = -std::numeric_limits<float>::infinity();
  MmaOperands ops = packMma(ty, A, B, C);
  float d[32][4];
  mmaSyncM16N8K16(ty, ops.a, ops.b, ops.c, d);
  for (int j = 0; j < 8; ++j)
    EXPECT_TRUE(std::isnan(dAt(d, 3, j))) << j;
  EXPECT_EQ(dAt(d, 2, 0), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(dAt(d, 2, 3))); // inf * 0
  EXPECT_EQ(dAt(d, 4, 1), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(dAt(d, 6, 2))); // inf + -inf
  EXPECT_EQ(dAt(d, 5, 5), 0.0f);
  uint32_t nanBits;
  float nan = dAt(d, 3, 0);
  std::memcpy(&nanBits, &nan, 4);
  EXPECT_EQ(nanBits, 0x7fffffffu); // canonical NaN
}

//===----------------------------------------------------------------------===//
// ldmatrix.sync.aligned.m8n8.x{1,2,4}{.trans}.b16
//===----------------------------------------------------------------------===//

// Element (m, r, c) of the rows is (m << 8) | (r << 4) | c, little endian.
void fillRows(uint8_t rows[4][8][16]) {
  for (int m = 0; m < 4; ++m)
    for (int r = 0; r < 8; ++r)
      for (int c = 0; c < 8; ++c) {
        rows[m][r][2 * c] = uint8_t((r << 4) | c);
        rows[m][r][2 * c + 1] = uint8_t(m);
      }
}

TEST(Ldmatrix, LiteralLanes) {
  uint8_t rows[4][8][16];
  fillRows(rows);
  const uint32_t kUntouched = 0xdeadbeef;
  for (int count : {1, 2, 4}) {
    for (bool trans : {false, true}) {
      uint32_t out[32][4];
      for (auto &lane : out)
        for (uint32_t &r : lane)
          r = kUntouched;
      ldmatrixM8N8(count, trans, rows, out);
      if (!trans) {
        // Lane l: row l/4, columns 2(l%4) (low) and 2(l%4)+1 (high).
        EXPECT_EQ(out[0][0], 0x00010000u);
        EXPECT_EQ(out[5][0], 0x00130012u);
        EXPECT_EQ(out[31][0], 0x00770076u);
      } else {
        // Lane l: column l/4, rows 2(l%4) (low) and 2(l%4)+1 (high).
        EXPECT_EQ(out[0][0], 0x00100000u);
        EXPECT_EQ(out[5][0], 0x00310021u);
        EXPECT_EQ(out[31][0], 0x00770067u);
      }
      if (count >= 2)
        EXPECT_EQ(out[5][1], trans ? 0x01310121u : 0x01130112u);
      else
        EXPECT_EQ(out[5][1], kUntouched);
      if (count == 4) {
        EXPECT_EQ(out[5][3], trans ? 0x03310321u : 0x03130312u);
        EXPECT_EQ(out[30][2], trans ? 0x02570247u : 0x02750274u);
      } else {
        EXPECT_EQ(out[5][2], kUntouched);
        EXPECT_EQ(out[5][3], kUntouched);
      }
      // Every lane and matrix against the rule.
      for (int m = 0; m < count; ++m)
        for (int l = 0; l < 32; ++l) {
          int g = l / 4, p = 2 * (l % 4);
          uint32_t lo =
              trans ? (m << 8) | (p << 4) | g : (m << 8) | (g << 4) | p;
          uint32_t hi = trans ? (m << 8) | ((p + 1) << 4) | g
                              : (m << 8) | (g << 4) | (p + 1);
          EXPECT_EQ(out[l][m], lo | (hi << 16))
              << "count " << count << " trans " << trans << " lane " << l;
        }
    }
  }
}

// The usual pairing: ldmatrix.x4 of a row-major 16x16 A tile (matrices:
// rows 0-7/cols 0-7, rows 8-15/cols 0-7, rows 0-7/cols 8-15, rows 8-15/cols
// 8-15) yields mma.m16n8k16's A fragment registers, and ldmatrix.x2.trans of a
// row-major (k, n) B tile yields its B fragment registers.
TEST(Ldmatrix, FeedsMmaFragments) {
  const MmaElement ty = MmaElement::F16;
  uint16_t A[16][16], B[16][8];
  float Af[16][16], Bf[16][8], C[16][8] = {};
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 16; ++k) {
      Af[i][k] = float(i * 16 + k);
      A[i][k] = enc(ty, Af[i][k]);
    }
  for (int k = 0; k < 16; ++k)
    for (int j = 0; j < 8; ++j) {
      Bf[k][j] = float(k * 8 + j + 1000);
      B[k][j] = enc(ty, Bf[k][j]);
    }
  uint8_t rowsA[4][8][16], rowsB[4][8][16] = {};
  for (int m = 0; m < 4; ++m)
    for (int r = 0; r < 8; ++r)
      std::memcpy(rowsA[m][r], &A[r + 8 * (m % 2)][8 * (m / 2)], 16);
  for (int m = 0; m < 2; ++m)
    for (int r = 0; r < 8; ++r)
      std::memcpy(rowsB[m][r], &B[r + 8 * m][0], 16);
  uint32_t fragA[32][4], fragB[32][4];
  ldmatrixM8N8(4, false, rowsA, fragA);
  ldmatrixM8N8(2, true, rowsB, fragB);
  MmaOperands ref = packMma(ty, Af, Bf, C);
  for (int lane = 0; lane < 32; ++lane) {
    for (int r = 0; r < 4; ++r)
      EXPECT_EQ(fragA[lane][r], ref.a[lane][r]) << lane << " a reg " << r;
    for (int r = 0; r < 2; ++r)
      EXPECT_EQ(fragB[lane][r], ref.b[lane][r]) << lane << " b reg " << r;
  }
}

//===----------------------------------------------------------------------===//
// wgmma.mma_async.sync.aligned.m64nNk16.f32.{bf16,f16}.{bf16,f16}
//===----------------------------------------------------------------------===//

/// Matrix descriptor, PTX ISA 9.7.15.5.1.2.2: bits 13-0 start, 29-16 LBO,
/// 45-32 SBO (each (x & 0x3FFFF) >> 4), 51-49 base offset, 63-62 swizzle.
uint64_t makeDesc(uint32_t start, uint32_t lbo, uint32_t sbo, unsigned mode,
                  unsigned baseOffset = 0) {
  auto encode = [](uint64_t x) { return (x & 0x3ffff) >> 4; };
  return encode(start) | (encode(lbo) << 16) | (encode(sbo) << 32) |
         (uint64_t(baseOffset & 7) << 49) | (uint64_t(mode & 3) << 62);
}

enum SwizzleMode : unsigned { kNone = 0, k128B = 1, k64B = 2, k32B = 3 };

/// A shared-memory window and the logical operands of one wgmma.
struct WgmmaCase {
  MmaElement ty = MmaElement::BF16;
  int n = 8;
  std::vector<uint8_t> smem = std::vector<uint8_t>(64 * 1024, 0xee);
  std::vector<float> A = std::vector<float>(64 * 16); // A[m * 16 + k]
  std::vector<float> B;                               // B[k * n + j]

  explicit WgmmaCase(int n, MmaElement ty = MmaElement::BF16)
      : ty(ty), n(n), B(size_t(16) * n) {
    for (int m = 0; m < 64; ++m)
      for (int k = 0; k < 16; ++k)
        A[m * 16 + k] = float((m * 3 + k * 5) % 7 - 3);
    for (int k = 0; k < 16; ++k)
      for (int j = 0; j < n; ++j)
        B[k * n + j] = float((k * 7 + j * 3) % 5 - 2);
  }

  void put(uint32_t address, float v) {
    uint16_t bits = enc(ty, v);
    ASSERT_LT(address + 1, smem.size());
    smem[address] = uint8_t(bits);
    smem[address + 1] = uint8_t(bits >> 8);
  }

  SharedRead reader() {
    return [this](uint32_t address, void *out, unsigned bytes) {
      if (address + bytes > smem.size())
        return false;
      std::memcpy(out, &smem[address], bytes);
      return true;
    };
  }

  /// Runs `op` and checks every accumulator against A * B (+ d0).
  void runAndCheck(WgmmaOp op, uint64_t descA, uint64_t descB,
                   const uint32_t (*aRegs)[4] = nullptr) {
    op.n = n;
    op.ab = ty;
    static float d[128][128];
    for (int t = 0; t < 128; ++t)
      for (int i = 0; i < 128; ++i)
        d[t][i] = op.scaleD ? float(t - i) : std::nanf("");
    std::string error;
    ASSERT_TRUE(wgmmaM64NK16(op, descA, descB, aRegs, d, reader(), error))
        << error;
    for (int t = 0; t < 128; ++t) {
      // PTX ISA Figure "WGMMA .m64nNk16 register fragment layout for
      // accumulator matrix D": warp w owns rows 16 w..16 w + 15; d<i> is at
      // row 16 w + groupID + 8 ((i >> 1) & 1), col 8 (i / 4) + 2 tig + (i & 1).
      int w = t / 32, g = (t % 32) >> 2, tig = t % 4;
      for (int i = 0; i < n / 2; ++i) {
        int row = 16 * w + g + 8 * ((i >> 1) & 1);
        int col = 8 * (i / 4) + 2 * tig + (i & 1);
        double ref = op.scaleD ? double(t - i) : 0.0;
        for (int k = 0; k < 16; ++k)
          ref += double(op.scaleA * A[row * 16 + k]) *
                 double(op.scaleB * B[k * n + col]);
        ASSERT_EQ(d[t][i], float(ref)) << "thread " << t << " d" << i << " = D["
                                       << row << "][" << col << "]";
      }
      for (int i = n / 2; i < 128; ++i)
        ASSERT_EQ(std::isnan(d[t][i]), !op.scaleD) << "untouched d" << i;
    }
  }
};

// No-swizzle ("interleave") layouts per PTX ISA 9.7.15.5.1.2.1: a core
// matrix is 8 rows of 16 contiguous bytes (128 bytes). K-major: a core row
// is one mn with 8 consecutive k; MN-major: a core row is one k with 8
// consecutive mn. In both, the core matrix holding (mn, k) starts at
// start + (mn / 8) * SBO + (k / 8) * LBO (LBO: along K, SBO: along M/N).
void placeInterleaved(WgmmaCase &c, bool isA, bool mnMajor, uint32_t start,
                      uint32_t lbo, uint32_t sbo) {
  int rows = isA ? 64 : c.n;
  for (int mn = 0; mn < rows; ++mn)
    for (int k = 0; k < 16; ++k) {
      float v = isA ? c.A[mn * 16 + k] : c.B[k * c.n + mn];
      uint32_t core = start + (mn / 8) * sbo + (k / 8) * lbo;
      uint32_t inCore =
          mnMajor ? (k % 8) * 16 + (mn % 8) * 2 : (mn % 8) * 16 + (k % 8) * 2;
      c.put(core + inCore, v);
    }
}

struct InterleaveParam {
  bool transA, transB;
  uint32_t lboA, sboA, lboB, sboB;
  int n;
};

void PrintTo(const InterleaveParam &p, std::ostream *os) {
  *os << (p.transA ? "A MN-major" : "A K-major") << " LBO " << p.lboA << " SBO "
      << p.sboA << ", " << (p.transB ? "B MN-major" : "B K-major") << " LBO "
      << p.lboB << " SBO " << p.sboB << ", n " << p.n;
}

class WgmmaInterleaveTest : public ::testing::TestWithParam<InterleaveParam> {};

TEST_P(WgmmaInterleaveTest, MatchesNaiveProduct) {
  const InterleaveParam &p = GetParam();
  for (MmaElement ty : {MmaElement::BF16, MmaElement::F16}) {
    WgmmaCase c(p.n, ty);
    const uint32_t baseA = 0x400, baseB = 0x4000;
    placeInterleaved(c, true, p.transA, baseA, p.lboA, p.sboA);
    placeInterleaved(c, false, p.transB, baseB, p.lboB, p.sboB);
    WgmmaOp op;
    op.transA = p.transA;
    op.transB = p.transB;
    c.runAndCheck(op, makeDesc(baseA, p.lboA, p.sboA, kNone),
                  makeDesc(baseB, p.lboB, p.sboB, kNone));
  }
}

// LBO != SBO throughout, so swapping them would read the wrong core matrices.
// A has 8 x 2 core matrices, B (n/8) x 2.
INSTANTIATE_TEST_SUITE_P(
    Layouts, WgmmaInterleaveTest,
    ::testing::Values(
        // K-major A and B, K cores adjacent (LBO 128) / M,N cores adjacent.
        InterleaveParam{false, false, 128, 256, 128, 256, 8},
        InterleaveParam{false, false, 1024, 128, 128 * 32, 128, 256},
        // MN-major A and B.
        InterleaveParam{true, true, 1024, 128, 2048, 128, 128},
        InterleaveParam{true, true, 128, 256, 128, 256, 24},
        // Mixed.
        InterleaveParam{false, true, 128, 256, 1024, 128, 64},
        InterleaveParam{true, false, 1024, 128, 128, 512, 16}));

// 128B-swizzled K-major tile of 64 rows x 64 k (128 bytes per row): the
// swizzle atom is 8 rows x 128 bytes at a 1024-byte boundary, and 16-byte
// chunk c of row r is stored at chunk c ^ (r % 8) (Swizzle<3,4,3>). SBO = 1024
// steps 8 rows; a descriptor whose start is advanced by 32 bytes per k16 step
// selects the next 16 columns.
TEST(Wgmma, KMajor128BSwizzleWithKAdvance) {
  WgmmaCase c(32);
  std::vector<float> wideA(64 * 64), wideB(32 * 64);
  for (int m = 0; m < 64; ++m)
    for (int k = 0; k < 64; ++k)
      wideA[m * 64 + k] = float((m * 5 + k * 3) % 9 - 4);
  for (int j = 0; j < 32; ++j)
    for (int k = 0; k < 64; ++k)
      wideB[j * 64 + k] = float((j * 3 + k) % 7 - 3);
  const uint32_t baseA = 0x2000, baseB = 0x6000;
  for (int m = 0; m < 64; ++m)
    for (int k = 0; k < 64; ++k)
      c.put(baseA + (m / 8) * 1024 + (m % 8) * 128 + ((k / 8) ^ (m % 8)) * 16 +
                (k % 8) * 2,
            wideA[m * 64 + k]);
  for (int j = 0; j < 32; ++j)
    for (int k = 0; k < 64; ++k)
      c.put(baseB + (j / 8) * 1024 + (j % 8) * 128 + ((k / 8) ^ (j % 8)) * 16 +
                (k % 8) * 2,
            wideB[j * 64 + k]);
  for (int kb = 0; kb < 4; ++kb) {
    for (int m = 0; m < 64; ++m)
      for (int k = 0; k < 16; ++k)
        c.A[m * 16 + k] = wideA[m * 64 + kb * 16 + k];
    for (int k = 0; k < 16; ++k)
      for (int j = 0; j < 32; ++j)
        c.B[k * 32 + j] = wideB[j * 64 + kb * 16 + k];
    SCOPED_TRACE("k block " + std::to_string(kb));
    c.runAndCheck(WgmmaOp{}, makeDesc(baseA + 32 * kb, 16, 1024, k128B),
                  makeDesc(baseB + 32 * kb, 16, 1024, k128B));
  }
}

// 64B (Swizzle<2,4,3>: chunk c of row r at c ^ ((r % 8) / 2), 512-byte atoms
// of 8 rows x 64 bytes) and 32B (Swizzle<1,4,3>: c ^ ((r % 8) / 4), 256-byte
// atoms of 8 rows x 32 bytes) K-major layouts; SBO = one atom.
TEST(Wgmma, KMajor64BAnd32BSwizzle) {
  for (unsigned bytes : {64u, 32u}) {
    WgmmaCase c(16);
    const uint32_t baseA = 0x1000, baseB = 0x5000;
    unsigned mode = bytes == 64 ? k64B : k32B;
    auto place = [&](uint32_t base, int mn, int k, float v) {
      int r = mn % 8, chunk = k / 8;
      int phys = bytes == 64 ? chunk ^ (r / 2) : chunk ^ (r / 4);
      c.put(base + (mn / 8) * (8 * bytes) + r * bytes + phys * 16 + (k % 8) * 2,
            v);
    };
    for (int m = 0; m < 64; ++m)
      for (int k = 0; k < 16; ++k)
        place(baseA, m, k, c.A[m * 16 + k]);
    for (int j = 0; j < 16; ++j)
      for (int k = 0; k < 16; ++k)
        place(baseB, j, k, c.B[k * 16 + j]);
    SCOPED_TRACE(std::to_string(bytes) + "B swizzle");
    c.runAndCheck(WgmmaOp{}, makeDesc(baseA, 16, 8 * bytes, mode),
                  makeDesc(baseB, 16, 8 * bytes, mode));
  }
}

// MN-major swizzled layouts (PTX ISA canonical layout
// ((T,S/16,m),(8,k)):((1,T,LBO),(S/16 T,SBO))): an atom is 8 k-rows of S
// bytes, each holding S/2 consecutive mn; chunk c of k-row r is stored at
// c ^ swizzle(r). LBO steps to the next S/2 mn, SBO to the next 8 k.
TEST(Wgmma, MNMajorSwizzles) {
  struct Case {
    unsigned bytes, mode;
    int n;
    uint32_t lboA, sboA, lboB, sboB;
  };
  const Case cases[] = {
      // 128B: A is one atom wide (64 m); B has 2 atoms along N.
      {128, k128B, 128, 2048, 1024, 1024, 2048},
      // 64B: A has 2 atoms along M, B 2 along N.
      {64, k64B, 64, 1024, 512, 1024, 512},
      // 32B: A has 4 atoms along M (LBO 256), B 3 along N.
      {32, k32B, 48, 256, 1024, 512, 256},
  };
  for (const Case &cs : cases) {
    WgmmaCase c(cs.n, MmaElement::F16);
    const uint32_t baseA = 0x0000, baseB = 0x8000;
    const int perRow = int(cs.bytes / 2);
    auto place = [&](uint32_t base, uint32_t lbo, uint32_t sbo, int mn, int k,
                     float v) {
      int r = k % 8, chunk = (mn % perRow) / 8;
      int phys = cs.bytes == 128  ? chunk ^ r
                 : cs.bytes == 64 ? chunk ^ (r / 2)
                                  : chunk ^ (r / 4);
      c.put(base + (mn / perRow) * lbo + (k / 8) * sbo + r * cs.bytes +
                phys * 16 + (mn % 8) * 2,
            v);
    };
    for (int m = 0; m < 64; ++m)
      for (int k = 0; k < 16; ++k)
        place(baseA, cs.lboA, cs.sboA, m, k, c.A[m * 16 + k]);
    for (int j = 0; j < cs.n; ++j)
      for (int k = 0; k < 16; ++k)
        place(baseB, cs.lboB, cs.sboB, j, k, c.B[k * cs.n + j]);
    WgmmaOp op;
    op.transA = op.transB = true;
    SCOPED_TRACE(std::to_string(cs.bytes) + "B MN-major");
    c.runAndCheck(op, makeDesc(baseA, cs.lboA, cs.sboA, cs.mode),
                  makeDesc(baseB, cs.lboB, cs.sboB, cs.mode));
  }
}

TEST(Wgmma, ScaleDAndNegation) {
  WgmmaCase c(40);
  placeInterleaved(c, true, false, 0x400, 128, 256);
  placeInterleaved(c, false, true, 0x4000, 640, 128);
  uint64_t descA = makeDesc(0x400, 128, 256, kNone);
  uint64_t descB = makeDesc(0x4000, 640, 128, kNone);
  for (bool scaleD : {false, true})
    for (int sa : {1, -1})
      for (int sb : {1, -1}) {
        WgmmaOp op;
        op.transB = true;
        op.scaleD = scaleD;
        op.scaleA = sa;
        op.scaleB = sb;
        SCOPED_TRACE("scaleD " + std::to_string(scaleD) + " scaleA " +
                     std::to_string(sa) + " scaleB " + std::to_string(sb));
        c.runAndCheck(op, descA, descB);
      }
}

// A from registers (PTX ISA Figure "WGMMA .m64nNk16 register fragment
// layout for matrix A"): thread t is lane t % 32 of warp t / 32, which holds
// rows 16 w.. in the mma.m16n8k16 A pattern.
TEST(Wgmma, AFromRegisters) {
  WgmmaCase c(24);
  static uint32_t aRegs[128][4];
  for (int t = 0; t < 128; ++t) {
    int w = t / 32, g = (t % 32) >> 2, tig = t % 4;
    for (int r = 0; r < 4; ++r) {
      int row = 16 * w + g + (r % 2) * 8, col = 2 * tig + (r / 2) * 8;
      aRegs[t][r] = pack(enc(c.ty, c.A[row * 16 + col]),
                         enc(c.ty, c.A[row * 16 + col + 1]));
    }
  }
  placeInterleaved(c, false, false, 0x800, 128, 256);
  WgmmaOp op;
  op.aInRegisters = true;
  op.transA = true; // does not apply to register A
  c.runAndCheck(op, /*descA=*/0, makeDesc(0x800, 128, 256, kNone), aRegs);
}

// Literal: thread 37 (warp 1, lane 5) register 3 high half is a7 = A[25][11].
// With B[11][j] = j + 1 only row 25 of D is nonzero: threads 36..39 hold it
// in d2, d3 (row 16 + 1 + 8, columns 2 tig, 2 tig + 1).
TEST(Wgmma, LiteralRegisterAAndD) {
  WgmmaCase c(8, MmaElement::F16);
  static uint32_t aRegs[128][4];
  std::memset(aRegs, 0, sizeof aRegs);
  aRegs[37][3] = pack(0, 0x3c00);
  std::fill(c.A.begin(), c.A.end(), 0.0f);
  c.A[25 * 16 + 11] = 1.0f;
  std::fill(c.B.begin(), c.B.end(), 0.0f);
  for (int j = 0; j < 8; ++j)
    c.B[11 * 8 + j] = float(j + 1);
  placeInterleaved(c, false, false, 0x800, 128, 256);
  static float d[128][128];
  WgmmaOp op;
  op.ab = MmaElement::F16;
  op.aInRegisters = true;
  op.scaleD = false;
  std::string error;
  ASSERT_TRUE(wgmmaM64NK16(op, 0, makeDesc(0x800, 128, 256, kNone), aRegs, d,
                           c.reader(), error));
  for (int t = 0; t < 128; ++t)
    for (int i = 0; i < 4; ++i) {
      float expect = 0.0f;
      if (t >= 36 && t <= 39 && i >= 2)
        expect = float(2 * (t - 36) + (i - 2) + 1);
      EXPECT_EQ(d[t][i], expect) << "thread " << t << " d" << i;
    }

  // D literal with D[i][j] = 100 i + j, n = 16: thread 37 holds
  // d0..d7 = D[17][2], D[17][3], D[25][2], D[25][3], D[17][10], D[17][11],
  // D[25][10], D[25][11]; thread 127 d0 = D[55][6], d7 = D[63][15].
  WgmmaCase e(16);
  std::fill(e.A.begin(), e.A.end(), 0.0f);
  std::fill(e.B.begin(), e.B.end(), 0.0f);
  for (int m = 0; m < 64; ++m) {
    e.A[m * 16 + 0] = float(m);
    e.A[m * 16 + 1] = 1.0f;
  }
  for (int j = 0; j < 16; ++j) {
    e.B[0 * 16 + j] = 100.0f;
    e.B[1 * 16 + j] = float(j);
  }
  placeInterleaved(e, true, false, 0x400, 128, 256);
  placeInterleaved(e, false, false, 0x4000, 128, 256);
  WgmmaOp op2;
  op2.n = 16;
  op2.scaleD = false;
  ASSERT_TRUE(wgmmaM64NK16(op2, makeDesc(0x400, 128, 256, kNone),
                           makeDesc(0x4000, 128, 256, kNone), nullptr, d,
                           e.reader(), error));
  const float expect37[8] = {1702, 1703, 2502, 2503, 1710, 1711, 2510, 2511};
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(d[37][i], expect37[i]) << "d" << i;
  EXPECT_EQ(d[127][0], 5506.0f);
  EXPECT_EQ(d[127][7], 6315.0f);
  EXPECT_EQ(d[0][0], 0.0f);
}

TEST(Wgmma, Errors) {
  WgmmaCase c(8);
  static float d[128][128];
  std::string error;
  uint64_t desc = makeDesc(0x400, 128, 256, kNone);
  for (int n : {0, 12, 264, -8}) {
    WgmmaOp op;
    op.n = n;
    error.clear();
    EXPECT_FALSE(wgmmaM64NK16(op, desc, desc, nullptr, d, c.reader(), error));
    EXPECT_NE(error.find("n = " + std::to_string(n)), std::string::npos)
        << error;
  }
  {
    WgmmaOp op;
    op.scaleA = 2;
    error.clear();
    EXPECT_FALSE(wgmmaM64NK16(op, desc, desc, nullptr, d, c.reader(), error));
    EXPECT_FALSE(error.empty());
  }
  {
    // A nonzero base offset with a swizzle is refused.
    WgmmaOp op;
    error.clear();
    EXPECT_FALSE(wgmmaM64NK16(op, desc, makeDesc(0x400, 16, 1024, k128B, 3),
                              nullptr, d, c.reader(), error));
    EXPECT_NE(error.find("base offset 3"), std::string::npos) << error;
    EXPECT_NE(error.find("B"), std::string::npos) << error;
  }
  {
    // Failed reads are reported.
    WgmmaOp op;
    error.clear();
    SharedRead failing = [](uint32_t, void *, unsigned) { return false; };
    EXPECT_FALSE(wgmmaM64NK16(op, desc, desc, nullptr, d, failing, error));
    EXPECT_NE(error.find("reading matrix A"), std::string::npos) << error;
  }
  {
    // The base offset field is not used by the no-swizzle mode.
    WgmmaCase ok(8);
    placeInterleaved(ok, true, false, 0x400, 128, 256);
    placeInterleaved(ok, false, false, 0x4000, 128, 256);
    ok.runAndCheck(WgmmaOp{}, makeDesc(0x400, 128, 256, kNone, 5),
                   makeDesc(0x4000, 128, 256, kNone, 5));
  }
}

} // namespace
