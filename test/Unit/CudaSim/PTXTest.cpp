//===- PTXTest.cpp - Hand-written PTX through the emulated CUDA driver ----===//
//
// Part of gatec. Runs small hand-written PTX kernels on cuda-sim through the
// CUDA driver API (cuModuleLoadData, cuMemAlloc, cuLaunchKernel,
// cuMemcpyDtoH), one test per instruction form, and checks the results
// against values derived by hand from the PTX ISA; the section each
// expectation relies on is cited next to it. The negative tests check that
// the sanitizer reports each kind of misuse and that the context's next call
// returns the error.
//
// Built against cuda.h and linked with the emulator's libcuda.so:
//   clang++-22 -std=c++20 -I/usr/local/cuda/include PTXTest.cpp
//     -Lbuild/lib/cuda-sim -lcuda -Wl,-rpath,build/lib/cuda-sim
//     -lgtest -lgtest_main -pthread
//
//===----------------------------------------------------------------------===//

#include <cuda.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// cuda-sim's extensions (lib/CudaSim/Driver.cpp), not in cuda.h.
extern "C" const char *gatecCudaSimLastReport();
extern "C" void gatecCudaSimReset();

namespace {

//===----------------------------------------------------------------------===//
// Harness
//===----------------------------------------------------------------------===//

/// The three directives every module starts with; kernels follow on line 4.
std::string module(const char *target, const char *body) {
  return std::string(".version 8.0\n.target ") + target +
         "\n.address_size 64\n" + body;
}

uint32_t f32Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float bitsF32(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/// bf16 of a value that is exact in bf16 (the tests' small integers).
uint16_t bf16(float f) { return uint16_t(f32Bits(f) >> 16); }

class PTXTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(cuInit(0), CUDA_SUCCESS);
    CUdevice device;
    ASSERT_EQ(cuDeviceGet(&device, 0), CUDA_SUCCESS);
    CUcontext context;
    ASSERT_EQ(cuDevicePrimaryCtxRetain(&context, device), CUDA_SUCCESS);
    ASSERT_EQ(cuCtxSetCurrent(context), CUDA_SUCCESS);
  }

  void SetUp() override { gatecCudaSimReset(); }

  void TearDown() override {
    // A negative test leaves the sticky error behind: clear it first, or the
    // frees below would return it.
    gatecCudaSimReset();
    for (CUdeviceptr p : buffers)
      EXPECT_EQ(cuMemFree(p), CUDA_SUCCESS);
    for (CUmodule m : modules)
      EXPECT_EQ(cuModuleUnload(m), CUDA_SUCCESS);
  }

  /// Loads `ptx` and returns its kernel `name` (null on failure, which the
  /// test has then failed).
  CUfunction load(const std::string &ptx, const char *name = "k") {
    // PTXTEST_DUMP_DIR=dir writes every module there, to check the kernels
    // with ptxas (e.g. ptxas -arch=sm_90a dir/*.ptx).
    if (const char *dir = std::getenv("PTXTEST_DUMP_DIR")) {
      static int count = 0;
      std::string path =
          std::string(dir) + "/" +
          testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
          std::to_string(count++) + ".ptx";
      if (FILE *file = std::fopen(path.c_str(), "w")) {
        std::fputs(ptx.c_str(), file);
        std::fclose(file);
      }
    }
    CUmodule m = nullptr;
    CUresult r = cuModuleLoadData(&m, ptx.c_str());
    EXPECT_EQ(r, CUDA_SUCCESS) << "cuModuleLoadData failed";
    if (r != CUDA_SUCCESS)
      return nullptr;
    modules.push_back(m);
    CUfunction f = nullptr;
    EXPECT_EQ(cuModuleGetFunction(&f, m, name), CUDA_SUCCESS);
    return f;
  }

  CUdeviceptr alloc(size_t bytes) {
    CUdeviceptr p = 0;
    EXPECT_EQ(cuMemAlloc(&p, bytes), CUDA_SUCCESS);
    buffers.push_back(p);
    return p;
  }

  template <typename T> CUdeviceptr upload(const std::vector<T> &host) {
    CUdeviceptr p = alloc(host.size() * sizeof(T));
    EXPECT_EQ(cuMemcpyHtoD(p, host.data(), host.size() * sizeof(T)),
              CUDA_SUCCESS);
    return p;
  }

  template <typename T> std::vector<T> download(CUdeviceptr p, size_t n) {
    std::vector<T> host(n);
    EXPECT_EQ(cuMemcpyDtoH(host.data(), p, n * sizeof(T)), CUDA_SUCCESS);
    return host;
  }

  /// Launches `f` on one block of `threads` threads with the given pointer
  /// parameters and returns cuCtxSynchronize's status (the one that carries
  /// a fault the kernel made).
  CUresult run(CUfunction f, unsigned threads, std::vector<CUdeviceptr> args,
               unsigned grid = 1) {
    std::vector<void *> params;
    for (CUdeviceptr &a : args)
      params.push_back(&a);
    CUresult r = cuLaunchKernel(f, grid, 1, 1, threads, 1, 1, 0, nullptr,
                                params.data(), nullptr);
    if (r != CUDA_SUCCESS)
      return r;
    return cuCtxSynchronize();
  }

  /// Runs a kernel that must be clean and returns `n` words of `out`.
  template <typename T>
  std::vector<T> runClean(CUfunction f, unsigned threads, size_t n,
                          std::vector<CUdeviceptr> inputs = {}) {
    CUdeviceptr out = alloc(n * sizeof(T));
    EXPECT_EQ(cuMemsetD8(out, 0, n * sizeof(T)), CUDA_SUCCESS);
    inputs.insert(inputs.begin(), out);
    EXPECT_EQ(run(f, threads, inputs), CUDA_SUCCESS)
        << gatecCudaSimLastReport();
    return download<T>(out, n);
  }

  /// Runs a kernel that must fault, and returns the report.
  std::string runFaulty(CUfunction f, unsigned threads, size_t outBytes = 4,
                        std::vector<CUdeviceptr> inputs = {}) {
    CUdeviceptr out = alloc(outBytes);
    inputs.insert(inputs.begin(), out);
    CUresult r = run(f, threads, inputs);
    EXPECT_NE(r, CUDA_SUCCESS) << "the kernel's fault was not reported";
    return gatecCudaSimLastReport();
  }

  std::vector<CUmodule> modules;
  std::vector<CUdeviceptr> buffers;
};

//===----------------------------------------------------------------------===//
// shfl.sync (PTX ISA, "Data Movement and Conversion Instructions:
// shfl.sync", Semantics)
//===----------------------------------------------------------------------===//

/// The ISA's pseudocode for one lane: source lane and predicate.
void shflSource(int mode, uint32_t lane, uint32_t b, uint32_t c, uint32_t &j,
                bool &p) {
  uint32_t bval = b & 31, cval = c & 31, segmask = (c >> 8) & 31;
  int32_t maxLane = int32_t((lane & segmask) | (cval & ~segmask));
  int32_t minLane = int32_t(lane & segmask);
  int32_t src = 0;
  switch (mode) {
  case 0: // .up
    src = int32_t(lane) - int32_t(bval);
    p = src >= maxLane;
    break;
  case 1: // .down
    src = int32_t(lane + bval);
    p = src <= maxLane;
    break;
  case 2: // .bfly
    src = int32_t(lane ^ bval);
    p = src <= maxLane;
    break;
  default: // .idx
    src = minLane | int32_t(bval & ~segmask);
    p = src <= maxLane;
    break;
  }
  j = p ? uint32_t(src) : lane;
}

// Each case stores (value, predicate) per lane; lane l's source value is
// 100 + 10 l.
const char *kShflKernel = R"PTX(
.visible .entry k(.param .u64 out)
{
  .reg .pred %p<2>;
  .reg .b32 %r<8>;
  .reg .b64 %rd<4>;
  ld.param.u64 %rd1, [out];
  cvta.to.global.u64 %rd1, %rd1;
  mov.u32 %r1, %laneid;
  mad.lo.u32 %r2, %r1, 10, 100;
  mul.wide.u32 %rd2, %r1, 8;
  add.u64 %rd1, %rd1, %rd2;
  shfl.sync.up.b32 %r3|%p1, %r2, 3, 0, 0xffffffff;
  selp.u32 %r4, 1, 0, %p1;
  st.global.v2.u32 [%rd1], {%r3, %r4};
  shfl.sync.down.b32 %r3|%p1, %r2, 5, 0x1f, 0xffffffff;
  selp.u32 %r4, 1, 0, %p1;
  st.global.v2.u32 [%rd1+256], {%r3, %r4};
  shfl.sync.bfly.b32 %r3|%p1, %r2, 6, 0x1f, 0xffffffff;
  selp.u32 %r4, 1, 0, %p1;
  st.global.v2.u32 [%rd1+512], {%r3, %r4};
  shfl.sync.idx.b32 %r3|%p1, %r2, 7, 0x1f, 0xffffffff;
  selp.u32 %r4, 1, 0, %p1;
  st.global.v2.u32 [%rd1+768], {%r3, %r4};
  shfl.sync.up.b32 %r3|%p1, %r2, 2, 0x1800, 0xffffffff;
  selp.u32 %r4, 1, 0, %p1;
  st.global.v2.u32 [%rd1+1024], {%r3, %r4};
  shfl.sync.down.b32 %r3|%p1, %r2, 3, 0x181f, 0xffffffff;
  selp.u32 %r4, 1, 0, %p1;
  st.global.v2.u32 [%rd1+1280], {%r3, %r4};
  shfl.sync.bfly.b32 %r3|%p1, %r2, 1, 0x181f, 0xffffffff;
  selp.u32 %r4, 1, 0, %p1;
  st.global.v2.u32 [%rd1+1536], {%r3, %r4};
  shfl.sync.idx.b32 %r3|%p1, %r2, 5, 0x181f, 0xffffffff;
  selp.u32 %r4, 1, 0, %p1;
  st.global.v2.u32 [%rd1+1792], {%r3, %r4};
  shfl.sync.idx.b32 %r3|%p1, %r2, 20, 0xf, 0xffffffff;
  selp.u32 %r4, 1, 0, %p1;
  st.global.v2.u32 [%rd1+2048], {%r3, %r4};
  shfl.sync.down.b32 %r3|%p1, %r2, 4, 0xf, 0xffffffff;
  selp.u32 %r4, 1, 0, %p1;
  st.global.v2.u32 [%rd1+2304], {%r3, %r4};
  shfl.sync.bfly.b32 %r3|%p1, %r2, 16, 0x1f, 0xffffffff;
  selp.u32 %r4, 1, 0, %p1;
  st.global.v2.u32 [%rd1+2560], {%r3, %r4};
  ret;
}
)PTX";

TEST_F(PTXTest, ShflModesClampAndSegments) {
  CUfunction f = load(module("sm_80", kShflKernel));
  ASSERT_TRUE(f);
  struct Case {
    int mode;
    uint32_t b, c;
  };
  const Case cases[] = {
      {0, 3, 0x0},    {1, 5, 0x1f},   {2, 6, 0x1f},   {3, 7, 0x1f},
      {0, 2, 0x1800}, {1, 3, 0x181f}, {2, 1, 0x181f}, {3, 5, 0x181f},
      {3, 20, 0xf},   {1, 4, 0xf},    {2, 16, 0x1f},
  };
  const size_t numCases = sizeof(cases) / sizeof(cases[0]);
  std::vector<uint32_t> out = runClean<uint32_t>(f, 32, numCases * 64);
  for (size_t i = 0; i < numCases; ++i)
    for (uint32_t lane = 0; lane < 32; ++lane) {
      uint32_t j;
      bool p;
      shflSource(cases[i].mode, lane, cases[i].b, cases[i].c, j, p);
      EXPECT_EQ(out[i * 64 + 2 * lane], 100 + 10 * j)
          << "case " << i << " lane " << lane;
      EXPECT_EQ(out[i * 64 + 2 * lane + 1], p ? 1u : 0u)
          << "case " << i << " lane " << lane;
    }
  // Spelled out: .up 3 leaves lanes 0-2 their own value with p false.
  EXPECT_EQ(out[0], 100u);
  EXPECT_EQ(out[1], 0u);
  EXPECT_EQ(out[2 * 5], 120u);
  EXPECT_EQ(out[2 * 5 + 1], 1u);
  // .down 3 in segments of 8 (c = 0x181f): lane 5 reads its own (5 + 3 is
  // past the segment's last lane 7), lane 12 reads lane 15.
  EXPECT_EQ(out[5 * 64 + 2 * 5], 150u);
  EXPECT_EQ(out[5 * 64 + 2 * 5 + 1], 0u);
  EXPECT_EQ(out[5 * 64 + 2 * 12], 250u);
  // .idx 5 in segments of 8: lane 19 reads lane 21.
  EXPECT_EQ(out[7 * 64 + 2 * 19], 310u);
  // .idx 20 clamped at c = 15: p false, own value.
  EXPECT_EQ(out[8 * 64 + 2 * 3], 130u);
  EXPECT_EQ(out[8 * 64 + 2 * 3 + 1], 0u);
}

// "bval[4:0] = b[4:0]": only the low five bits of b count, so .down 33 is
// .down 1 and .bfly 35 is .bfly 3 (cuda-sim masks b in Collectives.cpp; an
// emulator that used all of b would read the lane's own value with p false).
TEST_F(PTXTest, ShflUsesLowFiveBitsOfB) {
  CUfunction f = load(module("sm_80", R"PTX(
.visible .entry k(.param .u64 out)
{
  .reg .pred %p<2>;
  .reg .b32 %r<8>;
  .reg .b64 %rd<4>;
  ld.param.u64 %rd1, [out];
  cvta.to.global.u64 %rd1, %rd1;
  mov.u32 %r1, %laneid;
  mul.wide.u32 %rd2, %r1, 8;
  add.u64 %rd1, %rd1, %rd2;
  shfl.sync.down.b32 %r3|%p1, %r1, 33, 0x1f, 0xffffffff;
  selp.u32 %r4, 1, 0, %p1;
  st.global.v2.u32 [%rd1], {%r3, %r4};
  shfl.sync.bfly.b32 %r3|%p1, %r1, 35, 0x1f, 0xffffffff;
  selp.u32 %r4, 1, 0, %p1;
  st.global.v2.u32 [%rd1+256], {%r3, %r4};
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  std::vector<uint32_t> out = runClean<uint32_t>(f, 32, 128);
  // One failure per form, not per lane.
  for (uint32_t lane = 0; lane < 32; ++lane) {
    bool inRange = lane + 1 <= 31;
    bool downOk = out[2 * lane] == (inRange ? lane + 1 : lane) &&
                  out[2 * lane + 1] == (inRange ? 1u : 0u);
    EXPECT_TRUE(downOk) << "shfl.sync.down 33, lane " << lane << ": value "
                        << out[2 * lane] << ", p " << out[2 * lane + 1];
    bool bflyOk = out[64 + 2 * lane] == (lane ^ 3) && out[64 + 2 * lane + 1];
    EXPECT_TRUE(bflyOk) << "shfl.sync.bfly 35, lane " << lane << ": value "
                        << out[64 + 2 * lane] << ", p "
                        << out[64 + 2 * lane + 1];
    if (!downOk || !bflyOk)
      break;
  }
}

//===----------------------------------------------------------------------===//
// vote.sync (PTX ISA, "Parallel Synchronization and Communication
// Instructions: vote.sync")
//===----------------------------------------------------------------------===//

TEST_F(PTXTest, VoteBallotAllAny) {
  CUfunction f = load(module("sm_80", R"PTX(
.visible .entry k(.param .u64 out)
{
  .reg .pred %p<8>;
  .reg .b32 %r<12>;
  .reg .b64 %rd<4>;
  ld.param.u64 %rd1, [out];
  cvta.to.global.u64 %rd1, %rd1;
  mov.u32 %r1, %laneid;
  rem.u32 %r2, %r1, 3;
  setp.eq.u32 %p1, %r2, 0;
  vote.sync.ballot.b32 %r3, %p1, 0xffffffff;
  setp.lt.u32 %p2, %r1, 32;
  vote.sync.all.pred %p3, %p2, 0xffffffff;
  setp.ne.u32 %p2, %r1, 5;
  vote.sync.all.pred %p4, %p2, 0xffffffff;
  setp.eq.u32 %p2, %r1, 31;
  vote.sync.any.pred %p5, %p2, 0xffffffff;
  setp.gt.u32 %p2, %r1, 40;
  vote.sync.any.pred %p6, %p2, 0xffffffff;
  vote.sync.ballot.b32 %r4, !%p1, 0xffffffff;
  selp.u32 %r5, 1, 0, %p3;
  selp.u32 %r6, 1, 0, %p4;
  selp.u32 %r7, 1, 0, %p5;
  selp.u32 %r8, 1, 0, %p6;
  mul.wide.u32 %rd2, %r1, 32;
  add.u64 %rd1, %rd1, %rd2;
  st.global.v2.u32 [%rd1], {%r3, %r4};
  st.global.v4.u32 [%rd1+16], {%r5, %r6, %r7, %r8};
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  std::vector<uint32_t> out = runClean<uint32_t>(f, 32, 32 * 8);
  for (int lane = 0; lane < 32; ++lane) {
    const uint32_t *o = &out[lane * 8];
    // Ballot: bit i set for lanes with i % 3 == 0, and its complement for
    // the negated predicate.
    EXPECT_EQ(o[0], 0x49249249u);
    EXPECT_EQ(o[1], ~0x49249249u);
    EXPECT_EQ(o[4], 1u); // all of (lane < 32)
    EXPECT_EQ(o[5], 0u); // all of (lane != 5)
    EXPECT_EQ(o[6], 1u); // any of (lane == 31)
    EXPECT_EQ(o[7], 0u); // any of false
  }
}

//===----------------------------------------------------------------------===//
// cvt (PTX ISA, "Data Movement and Conversion Instructions: cvt"):
// rounding to bf16 and f16
//===----------------------------------------------------------------------===//

// One thread per input: the conversions of in[i] with each rounding
// modifier, as four .b16 results, then .rn.f16 .rz .rm .rp.
const char *kCvt16Kernel = R"PTX(
.visible .entry k(.param .u64 out, .param .u64 in)
{
  .reg .b16 %h<9>;
  .reg .b32 %r<4>;
  .reg .f32 %f<2>;
  .reg .b64 %rd<6>;
  ld.param.u64 %rd1, [out];
  ld.param.u64 %rd2, [in];
  cvta.to.global.u64 %rd1, %rd1;
  cvta.to.global.u64 %rd2, %rd2;
  mov.u32 %r1, %tid.x;
  mul.wide.u32 %rd3, %r1, 4;
  add.u64 %rd2, %rd2, %rd3;
  ld.global.f32 %f1, [%rd2];
  cvt.rn.bf16.f32 %h1, %f1;
  cvt.rz.bf16.f32 %h2, %f1;
  cvt.rm.bf16.f32 %h3, %f1;
  cvt.rp.bf16.f32 %h4, %f1;
  cvt.rn.f16.f32 %h5, %f1;
  cvt.rz.f16.f32 %h6, %f1;
  cvt.rm.f16.f32 %h7, %f1;
  cvt.rp.f16.f32 %h8, %f1;
  mul.wide.u32 %rd4, %r1, 16;
  add.u64 %rd1, %rd1, %rd4;
  st.global.v4.b16 [%rd1], {%h1, %h2, %h3, %h4};
  st.global.v4.b16 [%rd1+8], {%h5, %h6, %h7, %h8};
  ret;
}
)PTX";

TEST_F(PTXTest, CvtRoundingToBF16AndF16) {
  CUfunction f = load(module("sm_90", kCvt16Kernel));
  ASSERT_TRUE(f);
  // Expected bits by hand: bf16 keeps the top 16 bits of the f32, f16 has a
  // 10-bit mantissa (1 ulp at 1.0 is 2^-10, f32 mantissa bit 13; 1 + 2^-8
  // and 1 + 3 * 2^-8 are exact in f16). .rn is
  // round-to-nearest-even, .rz toward zero, .rm toward -inf, .rp toward
  // +inf; out-of-range .rn/.rp(.rm for negatives) round to infinity and
  // .rz to the largest finite value ("Rounding modifiers" table); NaN
  // becomes the canonical NaN 0x7fff.
  struct Case {
    uint32_t in;
    uint16_t bf[4], h[4]; // rn rz rm rp
  };
  const Case cases[] = {
      // 1 + 2^-8 + 2^-23: above bf16's halfway point 1 + 2^-8.
      {0x3f808001,
       {0x3f81, 0x3f80, 0x3f80, 0x3f81},
       {0x3c04, 0x3c04, 0x3c04, 0x3c05}},
      // 1 + 2^-8 exactly: a bf16 tie, even is 0x3f80.
      {0x3f808000,
       {0x3f80, 0x3f80, 0x3f80, 0x3f81},
       {0x3c04, 0x3c04, 0x3c04, 0x3c04}},
      // 1 + 3 * 2^-8: a tie between 0x3f81 and 0x3f82, even is 0x3f82.
      {0x3f818000,
       {0x3f82, 0x3f81, 0x3f81, 0x3f82},
       {0x3c0c, 0x3c0c, 0x3c0c, 0x3c0c}},
      // -(1 + 2^-8 + 2^-23): .rm rounds away from zero.
      {0xbf808001,
       {0xbf81, 0xbf80, 0xbf81, 0xbf80},
       {0xbc04, 0xbc04, 0xbc05, 0xbc04}},
      // 1 + 2^-11 + 2^-23: above f16's halfway point; 1 + 2^-11 a tie.
      {0x3f801001,
       {0x3f80, 0x3f80, 0x3f80, 0x3f81},
       {0x3c01, 0x3c00, 0x3c00, 0x3c01}},
      {0x3f801000,
       {0x3f80, 0x3f80, 0x3f80, 0x3f81},
       {0x3c00, 0x3c00, 0x3c00, 0x3c01}},
      // FLT_MAX: past bf16's largest finite 0x7f7f and f16's 0x7bff.
      {0x7f7fffff,
       {0x7f80, 0x7f7f, 0x7f7f, 0x7f80},
       {0x7c00, 0x7bff, 0x7bff, 0x7c00}},
      // -70000: f16 overflow on the negative side.
      {0xc788b800,
       {0xc789, 0xc788, 0xc789, 0xc788},
       {0xfc00, 0xfbff, 0xfc00, 0xfbff}},
      // 2^-25: half the smallest f16 subnormal, a tie to 0.
      {0x33000000,
       {0x3300, 0x3300, 0x3300, 0x3300},
       {0x0000, 0x0000, 0x0000, 0x0001}},
      // NaN: canonical.
      {0x7fc00001,
       {0x7fff, 0x7fff, 0x7fff, 0x7fff},
       {0x7fff, 0x7fff, 0x7fff, 0x7fff}},
      // -0 keeps its sign.
      {0x80000000,
       {0x8000, 0x8000, 0x8000, 0x8000},
       {0x8000, 0x8000, 0x8000, 0x8000}},
  };
  const unsigned n = sizeof(cases) / sizeof(cases[0]);
  std::vector<uint32_t> in;
  for (const Case &c : cases)
    in.push_back(c.in);
  std::vector<uint16_t> out = runClean<uint16_t>(f, n, n * 8, {upload(in)});
  const char *modes[] = {"rn", "rz", "rm", "rp"};
  for (unsigned i = 0; i < n; ++i)
    for (int m = 0; m < 4; ++m) {
      EXPECT_EQ(out[i * 8 + m], cases[i].bf[m])
          << std::hex << "cvt." << modes[m] << ".bf16.f32 of 0x" << cases[i].in;
      EXPECT_EQ(out[i * 8 + 4 + m], cases[i].h[m])
          << std::hex << "cvt." << modes[m] << ".f16.f32 of 0x" << cases[i].in;
    }
}

// "the value converted from input a is stored in the upper half of d and the
// value converted from input b is stored in the lower half" (cvt,
// .f16x2/.bf16x2).
TEST_F(PTXTest, CvtPackedFirstSourceInUpperHalf) {
  CUfunction f = load(module("sm_80", R"PTX(
.visible .entry k(.param .u64 out)
{
  .reg .b32 %r<4>;
  .reg .f32 %f<4>;
  .reg .b64 %rd<2>;
  ld.param.u64 %rd1, [out];
  cvta.to.global.u64 %rd1, %rd1;
  mov.f32 %f1, 0f3F800000;
  mov.f32 %f2, 0f40000000;
  mov.f32 %f3, 0f3F808001;
  cvt.rn.bf16x2.f32 %r1, %f1, %f2;
  cvt.rn.f16x2.f32 %r2, %f1, %f2;
  cvt.rn.bf16x2.f32 %r3, %f3, %f1;
  st.global.v2.b32 [%rd1], {%r1, %r2};
  st.global.b32 [%rd1+8], %r3;
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  std::vector<uint32_t> out = runClean<uint32_t>(f, 1, 3);
  EXPECT_EQ(out[0], 0x3f804000u); // {1.0, 2.0}: bf16 1.0 above 2.0
  EXPECT_EQ(out[1], 0x3c004000u); // f16 1.0 (0x3c00) above 2.0 (0x4000)
  EXPECT_EQ(out[2], 0x3f813f80u); // rounded up per half
}

// Float to integer (cvt, Semantics and "Saturation modifier"): the result
// is clamped to the destination's range by default and NaN converts to 0;
// .rni rounds ties to even.
TEST_F(PTXTest, CvtFloatToIntRoundingAndSaturation) {
  CUfunction f = load(module("sm_80", R"PTX(
.visible .entry k(.param .u64 out, .param .u64 in)
{
  .reg .b32 %r<8>;
  .reg .f32 %f<2>;
  .reg .b64 %rd<6>;
  ld.param.u64 %rd1, [out];
  ld.param.u64 %rd2, [in];
  cvta.to.global.u64 %rd1, %rd1;
  cvta.to.global.u64 %rd2, %rd2;
  mov.u32 %r1, %tid.x;
  mul.wide.u32 %rd3, %r1, 4;
  add.u64 %rd2, %rd2, %rd3;
  ld.global.f32 %f1, [%rd2];
  cvt.rni.s32.f32 %r2, %f1;
  cvt.rzi.s32.f32 %r3, %f1;
  cvt.rmi.s32.f32 %r4, %f1;
  cvt.rpi.s32.f32 %r5, %f1;
  cvt.rzi.u32.f32 %r6, %f1;
  cvt.rni.u8.f32 %r7, %f1;
  mul.wide.u32 %rd4, %r1, 32;
  add.u64 %rd1, %rd1, %rd4;
  st.global.v4.b32 [%rd1], {%r2, %r3, %r4, %r5};
  st.global.v2.b32 [%rd1+16], {%r6, %r7};
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  const float nan = std::nanf("");
  struct Case {
    float in;
    uint32_t rni, rzi, rmi, rpi, u32rzi, u8rni;
  };
  const Case cases[] = {
      {2.5f, 2, 2, 2, 3, 2, 2},
      {3.5f, 4, 3, 3, 4, 3, 4},
      {-2.5f, uint32_t(-2), uint32_t(-2), uint32_t(-3), uint32_t(-2), 0, 0},
      {-1.7f, uint32_t(-2), uint32_t(-1), uint32_t(-2), uint32_t(-1), 0, 0},
      {3e9f, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 3000000000u, 255},
      {-3e9f, 0x80000000, 0x80000000, 0x80000000, 0x80000000, 0, 0},
      {5e9f, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0xffffffff, 255},
      {INFINITY, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0xffffffff,
       255},
      {-INFINITY, 0x80000000, 0x80000000, 0x80000000, 0x80000000, 0, 0},
      {nan, 0, 0, 0, 0, 0, 0},
      {255.5f, 256, 255, 255, 256, 255, 255},
  };
  const unsigned n = sizeof(cases) / sizeof(cases[0]);
  std::vector<float> in;
  for (const Case &c : cases)
    in.push_back(c.in);
  std::vector<uint32_t> out = runClean<uint32_t>(f, n, n * 8, {upload(in)});
  for (unsigned i = 0; i < n; ++i) {
    const uint32_t *o = &out[i * 8];
    SCOPED_TRACE(testing::Message() << "input " << cases[i].in);
    EXPECT_EQ(o[0], cases[i].rni);
    EXPECT_EQ(o[1], cases[i].rzi);
    EXPECT_EQ(o[2], cases[i].rmi);
    EXPECT_EQ(o[3], cases[i].rpi);
    EXPECT_EQ(o[4], cases[i].u32rzi);
    // An 8-bit result in a .b32 register: the value, zero-extended.
    EXPECT_EQ(o[5], cases[i].u8rni);
  }
}

//===----------------------------------------------------------------------===//
// min/max ("Floating Point Instructions"), setp and selp ("Comparison and
// Selection Instructions")
//===----------------------------------------------------------------------===//

TEST_F(PTXTest, MinMaxNaN) {
  CUfunction f = load(module("sm_80", R"PTX(
.visible .entry k(.param .u64 out)
{
  .reg .f32 %f<12>;
  .reg .b64 %rd<2>;
  ld.param.u64 %rd1, [out];
  cvta.to.global.u64 %rd1, %rd1;
  mov.f32 %f1, 0f7FC00000;
  mov.f32 %f2, 0f3F800000;
  mov.f32 %f3, 0fC0000000;
  min.f32 %f4, %f1, %f2;
  max.f32 %f5, %f2, %f1;
  min.NaN.f32 %f6, %f1, %f2;
  max.NaN.f32 %f7, %f2, %f1;
  min.f32 %f8, %f1, %f1;
  min.f32 %f9, %f2, %f3;
  max.NaN.f32 %f10, %f2, %f3;
  st.global.v4.f32 [%rd1], {%f4, %f5, %f6, %f7};
  st.global.v4.f32 [%rd1+16], {%f8, %f9, %f10, %f10};
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  std::vector<uint32_t> out = runClean<uint32_t>(f, 1, 8);
  // min/max Semantics: a NaN input yields the other (non-NaN) operand;
  // with .NaN, any NaN input yields the canonical NaN 0x7fffffff; both NaN
  // gives NaN.
  EXPECT_EQ(out[0], 0x3f800000u);
  EXPECT_EQ(out[1], 0x3f800000u);
  EXPECT_EQ(out[2], 0x7fffffffu);
  EXPECT_EQ(out[3], 0x7fffffffu);
  EXPECT_TRUE(std::isnan(bitsF32(out[4])));
  EXPECT_EQ(out[5], 0xc0000000u); // min(1, -2)
  EXPECT_EQ(out[6], 0x3f800000u); // max.NaN(1, -2)
}

TEST_F(PTXTest, SetpOrderedUnorderedAndSelp) {
  CUfunction f = load(module("sm_80", R"PTX(
.visible .entry k(.param .u64 out)
{
  .reg .pred %p<16>;
  .reg .f32 %f<4>;
  .reg .b32 %r<20>;
  .reg .b64 %rd<2>;
  ld.param.u64 %rd1, [out];
  cvta.to.global.u64 %rd1, %rd1;
  mov.f32 %f1, 0f7FC00000;
  mov.f32 %f2, 0f3F800000;
  setp.lt.f32 %p1, %f1, %f2;
  setp.ltu.f32 %p2, %f1, %f2;
  setp.ge.f32 %p3, %f1, %f2;
  setp.geu.f32 %p4, %f1, %f2;
  setp.eq.f32 %p5, %f1, %f1;
  setp.equ.f32 %p6, %f1, %f1;
  setp.ne.f32 %p7, %f1, %f2;
  setp.neu.f32 %p8, %f1, %f2;
  setp.num.f32 %p9, %f1, %f2;
  setp.nan.f32 %p10, %f1, %f2;
  setp.ltu.f32 %p11, %f2, %f2;
  mov.b32 %r17, -1;
  setp.lt.s32 %p12|%p13, %r17, 1;
  setp.lt.u32 %p14, %r17, 1;
  selp.u32 %r1, 1, 0, %p1;
  selp.u32 %r2, 1, 0, %p2;
  selp.u32 %r3, 1, 0, %p3;
  selp.u32 %r4, 1, 0, %p4;
  selp.u32 %r5, 1, 0, %p5;
  selp.u32 %r6, 1, 0, %p6;
  selp.u32 %r7, 1, 0, %p7;
  selp.u32 %r8, 1, 0, %p8;
  selp.u32 %r9, 1, 0, %p9;
  selp.u32 %r10, 1, 0, %p10;
  selp.u32 %r11, 1, 0, %p11;
  selp.u32 %r12, 1, 0, %p12;
  selp.u32 %r13, 1, 0, %p13;
  selp.u32 %r14, 1, 0, %p14;
  selp.b32 %r15, 111, 222, %p2;
  selp.b32 %r16, 111, 222, !%p2;
  st.global.v4.u32 [%rd1], {%r1, %r2, %r3, %r4};
  st.global.v4.u32 [%rd1+16], {%r5, %r6, %r7, %r8};
  st.global.v4.u32 [%rd1+32], {%r9, %r10, %r11, %r12};
  st.global.v4.u32 [%rd1+48], {%r13, %r14, %r15, %r16};
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  std::vector<uint32_t> out = runClean<uint32_t>(f, 1, 16);
  // setp's "Floating-point comparison operators" table: the ordered operators
  // are false when either operand is NaN, the unordered (..u) ones true;
  // num/nan test for NaN. p|q writes the complement to q. .u32 compares -1 as
  // 0xffffffff.
  const uint32_t expected[16] = {0, 1, 0, 1, 0, 1, 0,   1,
                                 0, 1, 0, 1, 0, 0, 111, 222};
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(out[i], expected[i]) << "result " << i;
}

//===----------------------------------------------------------------------===//
// Integer arithmetic, bit fields ("Integer Arithmetic Instructions"),
// shifts and prmt ("Logic and Shift Instructions", "Data Movement...")
//===----------------------------------------------------------------------===//

TEST_F(PTXTest, IntegerMulShiftBfePrmt) {
  CUfunction f = load(module("sm_80", R"PTX(
.visible .entry k(.param .u64 out)
{
  .reg .b32 %r<32>;
  .reg .b64 %rd<8>;
  ld.param.u64 %rd1, [out];
  cvta.to.global.u64 %rd1, %rd1;
  mov.b32 %r1, 0x80000000;
  mul.hi.s32 %r2, %r1, 3;
  mul.hi.u32 %r3, %r1, 3;
  mov.b32 %r4, 0xffffffff;
  mul.wide.u32 %rd2, %r4, %r4;
  mov.b32 %r26, -2;
  mul.wide.s32 %rd3, %r26, 3;
  mov.b32 %r5, 0x10000;
  mad.lo.s32 %r6, %r5, %r5, 5;
  mad.hi.u32 %r7, %r4, %r4, 1;
  mov.b32 %r8, 0x80000010;
  shr.s32 %r9, %r8, 4;
  shr.u32 %r10, %r8, 4;
  shr.b32 %r11, %r8, 4;
  shr.s32 %r12, %r8, 40;
  shr.u32 %r13, %r8, 40;
  shl.b32 %r14, %r8, 33;
  bfe.u32 %r15, %r1, 28, 8;
  bfe.s32 %r16, %r1, 28, 8;
  mov.b32 %r17, 0x0000f0a0;
  bfe.s32 %r18, %r17, 4, 4;
  bfe.u32 %r19, %r17, 4, 4;
  bfe.s32 %r20, %r17, 4, 0;
  mov.b32 %r21, 0x33221100;
  mov.b32 %r22, 0x77665544;
  prmt.b32 %r23, %r21, %r22, 0x5140;
  mov.b32 %r24, 0xf3221100;
  prmt.b32 %r25, %r24, %r22, 0x0b10;
  st.global.v4.b32 [%rd1], {%r2, %r3, %r6, %r7};
  st.global.v2.b64 [%rd1+16], {%rd2, %rd3};
  st.global.v4.b32 [%rd1+32], {%r9, %r10, %r11, %r12};
  st.global.v4.b32 [%rd1+48], {%r13, %r14, %r15, %r16};
  st.global.v4.b32 [%rd1+64], {%r18, %r19, %r20, %r23};
  st.global.b32 [%rd1+80], %r25;
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  std::vector<uint32_t> out = runClean<uint32_t>(f, 1, 21);
  // mul.hi: the upper 32 bits of the 64-bit product.
  EXPECT_EQ(out[0], 0xfffffffeu); // -2^31 * 3 = 0xfffffffe_80000000
  EXPECT_EQ(out[1], 1u);          // 2^31 * 3 = 0x1_80000000
  EXPECT_EQ(out[2], 5u);          // mad.lo: 2^32 + 5, low half
  EXPECT_EQ(out[3], 0xffffffffu); // mad.hi: hi(0xfffffffe_00000001) + 1
  // mul.wide: the full 64-bit product.
  uint64_t wideU = uint64_t(out[4]) | uint64_t(out[5]) << 32;
  uint64_t wideS = uint64_t(out[6]) | uint64_t(out[7]) << 32;
  EXPECT_EQ(wideU, 0xfffffffe00000001ull);
  EXPECT_EQ(wideS, uint64_t(-6));
  // shr: .s32 shifts in the sign, .u32/.b32 zeros; shift amounts
  // past the width are clamped to it (sign fill / zero).
  EXPECT_EQ(out[8], 0xf8000001u);
  EXPECT_EQ(out[9], 0x08000001u);
  EXPECT_EQ(out[10], 0x08000001u);
  EXPECT_EQ(out[11], 0xffffffffu);
  EXPECT_EQ(out[12], 0u);
  EXPECT_EQ(out[13], 0u); // shl by 33
  // bfe (Semantics): bits past the msb read as the sign bit
  // (a[min(pos+len-1, msb)]) for .s32 and as zero for .u32.
  EXPECT_EQ(out[14], 0x8u);
  EXPECT_EQ(out[15], 0xfffffff8u);
  EXPECT_EQ(out[16], 0xfffffffau); // field 0xa, sign bit 3 set
  EXPECT_EQ(out[17], 0xau);
  EXPECT_EQ(out[18], 0u); // len 0: zero
  // prmt, default mode: selector nibbles pick bytes of {b, a}
  // (a is bytes 0-3); a nibble with bit 3 set replicates the byte's sign.
  EXPECT_EQ(out[19], 0x55114400u);
  EXPECT_EQ(out[20], 0x00ff1100u);
}

//===----------------------------------------------------------------------===//
// ld/st vectors ("Data Movement and Conversion Instructions: ld, st")
//===----------------------------------------------------------------------===//

TEST_F(PTXTest, VectorLoadsAndStores) {
  CUfunction f = load(module("sm_80", R"PTX(
.visible .entry k(.param .u64 out, .param .u64 in)
{
  .reg .b32 %r<8>;
  .reg .f32 %f<4>;
  .reg .b16 %h<4>;
  .reg .b64 %rd<4>;
  ld.param.u64 %rd1, [out];
  ld.param.u64 %rd2, [in];
  cvta.to.global.u64 %rd1, %rd1;
  cvta.to.global.u64 %rd2, %rd2;
  ld.global.v4.u32 {%r1, %r2, %r3, %r4}, [%rd2];
  st.global.v4.u32 [%rd1], {%r4, %r3, %r2, %r1};
  ld.global.v2.f32 {%f1, %f2}, [%rd2+16];
  st.global.v2.f32 [%rd1+16], {%f2, %f1};
  ld.global.v2.u16 {%h1, %h2}, [%rd2+24];
  st.global.v2.u16 [%rd1+24], {%h2, %h1};
  ld.global.v2.s16 {%r5, %r6}, [%rd2+24];
  st.global.v2.u32 [%rd1+32], {%r5, %r6};
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  std::vector<uint32_t> in = {
      1, 2, 3, 4, f32Bits(1.5f), f32Bits(-2.5f), 0x8001fffe, 0};
  std::vector<uint32_t> out = runClean<uint32_t>(f, 1, 10, {upload(in)});
  EXPECT_EQ(out[0], 4u);
  EXPECT_EQ(out[1], 3u);
  EXPECT_EQ(out[2], 2u);
  EXPECT_EQ(out[3], 1u);
  EXPECT_EQ(bitsF32(out[4]), -2.5f);
  EXPECT_EQ(bitsF32(out[5]), 1.5f);
  EXPECT_EQ(out[6], 0xfffe8001u); // the two halves swapped
  // ld.s16 into a 32-bit register sign-extends ("Operand Size Exceeding
  // Instruction-Type Size": signed types extend by sign).
  EXPECT_EQ(out[8], 0xfffffffeu);
  EXPECT_EQ(out[9], 0xffff8001u);
}

//===----------------------------------------------------------------------===//
// atom, bar.sync ("Parallel Synchronization and Communication
// Instructions")
//===----------------------------------------------------------------------===//

TEST_F(PTXTest, AtomicsGlobalAndShared) {
  CUfunction f = load(module("sm_80", R"PTX(
.shared .align 4 .u32 counter;
.visible .entry k(.param .u64 out, .param .u64 cell)
{
  .reg .pred %p<2>;
  .reg .b32 %r<8>;
  .reg .b64 %rd<6>;
  ld.param.u64 %rd1, [out];
  ld.param.u64 %rd2, [cell];
  cvta.to.global.u64 %rd1, %rd1;
  cvta.to.global.u64 %rd2, %rd2;
  mov.u32 %r1, %tid.x;
  setp.eq.u32 %p1, %r1, 0;
  @%p1 st.shared.u32 [counter], 100;
  bar.sync 0;
  atom.global.add.u32 %r2, [%rd2], 1;
  atom.shared.add.u32 %r3, [counter], %r1;
  mul.wide.u32 %rd3, %r1, 4;
  add.u64 %rd4, %rd1, %rd3;
  st.global.u32 [%rd4+16], %r2;
  bar.sync 0;
  @%p1 ld.shared.u32 %r4, [counter];
  @%p1 st.global.u32 [%rd1], %r4;
  @%p1 atom.global.cas.b32 %r5, [%rd2+4], 5, 9;
  @%p1 atom.global.cas.b32 %r6, [%rd2+4], 5, 7;
  @%p1 st.global.v2.u32 [%rd1+8], {%r5, %r6};
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  CUdeviceptr cell = upload(std::vector<uint32_t>{0, 5});
  std::vector<uint32_t> out = runClean<uint32_t>(f, 64, 4 + 64, {cell});
  std::vector<uint32_t> cells = download<uint32_t>(cell, 2);
  // atom.add returns the old value: the 64 returns are 0..63 in some order.
  std::vector<uint32_t> olds(out.begin() + 4, out.end());
  std::sort(olds.begin(), olds.end());
  for (uint32_t i = 0; i < 64; ++i)
    EXPECT_EQ(olds[i], i);
  EXPECT_EQ(cells[0], 64u);
  EXPECT_EQ(out[0], 100u + 63 * 64 / 2); // shared: 100 + sum of tids
  // atom.cas stores c when the old value equals b, and returns the old
  // value.
  EXPECT_EQ(out[2], 5u);
  EXPECT_EQ(out[3], 9u);
  EXPECT_EQ(cells[1], 9u);
}

TEST_F(PTXTest, BarSyncOrdersSharedMemory) {
  CUfunction f = load(module("sm_80", R"PTX(
.shared .align 4 .b32 buf[128];
.visible .entry k(.param .u64 out)
{
  .reg .b32 %r<8>;
  .reg .b64 %rd<4>;
  ld.param.u64 %rd1, [out];
  cvta.to.global.u64 %rd1, %rd1;
  mov.u32 %r1, %tid.x;
  mul.lo.u32 %r2, %r1, 7;
  mov.u32 %r3, buf;
  shl.b32 %r4, %r1, 2;
  add.u32 %r5, %r3, %r4;
  st.shared.u32 [%r5], %r2;
  bar.sync 0;
  add.u32 %r6, %r1, 37;
  rem.u32 %r6, %r6, 128;
  shl.b32 %r6, %r6, 2;
  add.u32 %r6, %r3, %r6;
  ld.shared.u32 %r7, [%r6];
  mul.wide.u32 %rd2, %r1, 4;
  add.u64 %rd1, %rd1, %rd2;
  st.global.u32 [%rd1], %r7;
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  std::vector<uint32_t> out = runClean<uint32_t>(f, 128, 128);
  for (uint32_t t = 0; t < 128; ++t)
    EXPECT_EQ(out[t], (t + 37) % 128 * 7) << "thread " << t;
}

//===----------------------------------------------------------------------===//
// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (9.7.14.5.14)
//===----------------------------------------------------------------------===//

// Fragments of 9.7.14.5.8 "Matrix Fragments for mma.m16n8k16 with floating
// point type" (groupID = lane >> 2, threadID_in_group = lane % 4; register
// j holds elements 2j (low half) and 2j+1):
//   A: row = groupID (+8 for a2,a3,a6,a7), col = 2 tig + (i & 1) (+8 i >= 4)
//   B: row = 2 tig + (i & 1) (+8 for i >= 2), col = groupID
//   C/D: row = groupID (+8 for i >= 2), col = 2 tig + (i & 1)
void aPos(int lane, int i, int &row, int &col) {
  row = (lane >> 2) + ((i == 2 || i == 3 || i == 6 || i == 7) ? 8 : 0);
  col = (lane % 4) * 2 + (i & 1) + (i >= 4 ? 8 : 0);
}
void bPos(int lane, int i, int &row, int &col) {
  row = (lane % 4) * 2 + (i & 1) + (i >= 2 ? 8 : 0);
  col = lane >> 2;
}
void cPos(int lane, int i, int &row, int &col) {
  row = (lane >> 2) + (i >= 2 ? 8 : 0);
  col = (lane % 4) * 2 + (i & 1);
}

TEST_F(PTXTest, MmaSyncM16N8K16BF16Fragments) {
  CUfunction f = load(module("sm_80", R"PTX(
.visible .entry k(.param .u64 out, .param .u64 a, .param .u64 b,
                  .param .u64 c)
{
  .reg .b32 %r<8>;
  .reg .f32 %f<12>;
  .reg .b64 %rd<12>;
  ld.param.u64 %rd1, [out];
  ld.param.u64 %rd2, [a];
  ld.param.u64 %rd3, [b];
  ld.param.u64 %rd4, [c];
  cvta.to.global.u64 %rd1, %rd1;
  cvta.to.global.u64 %rd2, %rd2;
  cvta.to.global.u64 %rd3, %rd3;
  cvta.to.global.u64 %rd4, %rd4;
  mov.u32 %r1, %laneid;
  mul.wide.u32 %rd5, %r1, 16;
  mul.wide.u32 %rd6, %r1, 8;
  add.u64 %rd2, %rd2, %rd5;
  add.u64 %rd3, %rd3, %rd6;
  add.u64 %rd4, %rd4, %rd5;
  add.u64 %rd1, %rd1, %rd5;
  ld.global.v4.b32 {%r2, %r3, %r4, %r5}, [%rd2];
  ld.global.v2.b32 {%r6, %r7}, [%rd3];
  ld.global.v4.f32 {%f1, %f2, %f3, %f4}, [%rd4];
  mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
      {%f5, %f6, %f7, %f8}, {%r2, %r3, %r4, %r5}, {%r6, %r7},
      {%f1, %f2, %f3, %f4};
  st.global.v4.f32 [%rd1], {%f5, %f6, %f7, %f8};
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  // Small integers: every product and sum is exact in f32.
  float A[16][16], B[16][8], C[16][8];
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 16; ++k)
      A[i][k] = float((i * 16 + k * 3) % 7 - 3);
  for (int k = 0; k < 16; ++k)
    for (int j = 0; j < 8; ++j)
      B[k][j] = float((k * 5 + j * 2) % 9 - 4);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j)
      C[i][j] = float(i * 8 + j) * 0.5f;
  std::vector<uint32_t> a(32 * 4, 0), b(32 * 2, 0);
  std::vector<float> c(32 * 4);
  for (int lane = 0; lane < 32; ++lane) {
    for (int i = 0; i < 8; ++i) {
      int r, k;
      aPos(lane, i, r, k);
      a[lane * 4 + i / 2] |= uint32_t(bf16(A[r][k])) << (16 * (i & 1));
    }
    for (int i = 0; i < 4; ++i) {
      int k, n;
      bPos(lane, i, k, n);
      b[lane * 2 + i / 2] |= uint32_t(bf16(B[k][n])) << (16 * (i & 1));
    }
    for (int i = 0; i < 4; ++i) {
      int r, n;
      cPos(lane, i, r, n);
      c[lane * 4 + i] = C[r][n];
    }
  }
  std::vector<float> d =
      runClean<float>(f, 32, 32 * 4, {upload(a), upload(b), upload(c)});
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      int r, n;
      cPos(lane, i, r, n);
      float want = C[r][n];
      for (int k = 0; k < 16; ++k)
        want += A[r][k] * B[k][n];
      EXPECT_EQ(d[lane * 4 + i], want) << "lane " << lane << " d" << i;
    }
  // Spelled out: lane 5 (groupID 1, tig 1) holds D[1][2], D[1][3], D[9][2],
  // D[9][3].
  float d92 = C[9][2];
  for (int k = 0; k < 16; ++k)
    d92 += A[9][k] * B[k][2];
  EXPECT_EQ(d[5 * 4 + 2], d92);
}

//===----------------------------------------------------------------------===//
// ldmatrix (9.7.14.5.15)
//===----------------------------------------------------------------------===//

// 512 bytes of shared memory: four 8x8 .b16 matrices, element (m, r, c) =
// m * 64 + r * 8 + c. Lane l supplies the address of row l % 8 of matrix
// l / 8, but in reverse order (row 7 - l % 8 as stored), so that the
// result shows which lane's address each row came from.
std::string ldmatrixKernel(const char *shape) {
  return std::string(R"PTX(
.shared .align 16 .b8 tile[512];
.visible .entry k(.param .u64 out, .param .u64 in)
{
  .reg .b32 %r<16>;
  .reg .b64 %rd<6>;
  ld.param.u64 %rd1, [out];
  ld.param.u64 %rd2, [in];
  cvta.to.global.u64 %rd1, %rd1;
  cvta.to.global.u64 %rd2, %rd2;
  mov.u32 %r1, %laneid;
  mul.wide.u32 %rd3, %r1, 16;
  add.u64 %rd4, %rd2, %rd3;
  ld.global.v4.b32 {%r2, %r3, %r4, %r5}, [%rd4];
  mov.u32 %r6, tile;
  shl.b32 %r7, %r1, 4;
  add.u32 %r7, %r6, %r7;
  st.shared.v4.b32 [%r7], {%r2, %r3, %r4, %r5};
  bar.sync 0;
  shr.u32 %r8, %r1, 3;
  and.b32 %r9, %r1, 7;
  sub.u32 %r9, 7, %r9;
  shl.b32 %r8, %r8, 7;
  shl.b32 %r9, %r9, 4;
  add.u32 %r8, %r8, %r9;
  add.u32 %r8, %r6, %r8;
  mov.u32 %r10, 0;
  mov.u32 %r11, 0;
  mov.u32 %r12, 0;
  mov.u32 %r13, 0;
  )PTX") +
         shape + R"PTX(
  add.u64 %rd1, %rd1, %rd3;
  st.global.v4.b32 [%rd1], {%r10, %r11, %r12, %r13};
  ret;
}
)PTX";
}

void checkLdmatrix(const std::vector<uint32_t> &out, int count, bool trans) {
  auto stored = [](int m, int r, int c) {
    return uint32_t(m * 64 + (7 - r) * 8 + c); // row r came from row 7 - r
  };
  for (int lane = 0; lane < 32; ++lane)
    for (int m = 0; m < 4; ++m) {
      uint32_t want = 0;
      if (m < count) {
        // Lane l receives row l / 4, elements 2 (l % 4) and + 1 (Figure
        // "ldmatrix fragment layout for one 8x8 Matrix with 16-bit
        // elements"); .trans swaps rows and columns.
        int g = lane / 4, p = 2 * (lane % 4);
        uint32_t lo = trans ? stored(m, p, g) : stored(m, g, p);
        uint32_t hi = trans ? stored(m, p + 1, g) : stored(m, g, p + 1);
        want = lo | hi << 16;
      }
      EXPECT_EQ(out[lane * 4 + m], want)
          << "x" << count << (trans ? ".trans" : "") << " lane " << lane
          << " matrix " << m;
    }
}

TEST_F(PTXTest, LdmatrixShapesAndTrans) {
  std::vector<uint16_t> tile(256);
  for (int i = 0; i < 256; ++i)
    tile[i] = uint16_t(i);
  struct Case {
    int count;
    bool trans;
    const char *inst;
  };
  const Case cases[] = {
      {1, false, "ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%r10}, [%r8];"},
      {2, false,
       "ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%r10, %r11}, [%r8];"},
      {4, false,
       "ldmatrix.sync.aligned.m8n8.x4.shared.b16 "
       "{%r10, %r11, %r12, %r13}, [%r8];"},
      {1, true,
       "ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%r10}, [%r8];"},
      {2, true,
       "ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 "
       "{%r10, %r11}, [%r8];"},
      {4, true,
       "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 "
       "{%r10, %r11, %r12, %r13}, [%r8];"},
  };
  for (const Case &c : cases) {
    CUfunction f = load(module("sm_80", ldmatrixKernel(c.inst).c_str()));
    ASSERT_TRUE(f);
    checkLdmatrix(runClean<uint32_t>(f, 32, 128, {upload(tile)}), c.count,
                  c.trans);
  }
}

//===----------------------------------------------------------------------===//
// cp.async (9.7.9.25)
//===----------------------------------------------------------------------===//

// Three groups of one 16-byte copy each; after cp.async.wait_group 2 only
// the first is complete (wait_group N waits until N or fewer of the most
// recent groups are pending), after wait_group 0 all. The third copies
// only 4 of its 16 bytes (src-size).
TEST_F(PTXTest, CpAsyncGroupsAndZeroFill) {
  CUfunction f = load(module("sm_80", R"PTX(
.shared .align 16 .b8 buf[48];
.visible .entry k(.param .u64 out, .param .u64 in)
{
  .reg .b32 %r<16>;
  .reg .b64 %rd<4>;
  ld.param.u64 %rd1, [out];
  ld.param.u64 %rd2, [in];
  cvta.to.global.u64 %rd1, %rd1;
  cvta.to.global.u64 %rd2, %rd2;
  mov.u32 %r1, buf;
  cp.async.cg.shared.global [%r1], [%rd2], 16;
  cp.async.commit_group;
  cp.async.cg.shared.global [%r1+16], [%rd2+16], 16;
  cp.async.commit_group;
  cp.async.cg.shared.global [%r1+32], [%rd2+32], 16, 4;
  cp.async.commit_group;
  cp.async.wait_group 2;
  ld.shared.v4.b32 {%r2, %r3, %r4, %r5}, [%r1];
  st.global.v4.b32 [%rd1], {%r2, %r3, %r4, %r5};
  cp.async.wait_group 0;
  ld.shared.v4.b32 {%r2, %r3, %r4, %r5}, [%r1+16];
  st.global.v4.b32 [%rd1+16], {%r2, %r3, %r4, %r5};
  ld.shared.v4.b32 {%r2, %r3, %r4, %r5}, [%r1+32];
  st.global.v4.b32 [%rd1+32], {%r2, %r3, %r4, %r5};
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  std::vector<uint32_t> in(12);
  for (uint32_t i = 0; i < 12; ++i)
    in[i] = 0x11111111u * (i + 1);
  std::vector<uint32_t> out = runClean<uint32_t>(f, 1, 12, {upload(in)});
  for (int i = 0; i < 9; ++i)
    EXPECT_EQ(out[i], in[i]) << "word " << i;
  // src-size 4 < cp-size 16: the remaining 12 bytes are zero-filled.
  EXPECT_EQ(out[8], in[8]);
  EXPECT_EQ(out[9], 0u);
  EXPECT_EQ(out[10], 0u);
  EXPECT_EQ(out[11], 0u);
}

//===----------------------------------------------------------------------===//
// wgmma.mma_async (9.7.15), sm_90a
//===----------------------------------------------------------------------===//

/// A matrix descriptor (9.7.15.5.1.2.2 "Matrix Descriptor Format") without
/// the start address: LBO in bits 29-16, SBO in 45-32, each encoded as
/// (x & 0x3FFFF) >> 4; swizzle (63-62) and base offset (51-49) zero.
uint64_t descriptorBits(uint32_t lbo, uint32_t sbo) {
  return uint64_t((lbo & 0x3ffff) >> 4) << 16 | uint64_t((sbo & 0x3ffff) >> 4)
                                                    << 32;
}

/// Byte offset of element (mn, k) in the no-swizzle canonical layouts of
/// 9.7.15.5.1.2.1.3 (T = 8 bf16 per 16 bytes; strides in bytes here):
///   K-major:  ((8,m),(T,2k)):((1T,SBO),(1,LBO))
///   MN-major: ((T,1,m),(8,k)):((1,T,SBO),(1T,LBO))
uint32_t canonicalOffset(bool mnMajor, int mn, int k, uint32_t lbo,
                         uint32_t sbo) {
  if (!mnMajor)
    return (mn % 8) * 16 + (mn / 8) * sbo + (k % 8) * 2 + (k / 8) * lbo;
  return (mn % 8) * 2 + (mn / 8) * sbo + (k % 8) * 16 + (k / 8) * lbo;
}

/// A wgmma kernel over one warpgroup: copies `bytes` of the shared image
/// from `in` to shared memory (A at offset 0, B at `bOffset`), builds the
/// descriptors from the shared address at run time, initializes the n/2
/// accumulators to 1.0, runs one wgmma with the given trans flags and
/// stores each thread's accumulators to out[thread][...].
std::string wgmmaKernel(int n, unsigned bytes, unsigned bOffset, uint64_t aBits,
                        uint64_t bBits, int transA, int transB,
                        const char *betweenFenceAndMma = "") {
  std::string regs, init;
  for (int i = 0; i < n / 2; ++i) {
    regs += (i ? ", %d" : "%d") + std::to_string(i);
    init += "  mov.f32 %d" + std::to_string(i) + ", 0f3F800000;\n";
  }
  std::string stores;
  for (int i = 0; i < n / 2; ++i)
    stores += "  st.global.f32 [%rd1+" + std::to_string(4 * i) + "], %d" +
              std::to_string(i) + ";\n";
  std::string s = R"PTX(
.shared .align 128 .b8 smem[)PTX" +
                  std::to_string(bytes) + R"PTX(];
.visible .entry k(.param .u64 out, .param .u64 in)
{
  .reg .pred %p<2>;
  .reg .b32 %r<16>;
  .reg .f32 %d<)PTX" +
                  std::to_string(n / 2) + R"PTX(>;
  .reg .b64 %rd<12>;
  ld.param.u64 %rd1, [out];
  ld.param.u64 %rd2, [in];
  cvta.to.global.u64 %rd1, %rd1;
  cvta.to.global.u64 %rd2, %rd2;
  mov.u32 %r1, %tid.x;
  mov.u32 %r2, smem;
  mov.u32 %r3, %r1;
COPY:
  setp.ge.u32 %p1, %r3, )PTX" +
                  std::to_string(bytes / 16) + R"PTX(;
  @%p1 bra COPIED;
  mul.wide.u32 %rd3, %r3, 16;
  add.u64 %rd4, %rd2, %rd3;
  ld.global.v4.b32 {%r4, %r5, %r6, %r7}, [%rd4];
  shl.b32 %r8, %r3, 4;
  add.u32 %r8, %r2, %r8;
  st.shared.v4.b32 [%r8], {%r4, %r5, %r6, %r7};
  add.u32 %r3, %r3, 128;
  bra COPY;
COPIED:
  fence.proxy.async.shared::cta;
  bar.sync 0;
  shr.u32 %r9, %r2, 4;
  and.b32 %r9, %r9, 0x3fff;
  cvt.u64.u32 %rd5, %r9;
  or.b64 %rd6, %rd5, )PTX" +
                  std::to_string(aBits) + R"PTX(;
  add.u32 %r10, %r2, )PTX" +
                  std::to_string(bOffset) + R"PTX(;
  shr.u32 %r10, %r10, 4;
  and.b32 %r10, %r10, 0x3fff;
  cvt.u64.u32 %rd7, %r10;
  or.b64 %rd8, %rd7, )PTX" +
                  std::to_string(bBits) + R"PTX(;
)PTX" + init + R"PTX(
  setp.lt.u32 %p1, %r1, 128;
  wgmma.fence.sync.aligned;
)PTX" + betweenFenceAndMma +
                  R"PTX(
  wgmma.mma_async.sync.aligned.m64n)PTX" +
                  std::to_string(n) + R"PTX(k16.f32.bf16.bf16 {)PTX" + regs +
                  R"PTX(},
      %rd6, %rd8, %p1, 1, 1, )PTX" +
                  std::to_string(transA) + ", " + std::to_string(transB) +
                  R"PTX(;
  wgmma.commit_group.sync.aligned;
  wgmma.wait_group.sync.aligned 0;
  mul.wide.u32 %rd9, %r1, )PTX" +
                  std::to_string(2 * n) + R"PTX(;
  add.u64 %rd1, %rd1, %rd9;
)PTX" + stores + R"PTX(  ret;
}
)PTX";
  return s;
}

struct WgmmaShape {
  int n;
  bool mnMajorA, mnMajorB;
  uint32_t lboA, sboA, lboB, sboB;
};

/// Builds A (64x16) and B (16xN) of small integers in the layouts `s`
/// describes, runs the kernel and compares every accumulator with
/// 1 + A * B. D's fragment (9.7.15.5.1.1.1, Figure "WGMMA .m64nNk16
/// register fragment layout for accumulator matrix D"): thread t, warp
/// w = t / 32, lane l holds d_i at row 16 w + l / 4 + 8 ((i / 2) % 2),
/// column 8 (i / 4) + 2 (l % 4) + (i % 2).
class WgmmaTest : public PTXTest {
protected:
  void check(const WgmmaShape &s) {
    const int n = s.n;
    unsigned aBytes = 64 * 16 * 2, bBytes = n * 16 * 2;
    unsigned bytes = std::max(aBytes, bBytes) * 2; // room for the strides
    unsigned bOffset = bytes / 2;
    std::vector<uint8_t> image(bytes, 0);
    float A[64][16], B[16][256];
    for (int m = 0; m < 64; ++m)
      for (int k = 0; k < 16; ++k)
        A[m][k] = float((m * 3 + k * 5) % 7 - 3);
    for (int k = 0; k < 16; ++k)
      for (int j = 0; j < n; ++j)
        B[k][j] = float((k * 7 + j * 3) % 5 - 2);
    auto put = [&](uint32_t offset, float v) {
      ASSERT_LT(offset + 1, bytes);
      uint16_t h = bf16(v);
      std::memcpy(&image[offset], &h, 2);
    };
    for (int m = 0; m < 64; ++m)
      for (int k = 0; k < 16; ++k)
        put(canonicalOffset(s.mnMajorA, m, k, s.lboA, s.sboA), A[m][k]);
    for (int j = 0; j < n; ++j)
      for (int k = 0; k < 16; ++k)
        put(bOffset + canonicalOffset(s.mnMajorB, j, k, s.lboB, s.sboB),
            B[k][j]);
    CUfunction f = load(module(
        "sm_90a",
        wgmmaKernel(n, bytes, bOffset, descriptorBits(s.lboA, s.sboA),
                    descriptorBits(s.lboB, s.sboB), s.mnMajorA, s.mnMajorB)
            .c_str()));
    ASSERT_TRUE(f);
    std::vector<float> d =
        runClean<float>(f, 128, 128 * n / 2, {upload(image)});
    for (int t = 0; t < 128; ++t)
      for (int i = 0; i < n / 2; ++i) {
        int w = t / 32, l = t % 32;
        int row = 16 * w + l / 4 + 8 * ((i / 2) % 2);
        int col = 8 * (i / 4) + 2 * (l % 4) + (i % 2);
        float want = 1.0f;
        for (int k = 0; k < 16; ++k)
          want += A[row][k] * B[k][col];
        ASSERT_EQ(d[t * n / 2 + i], want)
            << "thread " << t << " d" << i << " (row " << row << ", col " << col
            << ")";
      }
  }
};

// K-major A and B. A's two K halves 1024 bytes apart (LBO) and its 8-row
// groups packed every 128 bytes (SBO), so that a swap of LBO and SBO shows.
TEST_F(WgmmaTest, M64N8K16KMajor) {
  check({8, false, false, 1024, 128, 128, 256});
}

// N = 32 with B N-major (imm-trans-b = 1): B's 8-column groups every
// 128 bytes (SBO) and its two 8-deep K groups 512 bytes apart (LBO).
TEST_F(WgmmaTest, M64N32K16MNMajorB) {
  check({32, false, true, 128, 256, 512, 128});
}

// Both M-major and N-major (imm-trans-a = imm-trans-b = 1).
TEST_F(WgmmaTest, M64N16K16MNMajorBoth) {
  check({16, true, true, 1024, 128, 256, 128});
}

//===----------------------------------------------------------------------===//
// Negative tests: the sanitizer's reports (docs/cuda-sim.md)
//===----------------------------------------------------------------------===//

// A store to shared memory read by a thread of another warp with no
// bar.sync between them. The buffer is initialized first, so that whichever
// runs first the pair is a race (and not a read of unwritten memory).
TEST_F(PTXTest, MissingBarrierIsARace) {
  CUfunction f = load(module("sm_80", R"PTX(
.shared .align 4 .b32 buf[64];
.visible .entry k(.param .u64 out)
{
  .reg .b32 %r<8>;
  .reg .b64 %rd<4>;
  ld.param.u64 %rd1, [out];
  cvta.to.global.u64 %rd1, %rd1;
  mov.u32 %r1, %tid.x;
  mov.u32 %r2, buf;
  shl.b32 %r3, %r1, 2;
  add.u32 %r3, %r2, %r3;
  st.shared.u32 [%r3], 0;
  bar.sync 0;
  st.shared.u32 [%r3], %r1;
  add.u32 %r4, %r1, 32;
  and.b32 %r4, %r4, 63;
  shl.b32 %r4, %r4, 2;
  add.u32 %r4, %r2, %r4;
  ld.shared.u32 %r5, [%r4];
  st.global.u32 [%rd1], %r5;
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  std::string report = runFaulty(f, 64);
  EXPECT_NE(report.find("race"), std::string::npos) << report;
}

// A shared counter incremented without atomics: the result depends on the
// order threads run in between barriers, which the race check reports.
TEST_F(PTXTest, NonAtomicSharedCounterIsARace) {
  CUfunction f = load(module("sm_80", R"PTX(
.shared .align 4 .u32 counter;
.visible .entry k(.param .u64 out)
{
  .reg .pred %p<2>;
  .reg .b32 %r<4>;
  .reg .b64 %rd<2>;
  ld.param.u64 %rd1, [out];
  cvta.to.global.u64 %rd1, %rd1;
  mov.u32 %r1, %tid.x;
  setp.eq.u32 %p1, %r1, 0;
  @%p1 st.shared.u32 [counter], 0;
  bar.sync 0;
  ld.shared.u32 %r2, [counter];
  add.u32 %r2, %r2, 1;
  st.shared.u32 [counter], %r2;
  bar.sync 0;
  ld.shared.u32 %r3, [counter];
  @%p1 st.global.u32 [%rd1], %r3;
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  std::string report = runFaulty(f, 64);
  EXPECT_NE(report.find("race"), std::string::npos) << report;
}

TEST_F(PTXTest, StoreOnePastAllocationIsOutOfBounds) {
  CUfunction f = load(module("sm_80", R"PTX(
.visible .entry k(.param .u64 out)
{
  .reg .b32 %r<4>;
  .reg .b64 %rd<4>;
  ld.param.u64 %rd1, [out];
  cvta.to.global.u64 %rd1, %rd1;
  mov.u32 %r1, %tid.x;
  mul.wide.u32 %rd2, %r1, 4;
  add.u64 %rd1, %rd1, %rd2;
  st.global.u32 [%rd1], %r1;
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  // 33 threads store to a 32-word allocation: thread 32 writes one past it.
  CUdeviceptr out = alloc(32 * 4);
  std::vector<void *> params = {&out};
  ASSERT_EQ(
      cuLaunchKernel(f, 1, 1, 1, 33, 1, 1, 0, nullptr, params.data(), nullptr),
      CUDA_SUCCESS);
  EXPECT_EQ(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
  std::string report = gatecCudaSimLastReport();
  EXPECT_NE(report.find("out-of-bounds"), std::string::npos) << report;
  // Sticky until reset, as a GPU context after a fault.
  uint32_t word;
  EXPECT_EQ(cuMemcpyDtoH(&word, out, 4), CUDA_ERROR_ILLEGAL_ADDRESS);
}

// shfl.sync with a full membermask inside a branch half the warp takes:
// the other half never arrives (a hang on hardware).
TEST_F(PTXTest, ShflInDivergentBranchIsACollectiveDeadlock) {
  CUfunction f = load(module("sm_80", R"PTX(
.visible .entry k(.param .u64 out)
{
  .reg .pred %p<2>;
  .reg .b32 %r<4>;
  .reg .b64 %rd<2>;
  ld.param.u64 %rd1, [out];
  cvta.to.global.u64 %rd1, %rd1;
  mov.u32 %r1, %laneid;
  setp.lt.u32 %p1, %r1, 16;
  @!%p1 bra DONE;
  shfl.sync.idx.b32 %r2, %r1, 0, 0x1f, 0xffffffff;
  st.global.u32 [%rd1], %r2;
DONE:
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  std::string report = runFaulty(f, 32);
  EXPECT_NE(report.find("collective"), std::string::npos) << report;
  EXPECT_NE(report.find("deadlock"), std::string::npos) << report;
}

TEST_F(PTXTest, ReadOfUnwrittenSharedIsUninitialized) {
  CUfunction f = load(module("sm_80", R"PTX(
.shared .align 4 .b32 buf[32];
.visible .entry k(.param .u64 out)
{
  .reg .b32 %r<4>;
  .reg .b64 %rd<2>;
  ld.param.u64 %rd1, [out];
  cvta.to.global.u64 %rd1, %rd1;
  ld.shared.u32 %r1, [buf+8];
  st.global.u32 [%rd1], %r1;
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  std::string report = runFaulty(f, 1);
  EXPECT_NE(report.find("uninitialized"), std::string::npos) << report;
}

// The second of two groups is read after cp.async.wait_group 1, which only
// completes the first.
TEST_F(PTXTest, ReadBeforeWaitGroupIsCpAsyncPending) {
  CUfunction f = load(module("sm_80", R"PTX(
.shared .align 16 .b8 buf[32];
.visible .entry k(.param .u64 out, .param .u64 in)
{
  .reg .b32 %r<8>;
  .reg .b64 %rd<4>;
  ld.param.u64 %rd1, [out];
  ld.param.u64 %rd2, [in];
  cvta.to.global.u64 %rd1, %rd1;
  cvta.to.global.u64 %rd2, %rd2;
  mov.u32 %r1, buf;
  cp.async.cg.shared.global [%r1], [%rd2], 16;
  cp.async.commit_group;
  cp.async.cg.shared.global [%r1+16], [%rd2+16], 16;
  cp.async.commit_group;
  cp.async.wait_group 1;
  ld.shared.u32 %r2, [%r1];
  ld.shared.u32 %r3, [%r1+16];
  st.global.v2.u32 [%rd1], {%r2, %r3};
  ret;
}
)PTX"));
  ASSERT_TRUE(f);
  CUdeviceptr in = upload(std::vector<uint32_t>(8, 7));
  std::string report = runFaulty(f, 1, 8, {in});
  EXPECT_NE(report.find("cp.async-pending"), std::string::npos) << report;
  // Only the read of the second group's bytes is reported.
  EXPECT_NE(report.find("[%r1+16]"), std::string::npos) << report;
}

// An accumulator written between wgmma.fence and the wgmma that reads it
// (wgmma.fence: the fence is required between a register write and the
// wgmma.mma_async that accesses the register).
TEST_F(WgmmaTest, AccumulatorWrittenAfterFence) {
  std::vector<uint8_t> image(4096, 0);
  CUfunction f =
      load(module("sm_90a", wgmmaKernel(8, 4096, 2048, descriptorBits(128, 256),
                                        descriptorBits(128, 256), 0, 0,
                                        "  mov.f32 %d0, 0f00000000;")
                                .c_str()));
  ASSERT_TRUE(f);
  std::string report = runFaulty(f, 128, 128 * 16, {upload(image)});
  EXPECT_NE(report.find("wgmma-fence"), std::string::npos) << report;
}

TEST_F(PTXTest, UnknownInstructionIsInvalidPTX) {
  std::string ptx = module("sm_80", R"PTX(.visible .entry k(.param .u64 out)
{
  .reg .b32 %r<4>;
  mov.u32 %r2, 1;
  foo.bar.u32 %r1, %r2;
  ret;
}
)PTX");
  // The module's lines: 3 directives, ".visible .entry", "{", ".reg",
  // "mov", then foo.bar on line 8.
  char log[1024] = {0};
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {log, reinterpret_cast<void *>(uintptr_t(sizeof log))};
  CUmodule m = nullptr;
  EXPECT_EQ(cuModuleLoadDataEx(&m, ptx.c_str(), 2, options, values),
            CUDA_ERROR_INVALID_PTX);
  std::string text = log;
  EXPECT_NE(text.find("foo.bar"), std::string::npos) << text;
  EXPECT_NE(text.find("line 8"), std::string::npos) << text;
  EXPECT_EQ(cuModuleLoadData(&m, ptx.c_str()), CUDA_ERROR_INVALID_PTX);
}

} // namespace
