// A CUDA driver that runs nothing and prints what a generated header asks of
// it: allocations and frees, memsets and each launch's kernel and grid. Linked in place
// of libcuda, it lets tests check the launch code's choices (which path, how
// many launches, what grid) on a machine without a GPU.
#include <cuda.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace {
uintptr_t nextAddress = 0x100000;
} // namespace

extern "C" {

CUresult cuInit(unsigned int) { return CUDA_SUCCESS; }

CUresult cuCtxGetCurrent(CUcontext *context) {
  *context = reinterpret_cast<CUcontext>(0x1);
  return CUDA_SUCCESS;
}

CUresult cuGetErrorName(CUresult, const char **name) {
  *name = "CUDA_ERROR_RECORDED";
  return CUDA_SUCCESS;
}

CUresult cuModuleLoadDataEx(CUmodule *module, const void *, unsigned int,
                            CUjit_option *, void **) {
  *module = reinterpret_cast<CUmodule>(0x2);
  return CUDA_SUCCESS;
}

CUresult cuModuleUnload(CUmodule) { return CUDA_SUCCESS; }

// A function is its name, kept for the launches.
CUresult cuModuleGetFunction(CUfunction *function, CUmodule, const char *name) {
  *function = reinterpret_cast<CUfunction>(new std::string(name));
  return CUDA_SUCCESS;
}

CUresult cuMemAllocAsync(CUdeviceptr *pointer, size_t bytes, CUstream) {
  std::printf("  alloc %zu\n", bytes);
  *pointer = nextAddress;
  nextAddress += (bytes + 255) / 256 * 256 + 256;
  return CUDA_SUCCESS;
}

CUresult cuMemFreeAsync(CUdeviceptr, CUstream) {
  std::printf("  free\n");
  return CUDA_SUCCESS;
}

CUresult cuMemsetD32Async(CUdeviceptr, unsigned int value, size_t count,
                          CUstream) {
  std::printf("  memset32 value=%u count=%zu\n", value, count);
  return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(CUfunction function, unsigned int gx, unsigned int gy,
                        unsigned int gz, unsigned int bx, unsigned int by,
                        unsigned int bz, unsigned int, CUstream, void **,
                        void **) {
  std::printf("  launch %s grid=%ux%ux%u block=%ux%ux%u\n",
              reinterpret_cast<std::string *>(function)->c_str(), gx, gy, gz,
              bx, by, bz);
  return CUDA_SUCCESS;
}

} // extern "C"
