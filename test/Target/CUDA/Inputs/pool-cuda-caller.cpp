// Calls the decoding kernel of test/Target/CPU/Inputs/pool.gate through its
// CUDA header on cuda-sim: the pool (device memory, one guard row after it)
// is updated in place in the rows the slots name. With
// GATEC_CUDA_CHECK_OFFSETS, slots past the pool or shared by two sequences
// are GATEC_ERR_VALUE and nothing runs; without it the kernel skips a slot
// outside the pool, so nothing outside the tensors is touched (cuda-sim
// checks every access) and the guard row stays. Exits 1 on a failed check.
#include "pool.h"

#include <cstdio>
#include <cstring>
#include <vector>

namespace k = gatec_kernels::pool_cuda;

static int failures = 0;

#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond)) {                                                             \
      ++failures;                                                              \
      std::printf("FAIL (line %d): %s\n", __LINE__, #cond);                    \
    }                                                                          \
  } while (0)

#define CU(call)                                                               \
  do {                                                                         \
    CUresult r = (call);                                                       \
    if (r != CUDA_SUCCESS) {                                                   \
      std::printf("FAIL (line %d): %s returned %d\n", __LINE__, #call,         \
                  (int)r);                                                     \
      return 1;                                                                \
    }                                                                          \
  } while (0)

extern "C" const char *gatecCudaSimLastReport();

constexpr int64_t kN = 4, kRows = 8, kRow = 4 * 16 * 8;
constexpr float kFill = -12345.0f;

template <typename T> static T *dev(CUdeviceptr p) {
  return reinterpret_cast<T *>(static_cast<uintptr_t>(p));
}

int main() {
  CU(cuInit(0));
  CUdevice device;
  CU(cuDeviceGet(&device, 0));
  CUcontext context;
  CU(cuDevicePrimaryCtxRetain(&context, device));
  CU(cuCtxSetCurrent(context));

  // q and k [N, 1, 2, 16], v and o [N, 1, 4, 8]: 32 floats per sequence;
  // a and b [N, 1, 4]. The pool has kRows rows and a guard row.
  std::vector<float> qkv(kN * 32), ab(kN * 4), pool((kRows + 1) * kRow);
  for (size_t i = 0; i < qkv.size(); ++i)
    qkv[i] = static_cast<float>(i % 13) / 13.0f - 0.5f;
  for (size_t i = 0; i < ab.size(); ++i)
    ab[i] = static_cast<float>(i % 5) / 5.0f - 0.4f;
  for (size_t i = 0; i < pool.size(); ++i)
    pool[i] = i >= kRows * kRow ? kFill : static_cast<float>(i % 7) / 14.0f;
  CUdeviceptr dqkv, dab, dpool, dslots, dout;
  CU(cuMemAlloc(&dqkv, qkv.size() * 4));
  CU(cuMemAlloc(&dab, ab.size() * 4));
  CU(cuMemAlloc(&dpool, pool.size() * 4));
  CU(cuMemAlloc(&dslots, kN * 4));
  CU(cuMemAlloc(&dout, kN * 32 * 4));
  CU(cuMemcpyHtoD(dqkv, qkv.data(), qkv.size() * 4));
  CU(cuMemcpyHtoD(dab, ab.data(), ab.size() * 4));

  // One call on a fresh pool; returns the pool after it (guard included).
  std::vector<float> out(kN * 32);
  auto call = [&](const std::vector<int32_t> &slots, k::Status &status) {
    cuMemcpyHtoD(dpool, pool.data(), pool.size() * 4);
    cuMemcpyHtoD(dslots, slots.data(), slots.size() * 4);
    cuMemsetD32(dout, 0x7fc00000u, kN * 32); // NaN: unwritten shows
    const float *x = dev<const float>(dqkv), *g = dev<const float>(dab);
    status = k::gdn_decode({x, {kN, 1, 2, 16}}, {x, {kN, 1, 2, 16}},
                           {x, {kN, 1, 4, 8}}, {g, {kN, 1, 4}}, {g, {kN, 1, 4}},
                           {dev<float>(dpool), {kRows, 4, 16, 8}},
                           {dev<const int32_t>(dslots), {kN}},
                           {dev<float>(dout), {kN, 1, 4, 8}}, nullptr);
    EXPECT(cuCtxSynchronize() == CUDA_SUCCESS);
    const char *report = gatecCudaSimLastReport();
    EXPECT(!report || !*report);
    std::vector<float> after(pool.size());
    cuMemcpyDtoH(after.data(), dpool, after.size() * 4);
    cuMemcpyDtoH(out.data(), dout, out.size() * 4);
    EXPECT(std::memcmp(&after[kRows * kRow], &pool[kRows * kRow], kRow * 4) ==
           0);
    return after;
  };
  auto rowChanged = [&](const std::vector<float> &after, int64_t row) {
    return std::memcmp(&after[row * kRow], &pool[row * kRow], kRow * 4) != 0;
  };

  k::Status status;
  std::vector<float> after = call({5, 0, -1, 3}, status);
  EXPECT(status.ok());
  for (int64_t row = 0; row < kRows; ++row)
    EXPECT(rowChanged(after, row) == (row == 5 || row == 0 || row == 3));
  for (int64_t i = 0; i < 32; ++i)
    EXPECT(out[2 * 32 + i] == 0.0f && out[i] == out[i]);
  std::printf("slots 5,0,-1,3: %s\n", status.ok() ? "ok" : "FAILED");

  after = call({0, 1, 2, 9}, status);
  std::printf("slots 0,1,2,9: %s\n",
              status.ok() ? "ran (skipped)" : status.message().c_str());
#ifdef GATEC_CUDA_CHECK_OFFSETS
  EXPECT(status.code() == GATEC_ERR_VALUE);
  EXPECT(after == pool);
#else
  EXPECT(status.ok());
  EXPECT(!rowChanged(after, 7) && rowChanged(after, 2));
  for (int64_t i = 0; i < 32; ++i)
    EXPECT(out[3 * 32 + i] == 0.0f);
#endif
#ifdef GATEC_CUDA_CHECK_OFFSETS
  // Unchecked, two sequences on one row race (memory-safe, but the row gets
  // one of the two states): only run checked.
  after = call({2, 1, -1, 2}, status);
  std::printf("slots 2,1,-1,2: %s\n", status.message().c_str());
  EXPECT(status.code() == GATEC_ERR_VALUE);
  EXPECT(after == pool);
#endif
  std::printf("%s\n", failures ? "FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
