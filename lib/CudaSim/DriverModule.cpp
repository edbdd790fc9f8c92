//===- DriverModule.cpp - Modules, functions and launches -----------------===//
//
// Part of gatec. The driver API calls that load PTX images into decoded
// modules, look up their kernels and globals, query and set function
// attributes, and launch a kernel on the interpreter (checking the launch
// against the emulated device and reporting what the kernel did wrong).
//
//===----------------------------------------------------------------------===//

#include "CudaSim/Driver.h"

#include <cstring>
#include <fstream>

using namespace gatec::cudasim::emulated;

extern "C" {

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
  if (std::strncmp(text,
                   "\x7f"
                   "ELF",
                   4) == 0 ||
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

CUresult cuModuleGetGlobal(CUdeviceptr *pointer, size_t *bytes, CUmodule module,
                           const char *name) {
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
      n = f.maxntid[0] * std::max(1u, f.maxntid[1]) *
          std::max(1u, f.maxntid[2]);
    if (f.reqntid[0])
      n = f.reqntid[0] * std::max(1u, f.reqntid[1]) *
          std::max(1u, f.reqntid[2]);
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
    std::fprintf(stderr, "cuda-sim: cuLaunchKernel of %s: %s\n", f.name.c_str(),
                 why.c_str());
    return CUDA_ERROR_INVALID_VALUE;
  };
  uint64_t threads = uint64_t(bx) * by * bz;
  if (!gx || !gy || !gz || !bx || !by || !bz)
    return invalid("a grid or block dimension is 0");
  if (threads > 1024 || bx > 1024 || by > 1024 || bz > 64 || gy > 65535 ||
      gz > 65535 || gx > 2147483647u)
    return invalid("grid or block beyond the device's limits");
  if (f.reqntid[0] && (bx != f.reqntid[0] || by != std::max(1u, f.reqntid[1]) ||
                       bz != std::max(1u, f.reqntid[2])))
    return invalid("block differs from the kernel's .reqntid");
  if (f.maxntid[0] && threads > uint64_t(f.maxntid[0]) *
                                    std::max(1u, f.maxntid[1]) *
                                    std::max(1u, f.maxntid[2])) {
    std::fprintf(stderr,
                 "cuda-sim: cuLaunchKernel of %s: %llu threads per "
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
    return invalid(
        std::to_string(sharedBytes) +
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
  LaunchResult r =
      launchKernel(*fh->module->module, f, config, params, d.memory, d.options);
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

} // extern "C"
