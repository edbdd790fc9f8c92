// Calls the varlen kernels of test/Target/CPU/Inputs/varlen.gate through
// their CUDA header on cuda-sim with the mistakes a caller makes with packed
// sequences. Shapes are always checked. With GATEC_CUDA_CHECK_OFFSETS the
// offsets are checked too (a synchronizing copy); without it the kernel
// clamps them, so bad offsets never reach memory outside the tensors (cuda-sim
// checks every access) and the buffers' guard words stay. Exits 1 on a
// failed check.
#include "varlen.h"

#include <cstdio>
#include <cstring>
#include <vector>

namespace k = gatec_kernels::varlen_cuda;

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
      std::printf("FAIL (line %d): %s returned %d\n", __LINE__, #call, (int)r);\
      return 1;                                                                \
    }                                                                          \
  } while (0)

extern "C" const char *gatecCudaSimLastReport();

constexpr int64_t kTokens = 7, kState = 2 * 8 * 8, kMaxStates = 4;
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

  // Device buffers sized for kMaxStates states plus one guard state.
  std::vector<float> q(kTokens * 16, 0.25f), a(kTokens * 2, -0.1f),
      s0((kMaxStates + 1) * kState, 1.0f), fill((kMaxStates + 1) * kState, kFill);
  CUdeviceptr dq, da, ds0, dout, ds, dcu;
  CU(cuMemAlloc(&dq, q.size() * 4));
  CU(cuMemAlloc(&da, a.size() * 4));
  CU(cuMemAlloc(&ds0, s0.size() * 4));
  CU(cuMemAlloc(&dout, q.size() * 4));
  CU(cuMemAlloc(&ds, fill.size() * 4));
  CU(cuMemAlloc(&dcu, 16 * 4));
  CU(cuMemcpyHtoD(dq, q.data(), q.size() * 4));
  CU(cuMemcpyHtoD(da, a.data(), a.size() * 4));
  CU(cuMemcpyHtoD(ds0, s0.data(), s0.size() * 4));

  auto call = [&](const std::vector<int32_t> &cu, int64_t states) {
    cuMemcpyHtoD(ds, fill.data(), fill.size() * 4);
    if (!cu.empty())
      cuMemcpyHtoD(dcu, cu.data(), cu.size() * 4);
    int64_t n = static_cast<int64_t>(cu.size());
    k::Status status = k::varlen(
        {dev<const float>(dq), {1, kTokens, 2, 8}},
        {dev<const float>(dq), {1, kTokens, 2, 8}},
        {dev<const float>(da), {1, kTokens, 2}}, {dev<const int32_t>(dcu), {n}},
        {dev<const float>(ds0), {states, 2, 8, 8}},
        {dev<float>(dout), {1, kTokens, 2, 8}},
        {dev<float>(ds), {states, 2, 8, 8}}, nullptr);
    CUresult sync = cuCtxSynchronize();
    std::vector<float> s(fill.size());
    cuMemcpyDtoH(s.data(), ds, s.size() * 4);
    bool guard = true;
    for (int64_t i = states * kState; i < static_cast<int64_t>(s.size()); ++i)
      guard &= s[i] == kFill;
    EXPECT(sync == CUDA_SUCCESS);
    EXPECT(guard);
    const char *report = gatecCudaSimLastReport();
    EXPECT(!report || !*report);
    return status;
  };

  // The number of offsets is a shape: always checked.
  k::Status status = call({0, 2, 4, 7}, 2);
  std::printf("more offsets than states: %s\n", status.message().c_str());
  EXPECT(status.code() == GATEC_ERR_SHAPE);

  for (const std::vector<int32_t> &cu :
       {std::vector<int32_t>{1, 4, 7}, {0, 5, 3}, {0, 3, 8}, {0, 3, 1 << 30}}) {
    status = call(cu, 2);
    std::printf("offsets %d,%d,%d: %s\n", cu[0], cu[1], cu[2],
                status.ok() ? "ran (clamped)" : status.message().c_str());
#ifdef GATEC_CUDA_CHECK_OFFSETS
    EXPECT(status.code() == GATEC_ERR_VALUE);
#else
    EXPECT(status.ok());
#endif
  }
  status = call({0, 3, 7}, 2);
  EXPECT(status.ok());
  std::printf("%s\n", failures ? "FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
