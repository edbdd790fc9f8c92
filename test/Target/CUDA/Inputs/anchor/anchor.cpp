//===- anchor.cpp - Risky PTX instruction forms, for GPU comparison -------===//
//
// Part of gatec. Runs one tiny kernel per instruction form whose semantics
// cuda-sim implements from the PTX ISA's tables (mma and wgmma fragments,
// ldmatrix, wgmma descriptors, shfl modes, cvt rounding) on deterministic
// inputs, and prints every output word as a line
//
//   <kernel> <index> <value as 8 hex digits>
//
// so that a run on a GPU can be diffed against a run on the emulator
// (scripts/gpu-anchor.sh, fixtures in expected.txt). Kernels the device
// cannot run (sm_90a wgmma on anything but compute capability 9.0) print
// "skipped <kernel>" instead. Plain C++17 and the CUDA driver API only, so
// it builds on a GPU machine without gatec:
//
//   c++ -std=c++17 anchor.cpp -I/usr/local/cuda/include -lcuda -o anchor
//   ./anchor <directory of the .ptx files>
//
// Inputs are small integers wherever a tensor core sums products, so that
// every partial sum is exact and the result does not depend on the
// hardware's (unspecified) accumulation order.
//
//===----------------------------------------------------------------------===//

#include <cuda.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

enum class Input {
  None,      ///< no input (the kernel makes its own)
  Iota16,    ///< 256 .b16 elements 0, 1, ..., 255
  MmaFrags,  ///< 192 words of packed bf16 integers, then 128 f32 integers
  Bf16Image, ///< 1024 words of packed bf16 integers in [-4, 4]
  CvtCases,  ///< 32 f32 edge cases, then 32 pseudo-random bit patterns
};

struct Kernel {
  const char *name;
  const char *file;
  bool sm90a;       ///< needs compute capability 9.0 exactly
  unsigned threads; ///< one block of this many
  Input input;
  unsigned outWords;
};

const Kernel kKernels[] = {
    {"mma_m16n8k16_bf16", "mma.ptx", false, 32, Input::MmaFrags, 128},
    {"ldmatrix_x1", "ldmatrix.ptx", false, 32, Input::Iota16, 128},
    {"ldmatrix_x1_trans", "ldmatrix.ptx", false, 32, Input::Iota16, 128},
    {"ldmatrix_x2", "ldmatrix.ptx", false, 32, Input::Iota16, 128},
    {"ldmatrix_x2_trans", "ldmatrix.ptx", false, 32, Input::Iota16, 128},
    {"ldmatrix_x4", "ldmatrix.ptx", false, 32, Input::Iota16, 128},
    {"ldmatrix_x4_trans", "ldmatrix.ptx", false, 32, Input::Iota16, 128},
    {"shfl_modes", "shfl.ptx", false, 32, Input::None, 15 * 64},
    {"cvt_conversions", "cvt.ptx", false, 64, Input::CvtCases, 64 * 16},
    {"wgmma_kmajor_n8", "wgmma.ptx", true, 128, Input::Bf16Image, 128 * 4},
    {"wgmma_mnmajor_n16", "wgmma.ptx", true, 128, Input::Bf16Image, 128 * 8},
    {"wgmma_kmajor_a_mnmajor_b_n32", "wgmma.ptx", true, 128, Input::Bf16Image,
     128 * 16},
};

/// A fixed 64-bit LCG (Knuth's MMIX constants): the same inputs everywhere.
struct Random {
  uint64_t state;
  explicit Random(uint64_t seed) : state(seed) {}
  uint32_t next() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return uint32_t(state >> 33);
  }
  /// An integer in [-4, 4] as bf16 bits (exact).
  uint16_t smallBF16() {
    float f = float(int(next() % 9) - 4);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return uint16_t(u >> 16);
  }
  /// Two of them packed, the first in the low half. (One statement per
  /// draw: the order of operands' evaluation is unspecified, and the inputs
  /// must not depend on the compiler.)
  uint32_t twoBF16() {
    uint32_t lo = smallBF16();
    uint32_t hi = smallBF16();
    return lo | hi << 16;
  }
};

float smallF32(Random &r) { return float(int(r.next() % 17) - 8); }

std::vector<uint32_t> makeInput(Input kind) {
  std::vector<uint32_t> words;
  Random r(0x5eed);
  switch (kind) {
  case Input::None:
    words.assign(1, 0);
    break;
  case Input::Iota16:
    for (uint32_t i = 0; i < 128; ++i)
      words.push_back((2 * i) | (2 * i + 1) << 16);
    break;
  case Input::MmaFrags:
    for (int i = 0; i < 192; ++i)
      words.push_back(r.twoBF16());
    for (int i = 0; i < 128; ++i) {
      float f = smallF32(r);
      uint32_t u;
      std::memcpy(&u, &f, 4);
      words.push_back(u);
    }
    break;
  case Input::Bf16Image:
    for (int i = 0; i < 1024; ++i)
      words.push_back(r.twoBF16());
    break;
  case Input::CvtCases: {
    // Rounding ties and near-ties for bf16 (1 + 2^-8) and f16 (1 + 2^-11),
    // overflow to infinity or the largest finite value, subnormals of
    // both formats, NaNs (quiet, signaling, negative), signed zeros, and
    // float -> integer ties, saturation and range limits.
    const uint32_t cases[32] = {
        0x3f808001, 0x3f808000, 0x3f818000, 0xbf808001, 0x3f801001, 0x3f801000,
        0x7f7fffff, 0xc788b800, 0x33000000, 0x7fc00001, 0x80000000, 0x00000000,
        0x7f800000, 0xff800000, 0xffc00000, 0x7f800001, 0x00000001, 0x807fffff,
        0x477ff000, 0x477fefff, 0x387fc000, 0x38800000, 0x33800000, 0x33c00000,
        0x40200000, 0x40600000, 0xc0200000, 0xbfd9999a, 0x4f32d05e, 0xcf32d05e,
        0x437f8000, 0x4f800000};
    words.assign(cases, cases + 32);
    for (int i = 0; i < 32; ++i) {
      uint32_t a = r.next();
      uint32_t b = r.next();
      words.push_back(a ^ b << 16);
    }
    break;
  }
  }
  return words;
}

bool check(CUresult r, const char *what, const char *kernel) {
  if (r == CUDA_SUCCESS)
    return true;
  const char *name = nullptr;
  cuGetErrorName(r, &name);
  std::fprintf(stderr, "anchor: %s: %s failed: %s\n", kernel, what,
               name ? name : "unknown error");
  return false;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr,
                 "usage: anchor <directory of the anchor .ptx files>\n");
    return 2;
  }
  std::string dir = argv[1];
  CUdevice device;
  CUcontext context;
  if (!check(cuInit(0), "cuInit", "-") ||
      !check(cuDeviceGet(&device, 0), "cuDeviceGet", "-") ||
      !check(cuDevicePrimaryCtxRetain(&context, device),
             "cuDevicePrimaryCtxRetain", "-") ||
      !check(cuCtxSetCurrent(context), "cuCtxSetCurrent", "-"))
    return 1;
  int major = 0, minor = 0;
  cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                       device);
  cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                       device);
  char deviceName[256] = {0};
  cuDeviceGetName(deviceName, sizeof deviceName, device);
  std::fprintf(stderr, "anchor: %s, compute capability %d.%d\n", deviceName,
               major, minor);

  std::map<std::string, CUmodule> modules;
  for (const Kernel &k : kKernels) {
    // sm_90a code runs on compute capability 9.0 only (arch-specific).
    if (k.sm90a && !(major == 9 && minor == 0)) {
      std::printf("skipped %s\n", k.name);
      continue;
    }
    CUmodule &m = modules[k.file];
    if (!m) {
      std::ifstream in(dir + "/" + k.file);
      if (!in) {
        std::fprintf(stderr, "anchor: cannot read %s/%s\n", dir.c_str(),
                     k.file);
        return 1;
      }
      std::stringstream text;
      text << in.rdbuf();
      std::string ptx = text.str();
      char log[4096] = {0};
      CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                                CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
      void *values[] = {log, reinterpret_cast<void *>(uintptr_t(sizeof log))};
      if (!check(cuModuleLoadDataEx(&m, ptx.c_str(), 2, options, values),
                 "cuModuleLoadDataEx", k.file)) {
        std::fprintf(stderr, "%s\n", log);
        return 1;
      }
    }
    CUfunction f;
    if (!check(cuModuleGetFunction(&f, m, k.name), "cuModuleGetFunction",
               k.name))
      return 1;
    std::vector<uint32_t> input = makeInput(k.input);
    size_t outBytes = size_t(k.outWords) * 4;
    CUdeviceptr out, in;
    if (!check(cuMemAlloc(&out, outBytes), "cuMemAlloc", k.name) ||
        !check(cuMemAlloc(&in, input.size() * 4), "cuMemAlloc", k.name) ||
        !check(cuMemsetD8(out, 0, outBytes), "cuMemsetD8", k.name) ||
        !check(cuMemcpyHtoD(in, input.data(), input.size() * 4), "cuMemcpyHtoD",
               k.name))
      return 1;
    void *params[] = {&out, &in};
    std::vector<uint32_t> result(k.outWords);
    if (!check(cuLaunchKernel(f, 1, 1, 1, k.threads, 1, 1, 0, nullptr, params,
                              nullptr),
               "cuLaunchKernel", k.name) ||
        !check(cuCtxSynchronize(), "the kernel", k.name) ||
        !check(cuMemcpyDtoH(result.data(), out, outBytes), "cuMemcpyDtoH",
               k.name))
      return 1;
    for (unsigned i = 0; i < k.outWords; ++i)
      std::printf("%s %u %08x\n", k.name, i, result[i]);
    cuMemFree(out);
    cuMemFree(in);
  }
  for (auto &entry : modules)
    if (entry.second)
      cuModuleUnload(entry.second);
  return 0;
}
