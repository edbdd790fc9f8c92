//===- Driver.cpp - The CUDA driver API on the emulator -------------------===//
//
// libcuda.so.1 for machines without a GPU: the driver API entry points that
// gatec's generated headers, gatec-check's case programs and small host
// programs call, over one emulated device. Streams run their work at once,
// in order (a launch returns after the kernel finished). Launch-time errors
// are returned by the call; faults found while a kernel runs are printed to
// stderr and, as on a GPU, make the context's later calls return the error.
//
// Environment (docs/cuda-sim.md):
//   GATEC_CUDA_SIM_SEED    the schedule's seed (default 1)
//   GATEC_CUDA_SIM_CHECKS  checks to run: "all" (default), "none", or a list
//                          such as "all,-uninit" or "none,race"
//   GATEC_CUDA_SIM_ARCH    the emulated device: sm_90 (H100, default), sm_80
//   GATEC_CUDA_SIM_STATS   1: one line per launch (instructions, speed)
//
//===----------------------------------------------------------------------===//

#include "gatec/CudaSim/Machine.h"
#include "gatec/CudaSim/PTX.h"

#include <cuda.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

using namespace gatec::cudasim;

namespace {

struct FunctionHandle;

struct ModuleHandle {
  std::unique_ptr<Module> module;
  std::vector<std::unique_ptr<FunctionHandle>> functions;
};

struct FunctionHandle {
  ModuleHandle *module;
  const Function *function;
  int maxDynamicShared = 0; ///< CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
};

struct EventHandle {
  std::chrono::steady_clock::time_point time;
  bool recorded = false;
};

struct StreamHandle {
  int unused = 0;
};

struct Context {
  int device = 0;
};

/// The one emulated device and its state.
struct Driver {
  Driver() {
    if (const char *seed = std::getenv("GATEC_CUDA_SIM_SEED"))
      options.seed = std::strtoull(seed, nullptr, 10);
    if (const char *arch = std::getenv("GATEC_CUDA_SIM_ARCH")) {
      std::string a = arch;
      if (a.rfind("sm_", 0) == 0)
        a = a.substr(3);
      options.smVersion = static_cast<unsigned>(std::atoi(a.c_str()));
      if (options.smVersion == 0)
        options.smVersion = 90;
    }
    if (const char *checks = std::getenv("GATEC_CUDA_SIM_CHECKS"))
      parseChecks(checks);
    if (const char *stats = std::getenv("GATEC_CUDA_SIM_STATS"))
      printStats = std::string(stats) == "1";
  }
  ~Driver() {
    if (printStats && launches)
      std::fprintf(stderr,
                   "cuda-sim: %llu launches, %llu instructions in %.3f s "
                   "(%.1f M instructions/s)\n",
                   static_cast<unsigned long long>(launches),
                   static_cast<unsigned long long>(instructions), seconds,
                   seconds > 0 ? instructions / seconds / 1e6 : 0.0);
  }

  void parseChecks(const std::string &list) {
    CheckSet none;
    none.race = none.uninit = none.async = none.collective = none.wgmma =
        false;
    std::stringstream ss(list);
    std::string item;
    while (std::getline(ss, item, ',')) {
      bool on = true;
      if (!item.empty() && item[0] == '-') {
        on = false;
        item = item.substr(1);
      }
      CheckSet &c = options.checks;
      if (item == "all")
        c = CheckSet();
      else if (item == "none")
        c = none;
      else if (item == "race")
        c.race = on;
      else if (item == "uninit")
        c.uninit = on;
      else if (item == "async")
        c.async = on;
      else if (item == "collective")
        c.collective = on;
      else if (item == "wgmma")
        c.wgmma = on;
      else
        std::fprintf(stderr, "cuda-sim: unknown check '%s' in "
                             "GATEC_CUDA_SIM_CHECKS\n", item.c_str());
    }
  }

  bool initialized = false;
  Context context;
  thread_local static Context *current;
  GlobalMemory memory;
  LaunchOptions options;
  CUresult sticky = CUDA_SUCCESS;
  std::string lastReport;
  bool printStats = false;
  uint64_t launches = 0, instructions = 0;
  double seconds = 0;
  std::mutex mutex;
};

thread_local Context *Driver::current = nullptr;

Driver &driver() {
  static Driver d;
  return d;
}

/// Most calls return the context's sticky error after a kernel fault.
#define CHECK_STICKY()                                                         \
  do {                                                                         \
    if (driver().sticky != CUDA_SUCCESS)                                       \
      return driver().sticky;                                                  \
  } while (0)

#define CHECK_INIT()                                                           \
  do {                                                                         \
    if (!driver().initialized)                                                 \
      return CUDA_ERROR_NOT_INITIALIZED;                                       \
  } while (0)

unsigned maxSharedOptin() {
  // Per block, opt-in: H100 227 KiB, A100 163 KiB.
  return driver().options.smVersion >= 90 ? 232448 : 166912;
}

CUresult copyChecked(uint64_t dst, bool dstDevice, uint64_t src,
                     bool srcDevice, size_t bytes) {
  Driver &d = driver();
  if ((dstDevice && !d.memory.contains(dst, bytes)) ||
      (srcDevice && !d.memory.contains(src, bytes))) {
    std::fprintf(stderr,
                 "cuda-sim: memcpy of %zu bytes outside a live allocation "
                 "(%s)\n",
                 bytes,
                 d.memory.describe(dstDevice && !d.memory.contains(dst, bytes)
                                       ? dst
                                       : src)
                     .c_str());
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (bytes)
    std::memmove(reinterpret_cast<void *>(dst),
                 reinterpret_cast<const void *>(src), bytes);
  return CUDA_SUCCESS;
}

template <typename T>
CUresult memsetChecked(CUdeviceptr dst, T value, size_t count) {
  Driver &d = driver();
  if (count && !d.memory.contains(dst, count * sizeof(T))) {
    std::fprintf(stderr, "cuda-sim: memset of %zu bytes outside a live "
                         "allocation\n", count * sizeof(T));
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (dst % sizeof(T))
    return CUDA_ERROR_INVALID_VALUE;
  T *p = reinterpret_cast<T *>(dst);
  for (size_t i = 0; i < count; ++i)
    p[i] = value;
  return CUDA_SUCCESS;
}

} // namespace

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
__attribute__((visibility("default"))) void gatecCudaSimSetSeed(
    unsigned long long seed) {
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
  case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *value = 1024; break;
  case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X: *value = 1024; break;
  case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y: *value = 1024; break;
  case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z: *value = 64; break;
  case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: *value = 2147483647; break;
  case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y: *value = 65535; break;
  case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z: *value = 65535; break;
  case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: *value = 49152; break;
  case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN:
    *value = static_cast<int>(maxSharedOptin());
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR:
    *value = hopper ? 233472 : 167936;
    break;
  case CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY: *value = 65536; break;
  case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *value = 32; break;
  case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK: *value = 65536; break;
  case CU_DEVICE_ATTRIBUTE_CLOCK_RATE: *value = hopper ? 1980000 : 1410000; break;
  case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *value = hopper ? 132 : 108; break;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
    *value = static_cast<int>(driver().options.smVersion / 10);
    break;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
    *value = static_cast<int>(driver().options.smVersion % 10);
    break;
  case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR: *value = 2048; break;
  case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING: *value = 1; break;
  case CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED: *value = 1; break;
  case CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS: *value = 1; break;
  case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE: *value = hopper ? 52428800 : 41943040; break;
  case CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH: *value = 5120; break;
  case CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE: *value = hopper ? 2619000 : 1215000; break;
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

CUresult cuCtxPushCurrent(CUcontext context) { return cuCtxSetCurrent(context); }

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
  case CUDA_SUCCESS: return "CUDA_SUCCESS";
  case CUDA_ERROR_INVALID_VALUE: return "CUDA_ERROR_INVALID_VALUE";
  case CUDA_ERROR_OUT_OF_MEMORY: return "CUDA_ERROR_OUT_OF_MEMORY";
  case CUDA_ERROR_NOT_INITIALIZED: return "CUDA_ERROR_NOT_INITIALIZED";
  case CUDA_ERROR_INVALID_DEVICE: return "CUDA_ERROR_INVALID_DEVICE";
  case CUDA_ERROR_INVALID_CONTEXT: return "CUDA_ERROR_INVALID_CONTEXT";
  case CUDA_ERROR_NO_BINARY_FOR_GPU: return "CUDA_ERROR_NO_BINARY_FOR_GPU";
  case CUDA_ERROR_INVALID_PTX: return "CUDA_ERROR_INVALID_PTX";
  case CUDA_ERROR_INVALID_HANDLE: return "CUDA_ERROR_INVALID_HANDLE";
  case CUDA_ERROR_NOT_FOUND: return "CUDA_ERROR_NOT_FOUND";
  case CUDA_ERROR_ILLEGAL_ADDRESS: return "CUDA_ERROR_ILLEGAL_ADDRESS";
  case CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
  case CUDA_ERROR_MISALIGNED_ADDRESS: return "CUDA_ERROR_MISALIGNED_ADDRESS";
  case CUDA_ERROR_LAUNCH_FAILED: return "CUDA_ERROR_LAUNCH_FAILED";
  case CUDA_ERROR_NOT_SUPPORTED: return "CUDA_ERROR_NOT_SUPPORTED";
  default: return nullptr;
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

//===----------------------------------------------------------------------===//
// Modules and functions
//===----------------------------------------------------------------------===//

CUresult cuModuleLoadDataEx(CUmodule *module, const void *image,
                            unsigned int numOptions, CUjit_option *options,
                            void **values) {
  CHECK_INIT();
  CHECK_STICKY();
  if (!Driver::current)
    return CUDA_ERROR_INVALID_CONTEXT;
  if (!module || !image)
    return CUDA_ERROR_INVALID_VALUE;
  char *log = nullptr;
  size_t logSize = 0;
  for (unsigned i = 0; i < numOptions; ++i) {
    if (options[i] == CU_JIT_ERROR_LOG_BUFFER)
      log = static_cast<char *>(values[i]);
    if (options[i] == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES)
      logSize = reinterpret_cast<uintptr_t>(values[i]);
  }
  const char *text = static_cast<const char *>(image);
  std::string error;
  std::unique_ptr<Module> parsed;
  if (std::strncmp(text, "\x7f" "ELF", 4) == 0 ||
      std::memcmp(text, "\x50\xed\x55\xba", 4) == 0) {
    error = "cubin and fatbin images cannot be emulated: load PTX";
  } else {
    parsed = parsePTX(text, error);
  }
  auto fail = [&](CUresult r) {
    std::string message = "cuda-sim: " + error;
    std::fprintf(stderr, "%s\n", message.c_str());
    if (log && logSize) {
      std::strncpy(log, message.c_str(), logSize - 1);
      log[logSize - 1] = 0;
    }
    return r;
  };
  if (!parsed)
    return fail(CUDA_ERROR_INVALID_PTX);
  unsigned device = driver().options.smVersion;
  if (parsed->smVersion > device ||
      (parsed->archSpecific && parsed->smVersion != device)) {
    error = "the PTX targets " + parsed->target +
            ", which the emulated device (sm_" + std::to_string(device) +
            ", GATEC_CUDA_SIM_ARCH) cannot run";
    return fail(CUDA_ERROR_NO_BINARY_FOR_GPU);
  }
  auto handle = new ModuleHandle();
  handle->module = std::move(parsed);
  if (!handle->module->globalImage.empty())
    driver().memory.adopt(
        reinterpret_cast<uint64_t>(handle->module->globalImage.data()),
        handle->module->globalImage.size());
  if (log && logSize)
    log[0] = 0;
  *module = reinterpret_cast<CUmodule>(handle);
  return CUDA_SUCCESS;
}

CUresult cuModuleLoadData(CUmodule *module, const void *image) {
  return cuModuleLoadDataEx(module, image, 0, nullptr, nullptr);
}

CUresult cuModuleLoad(CUmodule *module, const char *path) {
  std::ifstream in(path);
  if (!in)
    return CUDA_ERROR_FILE_NOT_FOUND;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  return cuModuleLoadData(module, text.c_str());
}

CUresult cuModuleUnload(CUmodule module) {
  auto *handle = reinterpret_cast<ModuleHandle *>(module);
  if (!handle)
    return CUDA_ERROR_INVALID_HANDLE;
  if (!handle->module->globalImage.empty())
    driver().memory.release(
        reinterpret_cast<uint64_t>(handle->module->globalImage.data()));
  delete handle;
  return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(CUfunction *function, CUmodule module,
                             const char *name) {
  CHECK_STICKY();
  auto *handle = reinterpret_cast<ModuleHandle *>(module);
  if (!handle || !function || !name)
    return CUDA_ERROR_INVALID_VALUE;
  auto it = handle->module->byName.find(name);
  if (it == handle->module->byName.end() || !it->second->isKernel)
    return CUDA_ERROR_NOT_FOUND;
  for (auto &fh : handle->functions)
    if (fh->function == it->second) {
      *function = reinterpret_cast<CUfunction>(fh.get());
      return CUDA_SUCCESS;
    }
  handle->functions.push_back(
      std::make_unique<FunctionHandle>(FunctionHandle{handle, it->second, 0}));
  *function = reinterpret_cast<CUfunction>(handle->functions.back().get());
  return CUDA_SUCCESS;
}

CUresult cuModuleGetGlobal(CUdeviceptr *pointer, size_t *bytes,
                           CUmodule module, const char *name) {
  auto *handle = reinterpret_cast<ModuleHandle *>(module);
  if (!handle)
    return CUDA_ERROR_INVALID_HANDLE;
  for (const Symbol &s : handle->module->symbols)
    if (s.name == name &&
        (s.space == Space::Global || s.space == Space::Const)) {
      if (pointer)
        *pointer = reinterpret_cast<CUdeviceptr>(
            handle->module->globalImage.data() + s.offset);
      if (bytes)
        *bytes = s.size;
      return CUDA_SUCCESS;
    }
  return CUDA_ERROR_NOT_FOUND;
}

CUresult cuFuncSetAttribute(CUfunction function, CUfunction_attribute attribute,
                            int value) {
  auto *fh = reinterpret_cast<FunctionHandle *>(function);
  if (!fh)
    return CUDA_ERROR_INVALID_HANDLE;
  if (attribute == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES) {
    if (value < 0 || static_cast<uint64_t>(value) + fh->function->staticShared >
                         maxSharedOptin())
      return CUDA_ERROR_INVALID_VALUE;
    fh->maxDynamicShared = value;
  }
  return CUDA_SUCCESS;
}

CUresult cuFuncGetAttribute(int *value, CUfunction_attribute attribute,
                            CUfunction function) {
  auto *fh = reinterpret_cast<FunctionHandle *>(function);
  if (!fh || !value)
    return CUDA_ERROR_INVALID_VALUE;
  const Function &f = *fh->function;
  switch (attribute) {
  case CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: {
    unsigned n = 1024;
    if (f.maxntid[0])
      n = f.maxntid[0] * std::max(1u, f.maxntid[1]) * std::max(1u, f.maxntid[2]);
    if (f.reqntid[0])
      n = f.reqntid[0] * std::max(1u, f.reqntid[1]) * std::max(1u, f.reqntid[2]);
    *value = static_cast<int>(n);
    break;
  }
  case CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES:
    *value = static_cast<int>(f.staticShared);
    break;
  case CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES:
    *value = static_cast<int>(f.localBytes);
    break;
  case CU_FUNC_ATTRIBUTE_NUM_REGS:
    *value = static_cast<int>(std::min<uint32_t>(f.numRegs, 255));
    break;
  case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES:
    *value = fh->maxDynamicShared ? fh->maxDynamicShared
                                  : static_cast<int>(49152 - f.staticShared);
    break;
  case CU_FUNC_ATTRIBUTE_PTX_VERSION:
  case CU_FUNC_ATTRIBUTE_BINARY_VERSION:
    *value = static_cast<int>(fh->module->module->smVersion);
    break;
  default:
    *value = 0;
  }
  return CUDA_SUCCESS;
}

CUresult cuFuncSetCacheConfig(CUfunction, CUfunc_cache) { return CUDA_SUCCESS; }

//===----------------------------------------------------------------------===//
// Launches
//===----------------------------------------------------------------------===//

CUresult cuLaunchKernel(CUfunction function, unsigned int gx, unsigned int gy,
                        unsigned int gz, unsigned int bx, unsigned int by,
                        unsigned int bz, unsigned int sharedBytes,
                        CUstream stream, void **kernelParams, void **extra) {
  (void)stream;
  CHECK_INIT();
  CHECK_STICKY();
  Driver &d = driver();
  auto *fh = reinterpret_cast<FunctionHandle *>(function);
  if (!fh)
    return CUDA_ERROR_INVALID_HANDLE;
  const Function &f = *fh->function;
  auto invalid = [&](const std::string &why) {
    std::fprintf(stderr, "cuda-sim: cuLaunchKernel of %s: %s\n",
                 f.name.c_str(), why.c_str());
    return CUDA_ERROR_INVALID_VALUE;
  };
  uint64_t threads = uint64_t(bx) * by * bz;
  if (!gx || !gy || !gz || !bx || !by || !bz)
    return invalid("a grid or block dimension is 0");
  if (threads > 1024 || bx > 1024 || by > 1024 || bz > 64 || gy > 65535 ||
      gz > 65535 || gx > 2147483647u)
    return invalid("grid or block beyond the device's limits");
  if (f.reqntid[0] &&
      (bx != f.reqntid[0] || by != std::max(1u, f.reqntid[1]) ||
       bz != std::max(1u, f.reqntid[2])))
    return invalid("block differs from the kernel's .reqntid");
  if (f.maxntid[0] &&
      threads > uint64_t(f.maxntid[0]) * std::max(1u, f.maxntid[1]) *
                    std::max(1u, f.maxntid[2])) {
    std::fprintf(stderr, "cuda-sim: cuLaunchKernel of %s: %llu threads per "
                         "block exceed the kernel's .maxntid\n",
                 f.name.c_str(), static_cast<unsigned long long>(threads));
    return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES;
  }
  if (f.staticShared > 49152)
    return invalid("static shared memory beyond 48 KiB");
  unsigned dynamicLimit = fh->maxDynamicShared
                              ? static_cast<unsigned>(fh->maxDynamicShared)
                              : 49152 - static_cast<unsigned>(f.staticShared);
  if (sharedBytes > dynamicLimit)
    return invalid(std::to_string(sharedBytes) +
                   " bytes of dynamic shared memory, more than the " +
                   std::to_string(dynamicLimit) +
                   " allowed (cuFuncSetAttribute MAX_DYNAMIC_SHARED_SIZE_BYTES)");
  // The parameter buffer, laid out as the kernel's .param list.
  std::vector<uint8_t> params(f.paramBytes, 0);
  if (kernelParams) {
    for (size_t i = 0; i < f.params.size(); ++i) {
      if (!kernelParams[i])
        return invalid("kernelParams[" + std::to_string(i) + "] is null");
      std::memcpy(params.data() + f.params[i].offset, kernelParams[i],
                  f.params[i].size);
    }
  } else if (extra) {
    void *buffer = nullptr;
    size_t size = 0;
    for (size_t i = 0; extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
      if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER)
        buffer = extra[i + 1];
      else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE)
        size = *static_cast<size_t *>(extra[i + 1]);
    }
    if (!buffer || size < f.paramBytes)
      return invalid("the extra parameter buffer is smaller than the "
                     "kernel's parameters");
    std::memcpy(params.data(), buffer, f.paramBytes);
  } else if (!f.params.empty()) {
    return invalid("no kernel parameters given");
  }
  LaunchConfig config;
  config.grid[0] = gx;
  config.grid[1] = gy;
  config.grid[2] = gz;
  config.block[0] = bx;
  config.block[1] = by;
  config.block[2] = bz;
  config.dynamicShared = sharedBytes;
  std::lock_guard<std::mutex> lock(d.mutex);
  LaunchResult r = launchKernel(*fh->module->module, f, config, params,
                                d.memory, d.options);
  ++d.launches;
  d.instructions += r.instructions;
  d.seconds += r.seconds;
  if (d.printStats)
    std::fprintf(stderr,
                 "cuda-sim: %s grid (%u,%u,%u) block (%u,%u,%u): %llu "
                 "instructions in %.3f s (%.1f M/s)\n",
                 f.name.c_str(), gx, gy, gz, bx, by, bz,
                 static_cast<unsigned long long>(r.instructions), r.seconds,
                 r.seconds > 0 ? r.instructions / r.seconds / 1e6 : 0.0);
  if (!r.reports.empty()) {
    d.lastReport.clear();
    for (const std::string &report : r.reports) {
      std::fprintf(stderr, "%s\n", report.c_str());
      d.lastReport += report + "\n";
    }
    d.sticky = r.illegalAddress ? CUDA_ERROR_ILLEGAL_ADDRESS
                                : CUDA_ERROR_LAUNCH_FAILED;
  }
  return CUDA_SUCCESS;
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

CUresult cuMemAlloc(CUdeviceptr *pointer, size_t bytes) {
  CHECK_INIT();
  CHECK_STICKY();
  if (!pointer || bytes == 0)
    return CUDA_ERROR_INVALID_VALUE;
  uint64_t p = driver().memory.allocate(bytes);
  if (!p)
    return CUDA_ERROR_OUT_OF_MEMORY;
  *pointer = static_cast<CUdeviceptr>(p);
  return CUDA_SUCCESS;
}

CUresult cuMemAllocAsync(CUdeviceptr *pointer, size_t bytes, CUstream) {
  return cuMemAlloc(pointer, bytes);
}

CUresult cuMemFree(CUdeviceptr pointer) {
  CHECK_STICKY();
  if (pointer == 0)
    return CUDA_SUCCESS;
  if (!driver().memory.release(pointer)) {
    std::fprintf(stderr, "cuda-sim: cuMemFree of 0x%llx, which is not a live "
                         "allocation\n",
                 static_cast<unsigned long long>(pointer));
    return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}

CUresult cuMemFreeAsync(CUdeviceptr pointer, CUstream) {
  return cuMemFree(pointer);
}

CUresult cuMemGetInfo(size_t *free, size_t *total) {
  *free = size_t(15) << 30;
  *total = size_t(16) << 30;
  return CUDA_SUCCESS;
}

CUresult cuMemAllocHost(void **pointer, size_t bytes) {
  *pointer = std::malloc(bytes ? bytes : 1);
  return *pointer ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

CUresult cuMemFreeHost(void *pointer) {
  std::free(pointer);
  return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoD(CUdeviceptr dst, const void *src, size_t bytes) {
  CHECK_STICKY();
  return copyChecked(dst, true, reinterpret_cast<uint64_t>(src), false, bytes);
}

CUresult cuMemcpyDtoH(void *dst, CUdeviceptr src, size_t bytes) {
  CHECK_STICKY();
  return copyChecked(reinterpret_cast<uint64_t>(dst), false, src, true, bytes);
}

CUresult cuMemcpyDtoD(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
  CHECK_STICKY();
  return copyChecked(dst, true, src, true, bytes);
}

CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
  CHECK_STICKY();
  Driver &d = driver();
  return copyChecked(dst, d.memory.contains(dst, 1), src,
                     d.memory.contains(src, 1), bytes);
}

CUresult cuMemcpyHtoDAsync(CUdeviceptr dst, const void *src, size_t bytes,
                           CUstream) {
  return cuMemcpyHtoD(dst, src, bytes);
}

CUresult cuMemcpyDtoHAsync(void *dst, CUdeviceptr src, size_t bytes, CUstream) {
  return cuMemcpyDtoH(dst, src, bytes);
}

CUresult cuMemcpyDtoDAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                           CUstream) {
  return cuMemcpyDtoD(dst, src, bytes);
}

CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                       CUstream) {
  return cuMemcpy(dst, src, bytes);
}

CUresult cuMemsetD8(CUdeviceptr dst, unsigned char value, size_t count) {
  CHECK_STICKY();
  return memsetChecked<uint8_t>(dst, value, count);
}

CUresult cuMemsetD16(CUdeviceptr dst, unsigned short value, size_t count) {
  CHECK_STICKY();
  return memsetChecked<uint16_t>(dst, value, count);
}

CUresult cuMemsetD32(CUdeviceptr dst, unsigned int value, size_t count) {
  CHECK_STICKY();
  return memsetChecked<uint32_t>(dst, value, count);
}

CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t count,
                         CUstream) {
  return cuMemsetD8(dst, value, count);
}

CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value, size_t count,
                          CUstream) {
  return cuMemsetD16(dst, value, count);
}

CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int value, size_t count,
                          CUstream) {
  return cuMemsetD32(dst, value, count);
}

//===----------------------------------------------------------------------===//
// Streams and events: work runs when it is issued, so streams are in order
// and always idle.
//===----------------------------------------------------------------------===//

CUresult cuStreamCreate(CUstream *stream, unsigned int) {
  CHECK_INIT();
  *stream = reinterpret_cast<CUstream>(new StreamHandle());
  return CUDA_SUCCESS;
}

CUresult cuStreamCreateWithPriority(CUstream *stream, unsigned int flags, int) {
  return cuStreamCreate(stream, flags);
}

CUresult cuStreamDestroy(CUstream stream) {
  delete reinterpret_cast<StreamHandle *>(stream);
  return CUDA_SUCCESS;
}

CUresult cuStreamSynchronize(CUstream) {
  CHECK_STICKY();
  return CUDA_SUCCESS;
}

CUresult cuStreamQuery(CUstream) {
  CHECK_STICKY();
  return CUDA_SUCCESS;
}

CUresult cuStreamWaitEvent(CUstream, CUevent, unsigned int) {
  CHECK_STICKY();
  return CUDA_SUCCESS;
}

CUresult cuEventCreate(CUevent *event, unsigned int) {
  *event = reinterpret_cast<CUevent>(new EventHandle());
  return CUDA_SUCCESS;
}

CUresult cuEventDestroy(CUevent event) {
  delete reinterpret_cast<EventHandle *>(event);
  return CUDA_SUCCESS;
}

CUresult cuEventRecord(CUevent event, CUstream) {
  CHECK_STICKY();
  auto *e = reinterpret_cast<EventHandle *>(event);
  e->time = std::chrono::steady_clock::now();
  e->recorded = true;
  return CUDA_SUCCESS;
}

CUresult cuEventSynchronize(CUevent) {
  CHECK_STICKY();
  return CUDA_SUCCESS;
}

CUresult cuEventQuery(CUevent) {
  CHECK_STICKY();
  return CUDA_SUCCESS;
}

/// Emulation time, not GPU time: only useful to compare emulator runs.
CUresult cuEventElapsedTime(float *ms, CUevent start, CUevent end) {
  auto *s = reinterpret_cast<EventHandle *>(start);
  auto *e = reinterpret_cast<EventHandle *>(end);
  if (!s->recorded || !e->recorded)
    return CUDA_ERROR_INVALID_HANDLE;
  *ms = std::chrono::duration<float, std::milli>(e->time - s->time).count();
  return CUDA_SUCCESS;
}

} // extern "C"
