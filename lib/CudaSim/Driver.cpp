//===- Driver.cpp - The CUDA driver API on the emulator -------------------===//
//
// Part of gatec. libcuda.so.1 for machines without a GPU: the driver API
// entry points that gatec's generated headers, gatec-check's case programs
// and small host programs call, over one emulated device. Streams run their
// work at once, in order (a launch returns after the kernel finished).
// Launch-time errors are returned by the call; faults found while a kernel
// runs are printed to stderr and, as on a GPU, make the context's later
// calls return the error.
//
// Environment (docs/cuda-sim.md):
//   GATEC_CUDA_SIM_SEED    the schedule's seed (default 1)
//   GATEC_CUDA_SIM_CHECKS  checks to run: "all" (default), "none", or a list
//                          such as "all,-uninit" or "none,race"
//   GATEC_CUDA_SIM_ARCH    the emulated device: sm_90 (H100, default), sm_80
//   GATEC_CUDA_SIM_STATS   1: one line per launch (instructions, speed)
//
// This file holds the device, its initialization, contexts and errors;
// DriverModule.cpp loads modules and launches kernels, DriverMemory.cpp
// holds memory, streams and events.
//
//===----------------------------------------------------------------------===//

#include "CudaSim/Driver.h"

#include <cstring>

namespace gatec::cudasim::emulated {

thread_local Context *Driver::current = nullptr;

Driver &driver() {
  static Driver d;
  return d;
}

unsigned maxSharedOptin() {
  // Per block, opt-in: H100 227 KiB, A100 163 KiB.
  return driver().options.smVersion >= 90 ? 232448 : 166912;
}

} // namespace gatec::cudasim::emulated

using namespace gatec::cudasim::emulated;

extern "C" {

//===----------------------------------------------------------------------===//
// Emulator extensions (not in cuda.h): for tests and tools.
//===----------------------------------------------------------------------===//

/// The reports of the last launch that found a problem ("" if none).
__attribute__((visibility("default"))) const char *gatecCudaSimLastReport() {
  return driver().lastReport.c_str();
}

/// Clears the sticky error and the last report (a GPU needs a new process).
__attribute__((visibility("default"))) void gatecCudaSimReset() {
  driver().sticky = CUDA_SUCCESS;
  driver().lastReport.clear();
}

/// Sets the schedule's seed for later launches.
__attribute__((visibility("default"))) void
gatecCudaSimSetSeed(unsigned long long seed) {
  driver().options.seed = seed;
}

//===----------------------------------------------------------------------===//
// Initialization, devices, contexts
//===----------------------------------------------------------------------===//

CUresult cuInit(unsigned int flags) {
  if (flags != 0)
    return CUDA_ERROR_INVALID_VALUE;
  driver().initialized = true;
  return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int *version) {
  if (!version)
    return CUDA_ERROR_INVALID_VALUE;
  *version = CUDA_VERSION;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int *count) {
  CHECK_INIT();
  *count = 1;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *device, int ordinal) {
  CHECK_INIT();
  if (ordinal != 0)
    return CUDA_ERROR_INVALID_DEVICE;
  *device = 0;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice device) {
  CHECK_INIT();
  if (device != 0 || !name || len <= 0)
    return CUDA_ERROR_INVALID_VALUE;
  std::snprintf(name, static_cast<size_t>(len), "gatec cuda-sim (sm_%u)",
                driver().options.smVersion);
  return CUDA_SUCCESS;
}

CUresult cuDeviceTotalMem(size_t *bytes, CUdevice device) {
  CHECK_INIT();
  if (device != 0)
    return CUDA_ERROR_INVALID_DEVICE;
  *bytes = size_t(16) << 30;
  return CUDA_SUCCESS;
}

CUresult cuDeviceComputeCapability(int *major, int *minor, CUdevice device) {
  CHECK_INIT();
  if (device != 0)
    return CUDA_ERROR_INVALID_DEVICE;
  *major = static_cast<int>(driver().options.smVersion / 10);
  *minor = static_cast<int>(driver().options.smVersion % 10);
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int *value, CUdevice_attribute attribute,
                              CUdevice device) {
  CHECK_INIT();
  if (device != 0)
    return CUDA_ERROR_INVALID_DEVICE;
  bool hopper = driver().options.smVersion >= 90;
  switch (attribute) {
  case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK:
    *value = 1024;
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X:
    *value = 1024;
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y:
    *value = 1024;
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z:
    *value = 64;
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X:
    *value = 2147483647;
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y:
    *value = 65535;
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z:
    *value = 65535;
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK:
    *value = 49152;
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN:
    *value = static_cast<int>(maxSharedOptin());
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR:
    *value = hopper ? 233472 : 167936;
    break;
  case CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY:
    *value = 65536;
    break;
  case CU_DEVICE_ATTRIBUTE_WARP_SIZE:
    *value = 32;
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK:
    *value = 65536;
    break;
  case CU_DEVICE_ATTRIBUTE_CLOCK_RATE:
    *value = hopper ? 1980000 : 1410000;
    break;
  case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT:
    *value = hopper ? 132 : 108;
    break;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
    *value = static_cast<int>(driver().options.smVersion / 10);
    break;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
    *value = static_cast<int>(driver().options.smVersion % 10);
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR:
    *value = 2048;
    break;
  case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING:
    *value = 1;
    break;
  case CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED:
    *value = 1;
    break;
  case CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS:
    *value = 1;
    break;
  case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE:
    *value = hopper ? 52428800 : 41943040;
    break;
  case CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH:
    *value = 5120;
    break;
  case CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE:
    *value = hopper ? 2619000 : 1215000;
    break;
  default:
    *value = 0;
    break;
  }
  return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *context, CUdevice device) {
  CHECK_INIT();
  if (device != 0)
    return CUDA_ERROR_INVALID_DEVICE;
  *context = reinterpret_cast<CUcontext>(&driver().context);
  return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease(CUdevice device) {
  return device == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

CUresult cuDevicePrimaryCtxReset(CUdevice device) {
  return device == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

CUresult cuCtxCreate(CUcontext *context, CUctxCreateParams *, unsigned int,
                     CUdevice device) {
  CHECK_INIT();
  if (device != 0)
    return CUDA_ERROR_INVALID_DEVICE;
  *context = reinterpret_cast<CUcontext>(&driver().context);
  Driver::current = &driver().context;
  return CUDA_SUCCESS;
}

CUresult cuCtxDestroy(CUcontext context) {
  if (Driver::current == reinterpret_cast<Context *>(context))
    Driver::current = nullptr;
  return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext context) {
  CHECK_INIT();
  Driver::current = reinterpret_cast<Context *>(context);
  return CUDA_SUCCESS;
}

CUresult cuCtxGetCurrent(CUcontext *context) {
  CHECK_INIT();
  *context = reinterpret_cast<CUcontext>(Driver::current);
  return CUDA_SUCCESS;
}

CUresult cuCtxPushCurrent(CUcontext context) {
  return cuCtxSetCurrent(context);
}

CUresult cuCtxPopCurrent(CUcontext *context) {
  if (context)
    *context = reinterpret_cast<CUcontext>(Driver::current);
  Driver::current = nullptr;
  return CUDA_SUCCESS;
}

CUresult cuCtxGetDevice(CUdevice *device) {
  CHECK_INIT();
  if (!Driver::current)
    return CUDA_ERROR_INVALID_CONTEXT;
  *device = 0;
  return CUDA_SUCCESS;
}

CUresult cuCtxSynchronize() {
  CHECK_INIT();
  CHECK_STICKY();
  return CUDA_SUCCESS;
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

static const char *errorName(CUresult r) {
  switch (r) {
  case CUDA_SUCCESS:
    return "CUDA_SUCCESS";
  case CUDA_ERROR_INVALID_VALUE:
    return "CUDA_ERROR_INVALID_VALUE";
  case CUDA_ERROR_OUT_OF_MEMORY:
    return "CUDA_ERROR_OUT_OF_MEMORY";
  case CUDA_ERROR_NOT_INITIALIZED:
    return "CUDA_ERROR_NOT_INITIALIZED";
  case CUDA_ERROR_INVALID_DEVICE:
    return "CUDA_ERROR_INVALID_DEVICE";
  case CUDA_ERROR_INVALID_CONTEXT:
    return "CUDA_ERROR_INVALID_CONTEXT";
  case CUDA_ERROR_NO_BINARY_FOR_GPU:
    return "CUDA_ERROR_NO_BINARY_FOR_GPU";
  case CUDA_ERROR_INVALID_PTX:
    return "CUDA_ERROR_INVALID_PTX";
  case CUDA_ERROR_INVALID_HANDLE:
    return "CUDA_ERROR_INVALID_HANDLE";
  case CUDA_ERROR_NOT_FOUND:
    return "CUDA_ERROR_NOT_FOUND";
  case CUDA_ERROR_ILLEGAL_ADDRESS:
    return "CUDA_ERROR_ILLEGAL_ADDRESS";
  case CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES:
    return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
  case CUDA_ERROR_MISALIGNED_ADDRESS:
    return "CUDA_ERROR_MISALIGNED_ADDRESS";
  case CUDA_ERROR_LAUNCH_FAILED:
    return "CUDA_ERROR_LAUNCH_FAILED";
  case CUDA_ERROR_NOT_SUPPORTED:
    return "CUDA_ERROR_NOT_SUPPORTED";
  default:
    return nullptr;
  }
}

CUresult cuGetErrorName(CUresult error, const char **name) {
  const char *n = errorName(error);
  if (!n) {
    *name = nullptr;
    return CUDA_ERROR_INVALID_VALUE;
  }
  *name = n;
  return CUDA_SUCCESS;
}

CUresult cuGetErrorString(CUresult error, const char **text) {
  switch (error) {
  case CUDA_ERROR_ILLEGAL_ADDRESS:
    *text = "an illegal memory access was encountered (cuda-sim: see its "
            "report on stderr)";
    return CUDA_SUCCESS;
  case CUDA_ERROR_LAUNCH_FAILED:
    *text = "unspecified launch failure (cuda-sim: see its report on stderr)";
    return CUDA_SUCCESS;
  default:
    return cuGetErrorName(error, text);
  }
}

} // extern "C"
